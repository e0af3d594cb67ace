"""The whole local stack (both emulators, moto's server with the queues, `chalice local` and the
queue workers) for end-to-end tests."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudinary
import cloudinary.api
import cloudinary.uploader
import pytest

from chalicelib.assets import Asset, asset_from_resource
from emulators.stack import LocalStack, admin, local_stack

# Settings the end-to-end stack runs with, beyond the defaults. The local Rekognition has no
# quota (unless a test gives it one), so the workers are sized for a quota no pacing reaches:
# each worker's share is the quota over 1,000 workers (chalicelib/sizing.py), here 1,000 calls a
# second, where the default 5 would space one worker's calls of an operation 2 s apart.
E2E_SETTINGS = {"FACETAG_EXCLUDE_FOLDERS": "private", "FACETAG_REKOGNITION_TPS": "1000000"}
# The local Rekognition reads it: with a delay, searches lag writes (eventual consistency).
CONSISTENCY_DELAY_ENV = "FACETAG_STANDIN_CONSISTENCY_DELAY_MS"


def eventually_consistent() -> bool:
    """Whether the stack's Rekognition runs with a consistency delay (from the environment)."""
    return bool(int(os.environ.get(CONSISTENCY_DELAY_ENV) or 0))


@dataclass
class Librarian:
    """A person working in the media library, through the real SDK with their own API key."""

    stack: LocalStack
    rekognition: Any
    app_log: Path
    app_log_start: int  # where this test's lines begin in the session's app log
    workers_log: Path
    workers_log_start: int  # the same in the queue workers' log

    def upload(self, data: bytes, public_id: str, tags: list[str] | None = None,
               context: dict[str, str] | None = None, folder: str | None = None) -> Asset:
        options: dict[str, Any] = {"public_id": public_id}
        if tags:
            options["tags"] = tags
        if context:
            options["context"] = context
        if folder:
            options["asset_folder"] = folder
        result = cloudinary.uploader.upload(data, **options)
        return asset_from_resource(result)

    def asset(self, public_id: str) -> Asset:
        return asset_from_resource(cloudinary.api.resource(public_id))

    def people_on(self, public_id: str) -> set[str]:
        return {t.removeprefix("person:") for t in self.asset(public_id).tags
                if t.startswith("person:")}

    def wait(self, timeout: float = 60.0) -> None:
        """Until every notification has been delivered and answered, and the work it queued
        is done."""
        self.stack.wait_for_notifications(timeout)

    def webhook_statuses(self) -> Counter[int]:
        """The HTTP status of each notification facetag answered during this test."""
        statuses: Counter[int] = Counter()
        for entry in log_records(self.app_log, self.app_log_start):
            if entry.get("logger") == "facetag.webhook" and "status" in entry:
                statuses[int(entry["status"])] += 1
        return statuses

    def worker_records(self) -> list[dict[str, Any]]:
        """The queue workers' log lines of this test (the app's and the event sources')."""
        return log_records(self.workers_log, self.workers_log_start)

    def attempts(self) -> dict[str, list[Attempt]]:
        """Every time a worker was handed a message during this test, by the message's FIFO
        group (the asset id, for a message about one asset), in order."""
        found: dict[str, list[Attempt]] = {}
        for entry in self.worker_records():
            if entry.get("logger") == "emulators.sqs_runner" and entry["message"] == "invoked":
                for r in entry["records"]:
                    found.setdefault(r["group"], []).append(Attempt(
                        r["message_id"], r["receives"], r["message_id"] in entry["failed"]))
        return found

    def rekognition_calls(self) -> dict[str, int]:
        return dict(admin(self.stack.rekognition.url, "stats")["calls"])

    def rekognition_errors(self, operation: str) -> dict[str, int]:
        """The errors Rekognition answered to `operation` so far, by code."""
        return dict(admin(self.stack.rekognition.url, "stats")["errors"].get(operation, {}))

    def cloudinary_stats(self) -> dict[str, Any]:
        return admin(self.stack.cloudinary.url, "stats")

    def users(self) -> list[str]:
        try:
            r = self.rekognition.list_users(CollectionId="facetag")
        except self.rekognition.exceptions.ResourceNotFoundException:
            return []
        return [u["UserId"] for u in r["Users"]]

    def faces(self) -> list[dict[str, Any]]:
        try:
            listed = self.rekognition.list_faces(CollectionId="facetag", MaxResults=4096)
            return list(listed["Faces"])
        except self.rekognition.exceptions.ResourceNotFoundException:
            return []


@dataclass(frozen=True)
class Attempt:
    """One delivery of a message to a worker."""

    message_id: str
    receives: int  # 1 the first time SQS hands it out
    failed: bool  # handed back (a batch item failure, or the whole batch raised)


def log_records(path: Path, start: int = 0) -> list[dict[str, Any]]:
    """The JSON lines of a server's log from byte `start` (other lines left out: `chalice
    local`'s access log, the workers' start line)."""
    with path.open("rb") as log:
        log.seek(start)
        lines = log.read().decode("utf-8", "replace").splitlines()
    records = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            records.append(entry)
    return records


@pytest.fixture(scope="session")
def stack_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack-logs")


@pytest.fixture(scope="session")
def stack(stack_logs: Path) -> Iterator[LocalStack]:
    with local_stack(settings=E2E_SETTINGS, log_dir=stack_logs) as running_stack:
        yield running_stack


@pytest.fixture
def librarian(stack: LocalStack, stack_logs: Path) -> Iterator[Librarian]:
    for url in (stack.rekognition.url, stack.cloudinary.url):
        admin(url, "reset", method="POST")
    for role in stack.dead_letters():  # what an earlier test gave up on is not this test's
        stack.take_dead_letters(role)
    app_log, workers_log = stack_logs / "app.log", stack_logs / "workers.log"
    with stack.sdk():
        yield Librarian(stack, stack.rekognition_client(), app_log, app_log.stat().st_size,
                        workers_log, workers_log.stat().st_size)


def photo_path(name: str) -> Path:
    from tests.photos import photos

    return photos()[name].path
