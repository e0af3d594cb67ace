"""One class per Rekognition error: its wire name (`__type`), HTTP status and body."""

from __future__ import annotations

import uuid


class RekognitionError(Exception):
    code = "InternalServerError"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, str]:
        """The error body as Rekognition sends it (Developer Guide, "Error handling"): the
        name in `__type` and `Code`, a `Logref` UUID, and `Message`."""
        return {"__type": self.code, "Code": self.code, "Logref": str(uuid.uuid4()),
                "Message": self.message}


class FrameworkError(RekognitionError):
    """Raised by AWS's request framework before Rekognition sees the request: the name is
    namespaced and the body holds the message only (botocore drops the namespace)."""
    namespace = "com.amazon.coral.service"
    message_key = "Message"

    def body(self) -> dict[str, str]:
        return {"__type": f"{self.namespace}#{self.code}", self.message_key: self.message}


class AccessDeniedException(RekognitionError):
    code = "AccessDeniedException"


class ConflictException(RekognitionError):
    code = "ConflictException"


class IdempotentParameterMismatchException(RekognitionError):
    code = "IdempotentParameterMismatchException"

    def __init__(self, message: str = "ClientRequestToken was reused with different parameters."
                 ) -> None:
        super().__init__(message)


class ImageTooLargeException(RekognitionError):
    code = "ImageTooLargeException"


class InternalServerError(RekognitionError):
    code = "InternalServerError"
    status = 500


class InvalidImageFormatException(RekognitionError):
    code = "InvalidImageFormatException"

    def __init__(self, message: str = "Request has invalid image format") -> None:
        super().__init__(message)


class InvalidPaginationTokenException(RekognitionError):
    code = "InvalidPaginationTokenException"

    def __init__(self, message: str = "Invalid pagination token") -> None:
        super().__init__(message)


class InvalidParameterException(RekognitionError):
    code = "InvalidParameterException"

    def __init__(self, message: str = "Request has invalid parameters") -> None:
        super().__init__(message)


class InvalidS3ObjectException(RekognitionError):
    code = "InvalidS3ObjectException"

    def __init__(self, message: str = ("Unable to get object metadata from S3. Check object key, "
                                       "region and/or access permissions.")) -> None:
        super().__init__(message)


class ProvisionedThroughputExceededException(RekognitionError):
    code = "ProvisionedThroughputExceededException"


class ResourceAlreadyExistsException(RekognitionError):
    code = "ResourceAlreadyExistsException"


class ResourceNotFoundException(RekognitionError):
    code = "ResourceNotFoundException"


class ServiceQuotaExceededException(RekognitionError):
    code = "ServiceQuotaExceededException"


class ThrottlingException(RekognitionError):
    code = "ThrottlingException"
    status = 500


class ValidationException(FrameworkError):
    """A service-model constraint (pattern, length, range, enum) failed; not in the model, so
    boto3 raises a plain ClientError with this code. AWS JSON services spell this body's
    member `message`."""
    code = "ValidationException"
    namespace = "com.amazon.coral.validate"
    message_key = "message"


class UnknownOperationException(FrameworkError):
    code = "UnknownOperationException"


class SerializationException(FrameworkError):
    """A member of the wrong JSON type, or a body that is not JSON."""
    code = "SerializationException"


# Errors the fault injector may answer with, by wire name.
FAULTS: dict[str, type[RekognitionError]] = {
    cls.code: cls for cls in (ThrottlingException, ProvisionedThroughputExceededException,
                              InternalServerError, AccessDeniedException)
}
