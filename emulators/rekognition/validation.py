"""The service model's input constraints that botocore does not check on the client.

botocore checks required members, types and minimums only; maximums, patterns, enums and the
image blob size reach the service, which answers `ValidationException` in AWS's wording
("1 validation error detected: Value 'x' at 'collectionId' failed to satisfy constraint: ...").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .exceptions import ValidationException

COLLECTION_ID = r"[a-zA-Z0-9_.\-]+"
EXTERNAL_ID = r"[a-zA-Z0-9_.\-:]+"
FACE_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TOKEN = r"^[a-zA-Z0-9-_]+$"
# Collection tags: Python's `re` has no \p{...} classes, so these two are checked by
# `_tag_text`; keys starting with `aws:` are AWS's own and refused.
TAG_KEY = r"^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"
TAG_VALUE = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")
ATTRIBUTES = ("DEFAULT", "ALL", "AGE_RANGE", "BEARD", "EMOTIONS", "EYE_DIRECTION", "EYEGLASSES",
              "EYES_OPEN", "GENDER", "MOUTH_OPEN", "MUSTACHE", "FACE_OCCLUDED", "SMILE",
              "SUNGLASSES")


@dataclass(frozen=True)
class Rule:
    """Constraints on one input member, as the service model states them."""
    kind: str  # "string", "number", "list", "map", "any"
    required: bool = False
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    item: Rule | None = None  # for lists
    key: Rule | None = None  # for maps
    value: Rule | None = None  # for maps
    matches: Callable[[str], bool] | None = None  # stands in for a pattern `re` cannot run


def _tag_text(text: str) -> bool:
    r"""[\p{L}\p{Z}\p{N}_.:/=+\-@]*: letters, separators, numbers and a few marks."""
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in text)


TAGS = Rule("map", max=200,
            key=Rule("string", min=1, max=128, pattern=TAG_KEY,
                     matches=lambda text: not text.startswith("aws:") and _tag_text(text)),
            value=Rule("string", min=0, max=256, pattern=TAG_VALUE, matches=_tag_text))


def _string(pattern: str | None = None, lo: int | None = 1, hi: int | None = None,
            required: bool = False) -> Rule:
    return Rule("string", required=required, min=lo, max=hi, pattern=pattern)


COLLECTION = _string(COLLECTION_ID, 1, 255, required=True)
USER = _string(EXTERNAL_ID, 1, 128)
FACE = _string(FACE_ID)
IMAGE = Rule("any", required=True)
THRESHOLD = Rule("number", min=0, max=100)
REQUEST_TOKEN = _string(TOKEN, 1, 64)
NEXT_TOKEN = _string(None, None, 255)
QUALITY = Rule("string", enum=QUALITY_FILTERS)
ATTRIBUTE_LIST = Rule("list", item=Rule("string", enum=ATTRIBUTES))


def _face_ids(hi: int) -> Rule:
    return Rule("list", required=True, min=1, max=hi, item=FACE)


def _required(rule: Rule) -> Rule:
    return Rule(rule.kind, True, rule.min, rule.max, rule.pattern, rule.enum, rule.item,
                rule.key, rule.value, rule.matches)


OPERATIONS: dict[str, dict[str, Rule]] = {
    "CreateCollection": {"CollectionId": COLLECTION, "Tags": TAGS},
    "DescribeCollection": {"CollectionId": COLLECTION},
    "DeleteCollection": {"CollectionId": COLLECTION},
    "ListCollections": {"NextToken": NEXT_TOKEN, "MaxResults": Rule("number", min=0, max=4096)},
    "IndexFaces": {"CollectionId": COLLECTION, "Image": IMAGE,
                   "ExternalImageId": _string(EXTERNAL_ID, 1, 255),
                   "DetectionAttributes": ATTRIBUTE_LIST, "MaxFaces": Rule("number", min=1),
                   "QualityFilter": QUALITY},
    "ListFaces": {"CollectionId": COLLECTION, "NextToken": NEXT_TOKEN,
                  "MaxResults": Rule("number", min=0, max=4096), "UserId": USER,
                  "FaceIds": Rule("list", min=1, max=4096, item=FACE)},
    "DeleteFaces": {"CollectionId": COLLECTION, "FaceIds": _face_ids(4096)},
    "DetectFaces": {"Image": IMAGE, "Attributes": ATTRIBUTE_LIST},
    "SearchFaces": {"CollectionId": COLLECTION, "FaceId": _required(FACE),
                    "MaxFaces": Rule("number", min=1, max=4096),
                    "FaceMatchThreshold": THRESHOLD},
    "SearchFacesByImage": {"CollectionId": COLLECTION, "Image": IMAGE,
                           "MaxFaces": Rule("number", min=1, max=4096),
                           "FaceMatchThreshold": THRESHOLD, "QualityFilter": QUALITY},
    "CreateUser": {"CollectionId": COLLECTION, "UserId": _required(USER),
                   "ClientRequestToken": REQUEST_TOKEN},
    "DeleteUser": {"CollectionId": COLLECTION, "UserId": _required(USER),
                   "ClientRequestToken": REQUEST_TOKEN},
    "ListUsers": {"CollectionId": COLLECTION, "MaxResults": Rule("number", min=1, max=500),
                  "NextToken": NEXT_TOKEN},
    "AssociateFaces": {"CollectionId": COLLECTION, "UserId": _required(USER),
                       "FaceIds": _face_ids(100), "UserMatchThreshold": THRESHOLD,
                       "ClientRequestToken": REQUEST_TOKEN},
    "DisassociateFaces": {"CollectionId": COLLECTION, "UserId": _required(USER),
                          "FaceIds": _face_ids(100), "ClientRequestToken": REQUEST_TOKEN},
    "SearchUsers": {"CollectionId": COLLECTION, "UserId": USER, "FaceId": FACE,
                    "UserMatchThreshold": THRESHOLD, "MaxUsers": Rule("number", min=1, max=500)},
    "SearchUsersByImage": {"CollectionId": COLLECTION, "Image": IMAGE,
                           "UserMatchThreshold": THRESHOLD,
                           "MaxUsers": Rule("number", min=1, max=500), "QualityFilter": QUALITY},
}


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _render(value: Any) -> str:
    if isinstance(value, dict):  # as the service's Java renders a map
        value = "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    text = str(value)
    return text if len(text) <= 100 else text[:100] + "..."


def _broken(rule: Rule, value: Any) -> list[str]:
    """The constraints of `rule` that `value` (of the rule's kind) breaks, in AWS's words."""
    broken = []
    size = len(value) if rule.kind in ("string", "list", "map") else value
    noun = "have length" if rule.kind in ("string", "list", "map") else "have value"
    if rule.min is not None and size < rule.min:
        broken.append(f"Member must {noun} greater than or equal to {rule.min:g}")
    elif rule.max is not None and size > rule.max:
        broken.append(f"Member must {noun} less than or equal to {rule.max:g}")
    if rule.pattern and isinstance(value, str):
        matches = rule.matches or (lambda text: re.fullmatch(str(rule.pattern), text) is not None)
        if not matches(value):
            broken.append(f"Member must satisfy regular expression pattern: {rule.pattern}")
    if rule.enum and value not in rule.enum:
        broken.append(f"Member must satisfy enum value set: [{', '.join(rule.enum)}]")
    return broken


def _check(rule: Rule, value: Any, where: str, problems: list[str]) -> None:
    def fail(constraint: str) -> None:
        problems.append(f"Value '{_render(value)}' at '{where}' failed to satisfy constraint: "
                        f"{constraint}")

    kinds: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "list": lambda v: isinstance(v, list),
        "map": lambda v: isinstance(v, dict),
        "any": lambda v: True,
    }
    if not kinds[rule.kind](value):
        fail(f"Member must be of type {rule.kind}")
        return
    for constraint in _broken(rule, value):
        fail(constraint)
    if rule.item and isinstance(value, list):
        for index, item in enumerate(value):
            _check(rule.item, item, f"{where}.{index + 1}.member", problems)
    if isinstance(value, dict):
        for label, part, parts in (("Map keys", rule.key, list(value)),
                                   ("Map value", rule.value, list(value.values()))):
            broken = sorted({c for item in parts if part and isinstance(item, str)
                             for c in _broken(part, item)})
            if broken:
                fail(f"{label} must satisfy constraint: [{', '.join(broken)}]")


def validate(operation: str, params: dict[str, Any]) -> None:
    """Raise ValidationException listing every member that breaks the model's constraints."""
    problems: list[str] = []
    for name, rule in OPERATIONS.get(operation, {}).items():
        where = _camel(name)
        if name not in params or params[name] is None:
            if rule.required:
                problems.append(f"Value null at '{where}' failed to satisfy constraint: "
                                "Member must not be null")
            continue
        _check(rule, params[name], where, problems)
    if problems:
        count = len(problems)
        raise ValidationException(
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems))
