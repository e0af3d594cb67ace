"""Clusters as they come: an unknown face joins, links or founds an unnamed person.

Recognition hands over each usable face that matches no named person at the suggestion
threshold, with the users its one SearchUsers call already found (unnamed people among them).
- It matches unnamed people at the match threshold: it joins the one with the lowest id, and
  the others are merged into that one (the face links them). One AssociateFaces call.
- Otherwise one SearchFaces at the match threshold looks among the faces. A neighbour held by
  an unnamed person: as above. A neighbour held by a named person (or someone else's user):
  the face is left alone. Otherwise the face and its unassigned neighbours, the most similar
  one per photo and none on its own photo (a person is on a photo once), found an unnamed
  person when they are at least `FACETAG_CLUSTER_MIN_FACES` (so on at least 2 photos): every
  one of them matches the face at the match threshold, the core of a density cluster. One
  CreateUser and one AssociateFaces; the other founders' photos are tagged (one Admin read,
  one tag write).
- Otherwise the face waits, unassigned, for the faces that come after it.
A face already held by an unnamed person stays where it is (a re-run costs nothing more).

Rekognition keeps at most 100 faces per user. A face that matches a full unnamed person is
tagged with it but not associated (its 100 faces already say who it is); a merge moves what fits
and leaves the rest unassigned, still tagged. The ids are derived from the founding faces
(unnamed.py), so workers founding the same person at once fill the same user; a founder another
worker put in another unnamed person meanwhile merges the two.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from . import state, unnamed
from .face_errors import LimitReached
from .face_values import FaceMatch, StoredFace, UserMatch
from .settings import Settings
from .stores import AssetLibrary, FaceStore
from .unnamed_tags import UnnamedTags

log = logging.getLogger("facetag.clusters")

# The face was already compared (SearchUsers or SearchFaces at the match threshold).
NO_SIMILARITY_CHECK = 0.0
ELSEWHERE = "ASSOCIATED_TO_A_DIFFERENT_USER"


@dataclass(frozen=True)
class Join:
    target: str
    merged: tuple[str, ...] = ()


@dataclass(frozen=True)
class Found:
    founders: tuple[FaceMatch, ...]  # besides the face itself


Placement = Join | Found | None


def placement(face: StoredFace, neighbours: Sequence[FaceMatch], min_faces: int) -> Placement:
    """Where a face goes, from its neighbours at the match threshold (no call)."""
    clusters = sorted({n.user_id for n in neighbours if unnamed.is_unnamed(n.user_id)})
    if clusters:
        return Join(clusters[0], tuple(clusters[1:]))
    if any(n.user_id for n in neighbours):
        return None  # near a named person's face: not a stranger's
    best: dict[str, FaceMatch] = {}
    for n in neighbours:
        if n.asset_id and n.asset_id != face.asset_id and (
                n.asset_id not in best or n.similarity > best[n.asset_id].similarity):
            best[n.asset_id] = n
    if min_faces < 2 or 1 + len(best) < min_faces:
        return None
    return Found(tuple(sorted(best.values(), key=lambda n: n.face_id)))


class Clusters:
    def __init__(self, settings: Settings, faces: FaceStore, library: AssetLibrary) -> None:
        self.settings = settings
        self.faces = faces
        self.tags = UnnamedTags(settings, library)

    @property
    def enabled(self) -> bool:
        return self.settings.cluster_min_faces > 0

    def place(self, face: StoredFace, matches: Sequence[UserMatch]) -> str | None:
        """The unnamed person an unknown face belongs to now, if any."""
        if not self.enabled or face.user_id:
            return face.user_id if unnamed.is_unnamed(face.user_id) else None
        s = self.settings
        near = sorted(m.user_id for m in matches
                      if unnamed.is_unnamed(m.user_id) and m.similarity >= s.match_threshold)
        if near:
            return self.apply(face, Join(near[0], tuple(near[1:])))
        neighbours = self.faces.search_faces(face.face_id, s.match_threshold)
        return self.apply(face, placement(face, neighbours, s.cluster_min_faces))

    def apply(self, face: StoredFace, decision: Placement) -> str | None:
        if isinstance(decision, Join):
            for other in decision.merged:
                self.merge(other, decision.target)
            self._associate(decision.target, [face.face_id])
            return decision.target
        if isinstance(decision, Found):
            return self._found(face, decision.founders)
        return None

    def _found(self, face: StoredFace, founders: Sequence[FaceMatch]) -> str:
        face_ids = [face.face_id, *(f.face_id for f in founders)]
        user_id = unnamed.founded_by(face_ids)
        self.faces.ensure_user(user_id)
        outcome = self.faces.associate(user_id, face_ids, NO_SIMILARITY_CHECK)
        taken = [f for f, reasons, _ in outcome.refused if ELSEWHERE in reasons]
        others = sorted({f.user_id for f in (self.faces.faces(taken) if taken else [])
                         if unnamed.is_unnamed(f.user_id) and f.user_id != user_id})
        if others:  # another worker put some of these faces in an unnamed person meanwhile
            target = min(others[0], user_id)
            for source in {user_id, *others} - {target}:
                self.merge(source, target)
            user_id = target
        self.tags.add((f.asset_id for f in founders if f.asset_id != face.asset_id), user_id)
        log.info("unnamed person found", extra={"user_id": user_id, "faces": len(face_ids)})
        return user_id

    def merge(self, source: str, target: str) -> int:
        """`source`'s faces and tags become `target`'s; returns the faces moved."""
        face_ids = [f.face_id for f in self.faces.user_faces(source)]
        if face_ids:
            self.faces.disassociate(source, face_ids)
        self.faces.delete_user(source)
        moved = self._associate(target, face_ids) if face_ids else 0
        s = self.settings
        new_tag = unnamed.tag(target, s) if s.unnamed_tags else None
        self.tags.replace(source, new_tag, lambda a: target in state.read(a, s).rejected)
        log.info("unnamed people merged", extra={"user_id": target, "merged": source,
                                                 "faces": moved})
        return moved

    def _associate(self, user_id: str, face_ids: Sequence[str]) -> int:
        """Faces that fit under the user's 100; the others stay unassigned."""
        try:
            return len(self.faces.associate(user_id, face_ids, NO_SIMILARITY_CHECK).associated)
        except LimitReached:
            return 0
