"""A bulk edit the route forwarded whole: the worker reads its events as the route reads a small
notification's, and handles its changes as a bulk edit's, whatever their number."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.assets import Asset
from chalicelib.messages import WorkMessage, forwarded
from chalicelib.settings import Settings
from chalicelib.tagging import Tagger
from tests.fakes import FaceSpec, FakeFaces, FakeLibrary, FakeQueue
from tests.unit.worker_support import handle, records, worker

World = tuple[Tagger, FakeFaces, FakeLibrary]


@pytest.fixture
def world() -> World:
    faces, library = FakeFaces(), FakeLibrary()
    return Tagger(Settings(), faces, library, own_api_key="facetag-key"), faces, library


def photo(world: World, asset_id: str, tags: tuple[str, ...] = ()) -> Asset:
    _, faces, library = world
    faces.photos[asset_id] = [FaceSpec("jane")]
    return library.add(asset_id, f"photos/{asset_id}", tags)


def tag_change(*changes: tuple[Asset, dict[str, Any]]) -> WorkMessage:
    body = json.dumps({"notification_type": "resource_tags_changed", "resources": [
        {"asset_id": a.asset_id, "public_id": a.public_id, **change} for a, change in changes],
        "notification_context": {"triggered_by": {"source": "api", "id": "librarian-key"}}})
    message = forwarded(body.encode(), "notification:bulk")
    assert message is not None
    return message


def kinds(result: Any) -> list[str]:
    return sorted(str(o.kind) for _, o in result.outcomes)


def test_a_forwarded_removal_of_a_name_from_600_assets_reads_100_ids_a_call(
        world: World) -> None:
    tagger, faces, library = world
    assets = [photo(world, f"p{i}") for i in range(600)]
    result = handle(tagger, tag_change(*((a, {"removed": ["person:Zed"]}) for a in assets)))
    assert result.failed == [] and kinds(result) == ["rejected"] * 600
    assert library.requests.count("resources_by_asset_ids") == 6
    assert library.requests.count("add_context") == 1 and faces.requests == []
    assert json.loads(library.assets["p599"].context["facetag_rejected"]) == ["Zed"]


def test_a_forwarded_edit_of_tags_facetag_does_not_act_on_reads_nothing(world: World) -> None:
    tagger, faces, library = world
    assets = [photo(world, f"p{i}") for i in range(20)]
    result = handle(tagger, tag_change(*((a, {"added": ["holiday"]}) for a in assets),
                                       (assets[0], {"resource_type": "video"})))
    assert result.failed == [] and kinds(result) == ["ignored"] * 21
    assert library.requests == [] and faces.requests == []


def test_a_forwarded_edit_sends_its_one_training_asset_to_its_own_group(world: World) -> None:
    tagger, faces, _ = world
    assets = [photo(world, f"p{i}", ("train:Jane Doe",) if i == 7 else ()) for i in range(20)]
    live = FakeQueue()
    changes = [(a, {"added": ["train:Jane Doe"] if i == 7 else ["holiday"]})
               for i, a in enumerate(assets)]
    result = worker(tagger, live).handle(records(tag_change(*changes)))
    assert kinds(result) == ["ignored"] * 19 + ["queued"] and faces.requests == []
    [follow_up] = live.sent
    assert follow_up.group_id == "p7" and follow_up.origin.startswith("follow-up:")
    again = worker(tagger, FakeQueue()).handle(records(follow_up))
    assert kinds(again) == ["trained"]


def test_a_forwarded_body_that_is_not_a_notification_is_dropped_never_retried(
        world: World) -> None:
    tagger, _, library = world
    message = forwarded(b'["not", "a", "notification"]', "notification:odd")
    assert message is not None
    result = handle(tagger, message)
    assert result.dropped == 1 and result.failed == [] and library.requests == []
