"""What can go wrong with the face collection, in facetag's terms.

`FaceIndex` (faces.py) turns every botocore error into one of these, so no flow knows a
Rekognition error code. Callers decide from the class alone: an unusable image is the asset's
problem (written on it), throttling and unavailability are transient (retried later), a missing
collection or a reached limit needs someone to act.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)


class FacesError(Exception):
    """Rekognition could not do what facetag asked."""


class CollectionMissing(FacesError):
    def __init__(self, collection_id: str) -> None:
        super().__init__(f"the face collection {collection_id!r} does not exist")
        self.collection_id = collection_id


class UserMissing(FacesError):
    """A user facetag named in a call does not exist: another worker deleted it (named or
    merged an unnamed person) since this one saw it. Rekognition's code for it is the missing
    collection's too; a caller that goes on finds a missing collection with its next call."""

    def __init__(self, user_id: str) -> None:
        super().__init__(f"the user {user_id!r} does not exist")
        self.user_id = user_id


class Throttled(FacesError):
    """Rekognition asked to slow down, and botocore's own retries did not get through."""

    def __init__(self, code: str) -> None:
        super().__init__(f"Rekognition is throttling ({code}) after botocore's retries")


class UnusableImage(FacesError):
    """The image itself is the problem: no retry fixes it."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Rekognition cannot use the image: {reason}")
        self.reason = reason


class LimitReached(FacesError):
    """A Rekognition quota is used up, for example a person's 100 faces."""

    def __init__(self, message: str) -> None:
        super().__init__(f"a Rekognition limit is reached ({message})")


class FacesMisconfigured(FacesError):
    """No usable AWS credentials or region: an operator must fix the configuration."""


class FacesUnavailable(FacesError):
    """Anything else (5xx, connection errors, timeouts, unknown codes): treated as transient."""


THROTTLING_ERRORS = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException",
                               "LimitExceededException"})

# Rekognition errors on an image that no retry fixes, with the reason a librarian reads.
UNUSABLE_IMAGE_ERRORS = {
    "InvalidImageFormatException": "the image format cannot be read",
    "ImageTooLargeException": "the image is too large",
    "InvalidParameterException": "the image is too small or cannot be used",
    "ValidationException": "the image is too large",
}

CREDENTIAL_ERRORS = frozenset({"UnrecognizedClientException", "InvalidSignatureException",
                               "AccessDeniedException", "ExpiredTokenException"})


@contextmanager
def translating(collection_id: str, image: bool = False, tolerated: str = "") -> Iterator[None]:
    """botocore's errors raised as facetag's; the `tolerated` code is the state wanted."""
    try:
        yield
    except ClientError as exc:
        if tolerated and exc.response.get("Error", {}).get("Code") == tolerated:
            return
        raise translated(exc, collection_id, image) from exc
    except BotoCoreError as exc:
        raise translated(exc, collection_id, image) from exc


def translated(error: ClientError | BotoCoreError, collection_id: str,
               image: bool = False) -> FacesError:
    """facetag's error for a botocore error; `image`: the call sent an image."""
    if isinstance(error, BotoCoreError):
        return _transport_error(error)
    code = str(error.response.get("Error", {}).get("Code", ""))
    message = str(error.response.get("Error", {}).get("Message", ""))
    if code == "ResourceNotFoundException":
        return CollectionMissing(collection_id)
    if code in THROTTLING_ERRORS:
        return Throttled(code)
    if image and code in UNUSABLE_IMAGE_ERRORS:
        return UnusableImage(UNUSABLE_IMAGE_ERRORS[code])
    if code == "ServiceQuotaExceededException":
        return LimitReached(message or code)
    if code in CREDENTIAL_ERRORS:
        return FacesMisconfigured(f"AWS refused the credentials ({code}: {message})")
    return FacesUnavailable(f"Rekognition answered {code or 'an error'}: {message}")


def _transport_error(error: BotoCoreError) -> FacesError:
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return FacesMisconfigured("no AWS credentials: set AWS_PROFILE or "
                                  "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    if isinstance(error, NoRegionError):
        return FacesMisconfigured("no AWS region: set AWS_DEFAULT_REGION "
                                  "(where the collection lives)")
    if isinstance(error, ConnectionError):
        return FacesUnavailable(f"cannot reach Rekognition ({error})")
    return FacesUnavailable(f"the Rekognition call failed ({error})")
