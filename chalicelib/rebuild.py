"""Re-clustering: the unknown faces already in the collection become unnamed people.

For libraries processed before unnamed people existed, or after a threshold change. The faces
no user holds are listed (ListFaces, 4,096 a page) and sent to the backfill queue in chunks
(`CHUNK` face ids a `Recluster` message); a backfill worker calls `Rebuild.recluster` per chunk,
its Rekognition calls paced at its share of the quota, and hands back the faces it had no time
for. A dry run calls `Rebuild.chunk` in the operator's process. Per
face one SearchFaces at the suggestion threshold (a neighbour recorded as joined to an unnamed
person counts as held by it, unnamed_joins.py): a neighbour held by a named person (hidden or
not) means the face is that person's, left alone; the neighbours at the match threshold then
decide as for a new face (clusters.py: join, merge or found). The photos of the faces placed get
the unnamed tag at the end of the chunk: one Admin read per 100 photos and one tag write per
unnamed person. With `dry_run` nothing is written: the chunk's own decisions are kept in
memory, so what it reports is what a real run would do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from . import unnamed
from .clusters import Clusters, Found, Join, Moved, placement
from .face_values import FaceMatch, StoredFace
from .outcome import Outcome, OutcomeKind
from .recognition import person_of
from .settings import Settings
from .sizing import CHUNK
from .stores import AssetLibrary, FaceStore


@dataclass
class Rebuilt:
    faces: int = 0  # unassigned faces looked at
    joined: int = 0
    founded: int = 0  # unnamed people founded
    merged: int = 0
    tagged: int = 0  # photos given an unnamed tag
    new_people: list[str] = field(default_factory=list)
    # Face ids not reached for lack of time, or whose unnamed person changed meanwhile.
    left: list[str] = field(default_factory=list)

    def outcome(self) -> Outcome:
        return Outcome(OutcomeKind.CLUSTERED, f"{self.faces} faces searched: {self.founded} "
                       f"unnamed people founded, {self.joined} faces joined one, {self.merged} "
                       f"merged, {self.tagged} photos tagged, {len(self.left)} sent back")

    def add(self, other: Rebuilt) -> None:
        self.faces += other.faces
        self.joined += other.joined
        self.founded += other.founded
        self.merged += other.merged
        self.tagged += other.tagged
        self.new_people += other.new_people


def unassigned(faces: FaceStore) -> Iterator[StoredFace]:
    """The faces no user holds: unknown faces, and faces of photos facetag never matched."""
    return (f for f in faces.all_faces() if not f.user_id)


def chunks(items: Sequence[StoredFace], size: int = CHUNK) -> Iterator[list[StoredFace]]:
    for i in range(0, len(items), size):
        yield list(items[i:i + size])


class Rebuild:
    def __init__(self, settings: Settings, faces: FaceStore, library: AssetLibrary) -> None:
        self.settings = settings
        self.faces = faces
        self.clusters = Clusters(settings, faces, library)

    def recluster(self, face_ids: Sequence[str], may_go_on: Callable[[], bool]) -> Rebuilt:
        """A queued chunk: its faces as they are now (one ListFaces), those deleted or held by
        a named person since left out; `may_go_on` is asked before each face. A face an
        unnamed person holds already (an earlier chunk, or this one before it failed and came
        back) gets its photo's tag only, which the failed attempt may not have written."""
        return self.chunk([f for f in self.faces.faces(face_ids)
                           if not f.user_id or unnamed.is_unnamed(f.user_id)], may_go_on=may_go_on)

    def chunk(self, faces: Sequence[StoredFace], dry_run: bool = False,
              may_go_on: Callable[[], bool] = lambda: True) -> Rebuilt:
        s = self.settings
        done = Rebuilt()
        placed: dict[str, str] = {}  # face id -> unnamed person, decided in this chunk
        tag: dict[str, set[str]] = {}  # unnamed person -> asset ids
        for n, face in enumerate(faces):
            if face.face_id in placed:
                continue
            if unnamed.is_unnamed(face.user_id):
                tag.setdefault(face.user_id, set()).add(face.asset_id)
                continue
            if not may_go_on():
                done.left += [f.face_id for f in faces[n:] if f.face_id not in placed]
                break
            done.faces += 1
            near = self.clusters.joins.resolve(self.faces.search_faces(face.face_id,
                                                                       s.suggest_threshold))
            seen = [replace(n, user_id=placed.get(n.face_id, n.user_id)) for n in near]
            if any(n.user_id and person_of(n.user_id) for n in seen):
                continue  # a named person's face
            decision = placement(face, [n for n in seen if n.similarity >= s.match_threshold],
                                 s.cluster_min_faces)
            try:
                user_id = self._apply(face, decision, dry_run, done)
            except Moved:  # named or merged by another worker meanwhile: sent back, again
                done.left.append(face.face_id)
                continue
            if user_id is None:
                continue
            members: Sequence[FaceMatch | StoredFace] = (
                decision.founders if isinstance(decision, Found) else ())
            for member in (face, *members):
                placed[member.face_id] = user_id
                tag.setdefault(user_id, set()).add(member.asset_id)
        if not dry_run:
            for user_id, asset_ids in tag.items():
                done.tagged += self.clusters.tags.add(asset_ids, user_id)
        else:
            done.tagged = len({a for ids in tag.values() for a in ids})
        return done

    def _apply(self, face: StoredFace, decision: Join | Found | None, dry_run: bool,
               done: Rebuilt) -> str | None:
        if decision is None:
            return None
        if isinstance(decision, Join):
            target = decision.target if dry_run else self.clusters.apply(face, decision)
            done.joined += 1
            done.merged += len(decision.merged)
            return target
        if dry_run:
            user_id = unnamed.founded_by([face.face_id, *(f.face_id for f in decision.founders)])
        else:
            user_id = self.clusters.apply(face, decision) or ""
        done.founded += 1
        done.new_people.append(user_id)
        return user_id
