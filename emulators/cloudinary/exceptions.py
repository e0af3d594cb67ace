"""One class per error the Cloudinary API answers with, carrying its HTTP status.

For each status the SDK raises the `cloudinary.exceptions` class of the same name, with the
message of the `{"error": {"message": ...}}` body. Injected faults (`/_admin/faults`) are
answers, not exceptions: they may carry any status.
"""

from __future__ import annotations


class CloudinaryError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(CloudinaryError):
    status = 400


class AuthorizationRequired(CloudinaryError):
    status = 401


class NotFound(CloudinaryError):
    status = 404


class AlreadyExists(CloudinaryError):
    status = 409


class RateLimited(CloudinaryError):
    status = 420
