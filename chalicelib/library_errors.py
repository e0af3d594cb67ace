"""What can go wrong with the Cloudinary media library, in facetag's terms.

`MediaLibrary` (library.py) turns every `cloudinary.exceptions` error and urllib3 error into one
of these, so no flow knows the SDK's classes or parses its messages. Callers decide from the
class alone: a refused delivery is the asset's problem (written on it), a rate limit stops work
until `reset_at`, an unavailable library is transient (retried later).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import cloudinary.exceptions as sdk
import urllib3


class LibraryError(Exception):
    """Cloudinary could not do what facetag asked."""


class RateLimited(LibraryError):
    """The Admin API's hourly quota is used up; `reset_at` says when it comes back, if known."""

    def __init__(self, reset_at: datetime | None) -> None:
        when = f"; it resets on {reset_at:%Y-%m-%d %H:%M:%S} UTC" if reset_at else ""
        super().__init__(f"Cloudinary's rate limit was reached{when}")
        self.reset_at = reset_at


class AssetGone(LibraryError):
    def __init__(self) -> None:
        super().__init__("the asset no longer exists")


class DeliveryRefused(LibraryError):
    """Cloudinary cannot render the image: no retry fixes it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WriteRefused(LibraryError):
    """Cloudinary refused a change (HTTP 400), for example "Too many tags". A bulk write goes
    on past the assets refused: `refused` names them, `applied` the ones written."""

    def __init__(self, reason: str, refused: Sequence[str] = (),
                 applied: Sequence[str] = ()) -> None:
        super().__init__(f"Cloudinary refused the change: {reason}")
        self.reason = reason
        self.refused = tuple(refused)
        self.applied = tuple(applied)


class LibraryMisconfigured(LibraryError):
    """Cloudinary refused the credentials: an operator must fix the configuration."""


class LibraryUnavailable(LibraryError):
    """5xx, timeouts, connection errors: a later attempt may succeed."""


class ServerUnavailable(LibraryUnavailable):
    """A 5xx answer, or none (a refused or broken connection, a timeout): an attempt a moment
    later often succeeds, so the wrapper tries again at once. Not a 420 (the hourly quota is
    spent until its reset) nor a 4xx (the same request gets the same answer)."""


# Delivery answers that say this image cannot be rendered, whenever it is asked for: the
# asset's problem, written on it. 404/410 mean the asset is gone. Any other answer (a redirect,
# 408, 420, 423 "still processing", 429, every 5xx…) may change: retried later.
UNRENDERABLE = {400: "Cloudinary could not render the image (HTTP 400)",
                413: "the image is too large for Cloudinary to render (HTTP 413)",
                415: "Cloudinary cannot render this kind of file (HTTP 415)",
                422: "Cloudinary could not render the image (HTTP 422)",
                401: "Cloudinary refused to deliver the image (HTTP 401): the asset's access "
                     "control or strict transformations forbid it",
                403: "Cloudinary refused to deliver the image (HTTP 403): the asset's access "
                     "control forbids it"}
GONE = (404, 410)


def delivery_error(status: int) -> LibraryError:
    """What a delivery answer other than 200 means; the reason never quotes the answer."""
    if status in GONE:
        return AssetGone()
    if status in UNRENDERABLE:
        return DeliveryRefused(UNRENDERABLE[status])
    return LibraryUnavailable(f"delivery answered HTTP {status}; a later attempt may succeed")


# Cloudinary's own words on a 420/429: "… Try again on 2024-10-04 14:00:00 UTC".
_TRY_AGAIN = re.compile(r"[Tt]ry again on (\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d)?)")


def reset_time(message: str) -> datetime | None:
    """When the rate limit resets, from the text of Cloudinary's answer."""
    found = _TRY_AGAIN.search(message)
    if found is None:
        return None
    clock = found.group(2) if found.group(2).count(":") == 2 else found.group(2) + ":00"
    return datetime.fromisoformat(f"{found.group(1)}T{clock}").replace(tzinfo=UTC)


@contextmanager
def translating(write: bool = False, known_reset: datetime | None = None) -> Iterator[None]:
    """SDK and urllib3 errors raised as facetag's.

    `write`: the call changes assets (a 400 is then a refused change). `known_reset`: when the
    last answer's headers said the quota resets; the SDK keeps no headers on an error.
    """
    try:
        yield
    except sdk.Error as exc:
        raise translated(exc, write, known_reset) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise ServerUnavailable(f"cannot reach Cloudinary ({type(exc).__name__})") from exc
    except Exception as exc:
        # The Admin API raises a bare Exception for a status it has no class for (502, 504…).
        if type(exc) is not Exception:
            raise
        raise _unavailable(f"Cloudinary answered an error ({exc})", exc) from exc


def translated(error: sdk.Error, write: bool, known_reset: datetime | None) -> LibraryError:
    if isinstance(error, sdk.RateLimited):
        current = known_reset if known_reset and known_reset > datetime.now(UTC) else None
        return RateLimited(current or reset_time(str(error)))
    if isinstance(error, sdk.NotFound):
        return AssetGone()
    if isinstance(error, (sdk.AuthorizationRequired, sdk.NotAllowed)):
        return LibraryMisconfigured(
            f"Cloudinary refused the credentials ({error}): check CLOUDINARY_URL, or "
            "CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET")
    if isinstance(error, sdk.BadRequest) and write:
        return WriteRefused(str(error))
    if isinstance(error, (sdk.BadRequest, sdk.AlreadyExists)):
        return LibraryError(f"Cloudinary refused the request ({error})")
    if "socket error" in str(error).lower():
        return ServerUnavailable(f"cannot reach Cloudinary ({error})")
    return _unavailable(f"Cloudinary answered an error ({error})", error)


# The status in the SDK's words: the Admin API's "Error 502 - …", either API's unreadable answer
# "Error parsing server response (502) - …".
_STATUS = re.compile(r"^Error (\d{3}) - |server response \((\d{3})\)")


def _unavailable(message: str, error: Exception) -> LibraryUnavailable:
    """ServerUnavailable when the error shows a 5xx or no answer at all."""
    status = _STATUS.search(str(error))
    if status is not None:
        server = int(status.group(1) or status.group(2)) >= 500
    else:
        # GeneralError is the SDK's class for 500 and 503 and for a failed connection; the
        # Upload API's plain Error says "Unexpected error" when urllib3 gave up on the request.
        server = (isinstance(error, sdk.GeneralError)
                  or str(error).startswith("Unexpected error"))
    return (ServerUnavailable if server else LibraryUnavailable)(message)
