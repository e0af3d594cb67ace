"""Wire <-> backend: decode an AWS JSON 1.1 request body into backend arguments, and back."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .exceptions import (
    InvalidParameterException,
    SerializationException,
    UnknownOperationException,
)
from .images import ImageInput
from .models import RekognitionBackend
from .serialization import check_types
from .validation import validate

TARGET_PREFIX = "RekognitionService."


@dataclass(frozen=True)
class RequestContext:
    region: str


def _image(params: dict[str, Any]) -> ImageInput:
    image = params.get("Image")
    if not isinstance(image, dict):
        raise InvalidParameterException()
    members = sum(1 for name in ("Bytes", "S3Object") if image.get(name) is not None)
    data = None
    if isinstance(image.get("Bytes"), str):
        try:  # blobs travel as base64 text inside the JSON body
            data = base64.b64decode(image["Bytes"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise SerializationException("Image.Bytes is not valid base64") from error
    s3 = image.get("S3Object")
    return ImageInput(data, s3 if isinstance(s3, dict) else None, members)


Handler = Callable[[RekognitionBackend, dict[str, Any], RequestContext], dict[str, Any]]

HANDLERS: dict[str, Handler] = {
    "CreateCollection": lambda b, p, c: b.create_collection(p["CollectionId"], c.region),
    "DescribeCollection": lambda b, p, c: b.describe_collection(p["CollectionId"]),
    "DeleteCollection": lambda b, p, c: b.delete_collection(p["CollectionId"]),
    "ListCollections": lambda b, p, c: b.list_collections(p.get("MaxResults"),
                                                          p.get("NextToken")),
    "IndexFaces": lambda b, p, c: b.index_faces(
        p["CollectionId"], _image(p), p.get("ExternalImageId"), p.get("MaxFaces"),
        p.get("QualityFilter")),
    "ListFaces": lambda b, p, c: b.list_faces(
        p["CollectionId"], p.get("UserId"), p.get("FaceIds"), p.get("MaxResults"),
        p.get("NextToken")),
    "DeleteFaces": lambda b, p, c: b.delete_faces(p["CollectionId"], p["FaceIds"]),
    "DetectFaces": lambda b, p, c: b.detect_faces(_image(p)),
    "SearchFaces": lambda b, p, c: b.search_faces(
        p["CollectionId"], p["FaceId"], p.get("FaceMatchThreshold"), p.get("MaxFaces")),
    "SearchFacesByImage": lambda b, p, c: b.search_faces_by_image(
        p["CollectionId"], _image(p), p.get("FaceMatchThreshold"), p.get("MaxFaces"),
        p.get("QualityFilter")),
    "CreateUser": lambda b, p, c: b.users.create_user(
        p["CollectionId"], p["UserId"], p.get("ClientRequestToken")),
    "DeleteUser": lambda b, p, c: b.users.delete_user(
        p["CollectionId"], p["UserId"], p.get("ClientRequestToken")),
    "ListUsers": lambda b, p, c: b.users.list_users(
        p["CollectionId"], p.get("MaxResults"), p.get("NextToken")),
    "AssociateFaces": lambda b, p, c: b.users.associate_faces(
        p["CollectionId"], p["UserId"], p["FaceIds"], p.get("UserMatchThreshold"),
        p.get("ClientRequestToken")),
    "DisassociateFaces": lambda b, p, c: b.users.disassociate_faces(
        p["CollectionId"], p["UserId"], p["FaceIds"], p.get("ClientRequestToken")),
    "SearchUsers": lambda b, p, c: b.users.search_users(
        p["CollectionId"], p.get("UserId"), p.get("FaceId"), p.get("UserMatchThreshold"),
        p.get("MaxUsers")),
    "SearchUsersByImage": lambda b, p, c: b.users.search_users_by_image(
        p["CollectionId"], _image(p), p.get("UserMatchThreshold"), p.get("MaxUsers"),
        p.get("QualityFilter")),
}


def operation_name(target: str | None) -> str:
    """`RekognitionService.IndexFaces` -> `IndexFaces`, or UnknownOperationException."""
    if not target or not target.startswith(TARGET_PREFIX):
        raise UnknownOperationException(f"Missing or foreign X-Amz-Target: {target!r}")
    operation = target[len(TARGET_PREFIX):]
    if operation not in HANDLERS:
        raise UnknownOperationException(f"Operation {operation} is not supported here")
    return operation


def dispatch(backend: RekognitionBackend, operation: str, params: Any,
             context: RequestContext) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object")
    check_types(operation, params)
    validate(operation, params)
    return HANDLERS[operation](backend, params, context)
