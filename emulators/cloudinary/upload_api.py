"""The Upload API (`POST /v1_1/<cloud>/<resource_type>/<action>`): signed multipart calls
that create, change, rename and delete assets. Not counted against the Admin quota."""

from __future__ import annotations

import base64
import binascii
import os
import re
import time
from urllib.parse import unquote

from ..common.http import Answer, json_answer
from .assets import ImageFacts, UploadRequest, random_public_id
from .delivery import inspect_image
from .exceptions import AuthorizationRequired, BadRequest
from .service import Service
from .signing import api_signature, string_to_sign, upload_signature_matches
from .wire import (
    Params,
    as_list,
    given_context,
    iso,
    parse_context,
    parse_tags,
    read_params,
    scalar,
    truthy,
)

STALE_REQUEST_SECONDS = 3600
UNIQUE_SUFFIX_LENGTH = 6  # `logo_[a-z0-9]{6}`, as the SDK's test_use_filename expects
ACTIONS = ("upload", "explicit", "rename", "destroy", "tags", "context", "metadata")

Files = dict[str, tuple[str, bytes]]


def _original_filename(params: Params, filename: str) -> str:
    """`filename_override`, or the uploaded file's name, without directories or extension (the
    SDK sends a local file's whole path)."""
    name = scalar(params, "filename_override") or filename
    return os.path.splitext(re.split(r"[/\\]", name)[-1])[0]


def _public_id(params: Params, original: str) -> str | None:
    """The public_id asked for: given, or the original filename (`use_filename`, with a random
    suffix unless `unique_filename` is false), under `folder` if any; None for a random one."""
    public_id = scalar(params, "public_id") or None
    if public_id is None and original and truthy(params.get("use_filename"), False):
        public_id = original
        if truthy(params.get("unique_filename"), True):
            public_id += "_" + random_public_id(UNIQUE_SUFFIX_LENGTH)
    folder = scalar(params, "folder").strip("/")
    if folder:
        # `folder` prefixes the public_id (fixed-folder behaviour) and names the folder.
        public_id = f"{folder}/{public_id or random_public_id()}"
    return public_id


class UploadApi:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.library = service.library

    def handle(self, resource_type: str, action: str, headers: dict[str, str], body: bytes
               ) -> Answer:
        self.service.stats.record(action, upload_calls=1)
        params, files = read_params(headers.get("content-type", ""), body)
        fault = self.service.fault("upload")
        if fault is not None:
            return fault
        caller = self.check_signature(params)
        if action == "upload":
            filename, data = self.file_param(params, files)
            public_id = _public_id(params, _original_filename(params, filename))
            if "content-range" in headers:
                # The SDK sends each next chunk with the public_id the previous answer named.
                chunk = self.service.chunks.add(
                    f"{caller}:{headers.get('x-unique-upload-id', '')}",
                    headers["content-range"], data, public_id or random_public_id())
                if chunk.whole_file is None:
                    return json_answer(200, {"done": False, "public_id": chunk.public_id})
                public_id, data = chunk.public_id, chunk.whole_file
            return self.upload(resource_type, params, filename, data, public_id, caller)
        if resource_type == "auto":
            raise BadRequest(f"Resource type auto is only for upload, not {action}")
        handler = {"explicit": self.explicit, "rename": self.rename, "destroy": self.destroy,
                   "tags": self.tags, "context": self.context, "metadata": self.metadata}[action]
        return handler(resource_type, params, caller)

    def check_signature(self, params: Params) -> str:
        """The API key that signed the call, or the error Cloudinary answers."""
        api_key = scalar(params, "api_key")
        if not api_key:
            raise AuthorizationRequired("Must supply api_key")
        secret = self.service.config.credentials.get(api_key)
        if secret is None:
            raise AuthorizationRequired(f"Unknown API key {api_key}")
        timestamp = scalar(params, "timestamp")
        if not timestamp:
            raise BadRequest("Missing required parameter - timestamp")
        try:
            stamp = int(timestamp)
        except ValueError:
            raise BadRequest(f"Invalid timestamp {timestamp}") from None
        if stamp < time.time() - STALE_REQUEST_SECONDS:
            raise BadRequest(f"Stale request - reported time is {iso(stamp)} which is "
                             "more than 1 hour ago")
        signature = scalar(params, "signature")
        if not signature or not upload_signature_matches(params, secret, signature):
            raise AuthorizationRequired(f"Invalid Signature {signature}. "
                                        f"String to sign - '{string_to_sign(params)}'.")
        return api_key

    def upload(self, resource_type: str, params: Params, filename: str, data: bytes,
               public_id: str | None, caller: str) -> Answer:
        facts = self.facts_for(resource_type, data, filename)
        resolved_type = resource_type
        if resource_type == "auto":
            resolved_type = "image" if facts.width else "raw"
        original = _original_filename(params, filename)
        folder = scalar(params, "folder").strip("/")
        asset_folder = scalar(params, "asset_folder") or (folder or None)
        tags = parse_tags(params.get("tags")) if params.get("tags") else None
        context = given_context(params)
        result = self.library.upload(UploadRequest(
            data=data, facts=facts, public_id=public_id, resource_type=resolved_type,
            type=scalar(params, "type") or "upload", asset_folder=asset_folder, tags=tags,
            context=context, overwrite=truthy(params.get("overwrite"), True),
            original_filename=original))
        answer = self.service.shapes.upload_result(result.asset, caller)
        # The answer is signed like a request, so a client can check where it came from.
        answer["signature"] = api_signature(
            {"public_id": result.asset.public_id, "version": str(result.asset.version)},
            self.service.config.credentials[caller],
            "sha256" if len(scalar(params, "signature")) == 64 else "sha1")
        if result.existing:
            answer["existing"] = True
            return json_answer(200, answer)
        if result.overwritten:
            answer["overwritten"] = True
        self.service.notifications.uploaded(answer, caller, scalar(params, "notification_url"))
        return json_answer(200, answer)

    @staticmethod
    def file_param(params: Params, files: Files) -> tuple[str, bytes]:
        if "file" in files:
            return files["file"]
        text = scalar(params, "file")
        if text.startswith("data:"):
            header, _, encoded = text.partition(",")
            try:
                data = (base64.b64decode(encoded) if header.endswith(";base64")
                        else unquote(encoded).encode())
            except binascii.Error:
                raise BadRequest("Invalid data URI in file") from None
            return "", data
        if text.startswith(("http://", "https://")):
            raise BadRequest("Remote file URLs are not supported by the local server: "
                             "send the bytes")
        raise BadRequest("Missing required parameter - file")

    @staticmethod
    def facts_for(resource_type: str, data: bytes, filename: str) -> ImageFacts:
        ext = filename.rsplit(".", 1)[1].lower() if "." in filename else ""
        if resource_type == "image":
            return inspect_image(data)
        if resource_type == "auto":
            try:
                return inspect_image(data)
            except BadRequest:
                return ImageFacts(ext, 0, 0)
        return ImageFacts(ext, 0, 0)

    def explicit(self, resource_type: str, params: Params, caller: str) -> Answer:
        public_id = scalar(params, "public_id")
        if not public_id:
            raise BadRequest("Missing required parameter - public_id")
        tags = parse_tags(params["tags"]) if "tags" in params else None
        asset, tag_changes, context_changes = self.library.update(
            public_id, tags=tags, context=given_context(params),
            resource_type=resource_type, type_=scalar(params, "type") or "upload")
        self.service.notifications.changed(tag_changes, context_changes,
                                           caller, scalar(params, "notification_url"))
        return json_answer(200, self.service.shapes.upload_result(asset, caller))

    def rename(self, resource_type: str, params: Params, caller: str) -> Answer:
        from_id, to_id = scalar(params, "from_public_id"), scalar(params, "to_public_id")
        if not from_id:
            raise BadRequest("Missing required parameter - from_public_id")
        asset, replaced = self.library.rename(
            from_id, to_id, overwrite=truthy(params.get("overwrite"), False),
            resource_type=resource_type, type_=scalar(params, "type") or "upload")
        url = scalar(params, "notification_url")
        if replaced is not None:
            self.service.notifications.deleted([replaced], caller, url)
        if from_id != to_id:
            self.service.notifications.renamed(asset, from_id, caller, url)
        return json_answer(200, self.service.shapes.details(asset))

    def destroy(self, resource_type: str, params: Params, caller: str) -> Answer:
        public_id = scalar(params, "public_id")
        if not public_id:
            raise BadRequest("Missing required parameter - public_id")
        gone = self.library.delete([public_id], resource_type, scalar(params, "type") or "upload")
        if not gone:
            return json_answer(200, {"result": "not found"})
        self.service.notifications.deleted(gone, caller, scalar(params, "notification_url"))
        return json_answer(200, {"result": "ok"})

    def tags(self, resource_type: str, params: Params, caller: str) -> Answer:
        applied, changes = self.library.change_tags(
            scalar(params, "command"), parse_tags(params.get("tag")),
            as_list(params, "public_ids"), resource_type, scalar(params, "type") or "upload")
        self.service.notifications.changed(changes, [], caller,
                                           scalar(params, "notification_url"))
        return json_answer(200, {"public_ids": applied})

    def context(self, resource_type: str, params: Params, caller: str) -> Answer:
        applied, changes = self.library.change_context(
            scalar(params, "command"), parse_context(params.get("context")),
            as_list(params, "public_ids"), resource_type, scalar(params, "type") or "upload")
        self.service.notifications.changed([], changes, caller,
                                           scalar(params, "notification_url"))
        return json_answer(200, {"public_ids": applied})

    def metadata(self, resource_type: str, params: Params, caller: str) -> Answer:
        raise BadRequest("Structured metadata is not supported by the local server")
