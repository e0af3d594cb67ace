"""Expected failures: one sentence on stderr and an exit code (2 usage or configuration, 1
something failed), never a traceback. Anything else is a bug and keeps its traceback."""

from __future__ import annotations

from typing import IO, Any

import click
import cloudinary.exceptions as cld
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from chalicelib.names import InvalidName
from chalicelib.settings import ConfigError
from facetag_cli.people import SameName, UnknownPerson

AWS_CREDENTIAL_ERRORS = ("UnrecognizedClientException", "InvalidSignatureException",
                         "AccessDeniedException", "ExpiredTokenException")


class Problem(click.ClickException):
    """A usage or configuration problem: `facetag: <one sentence>` on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"facetag: {self.format_message()}", file=file, err=True)


class Failed(Problem):
    """Something failed or was left undone (a service answered an error): exit code 1."""

    exit_code = 1


class Group(click.Group):
    """A command group whose commands' expected failures become a Problem."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            problem = explain(exc)
            if problem is None:
                raise
            raise problem from exc


def explain(exc: BaseException) -> Problem | None:
    """The Problem an expected failure is; None for click's own exceptions and for bugs."""
    if isinstance(exc, ConfigError):
        return Problem(f"facetag is misconfigured: {exc}")
    if isinstance(exc, (InvalidName, UnknownPerson, SameName)):
        return Problem(str(exc))
    if isinstance(exc, cld.Error):
        return _cloudinary(exc)
    if isinstance(exc, NoCredentialsError):
        return Problem("no AWS credentials: set AWS_PROFILE or "
                       "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.")
    if isinstance(exc, NoRegionError):
        return Problem("no AWS region: set AWS_DEFAULT_REGION (where the collection lives).")
    if isinstance(exc, EndpointConnectionError):
        return Problem(f"cannot reach Rekognition ({exc}).")
    if isinstance(exc, ClientError):
        return _rekognition(exc)
    return None


def _cloudinary(exc: cld.Error) -> Problem:
    if isinstance(exc, cld.AuthorizationRequired):
        return Problem(f"Cloudinary refused the credentials ({exc}): check CLOUDINARY_URL, or "
                       "CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET.")
    if isinstance(exc, cld.RateLimited):
        return Failed(f"Cloudinary's Admin API rate limit is used up ({exc}).")
    if isinstance(exc, cld.GeneralError) and "Socket Error" in str(exc):
        return Problem(f"cannot reach Cloudinary ({exc}): check CLOUDINARY_URL and the "
                       "network.")
    return Failed(f"Cloudinary answered: {exc}")


def _rekognition(exc: ClientError) -> Problem:
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", "")
    if code == "ResourceNotFoundException":
        return Problem(f"the face collection does not exist ({message}): run `facetag init` "
                       "to create it.")
    if code in AWS_CREDENTIAL_ERRORS:
        return Problem(f"AWS refused the credentials ({code}: {message}).")
    return Failed(f"Rekognition answered {code}: {message}")
