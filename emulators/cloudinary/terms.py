"""What a search term matches, field by field: tokenised text, whole values, dates, numbers.

No parsing here: the parser (`expression`) hands over a field, an operator and a value.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from .assets import Asset
from .exceptions import BadRequest

Predicate = Callable[[Asset], bool]


@dataclass(frozen=True)
class Range:
    low: str
    high: str
    inclusive: bool


Value = str | Range | list[str]


_TOKEN_SPLIT = re.compile(r"[^0-9a-zA-Z\u00C0-\uFFFF]+")
_RELATIVE = re.compile(r"^(\d+)([hdw])$")
_TOKENISED = {"tags", "display_name", "filename"}
_WHOLE_VALUE = {"public_id", "asset_id", "asset_folder", "folder", "format", "resource_type",
                "type", "original_filename"}
_NO_WILDCARD = {"asset_folder", "folder", "resource_type", "type", "asset_id"}
_DATES = {"uploaded_at", "created_at", "updated_at"}
_NUMBERS = {"bytes", "width", "height", "version"}


def word_tokens(text: str) -> list[str]:
    """Split like Cloudinary's tokenised fields: on whitespace and punctuation, case-insensitive."""
    return [t for t in _TOKEN_SPLIT.split(text.lower()) if t]


def _contains_phrase(haystack: list[str], needle: list[str], prefix_last: bool) -> bool:
    if not needle:
        return False
    for start in range(len(haystack) - len(needle) + 1):
        ok = True
        for k, word in enumerate(needle):
            candidate = haystack[start + k]
            last = k == len(needle) - 1
            if not (candidate.startswith(word) if (last and prefix_last) else candidate == word):
                ok = False
                break
        if ok:
            return True
    return False


def _text_values(asset: Asset, field_name: str) -> list[str]:
    if field_name == "tags":
        return asset.tags
    if field_name.startswith("context."):
        key = field_name[len("context."):]
        value = asset.context.get(key)
        return [] if value is None else [value]
    if field_name == "display_name":
        return [asset.display_name]
    if field_name == "filename":
        return [asset.public_id.rpartition("/")[2]]
    if field_name in ("asset_folder", "folder"):
        return [asset.asset_folder]
    if field_name == "original_filename":
        return [asset.original_filename]
    return [str(getattr(asset, field_name))]


def parse_date(value: str, now: float | None = None) -> float:
    now = time.time() if now is None else now
    match = _RELATIVE.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - amount * {"h": 3600, "d": 86400, "w": 7 * 86400}[unit]
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"Invalid date {value!r}: use an ISO date in quotes or Nh/Nd/Nw") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _compare(op: str, left: float, right: float) -> bool:
    return {">": left > right, "<": left < right, ">=": left >= right,
            "<=": left <= right, ":": left == right, "=": left == right}[op]


def compile_term(field_name: str, op: str, value: Value) -> Predicate:
    known = (field_name in _TOKENISED or field_name in _WHOLE_VALUE or field_name in _DATES
             or field_name in _NUMBERS or field_name.startswith("context."))
    if not known:
        raise BadRequest(f"Unsupported search field {field_name!r}")
    if isinstance(value, list):
        parts = [compile_term(field_name, op, v) for v in value]
        return lambda a: any(p(a) for p in parts)
    if value == "*" or (isinstance(value, str) and value.endswith("*")
                        and field_name in _NO_WILDCARD):
        raise BadRequest(f"Wildcard not allowed here: {field_name}{op}{value}")
    if field_name in _DATES or field_name in _NUMBERS:
        return _compile_ordered(field_name, op, value)
    if isinstance(value, Range):
        raise BadRequest(f"Ranges are for dates and numbers, not {field_name}")
    if op not in (":", "="):
        raise BadRequest(f"Operator {op!r} needs a date or number field, not {field_name}")

    if field_name in _WHOLE_VALUE:
        folded = field_name in ("format", "resource_type", "type")
        want = value.lower() if folded else value
        if value.endswith("*"):
            prefix = value[:-1]
            return lambda a: any(v.startswith(prefix) for v in _text_values(a, field_name))
        return lambda a: any((v.lower() if folded else v) == want
                             for v in _text_values(a, field_name))

    if op == "=":
        # Exact match on a tokenised field compares the whole value (tags="person:Jane Doe").
        return lambda a: value in _text_values(a, field_name)
    prefix_last = value.endswith("*")
    needle = word_tokens(value[:-1] if prefix_last else value)
    if not needle:
        raise BadRequest(f"Empty search value for {field_name}")
    return lambda a: any(_contains_phrase(word_tokens(v), needle, prefix_last)
                         for v in _text_values(a, field_name))


def _compile_ordered(field_name: str, op: str, value: str | Range) -> Predicate:
    convert: Callable[[str], float]
    if field_name in _DATES:
        convert = parse_date
    else:
        def convert(text: str) -> float:
            try:
                return float(text)
            except ValueError:
                raise BadRequest(f"Expected a number for {field_name}, got {text!r}") from None

    def field_value(a: Asset) -> float:
        raw = getattr(a, field_name)
        return float(raw if raw is not None else a.uploaded_at)

    if isinstance(value, Range):
        # Relative dates flip: [4w TO 1w] is "between four and one weeks ago".
        low, high = sorted((convert(value.low), convert(value.high)))
        if value.inclusive:
            return lambda a: low <= field_value(a) <= high
        return lambda a: low < field_value(a) < high
    bound = convert(value)
    return lambda a: _compare(op, field_value(a), bound)


def compile_free_text(text: str) -> Predicate:
    needle = word_tokens(text.rstrip("*"))
    prefix_last = text.endswith("*")
    if not needle:
        raise BadRequest(f"Empty search term {text!r}")

    def predicate(a: Asset) -> bool:
        haystacks = [a.public_id, *a.tags, *a.context.values()]
        return any(_contains_phrase(word_tokens(h), needle, prefix_last) for h in haystacks)
    return predicate
