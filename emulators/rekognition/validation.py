"""The service model's input constraints that botocore does not check on the client.

botocore checks required members, types and minimums only; maximums, patterns, enums and the
image blob size reach the service, which answers `ValidationException` in AWS's wording
("1 validation error detected: Value 'x' at 'collectionId' failed to satisfy constraint: ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .exceptions import ValidationException

COLLECTION_ID = r"[a-zA-Z0-9_.\-]+"
EXTERNAL_ID = r"[a-zA-Z0-9_.\-:]+"
FACE_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TOKEN = r"^[a-zA-Z0-9-_]+$"
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
    item: "Rule | None" = None  # for lists


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
    return Rule(rule.kind, True, rule.min, rule.max, rule.pattern, rule.enum, rule.item)


OPERATIONS: dict[str, dict[str, Rule]] = {
    "CreateCollection": {"CollectionId": COLLECTION, "Tags": Rule("map", max=200)},
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
    text = str(value)
    return text if len(text) <= 100 else text[:100] + "..."


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
        problems.append(f"Value '{_render(value)}' at '{where}' failed to satisfy constraint: "
                        f"Member must be of type {rule.kind}")
        return
    size = len(value) if rule.kind in ("string", "list", "map") else value
    noun = "have length" if rule.kind in ("string", "list", "map") else "have value"
    if rule.min is not None and size < rule.min:
        fail(f"Member must {noun} greater than or equal to {rule.min:g}")
    elif rule.max is not None and size > rule.max:
        fail(f"Member must {noun} less than or equal to {rule.max:g}")
    if rule.pattern and isinstance(value, str) and not re.fullmatch(rule.pattern, value):
        fail(f"Member must satisfy regular expression pattern: {rule.pattern}")
    if rule.enum and value not in rule.enum:
        fail(f"Member must satisfy enum value set: [{', '.join(rule.enum)}]")
    if rule.item and isinstance(value, list):
        for index, item in enumerate(value):
            _check(rule.item, item, f"{where}.{index + 1}.member", problems)


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
