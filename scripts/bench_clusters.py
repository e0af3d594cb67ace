"""Unnamed people on the PyPI photos (and composed group photos), nobody trained, on the local
Rekognition server: purity and completeness of the unnamed people (by faces, and by the tags a
librarian sees on the photos), Rekognition calls per asset with and without grouping, naming
each unnamed person, and the rebuild's calls per face.

    python -m scripts.bench_clusters
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from chalicelib import unnamed
from chalicelib.faces import FaceIndex
from chalicelib.names import PersonName
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
    after = calls(url)
    used = spent(after, before)
    found = quality(faces, library, list(faces.all_faces()))
    return {"assets": len(library.assets), "calls": used,
            "calls_per_asset": round(used / len(library.assets), 2),
            "by_operation": {op: n - before.get(op, 0) for op, n in sorted(after.items())
                             if n - before.get(op, 0)},
            "admin_reads": library.calls.admin.total,
            "unnamed_people": len(found.clusters), "purity": round(found.purity, 3),
            "completeness": round(found.completeness, 3),
            "photo_purity": round(found.photo_purity, 3),
            "photo_completeness": round(found.photo_completeness, 3),
            "faces": sum(found.people.values()), "faces_ref": (faces, library, tagger)}


def name_all(url: str, tagger: Tagger) -> dict[str, Any]:
    """Each unnamed person named from the terminal: every photo of it carries the name."""
    s = tagger.settings
    library = tagger.library
    people = sorted(u for u in tagger.faces.users() if unnamed.is_unnamed(u))
    before, admin_before = calls(url), library.calls.admin.total
    writes_before = library.requests.count("add_tag") + library.requests.count("remove_tag")
    moved = photos = 0
    for n, user_id in enumerate(people):
        named = tagger.trainer.naming.give_name(user_id, PersonName.parse(f"Person {n}"))
        moved, photos = moved + named.faces_moved, photos + named.assets
    left = [a for a in library.assets.values() if unnamed.tagged(a.tags, s)]
    return {"people": len(people), "photos": photos, "faces_moved": moved,
            "rekognition_calls": spent(calls(url), before),
            "admin_reads": library.calls.admin.total - admin_before,
            "tag_writes": library.requests.count("add_tag") + library.requests.count(
                "remove_tag") - writes_before,
            "photos_still_unnamed": len(left)}


def measure() -> dict[str, Any]:
    """Unnamed people on the PyPI photos, nobody trained: with and without clustering, naming
    them, and a rebuild of the unassigned faces."""
    with running(["-m", "emulators.rekognition", "--consistency-delay-ms", "0"]) as server:
        url = server.url
        grouped = upload_all(url, Settings())
        _, _, tagger = grouped.pop("faces_ref")
        named = name_all(url, tagger)
        plain = upload_all(url, Settings(cluster_min_faces=0))
        faces, library, _ = plain.pop("faces_ref")
        todo = list(unassigned(faces))
        before = calls(url)
        rebuilt = Rebuild(Settings(), faces, library).chunk(todo)
        rebuild_calls = spent(calls(url), before)
        after = quality(faces, library, list(faces.all_faces()))
    return {
        "with_grouping": grouped, "without_grouping": plain,
        "extra_calls_per_unknown_face": round(
            (grouped["calls"] - plain["calls"]) / max(1, grouped["faces"]), 2),
        "naming": named,
        "rebuild": {"faces": len(todo), "calls": rebuild_calls,
                    "calls_per_face": round(rebuild_calls / max(1, len(todo)), 2),
                    "unnamed_people": len(after.clusters), "purity": round(after.purity, 3),
                    "completeness": round(after.completeness, 3),
                    "photo_purity": round(after.photo_purity, 3),
                    "photo_completeness": round(after.photo_completeness, 3),
                    "founded": rebuilt.founded},
    }


def main() -> None:
    print(json.dumps(measure(), indent=2))


if __name__ == "__main__":
    main()
