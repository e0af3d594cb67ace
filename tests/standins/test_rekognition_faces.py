"""IndexFaces, ListFaces, DeleteFaces and DetectFaces on the local Rekognition server."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image, ImageFilter

from tests.photos import jpeg_bytes

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


@pytest.fixture
def people(rekognition: Any) -> str:
    rekognition.create_collection(CollectionId="people")
    return "people"


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _area(box: dict[str, float]) -> float:
    return box["Width"] * box["Height"]


def test_index_faces_stores_one_face_with_its_external_image_id(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    indexed = rekognition.index_faces(CollectionId=people, ExternalImageId="asset-1:v2",
                                      Image={"Bytes": face_photos["small_obama"]})
    assert len(indexed["FaceRecords"]) == 1
    assert indexed["UnindexedFaces"] == []
    assert indexed["FaceModelVersion"] == "7.0"
    face = indexed["FaceRecords"][0]["Face"]
    assert face["ExternalImageId"] == "asset-1:v2"
    assert face["IndexFacesModelVersion"] == "7.0"
    assert face["Confidence"] > 99
    box = face["BoundingBox"]
    assert 0 < box["Width"] < 1 and 0 < box["Height"] < 1
    assert 0 <= box["Left"] < 1 and 0 <= box["Top"] < 1
    listed = rekognition.list_faces(CollectionId=people)["Faces"]
    assert [f["FaceId"] for f in listed] == [face["FaceId"]]
    assert listed[0]["ImageId"] == face["ImageId"]


def test_face_detail_has_landmarks_pose_and_quality(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    detail = rekognition.index_faces(
        CollectionId=people, Image={"Bytes": face_photos["small_obama"]}
    )["FaceRecords"][0]["FaceDetail"]
    # Rekognition's default set, as in the IndexFaces sample response of the Developer Guide.
    assert [mark["Type"] for mark in detail["Landmarks"]] == [
        "eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"]
    kinds = {mark["Type"]: mark for mark in detail["Landmarks"]}
    assert kinds["eyeLeft"]["X"] < kinds["nose"]["X"] < kinds["eyeRight"]["X"]
    assert kinds["mouthLeft"]["X"] < kinds["nose"]["X"] < kinds["mouthRight"]["X"]
    assert kinds["eyeLeft"]["Y"] < kinds["nose"]["Y"] < kinds["mouthLeft"]["Y"]
    box = detail["BoundingBox"]
    for mark in kinds.values():
        assert box["Left"] < mark["X"] < box["Left"] + box["Width"]
        assert box["Top"] < mark["Y"] < box["Top"] + box["Height"]
    assert abs(detail["Pose"]["Roll"]) < 20 and abs(detail["Pose"]["Yaw"]) < 30
    assert 20 < detail["Quality"]["Brightness"] < 90
    assert detail["Quality"]["Sharpness"] > 50


def test_png_images_are_accepted(rekognition: Any, people: str,
                                 face_photos: dict[str, bytes]) -> None:
    assert face_photos["small_obama_png"].startswith(b"\x89PNG")
    indexed = rekognition.index_faces(CollectionId=people,
                                      Image={"Bytes": face_photos["small_obama_png"]})
    assert len(indexed["FaceRecords"]) == 1


def test_image_without_a_face_indexes_nothing_and_succeeds(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    indexed = rekognition.index_faces(CollectionId=people, Image={"Bytes": face_photos["faceless"]})
    assert indexed["FaceRecords"] == []
    assert indexed["UnindexedFaces"] == []
    assert rekognition.describe_collection(CollectionId=people)["FaceCount"] == 0


def test_two_person_photo_indexes_two_faces_largest_first(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    records = rekognition.index_faces(CollectionId=people,
                                      Image={"Bytes": face_photos["group"]})["FaceRecords"]
    assert len(records) == 2
    areas = [_area(r["Face"]["BoundingBox"]) for r in records]
    assert areas == sorted(areas, reverse=True)
    assert len({r["Face"]["ImageId"] for r in records}) == 1
    assert len({r["Face"]["FaceId"] for r in records}) == 2


def test_max_faces_keeps_the_largest_and_reports_the_rest_as_exceeding(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    detected = rekognition.detect_faces(Image={"Bytes": face_photos["group"]})["FaceDetails"]
    largest = max(detected, key=lambda d: _area(d["BoundingBox"]))
    indexed = rekognition.index_faces(CollectionId=people, MaxFaces=1,
                                      Image={"Bytes": face_photos["group"]})
    assert len(indexed["FaceRecords"]) == 1
    assert indexed["FaceRecords"][0]["Face"]["BoundingBox"] == largest["BoundingBox"]
    assert [u["Reasons"] for u in indexed["UnindexedFaces"]] == [["EXCEEDS_MAX_FACES"]]
    assert rekognition.describe_collection(CollectionId=people)["FaceCount"] == 1


def test_indexing_the_same_image_and_external_id_again_stores_no_duplicate(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    image = {"Bytes": face_photos["small_obama"]}
    first = rekognition.index_faces(CollectionId=people, Image=image, ExternalImageId="a")
    again = rekognition.index_faces(CollectionId=people, Image=image, ExternalImageId="a")
    assert again["FaceRecords"][0]["Face"]["FaceId"] == first["FaceRecords"][0]["Face"]["FaceId"]
    assert rekognition.describe_collection(CollectionId=people)["FaceCount"] == 1
    rekognition.index_faces(CollectionId=people, Image=image, ExternalImageId="b")
    assert rekognition.describe_collection(CollectionId=people)["FaceCount"] == 2


def test_small_face_is_not_indexed_for_small_bounding_box_unless_filter_is_none(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    # A face about 30 px high on a 300 px canvas: below Rekognition's 40 px minimum.
    portrait = _image(face_photos["obama"])
    portrait = portrait.resize((round(portrait.width * 130 / portrait.height), 130))
    canvas = Image.new("RGB", (300, 300), "white")
    canvas.paste(portrait, (60, 60))
    image = {"Bytes": jpeg_bytes(canvas)}
    auto = rekognition.index_faces(CollectionId=people, Image=image)
    assert auto["FaceRecords"] == []
    assert [u["Reasons"] for u in auto["UnindexedFaces"]] == [["SMALL_BOUNDING_BOX"]]
    unfiltered = rekognition.index_faces(CollectionId=people, Image=image, QualityFilter="NONE")
    assert len(unfiltered["FaceRecords"]) == 1


def test_blurred_face_fails_the_high_quality_filter_with_low_sharpness(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    blurred = _image(face_photos["small_obama"]).filter(ImageFilter.GaussianBlur(2))
    image = {"Bytes": jpeg_bytes(blurred)}
    high = rekognition.index_faces(CollectionId=people, Image=image, QualityFilter="HIGH")
    assert high["FaceRecords"] == []
    assert "LOW_SHARPNESS" in high["UnindexedFaces"][0]["Reasons"]
    low = rekognition.index_faces(CollectionId=people, Image=image, QualityFilter="LOW")
    assert len(low["FaceRecords"]) == 1


def test_exif_orientation_is_applied_before_detection(
        rekognition: Any, face_photos: dict[str, bytes]) -> None:
    upright = _image(face_photos["small_obama"])
    # Stored turned a quarter anticlockwise, with EXIF orientation 6 saying "turn clockwise".
    stored = upright.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=90, exif=exif.tobytes())
    sideways_without_exif = jpeg_bytes(stored)
    expected = rekognition.detect_faces(Image={"Bytes": jpeg_bytes(upright)})["FaceDetails"]
    oriented = rekognition.detect_faces(Image={"Bytes": buffer.getvalue()})["FaceDetails"]
    assert len(oriented) == 1
    for side in ("Left", "Top", "Width", "Height"):
        assert oriented[0]["BoundingBox"][side] == pytest.approx(
            expected[0]["BoundingBox"][side], abs=0.03)
    assert rekognition.detect_faces(Image={"Bytes": sideways_without_exif})["FaceDetails"] == []


def test_list_faces_pages_and_filters_by_face_ids_and_user(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    face_ids = [rekognition.index_faces(CollectionId=people, ExternalImageId=f"img{i}",
                                        Image={"Bytes": face_photos["small_obama"]}
                                        )["FaceRecords"][0]["Face"]["FaceId"] for i in range(5)]
    first = rekognition.list_faces(CollectionId=people, MaxResults=2)
    assert len(first["Faces"]) == 2 and first["NextToken"]
    pages = rekognition.get_paginator("list_faces").paginate(
        CollectionId=people, PaginationConfig={"PageSize": 2})
    assert sorted(f["FaceId"] for page in pages for f in page["Faces"]) == sorted(face_ids)
    chosen = rekognition.list_faces(CollectionId=people, FaceIds=face_ids[:2])["Faces"]
    assert sorted(f["FaceId"] for f in chosen) == sorted(face_ids[:2])
    rekognition.create_user(CollectionId=people, UserId="jane")
    rekognition.associate_faces(CollectionId=people, UserId="jane", FaceIds=face_ids[3:4])
    of_jane = rekognition.list_faces(CollectionId=people, UserId="jane")["Faces"]
    assert [(f["FaceId"], f["UserId"]) for f in of_jane] == [(face_ids[3], "jane")]


def test_delete_faces_reports_missing_and_associated_faces(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    records = rekognition.index_faces(CollectionId=people,
                                      Image={"Bytes": face_photos["group"]})["FaceRecords"]
    kept, deleted = (r["Face"]["FaceId"] for r in records)
    rekognition.create_user(CollectionId=people, UserId="jane")
    rekognition.associate_faces(CollectionId=people, UserId="jane", FaceIds=[kept])
    missing = "00000000-0000-4000-8000-000000000000"
    result = rekognition.delete_faces(CollectionId=people, FaceIds=[kept, deleted, missing])
    assert result["DeletedFaces"] == [deleted]
    failures = {f["FaceId"]: f for f in result["UnsuccessfulFaceDeletions"]}
    assert failures[kept]["Reasons"] == ["ASSOCIATED_TO_AN_EXISTING_USER"]
    assert failures[kept]["UserId"] == "jane"
    assert failures[missing]["Reasons"] == ["FACE_NOT_FOUND"]
    assert [f["FaceId"] for f in rekognition.list_faces(CollectionId=people)["Faces"]] == [kept]


def test_detect_faces_finds_faces_without_storing_them(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    details = rekognition.detect_faces(Image={"Bytes": face_photos["group"]},
                                       Attributes=["ALL"])["FaceDetails"]
    assert len(details) == 2
    assert all(d["Confidence"] > 90 for d in details)
    assert rekognition.detect_faces(Image={"Bytes": face_photos["faceless"]})["FaceDetails"] == []
    assert rekognition.describe_collection(CollectionId=people)["FaceCount"] == 0
