"""Where the commands get what they work on: one factory, the app's own runtime by default.

Each part is built when a command first asks for it, so `--help` and usage errors need no
configuration and `webhook list` needs no AWS region. The Lambda event sources are the CLI's
own (no Lambda function changes them): built here, not in the app's runtime. Tests hand the
commands a factory over in-memory fakes instead (`cli.main(obj=...)`, or click's CliRunner
with `obj=`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from chalicelib import runtime
from chalicelib.reconcile import Options, Progress, Summary, reconcile
from chalicelib.settings import Settings
from chalicelib.stores import AssetLibrary, MessageQueue, ParameterStore
from chalicelib.tagging import Tagger
from facetag_cli.event_sources import EventSources, make_lambda_client

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient


class Wiring(Protocol):
    def settings(self) -> Settings: ...

    def tagger(self) -> Tagger: ...

    def media_library(self) -> AssetLibrary: ...

    def reconcile(self, options: Options, progress: Progress) -> Summary: ...

    def event_sources(self) -> EventSources: ...

    def parameters(self) -> ParameterStore: ...

    def queue(self, name: str) -> MessageQueue: ...

    def oldest_age_s(self, queue_name: str) -> float | None: ...

    def now(self) -> datetime: ...


class FromEnvironment:
    """The app's settings, clients and tagger (chalicelib.runtime), from this environment."""

    def __init__(self) -> None:
        self._cloudwatch: CloudWatchClient | None = None

    def settings(self) -> Settings:
        return runtime.settings()

    def tagger(self) -> Tagger:
        return runtime.tagger()

    def media_library(self) -> AssetLibrary:
        return runtime.media_library()

    def reconcile(self, options: Options, progress: Progress) -> Summary:
        return reconcile(self.tagger(), options=options, progress=progress)

    def event_sources(self) -> EventSources:
        return EventSources(make_lambda_client())

    def parameters(self) -> ParameterStore:
        return runtime.parameters()

    def queue(self, name: str) -> MessageQueue:
        return runtime.queue(name)

    def oldest_age_s(self, queue_name: str) -> float | None:
        from chalicelib.queue_age import make_cloudwatch_client, oldest_age_s

        if self._cloudwatch is None:
            self._cloudwatch = make_cloudwatch_client()
        return oldest_age_s(self._cloudwatch, queue_name)

    def now(self) -> datetime:
        return datetime.now(UTC)
