"""IndexFaces with the same image bytes, collection and ExternalImageId stores no duplicate face
metadata (Rekognition's documented behaviour), even when the calls overlap.

facetag relies on it: two notifications of one asset version processed at the same time both
index the same derivative bytes, and must end with one face per face in the collection.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.fixtures_rekognition import rekognition_client
from tests.servers import RunningServer


def _face_ids(response: dict[str, Any]) -> list[str]:
    return sorted(r["Face"]["FaceId"] for r in response["FaceRecords"])


def test_concurrent_indexing_of_one_image_stores_its_faces_once(
        rekognition: Any, rekognition_server: RunningServer,
        face_photos: dict[str, bytes]) -> None:
    rekognition.create_collection(CollectionId="people")
    image = face_photos["group"]  # two faces

    def index(external_id: str) -> list[str]:
        client = rekognition_client(rekognition_server.url)
        return _face_ids(client.index_faces(CollectionId="people", ExternalImageId=external_id,
                                            Image={"Bytes": image}))

    with ThreadPoolExecutor(8) as pool:
        same = list(pool.map(index, ["asset-1"] * 8))
    assert len(same[0]) == 2
    assert all(ids == same[0] for ids in same)
    assert rekognition.describe_collection(CollectionId="people")["FaceCount"] == 2

    # Another asset with the same bytes is another image: its faces are stored too.
    with ThreadPoolExecutor(4) as pool:
        other = list(pool.map(index, ["asset-2"] * 4))
    assert all(ids == other[0] for ids in other) and set(other[0]).isdisjoint(same[0])
    assert rekognition.describe_collection(CollectionId="people")["FaceCount"] == 4


def test_different_bytes_for_the_same_asset_are_a_different_image(
        rekognition: Any, face_photos: dict[str, bytes]) -> None:
    """The dedupe key is the bytes, not the id: a re-encoded derivative would index again,
    which is why facetag's derivative URL is deterministic (fixed size, format, version)."""
    rekognition.create_collection(CollectionId="people")
    first = rekognition.index_faces(CollectionId="people", ExternalImageId="asset-1",
                                    Image={"Bytes": face_photos["small_obama"]})
    again = rekognition.index_faces(CollectionId="people", ExternalImageId="asset-1",
                                    Image={"Bytes": face_photos["small_obama"] + b"\0"})
    assert set(_face_ids(first)).isdisjoint(_face_ids(again))
    assert rekognition.describe_collection(CollectionId="people")["FaceCount"] == 2
