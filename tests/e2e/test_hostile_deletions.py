"""Deleting assets on the local stack (finding 8 of issue 11): what one deletion costs does not
grow with the collection, and the deleted asset's faces leave at the next reconciliation.

A deletion notification names the asset and nothing more, and Rekognition cannot list faces
by `ExternalImageId`: finding one asset's faces meant listing the whole collection inside the
webhook (one ListFaces call per 4,096 faces). Now the webhook acknowledges the deletion without
any call, and reconciliation's sweep removes the faces of every asset deleted since it last ran.
The calls are read from the stand-ins' `/_admin/stats`.
"""

from __future__ import annotations

from typing import Any

import cloudinary.uploader

from chalicelib.names import PersonName
from chalicelib.reconcile import reconcile
from emulators.stack import LocalStack
from tests.e2e.reconcile_support import OBAMA, as_app, cloudinary_calls, rekognition_calls, spent
from tests.fixtures_stack import Librarian, photo_path
from tests.photos import side_by_side

PAGE = 4096  # faces per ListFaces call


def delete_and_measure(librarian: Librarian, stack: LocalStack,
                       public_id: str) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Delete one asset with the SDK and wait for the app to answer the notification; the
    calls it cost each stand-in, and what happened to the notification."""
    rekognition, cloudinary_before = rekognition_calls(stack), cloudinary_calls(stack)
    notifications = librarian.cloudinary_stats()["notifications"]
    cloudinary.uploader.destroy(public_id)
    librarian.wait()
    after = librarian.cloudinary_stats()["notifications"]
    return (spent(rekognition, rekognition_calls(stack)),
            spent(cloudinary_before, cloudinary_calls(stack)),
            {k: after[k] - notifications[k] for k in ("sent", "retried", "failed")})


def pad_collection(librarian: Librarian, at_least: int) -> int:
    """Index a group photo under many other ids behind facetag's back, until the collection
    holds `at_least` faces more: the size of a large library, at a fraction of its cost."""
    paths = [photo_path(p) for p in ("obama", "obama2", "obama3", "biden")] * 2
    group = side_by_side(*paths)
    added, n = 0, 0
    while added < at_least:
        r = librarian.rekognition.index_faces(CollectionId="facetag", Image={"Bytes": group},
                                              ExternalImageId=f"elsewhere-{n}", MaxFaces=100)
        added += len(r["FaceRecords"])
        n += 1
    return added


def faces_of(librarian: Librarian, asset_id: str) -> list[dict[str, Any]]:
    faces: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"CollectionId": "facetag", "MaxResults": PAGE}
    while True:
        r = librarian.rekognition.list_faces(**kwargs)
        faces.extend(f for f in r["Faces"] if f.get("ExternalImageId") == asset_id)
        if not r.get("NextToken"):
            return faces
        kwargs["NextToken"] = r["NextToken"]


def test_one_deletion_costs_the_same_at_any_size_and_its_faces_leave_at_the_next_run(
        stack: LocalStack, librarian: Librarian) -> None:
    photo = photo_path("obama2").read_bytes()
    train = librarian.upload(photo_path("obama").read_bytes(), "people/obama",
                             tags=[f"train:{OBAMA}"])
    small = librarian.upload(photo, "events/small")
    large = librarian.upload(photo, "events/large")
    kept = librarian.upload(photo_path("biden").read_bytes(), "events/kept")
    librarian.wait()
    assert len(librarian.faces()) == 4  # a small collection: one face per photo

    small_cost = delete_and_measure(librarian, stack, small.public_id)
    padded = pad_collection(librarian, 2 * PAGE + 1)  # three pages of faces and more
    large_cost = delete_and_measure(librarian, stack, large.public_id)

    # No Rekognition call and no Cloudinary call by the app at either size (the stand-in
    # counts the librarian's own destroy); each notification answered 200 the first time.
    assert small_cost == large_cost == ({}, {"destroy": 1},
                                        {"sent": 1, "retried": 0, "failed": 0})
    assert len(faces_of(librarian, large.asset_id)) == 1  # until the next reconciliation

    with as_app(stack) as tagger:
        summary = reconcile(tagger)
    assert not summary.stopped_early and summary.failed == 0
    # The two deleted photos' faces, and the padding's (no asset has those ids), are removed.
    assert summary.removed == 2 + padded
    assert faces_of(librarian, small.asset_id) == faces_of(librarian, large.asset_id) == []
    assert len(faces_of(librarian, kept.asset_id)) == len(faces_of(librarian, train.asset_id)) == 1
    assert librarian.users() == [PersonName.parse(OBAMA).user_id]  # his training photo stays
