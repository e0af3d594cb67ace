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

from chalicelib import state, unnamed
from chalicelib.assets import AssetRef
from chalicelib.face_values import StoredFace
from chalicelib.settings import Settings
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
    shown: dict[str, set[str]] = field(default_factory=dict)  # photo -> real people on it
    tagged: dict[str, set[str]] = field(default_factory=dict)  # photo -> unnamed people tagged

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

    def _main(self) -> dict[str, str]:
        """Real person -> their largest unnamed person."""
        main: dict[str, str] = {}
        for user_id, c in sorted(self.clusters.items(), key=lambda kv: -max(kv[1].values())):
            main.setdefault(c.most_common(1)[0][0], user_id)
        return main

    @property
    def photo_purity(self) -> float:
        """What a librarian sees: unnamed tags on photos that show the tag's person, over all
        unnamed tags on photos."""
        pairs = [(a, u) for a, users in self.tagged.items() for u in users]
        good = sum(1 for a, u in pairs if u in self.clusters
                   and self.clusters[u].most_common(1)[0][0] in self.shown.get(a, set()))
        return good / len(pairs) if pairs else 1.0

    @property
    def photo_completeness(self) -> float:
        """What a librarian sees: each person's photos that carry exactly one unnamed tag of
        theirs, that of their largest unnamed person, over all photos of all people."""
        main = self._main()
        majority = {u: c.most_common(1)[0][0] for u, c in self.clusters.items()}
        pairs = [(a, p) for a, people in self.shown.items() for p in people]
        good = sum(1 for a, p in pairs if p in main and {
            u for u in self.tagged.get(a, set()) if majority.get(u) == p} == {main[p]})
        return good / len(pairs) if pairs else 1.0


def quality(faces: FaceStore, library: PhotoLibrary, indexed: Sequence[StoredFace]) -> Quality:
    """A face belongs to the unnamed person that holds it, or that its photo records it joined
    (while the photo carries that person's tag)."""
    settings = Settings()
    joins = {f: u for a in library.assets.values()
             for f, u in state.standing_joins(a, settings).items()}
    clusters: dict[str, Counter[str]] = {}
    for face in indexed:
        user_id = face.user_id if unnamed.is_unnamed(face.user_id) else joins.get(face.face_id)
        if user_id is not None:
            clusters.setdefault(user_id, Counter())[library.identity(face)] += 1
    shown: dict[str, set[str]] = {}
    for face in indexed:
        shown.setdefault(face.asset_id, set()).add(library.identity(face))
    tagged = {a.asset_id: unnamed.tagged(a.tags, settings) for a in library.assets.values()}
    return Quality(clusters, Counter(library.identity(f) for f in indexed), shown, tagged)
