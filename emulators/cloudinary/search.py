"""Cloudinary Search: the expression language subset facetag uses, sorting and cursors.

No HTTP. `parse(expression)` gives a predicate over assets; `run(...)` applies it to a
snapshot of the library with sort order, page size and cursor. A linear scan is fast enough
for a few thousand assets.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .store import Asset

MAX_RESULTS_LIMIT = 500
DEFAULT_MAX_RESULTS = 50

Predicate = Callable[[Asset], bool]


class SearchError(Exception):
    """A malformed expression or request: Cloudinary answers 400."""


# --------------------------------------------------------------------------- lexer

_OPERATORS = (">=", "<=", ":", "=", ">", "<")
_DELIMS = set('()[]{}"') | set(":=<>")


@dataclass(frozen=True)
class Token:
    kind: str  # word, quoted, op, lparen, rparen, lbracket, rbracket, lbrace, rbrace, and, or, not, plus, minus
    text: str
    pos: int


def tokenize(expression: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(expression)
    while i < n:
        ch = expression[i]
        if ch.isspace():
            i += 1
            continue
        after_op = bool(tokens) and tokens[-1].kind == "op"
        if ch == '"':
            j, buf = i + 1, []
            while j < n and expression[j] != '"':
                if expression[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(expression[j])
                j += 1
            if j >= n:
                raise SearchError(f"Unterminated quote at position {i}")
            tokens.append(Token("quoted", "".join(buf), i))
            i = j + 1
            continue
        if ch in "()[]{}":
            kind = {"(": "lparen", ")": "rparen", "[": "lbracket", "]": "rbracket",
                    "{": "lbrace", "}": "rbrace"}[ch]
            tokens.append(Token(kind, ch, i))
            i += 1
            continue
        op = next((o for o in _OPERATORS if expression.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("op", op, i))
            i += len(op)
            continue
        # A leading + or - is a prefix operator only where a term starts, never inside a value.
        if ch in "+-" and not after_op:
            tokens.append(Token("plus" if ch == "+" else "minus", ch, i))
            i += 1
            continue
        j = i
        while j < n and not expression[j].isspace() and expression[j] not in _DELIMS:
            j += 1
        word = expression[i:j]
        if not after_op and word in ("AND", "OR", "NOT", "TO"):
            tokens.append(Token(word.lower(), word, i))
        elif after_op:
            tokens.append(Token("word", word, i))
        else:
            tokens.append(Token("word", word, i))
        i = j
    return tokens


# --------------------------------------------------------------------------- parser

@dataclass(frozen=True)
class Range:
    low: str
    high: str
    inclusive: bool


Value = str | Range | list[str]


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = tokenize(expression)
        self.pos = 0

    def peek(self, offset: int = 0) -> Token | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self, kind: str | None = None) -> Token:
        token = self.peek()
        if token is None:
            raise SearchError(f"Unexpected end of expression: {self.expression!r}")
        if kind is not None and token.kind != kind:
            raise SearchError(f"Expected {kind} at position {token.pos}, got {token.text!r}")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        if not self.tokens:
            return lambda asset: True
        predicate = self.or_expr()
        if self.peek() is not None:
            token = self.take()
            raise SearchError(f"Unexpected {token.text!r} at position {token.pos}")
        return predicate

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (t := self.peek()) is not None and t.kind == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda a: any(p(a) for p in parts))

    def and_expr(self) -> Predicate:
        first = self.peek()
        if first is not None and first.kind == "not":
            # Cloudinary rejects a leading NOT: write `-field=value` or `a AND NOT b`.
            raise SearchError(f"Unexpected NOT at position {first.pos}: "
                              "use '-field:value' or 'x AND NOT y'")
        parts = [self.unary()]
        while (t := self.peek()) is not None and t.kind not in ("or", "rparen"):
            if t.kind == "and":
                self.take()
            negate = False
            if (t2 := self.peek()) is not None and t2.kind == "not":
                self.take()
                negate = True
            part = self.unary()
            parts.append((lambda p: lambda a: not p(a))(part) if negate else part)
        return parts[0] if len(parts) == 1 else (lambda a: all(p(a) for p in parts))

    def unary(self) -> Predicate:
        token = self.peek()
        if token is None:
            raise SearchError(f"Unexpected end of expression: {self.expression!r}")
        if token.kind == "minus":
            self.take()
            inner = self.primary()
            return lambda a: not inner(a)
        if token.kind == "plus":
            self.take()
        return self.primary()

    def primary(self) -> Predicate:
        token = self.peek()
        if token is None:
            raise SearchError(f"Unexpected end of expression: {self.expression!r}")
        if token.kind == "lparen":
            self.take()
            inner = self.or_expr()
            self.take("rparen")
            return inner
        if token.kind == "word" and (nxt := self.peek(1)) is not None and nxt.kind == "op":
            field_name = self.take().text
            op = self.take().text
            value = self.value(op)
            return compile_term(field_name, op, value)
        if token.kind in ("word", "quoted"):
            # A bare value searches the public_id, tags and context like a free-text query.
            text = self.take().text
            return compile_free_text(text)
        raise SearchError(f"Unexpected {token.text!r} at position {token.pos}")

    def value(self, op: str) -> Value:
        token = self.peek()
        if token is None:
            raise SearchError(f"Missing value after {op!r}")
        if token.kind in ("lbracket", "lbrace"):
            if op != ":":
                raise SearchError(f"Ranges need ':' at position {token.pos}")
            self.take()
            low = self.take_scalar()
            self.take("to")
            high = self.take_scalar()
            self.take("rbracket" if token.kind == "lbracket" else "rbrace")
            return Range(low, high, token.kind == "lbracket")
        if token.kind == "lparen":
            # field:("a" OR "b") — a list of alternatives for one field.
            self.take()
            values = [self.take_scalar()]
            while (t := self.peek()) is not None and t.kind == "or":
                self.take()
                values.append(self.take_scalar())
            self.take("rparen")
            return values
        return self.take_scalar()

    def take_scalar(self) -> str:
        token = self.take()
        if token.kind == "quoted":
            return token.text
        if token.kind in ("word", "to", "and", "or", "not"):
            return token.text
        raise SearchError(f"Expected a value at position {token.pos}, got {token.text!r}")


def parse(expression: str) -> Predicate:
    return _Parser(expression).parse()


# --------------------------------------------------------------------------- terms

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
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SearchError(f"Invalid date {value!r}: use an ISO date in quotes or Nh/Nd/Nw") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def _compare(op: str, left: float, right: float) -> bool:
    return {">": left > right, "<": left < right, ">=": left >= right,
            "<=": left <= right, ":": left == right, "=": left == right}[op]


def compile_term(field_name: str, op: str, value: Value) -> Predicate:
    known = (field_name in _TOKENISED or field_name in _WHOLE_VALUE or field_name in _DATES
             or field_name in _NUMBERS or field_name.startswith("context."))
    if not known:
        raise SearchError(f"Unsupported search field {field_name!r}")
    if isinstance(value, list):
        parts = [compile_term(field_name, op, v) for v in value]
        return lambda a: any(p(a) for p in parts)
    if value == "*" or (isinstance(value, str) and value.endswith("*")
                        and field_name in _NO_WILDCARD):
        raise SearchError(f"Wildcard not allowed here: {field_name}{op}{value}")
    if field_name in _DATES or field_name in _NUMBERS:
        return _compile_ordered(field_name, op, value)
    if isinstance(value, Range):
        raise SearchError(f"Ranges are for dates and numbers, not {field_name}")
    if op not in (":", "="):
        raise SearchError(f"Operator {op!r} needs a date or number field, not {field_name}")

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
        raise SearchError(f"Empty search value for {field_name}")
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
                raise SearchError(f"Expected a number for {field_name}, got {text!r}") from None

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
        raise SearchError(f"Empty search term {text!r}")

    def predicate(a: Asset) -> bool:
        haystacks = [a.public_id, *a.tags, *a.context.values()]
        return any(_contains_phrase(word_tokens(h), needle, prefix_last) for h in haystacks)
    return predicate


# --------------------------------------------------------------------------- running a query

_SORTABLE = {"created_at", "uploaded_at", "updated_at", "public_id", "asset_id", "bytes",
             "width", "height", "version", "display_name", "asset_folder"}


class _Desc:
    """Wraps a value so it sorts in reverse inside a tuple key."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(self.value > other.value)

    def __gt__(self, other: _Desc) -> bool:
        return bool(self.value < other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value


@dataclass(frozen=True)
class SearchPage:
    total_count: int
    assets: list[Asset]
    next_cursor: str | None


def normalise_sort(sort_by: Iterable[Any] | None) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    for item in sort_by or []:
        if not isinstance(item, dict) or len(item) != 1:
            raise SearchError("sort_by takes a list of one-key objects like {\"created_at\": \"desc\"}")
        (name, direction), = item.items()
        direction = str(direction).lower()
        if name not in _SORTABLE or direction not in ("asc", "desc"):
            raise SearchError(f"Invalid sort_by {name}: {direction}")
        result.append((name, direction))
    return result or [("created_at", "desc")]


def _sort_value(asset: Asset, name: str) -> Any:
    value = getattr(asset, name)
    return value if value is not None else asset.uploaded_at


def run(assets: list[Asset], expression: str, *, sort_by: Iterable[Any] | None = None,
        max_results: int | None = None, next_cursor: str | None = None) -> SearchPage:
    predicate = parse(expression or "")
    size = DEFAULT_MAX_RESULTS if max_results is None else int(max_results)
    if size < 0 or size > MAX_RESULTS_LIMIT:
        raise SearchError(f"max_results should be between 0 and {MAX_RESULTS_LIMIT}")
    order = normalise_sort(sort_by)
    query_hash = hashlib.sha1(json.dumps([expression, order]).encode()).hexdigest()[:16]

    def key(values: list[Any]) -> tuple[Any, ...]:
        return tuple(v if d == "asc" else _Desc(v) for v, (_, d) in zip(values, order + [("", "asc")]))

    def raw_key(asset: Asset) -> list[Any]:
        # asset_id last: a total order, so a cursor always resumes at the same place.
        return [_sort_value(asset, name) for name, _ in order] + [asset.asset_id]

    matched = [a for a in assets if predicate(a)]
    matched.sort(key=lambda a: key(raw_key(a)))
    start = 0
    if next_cursor:
        # Keyset cursor: resume strictly after the last asset shown, so inserts and deletes
        # between pages neither repeat nor skip the assets that stay.
        try:
            decoded = json.loads(base64.urlsafe_b64decode(next_cursor.encode() + b"=="))
            if decoded["h"] != query_hash:
                raise ValueError("cursor from another query")
            after = key(decoded["k"])
        except (ValueError, KeyError, TypeError):
            raise SearchError("Invalid next_cursor") from None
        start = bisect.bisect_right(matched, after, key=lambda a: key(raw_key(a)))
    page = matched[start:start + size] if size else []
    cursor = None
    if size and start + size < len(matched):
        last = raw_key(page[-1])
        blob = json.dumps({"h": query_hash, "k": last}).encode()
        cursor = base64.urlsafe_b64encode(blob).decode().rstrip("=")
    return SearchPage(len(matched), page, cursor)
