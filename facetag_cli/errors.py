"""Expected failures: one sentence on stderr and an exit code (2 usage or configuration, 1
something failed), never a traceback. Anything else is a bug and keeps its traceback.

The services' failures arrive as the wrappers' own errors (chalicelib/face_errors.py,
chalicelib/library_errors.py), whose class alone says which code they are.
"""

from __future__ import annotations

from typing import IO, Any

import click

from chalicelib.backfill.state import BadState
from chalicelib.credentials import SecretUnavailable
from chalicelib.face_errors import CollectionMissing, FacesError, FacesMisconfigured
from chalicelib.library_errors import LibraryError, LibraryMisconfigured
from chalicelib.names import InvalidName
from chalicelib.parameters import ParameterUnavailable
from chalicelib.queues import QueueMissing, QueueUnavailable
from chalicelib.settings import ConfigError
from facetag_cli.event_sources import EventSourcesUnavailable
from facetag_cli.people import SameName, UnknownPerson


class Problem(click.ClickException):
    """A usage or configuration problem: `facetag: <one sentence>` on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"facetag: {self.format_message()}", file=file, err=True)


class Failed(Problem):
    """Something failed or was left undone (a service failed or refused): exit code 1."""

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
    if isinstance(exc, CollectionMissing):
        return Problem(f"{one_line(exc)}: run `facetag init` to create it.")
    if isinstance(exc, (LibraryMisconfigured, FacesMisconfigured)):
        return Problem(sentence(exc))
    if isinstance(exc, QueueMissing):
        return Problem(f"{exc}: create the stage's queues (infra/queues.json) or set "
                       "FACETAG_LIVE_QUEUE, FACETAG_BACKFILL_QUEUE and FACETAG_SCAN_QUEUE.")
    if isinstance(exc, QueueUnavailable):
        return Failed(f"SQS: {sentence(exc)}")
    if isinstance(exc, ParameterUnavailable):
        return Failed(f"SSM Parameter Store: {sentence(exc)}")
    if isinstance(exc, BadState):
        return Problem(f"FACETAG_BACKFILL_PARAM holds something else: {exc}.")
    if isinstance(exc, (LibraryError, FacesError, SecretUnavailable, EventSourcesUnavailable)):
        return Failed(sentence(exc))
    return None


def one_line(exc: BaseException) -> str:
    """The error's message on one line (a service's answer quoted in it may hold several)."""
    return " ".join(str(exc).split())


def sentence(exc: BaseException) -> str:
    text = one_line(exc)
    return text if text.endswith(".") else f"{text}."
