"""The `facetag` command on in-memory fakes: a Wiring the commands accept instead of the app's
runtime, the fakes' operator-only calls, and a way to run a command line (no tests here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from botocore.exceptions import ClientError
from click.testing import CliRunner, Result

from chalicelib.assets import Asset
from chalicelib.faces import CollectionInfo
from chalicelib.library import SearchPage
from chalicelib.notifications import AssetUploaded, Actor
from chalicelib.reconcile import Options, Summary
from chalicelib.settings import Settings, from_env
from chalicelib.tagging import Outcome, Tagger
from facetag_cli.account import Registration
from facetag_cli.cli import cli
from tests.fakes import FaceSpec, FakeFaces, FakeLibrary

LIBRARIAN = Actor("ui", "librarian")


class CollectionMissing(ClientError):
    """What boto3 raises for a collection that does not exist: a ClientError with the code."""

    def __init__(self) -> None:
        super().__init__({"Error": {"Code": "ResourceNotFoundException",
                                    "Message": "The collection id: facetag does not exist"}},
                         "ListUsers")


class _Exceptions:
    ResourceNotFoundException = CollectionMissing


class _Client:
    exceptions = _Exceptions


@dataclass
class OperatorFaces(FakeFaces):
    """FakeFaces with the collection-wide calls only the operator makes."""

    exists: bool = True
    failure: Exception | None = None  # raised by every collection-wide call when set
    client: _Client = field(default_factory=_Client)  # type: ignore[assignment]

    def _check(self) -> None:
        if self.failure is not None:
            raise self.failure
        if not self.exists:
            raise CollectionMissing()

    def ensure_collection(self) -> bool:
        created, self.exists = not self.exists, True
        return created

    def describe(self) -> CollectionInfo:
        self._check()
        return CollectionInfo(len(self.stored), len(self.users_), "")

    def delete_collection(self) -> None:
        self._check()
        self.stored.clear()
        self.users_.clear()
        self.exists = False

    def users(self) -> list[str]:
        self._check()
        return list(self.users_)


@dataclass
class SearchableLibrary(FakeLibrary):
    """FakeLibrary with Search: every asset, in one page. Its callers keep the exact holders
    themselves (Cloudinary's search tokenises values), so this is all they need."""

    def search(self, expression: str, next_cursor: str | None = None) -> SearchPage:
        self.calls.append("search")
        assets = tuple(self.assets.values())
        return SearchPage(assets, None, len(assets))


@dataclass
class FakeAccount:
    """The Cloudinary product environment: its triggers in a list."""

    cloud_name: str = "demo"
    registered: list[Registration] = field(default_factory=list)
    pings: int = 0
    failure: Exception | None = None  # raised by every call when set

    def _check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def ping(self) -> None:
        self._check()
        self.pings += 1

    def delivery_url(self, public_id: str, delivery_type: str, version: int | None) -> str:
        return f"https://res.example.com/{self.cloud_name}/image/{delivery_type}/v{version}/{public_id}"

    def registrations(self) -> list[Registration]:
        self._check()
        return list(self.registered)

    def register(self, uri: str, event_type: str) -> None:
        self._check()
        self.registered.append(Registration(f"trigger-{len(self.registered)}", event_type, uri))


@dataclass
class FakeWiring:
    """What the commands work on: settings from `environ`, the fakes, a canned reconciliation."""

    environ: Mapping[str, str] = field(default_factory=dict)
    faces: OperatorFaces = field(default_factory=OperatorFaces)
    library: SearchableLibrary = field(default_factory=SearchableLibrary)
    cloudinary: FakeAccount = field(default_factory=FakeAccount)
    summary: Summary = field(default_factory=Summary)  # what every reconciliation returns
    runs: list[Options] = field(default_factory=list)

    def settings(self) -> Settings:
        return from_env(self.environ)

    def tagger(self) -> Tagger:
        return Tagger(self.settings(), self.faces, self.library,  # type: ignore[arg-type]
                      own_api_key="facetag-key")

    def account(self) -> FakeAccount:
        return self.cloudinary

    def reconcile(self, options: Options, progress: Callable[[str, int], None]) -> Summary:
        self.runs.append(options)
        progress("found", self.summary.found)
        progress("done", self.summary.processed)
        return self.summary

    # -- arranging a library ---------------------------------------------------------------

    def upload(self, asset_id: str, *faces: str, tags: tuple[str, ...] = ()) -> Outcome:
        """An upload through the app's own flow: `faces` are the identities on the photo."""
        self.faces.photos[asset_id] = [FaceSpec(identity) for identity in faces]
        asset = self.library.add(asset_id, f"photos/{asset_id}", tags)
        return self.tagger().handle(AssetUploaded(asset, LIBRARIAN))

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
