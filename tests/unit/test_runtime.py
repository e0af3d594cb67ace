"""The per-container singletons: built on first use from the environment, reused, and forgotten
by `runtime.reset()` as a new container would; the handlers' wiring to the queues."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import cloudinary
import pytest
from chalice.test import Client

import app as app_module
from chalicelib import runtime
from chalicelib.assets import AssetRef
from chalicelib.library_errors import LibraryUnavailable
from chalicelib.messages import Process, WorkMessage, encode
from chalicelib.settings import ENV_NAMES, ConfigError
from chalicelib.sizing import Sizing
from chalicelib.tagging import Tagger
from emulators.stack import kept_sdk_config
from tests.fakes import FakeFaces, FakeLibrary, FakeQueue

PROJECT_DIR = str(Path(__file__).resolve().parents[2])


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A new container configured from this test's environment; the AWS clients it makes."""
    for name in ("CLOUDINARY_URL", "CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY",
                 "CLOUDINARY_API_SECRET", *ENV_NAMES.values()):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDINARY_URL", "cloudinary://123456:env-secret@demo")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    services: list[str] = []
    real: Any = boto3.client

    def client(service: str, **options: Any) -> Any:
        services.append(service)
        return real(service, **options)

    monkeypatch.setattr(boto3, "client", client)
    with kept_sdk_config():
        cloudinary.reset_config()
        runtime.reset()
        yield services
        runtime.reset()


def test_the_tagger_is_built_once_on_first_use_and_reused(created: list[str]) -> None:
    assert created == []
    tagger = runtime.tagger()
    assert runtime.tagger() is tagger
    assert tagger.faces is runtime.face_index() and tagger.library is runtime.media_library()
    assert tagger.corrections.own_api_key == "123456"
    assert created == ["rekognition"]  # the secret is in the environment: no SSM client


def test_a_workers_tagger_is_built_once_per_pace_on_a_client_of_its_own(
        created: list[str]) -> None:
    live = runtime.paced_tagger(0.5)
    assert runtime.paced_tagger(0.5) is live
    assert runtime.paced_tagger(2.0) is not live
    assert live.faces is not runtime.face_index() and live.library is runtime.media_library()
    assert created == ["rekognition", "rekognition", "rekognition"]


def test_threads_asking_at_once_share_one_tagger(created: list[str]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        taggers = list(pool.map(lambda _: runtime.tagger(), range(8)))
    assert all(t is taggers[0] for t in taggers)
    assert created == ["rekognition"]


def test_reset_builds_again_from_the_environment(created: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    first = runtime.tagger()
    monkeypatch.setenv("FACETAG_COLLECTION_ID", "other")
    assert runtime.tagger().settings.collection_id == "facetag"  # kept for the container
    runtime.reset()
    again = runtime.tagger()
    assert again is not first and again.settings.collection_id == "other"
    assert created == ["rekognition", "rekognition"]


def test_a_bad_setting_fails_every_call_and_is_not_kept(created: list[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACETAG_MATCH_THRESHOLD", "150")
    for _ in range(2):
        with pytest.raises(ConfigError, match="FACETAG_MATCH_THRESHOLD"):
            runtime.tagger()
    monkeypatch.delenv("FACETAG_MATCH_THRESHOLD")
    assert runtime.settings().match_threshold == 90.0
    assert created == []


def test_a_refused_notification_builds_no_client(created: list[str]) -> None:
    with Client(app_module.app, stage_name="local", project_dir=PROJECT_DIR) as client:
        response = client.http.post("/webhooks/cloudinary", body=b"{}",
                                    headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert created == []


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The container's queues and the workers' tagger, on fakes."""
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    runtime.reset()
    faces, library = FakeFaces(), FakeLibrary()
    tagger = Tagger(runtime.settings(), faces, library)
    queues: dict[str, FakeQueue] = {}
    rates: list[float] = []

    def paced(rate: float) -> Tagger:
        rates.append(rate)
        return tagger

    monkeypatch.setattr(runtime, "queue", lambda name: queues.setdefault(name, FakeQueue(name)))
    monkeypatch.setattr(runtime, "paced_tagger", paced)
    yield {"queues": queues, "library": library, "faces": faces, "rates": rates}
    runtime.reset()


def test_the_webhook_enqueues_on_the_live_queue(wired: dict[str, Any]) -> None:
    message = WorkMessage((Process(AssetRef("a1", "p1"), 1),), "notification:x")
    runtime.enqueue([message])
    assert wired["queues"]["facetag-live.fifo"].sent == [message]


@pytest.mark.parametrize(("handler", "queue", "rate"), [
    ("work_live", "facetag-live.fifo", Sizing().live_rate),
    ("work_backfill", "facetag-backfill.fifo", Sizing().backfill_rate)])
def test_the_queue_handlers_answer_with_their_failed_messages(
        wired: dict[str, Any], handler: str, queue: str, rate: float) -> None:
    library: FakeLibrary = wired["library"]
    library.errors["resources_by_asset_ids"] = LibraryUnavailable("Cloudinary answered 500")
    body = encode(WorkMessage((Process(AssetRef("a1", "p1"), 1),), "notification:x"))
    with Client(app_module.app, stage_name="local", project_dir=PROJECT_DIR) as client:
        event = client.events.generate_sqs_event([body, "not a message"], queue_name=queue)
        event["Records"][1]["messageId"] = "garbage"
        answer = client.lambda_.invoke(handler, event).payload
    assert answer == {"batchItemFailures": [{"itemIdentifier": "message-id"}]}
    assert wired["queues"][queue].retries == [("receipt-handle", 30)]
    assert wired["rates"] == [rate]


def test_a_handler_with_little_time_left_sends_its_messages_back(wired: dict[str, Any]) -> None:
    wired["library"].add("a1", "p1")
    message = WorkMessage((Process(AssetRef("a1", "p1"), 1),), "notification:x")
    with Client(app_module.app, stage_name="local", project_dir=PROJECT_DIR) as client:
        # Chalice's test context gives an invocation 3 s: less than one asset's reserve.
        event = client.events.generate_sqs_event([encode(message)])
        answer = client.lambda_.invoke("work_live", event).payload
    assert answer == {"batchItemFailures": []}
    [again] = wired["queues"]["facetag-live.fifo"].sent
    assert again.items == message.items and again.origin == "rest-of:message-id"
    assert wired["faces"].requests == []


def test_what_a_containers_imports_made_is_left_out_of_the_collectors_passes() -> None:
    code = "import gc, app; print(gc.get_freeze_count())"
    found = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True,
                           text=True, check=True, timeout=60)
    assert int(found.stdout.strip().splitlines()[-1]) > 10_000  # botocore's models among them
