"""The PyPI photos as a library nobody trained, with who each face really is: for measuring
unnamed people (purity, completeness) on the local Rekognition server.

Photos: each whole-face photo once, and composed group photos (two people side by side), so a
person is seen alone and in company. A face's identity is read from where it sits: on a group
photo, the left half is the first person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from chalicelib import unnamed
from chalicelib.assets import AssetRef
from chalicelib.face_values import StoredFace
from chalicelib.stores import FaceStore
from tests.fakes import FakeLibrary
from tests.photos import photos, side_by_side

# (asset id, people left to right); the single photos come from tests/photos.py.
GROUPS = (("group-ob", ("obama", "biden")), ("group-bo", ("biden", "obama3")),
          ("group-o2b", ("obama2", "biden")))
SINGLES = ("obama", "obama2", "obama3", "obama_png", "biden")


@dataclass
class PhotoLibrary(FakeLibrary):
    """The fake library, whose derivatives are real photos."""

    images: dict[str, bytes] = field(default_factory=dict)
    people: dict[str, tuple[str, ...]] = field(default_factory=dict)  # asset -> left to right

    def download_derivative(self, ref: AssetRef, version: int | None) -> bytes:
        self._call("download", self.calls.delivery)
        return self.images[ref.asset_id]

    def identity(self, face: StoredFace) -> str:
        people = self.people[face.asset_id]
        centre = face.box.left + face.box.width / 2
        return people[min(len(people) - 1, int(centre * len(people)))]


def pypi_library() -> PhotoLibrary:
    shipped = photos()
    library = PhotoLibrary()
    for name in SINGLES:
        library.images[name] = shipped[name].data
        library.people[name] = (str(shipped[name].person),)
    for asset_id, names in GROUPS:
        library.images[asset_id] = side_by_side(*(shipped[n].path for n in names), height=500)
        library.people[asset_id] = tuple(str(shipped[n].person) for n in names)
    for asset_id in library.images:
        library.add(asset_id, f"photos/{asset_id}")
    return library


@dataclass(frozen=True)
class Quality:
    clusters: dict[str, Counter[str]]  # unnamed person -> real people of its faces
    people: Counter[str]  # real person -> usable faces indexed

    @property
    def purity(self) -> float:
        """Faces in an unnamed person that are its majority's, over all clustered faces."""
        total = sum(sum(c.values()) for c in self.clusters.values())
        return sum(max(c.values()) for c in self.clusters.values()) / total if total else 1.0

    @property
    def completeness(self) -> float:
        """For each person, the share of their faces in their largest unnamed person, weighed
        by faces."""
        best: Counter[str] = Counter()
        for c in self.clusters.values():
            person, n = c.most_common(1)[0]
            best[person] = max(best[person], n)
        total = sum(self.people.values())
        return sum(best.values()) / total if total else 1.0


def quality(faces: FaceStore, library: PhotoLibrary, indexed: Sequence[StoredFace]) -> Quality:
    clusters: dict[str, Counter[str]] = {}
    for user_id in faces.users():
        if unnamed.is_unnamed(user_id):
            clusters[user_id] = Counter(library.identity(f) for f in faces.user_faces(user_id))
    return Quality(clusters, Counter(library.identity(f) for f in indexed))
