"""Small faces on a full-size derivative: the face engine finds 40-64 px faces on a 1920x1280
group photo, as Rekognition does, indexes them under QualityFilter=AUTO (Rekognition's minimum
is 40 px up to a 1920 px long side), and each still matches its person."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_rekognition import (
    GROUP_SIZE,
    PlacedFace,
    rekognition_client,
    small_faces_group,
)
from tests.servers import RunningServer

# Another photo of each person, as the reference the group's faces must match. The PyPI set
# has one photo of Biden: his reference is that photo at full size, his faces in the group are
# it shrunk six-fold, one of them mirrored.
REFERENCES = {"Barack Obama": "obama3", "Joe Biden": "biden"}


def _centre(box: dict[str, float]) -> tuple[float, float]:
    return ((box["Left"] + box["Width"] / 2) * GROUP_SIZE[0],
            (box["Top"] + box["Height"] / 2) * GROUP_SIZE[1])


def _box_at(boxes: list[dict[str, float]], face: PlacedFace) -> dict[str, float]:
    """The box whose centre is within half the face's width of where the face was placed."""
    [box] = [box for box in boxes
             if abs(_centre(box)[0] - face.centre[0]) < face.width / 2
             and abs(_centre(box)[1] - face.centre[1]) < face.width / 2]
    return box


@pytest.fixture(scope="module")
def group(rekognition_server: RunningServer) -> tuple[bytes, list[PlacedFace]]:
    return small_faces_group(rekognition_client(rekognition_server.url))


def test_faces_of_40_to_64_px_on_a_1920_px_photo_are_all_found(
        rekognition: Any, group: tuple[bytes, list[PlacedFace]]) -> None:
    data, placed = group
    boxes = [d["BoundingBox"] for d in rekognition.detect_faces(Image={"Bytes": data})[
        "FaceDetails"]]
    assert len(boxes) == len(placed) == 4
    for face in placed:
        width = _box_at(boxes, face)["Width"] * GROUP_SIZE[0]
        # dlib's boxes come in steps of a fifth: one may read up to a quarter wider.
        assert 0.9 * face.width <= width <= 1.25 * face.width


def test_each_small_face_matches_another_photo_of_its_person_above_90(
        rekognition: Any, face_photos: dict[str, bytes],
        group: tuple[bytes, list[PlacedFace]]) -> None:
    data, placed = group
    rekognition.create_collection(CollectionId="people")
    for photo in REFERENCES.values():
        rekognition.index_faces(CollectionId="people", ExternalImageId=photo,
                                Image={"Bytes": face_photos[photo]})
    # AUTO, the filter facetag sends: a 1920 px long side keeps Rekognition's 40 px minimum.
    indexed = rekognition.index_faces(CollectionId="people", ExternalImageId="group",
                                      QualityFilter="AUTO", Image={"Bytes": data})
    assert indexed["UnindexedFaces"] == []
    records = indexed["FaceRecords"]
    boxes = [record["Face"]["BoundingBox"] for record in records]
    for face in placed:
        box = _box_at(boxes, face)
        [face_id] = [r["Face"]["FaceId"] for r in records if r["Face"]["BoundingBox"] == box]
        matches = rekognition.search_faces(CollectionId="people", FaceId=face_id,
                                           FaceMatchThreshold=0)["FaceMatches"]
        scores = {m["Face"]["ExternalImageId"]: m["Similarity"] for m in matches}
        own, other = REFERENCES[face.person], REFERENCES[
            next(p for p in REFERENCES if p != face.person)]
        assert scores[own] > 90, (face, scores)
        assert scores[other] < 50, (face, scores)
