"""Unnamed people on the local Rekognition server with real photos: the PyPI photos, nobody
trained, make one unnamed person per real person, none mixing two."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib import state, unnamed
from chalicelib.faces import FaceIndex
from chalicelib.names import PersonName
from chalicelib.notifications import Actor, AssetUploaded
from chalicelib.settings import Settings
from chalicelib.tagging import Tagger
from tests.cluster_photos import PhotoLibrary, pypi_library, quality
from tests.unit.worker_support import deliver


@dataclass(frozen=True)
class Uploaded:
    """The PyPI photos in an in-memory library, each uploaded once through the tagger."""

    settings: Settings
    faces: FaceIndex
    library: PhotoLibrary
    tagger: Tagger


@pytest.fixture
def uploaded(rekognition: Any) -> Uploaded:
    settings = Settings()
    faces = FaceIndex(rekognition, settings.collection_id)
    library = pypi_library()
    tagger = Tagger(settings, faces, library)
    for asset in list(library.assets.values()):
        deliver(tagger, AssetUploaded(asset, Actor("api", "librarian")))
    return Uploaded(settings, faces, library, tagger)


def test_the_pypi_photos_make_one_pure_unnamed_person_per_real_person(uploaded: Uploaded) -> None:
    settings, faces, library = uploaded.settings, uploaded.faces, uploaded.library
    found = quality(faces, library, list(faces.all_faces()))
    assert found.people == {"Barack Obama": 7, "Joe Biden": 4}
    assert sorted(c.most_common(1)[0][0] for c in found.clusters.values()) == [
        "Barack Obama", "Joe Biden"]
    assert found.purity == 1.0 and found.completeness == 1.0
    assert found.photo_purity == 1.0 and found.photo_completeness == 1.0
    for user_id in found.clusters:  # its faces: held, or recorded as joined on their photo
        tag = unnamed.tag(user_id, settings)
        holders = {a.asset_id for a in library.assets.values() if tag in a.tags}
        members = {f.asset_id for f in faces.user_faces(user_id)} | {
            a.asset_id for a in library.assets.values()
            if user_id in state.standing_joins(a, settings).values()}
        assert holders == members


def test_naming_each_pypi_unnamed_person_names_every_photo_of_it(uploaded: Uploaded) -> None:
    settings, faces, library = uploaded.settings, uploaded.faces, uploaded.library
    people = sorted(u for u in faces.users() if unnamed.is_unnamed(u))
    for n, user_id in enumerate(people):
        uploaded.tagger.trainer.naming.give_name(user_id, PersonName.parse(f"Person {n}"))
    assert not any(unnamed.tagged(a.tags, settings) for a in library.assets.values())
    held = {f.asset_id for n in range(len(people))
            for f in faces.user_faces(PersonName.parse(f"Person {n}").user_id)}
    assert held == set(library.assets)  # every face moved, joined ones included
