"""The `facetag` command on in-memory fakes: a Wiring the commands accept instead of the app's
runtime, and a way to run a command line (no tests here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from click.testing import CliRunner, Result

from chalicelib.assets import Asset
from chalicelib.notifications import Actor, AssetUploaded
from chalicelib.reconcile import Options, Summary
from chalicelib.settings import Settings, from_env
from chalicelib.stores import AssetLibrary, MessageQueue, ParameterStore
from chalicelib.tagging import Outcome, Tagger
from facetag_cli.cli import cli
from tests.fakes import FaceSpec, FakeFaces, FakeLibrary, FakeParameters, FakeQueue
from tests.unit.worker_support import deliver

LIBRARIAN = Actor("ui", "librarian")


@dataclass
class FakeWiring:
    """What the commands work on: settings from `environ`, the fakes, a canned reconciliation."""

    environ: Mapping[str, str] = field(default_factory=dict)
    faces: FakeFaces = field(default_factory=FakeFaces)
    library: FakeLibrary = field(default_factory=FakeLibrary)
    summary: Summary = field(default_factory=Summary)  # what every reconciliation returns
    runs: list[Options] = field(default_factory=list)
    params: FakeParameters = field(default_factory=FakeParameters)
    queues: dict[str, FakeQueue] = field(default_factory=dict)  # by name, made when asked for
    ages: dict[str, float] = field(default_factory=dict)  # queue name -> oldest message, s
    clock: datetime = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def settings(self) -> Settings:
        return from_env(self.environ)

    def tagger(self) -> Tagger:
        return Tagger(self.settings(), self.faces, self.library, own_api_key="facetag-key")

    def media_library(self) -> AssetLibrary:
        return self.library

    def reconcile(self, options: Options, progress: Callable[[str, int], None]) -> Summary:
        self.runs.append(options)
        progress("found", self.summary.found)
        progress("done", self.summary.processed)
        return self.summary

    def parameters(self) -> ParameterStore:
        return self.params

    def queue(self, name: str) -> MessageQueue:
        return self.fake_queue(name)

    def fake_queue(self, name: str) -> FakeQueue:
        return self.queues.setdefault(name, FakeQueue(name))

    def oldest_age_s(self, queue_name: str) -> float | None:
        return self.ages.get(queue_name)

    def now(self) -> datetime:
        return self.clock

    # -- arranging a library ---------------------------------------------------------------

    def upload(self, asset_id: str, *faces: str, tags: tuple[str, ...] = ()) -> Outcome:
        """An upload through the app's own flow: `faces` are the identities on the photo."""
        self.faces.photos[asset_id] = [FaceSpec(identity) for identity in faces]
        asset = self.library.add(asset_id, f"photos/{asset_id}", tags)
        return deliver(self.tagger(), AssetUploaded(asset, LIBRARIAN))

    def train(self, asset_id: str, identity: str, name: str) -> Outcome:
        return self.upload(asset_id, identity, tags=(f"train:{name}",))

    def asset(self, asset_id: str) -> Asset:
        return self.library.assets[asset_id]


def facetag(wiring: FakeWiring, *args: str) -> Result:
    """One command line, its output kept apart: stdout and stderr."""
    return CliRunner().invoke(cli, list(args), obj=wiring)


def one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]
