"""Unnamed people on the PyPI photos (and composed group photos), nobody trained, on the local
Rekognition server: purity and completeness of the unnamed people, Rekognition calls per asset
with and without grouping, and the rebuild's calls per face.

    python -m scripts.bench_clusters
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from chalicelib.faces import FaceIndex
from chalicelib.rebuild import Rebuild, unassigned
from chalicelib.settings import Settings
from chalicelib.tagging import Tagger
from emulators.common.admin_client import admin
from tests.cluster_photos import pypi_library, quality
from tests.servers import running


def client(url: str) -> Any:
    return boto3.client("rekognition", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="bench", aws_secret_access_key="bench")


def calls(url: str) -> dict[str, int]:
    stats: dict[str, Any] = admin(url, "stats")
    return {op: int(n) for op, n in stats.get("calls", {}).items()}


def spent(after: dict[str, int], before: dict[str, int]) -> int:
    return sum(after.values()) - sum(before.values())


def upload_all(url: str, settings: Settings) -> dict[str, Any]:
    admin(url, "reset", {})
    faces = FaceIndex(client(url), settings.collection_id)
    library = pypi_library()
    tagger = Tagger(settings, faces, library)
    before = calls(url)
    for asset in list(library.assets.values()):
        tagger.process(asset)  # what a worker does with the upload's message
    used = spent(calls(url), before)
    found = quality(faces, library, list(faces.all_faces()))
    return {"assets": len(library.assets), "calls": used,
            "calls_per_asset": round(used / len(library.assets), 2),
            "unnamed_people": len(found.clusters), "purity": round(found.purity, 3),
            "completeness": round(found.completeness, 3),
            "faces": sum(found.people.values()), "faces_ref": (faces, library)}


def measure() -> dict[str, Any]:
    """Unnamed people on the PyPI photos, nobody trained: with and without clustering, and a
    rebuild of the unassigned faces."""
    with running(["-m", "emulators.rekognition", "--consistency-delay-ms", "0"]) as server:
        url = server.url
        grouped = upload_all(url, Settings())
        plain = upload_all(url, Settings(cluster_min_faces=0))
        faces, library = plain.pop("faces_ref")
        grouped.pop("faces_ref")
        todo = list(unassigned(faces))
        before = calls(url)
        rebuilt = Rebuild(Settings(), faces, library).chunk(todo)
        rebuild_calls = spent(calls(url), before)
        after = quality(faces, library, list(faces.all_faces()))
    return {
        "with_grouping": grouped, "without_grouping": plain,
        "extra_calls_per_unknown_face": round(
            (grouped["calls"] - plain["calls"]) / max(1, grouped["faces"]), 2),
        "rebuild": {"faces": len(todo), "calls": rebuild_calls,
                    "calls_per_face": round(rebuild_calls / max(1, len(todo)), 2),
                    "unnamed_people": len(after.clusters), "purity": round(after.purity, 3),
                    "completeness": round(after.completeness, 3),
                    "founded": rebuilt.founded},
    }


def main() -> None:
    print(json.dumps(measure(), indent=2))


if __name__ == "__main__":
    main()
