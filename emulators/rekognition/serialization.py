"""Input members of the wrong JSON type, checked against botocore's Rekognition service model.

AWS JSON services deserialize the request before any validation: a value of the wrong JSON
type (`"MaxResults": 2.0` for an integer, a string for a list, ...) is answered with
`SerializationException` (400), never a 500. The member types come from the service model
botocore ships, so they are the ones every AWS SDK is generated from. The messages follow the
wording AWS JSON services are seen to use (DynamoDB's, in public emulators' tests against it);
Rekognition's own wording is not published.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from .exceptions import SerializationException

# botocore type name -> the type name in AWS's messages, and the JSON values that fit it
SCALARS: dict[str, tuple[str, tuple[type, ...]]] = {
    "string": ("String", (str,)),
    "blob": ("Blob", (str,)),  # base64 text
    "integer": ("Integer", (int,)),
    "long": ("Long", (int,)),
    "float": ("Float", (int, float)),
    "double": ("Double", (int, float)),
    "boolean": ("Boolean", (bool,)),
    "timestamp": ("Date", (int, float, str)),
}


@functools.cache
def _operation(name: str) -> OperationModel:
    model = botocore.session.get_session().get_service_model("rekognition")
    return model.operation_model(name)


def _kind(value: Any) -> str:
    """The JSON token, named as AWS's deserializer names it in its messages."""
    if isinstance(value, bool):
        return "BOOLEAN_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    return "NUMBER_VALUE"


def _check(shape: Shape, value: Any) -> None:
    if value is None:
        return  # JSON null: the member is absent
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise SerializationException("Unexpected field type")
        for name, member in shape.members.items():
            if name in value:
                _check(member, value[name])
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise SerializationException("Unexpected field type")
        for item in value:
            _check(shape.member, item)
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise SerializationException("Unexpected field type")
        for item in value.values():
            _check(shape.value, item)
    else:
        type_name, fits = SCALARS[shape.type_name]
        if isinstance(value, dict):
            raise SerializationException("Start of structure or map found where not expected.")
        if isinstance(value, list):
            raise SerializationException("Start of list found where not expected.")
        # bool is an int to Python, not to JSON.
        if not isinstance(value, fits) or (isinstance(value, bool) and bool not in fits):
            article = "an" if type_name[0] in "AEIOU" else "a"
            raise SerializationException(
                f"{_kind(value)} can not be converted to {article} {type_name}")


def check_types(operation: str, params: dict[str, Any]) -> None:
    """Raise SerializationException if a member of the request has the wrong JSON type."""
    input_shape = _operation(operation).input_shape
    if input_shape is not None:
        _check(input_shape, params)
