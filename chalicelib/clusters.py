"""Clusters as they come: an unknown face joins, links or founds an unnamed person.

Recognition hands over each usable face that matches no named person at the suggestion
threshold, with the users its one SearchUsers call already found (unnamed people among them).
- It matches unnamed people at the match threshold: it joins the one with the lowest id, and
  the others are merged into that one (the face links them). No call: the join is recorded on
  the face's photo and associated in bulk when needed (unnamed_joins.py).
- Otherwise one SearchFaces at the match threshold looks among the faces. A neighbour held by
  an unnamed person, or recorded as joined to one: as above (its photo is read, one Admin read
  per 100). A neighbour held by a named person (or someone else's user):
  the face is left alone. Otherwise the face and its unassigned neighbours, the most similar
  one per photo and none on its own photo (a person is on a photo once), found an unnamed
  person when they are at least `FACETAG_CLUSTER_MIN_FACES` (so on at least 2 photos): every
  one of them matches the face at the match threshold, the core of a density cluster. One
  CreateUser and one AssociateFaces; the other founders' photos are tagged (one Admin read,
  one tag write).
- Otherwise the face waits, unassigned, for the faces that come after it.
A face already held by an unnamed person stays where it is (a re-run costs nothing more).
So an unnamed person costs three SearchFaces (two faces wait, the third founds), a CreateUser
and an AssociateFaces; each later face that SearchUsers finds like it costs none, one it does
not find costs its SearchFaces; a stray face costs its SearchFaces.

Rekognition keeps at most 100 faces per user. A face that matches a full unnamed person is
tagged with it but not associated (its 100 faces already say who it is); a merge moves what
fits (the faces held and those recorded as joined) and leaves the rest unassigned, still
tagged. The ids are derived from the founding faces (unnamed.py), so workers founding the same
person at once fill the same user; a founder another worker put in another unnamed person
meanwhile merges the two.

Another worker may name, merge or delete an unnamed person between the search that found it
and the call that uses it. What the calls made anyway say is acted on (no call more when
nothing raced): an AssociateFaces to a user gone (a merge's source first gets its faces
back), a founder a named person took meanwhile (the new person is deleted: its faces are that
person's neighbours, not a stranger's), a face read as an unnamed person's that its search no
longer finds there (read again: a named person's now). Each raises `Moved`; the caller places
the face again from a new search (recognition.py) or later (rebuild.py). A join recorded
without a call has nothing to tell it: its tag may name a person named in the same moment
(docs/reliability.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from . import state, unnamed
from .assets import Asset
from .face_errors import LimitReached, UserMissing
from .face_values import FaceMatch, StoredFace, UserMatch
from .settings import Settings
from .stores import AssetLibrary, FaceStore
from .unnamed_joins import Joins
from .unnamed_tags import UnnamedTags

log = logging.getLogger("facetag.clusters")

# The face was already compared (SearchUsers or SearchFaces at the match threshold).
NO_SIMILARITY_CHECK = 0.0
ELSEWHERE = "ASSOCIATED_TO_A_DIFFERENT_USER"


class Moved(Exception):
    """An unnamed person a placement used was named, merged or deleted by another worker
    since it was found; nothing of the placement is left half done."""

    def __init__(self, user_id: str) -> None:
        super().__init__(f"the unnamed person {user_id} changed meanwhile")
        self.user_id = user_id


@dataclass(frozen=True)
class Join:
    target: str
    merged: tuple[str, ...] = ()


@dataclass(frozen=True)
class Found:
    founders: tuple[FaceMatch, ...]  # besides the face itself


Placement = Join | Found | None


@dataclass(frozen=True)
class Placed:
    user_id: str
    held: bool  # associated with the user; otherwise recorded on its photo as joined


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
        self.joins = Joins(settings, faces, library)

    @property
    def enabled(self) -> bool:
        return self.settings.cluster_min_faces > 0

    def place(self, face: StoredFace, matches: Sequence[UserMatch]) -> Placed | None:
        """The unnamed person an unknown face belongs to now, if any; `matches`: its
        SearchUsers."""
        if unnamed.is_unnamed(face.user_id) and face.user_id not in {m.user_id for m in matches}:
            # Merged or named since it was read (or not searchable there yet): read it again.
            face = next(iter(self.faces.faces([face.face_id])), replace(face, user_id=None))
            if face.user_id and not unnamed.is_unnamed(face.user_id):
                raise Moved(face.user_id)  # a named person's now: the search finds them
        if not self.enabled or face.user_id:
            return Placed(face.user_id, True) if unnamed.is_unnamed(face.user_id) else None
        s = self.settings
        near = sorted(m.user_id for m in matches
                      if unnamed.is_unnamed(m.user_id) and m.similarity >= s.match_threshold)
        read: dict[str, Asset] = {}  # the neighbours' photos, read to resolve them
        if near:
            decision: Placement = Join(near[0], tuple(near[1:]))
        else:
            neighbours = self.joins.resolve(self.faces.search_faces(face.face_id,
                                                                    s.match_threshold), read)
            decision = placement(face, neighbours, s.cluster_min_faces)
        if isinstance(decision, Join) and self.joins.deferred:
            self._merge_into(decision)
            return Placed(decision.target, False)
        user_id = self.apply(face, decision, read)
        return Placed(user_id, True) if user_id else None

    def apply(self, face: StoredFace, decision: Placement,
              read: Mapping[str, Asset] | None = None) -> str | None:
        """The decision carried out, a join associated at once (the rebuild's way); `read`:
        photos just read, not read again to tag them."""
        if isinstance(decision, Join):
            self._merge_into(decision)
            try:
                self._associate(decision.target, [face.face_id])
            except UserMissing:
                raise Moved(decision.target) from None
            return decision.target
        if isinstance(decision, Found):
            return self._found(face, decision.founders, read or {})
        return None

    def _found(self, face: StoredFace, founders: Sequence[FaceMatch],
               read: Mapping[str, Asset]) -> str:
        face_ids = [face.face_id, *(f.face_id for f in founders)]
        user_id = unnamed.founded_by(face_ids)
        self.faces.ensure_user(user_id)
        try:
            outcome = self.faces.associate(user_id, face_ids, NO_SIMILARITY_CHECK)
        except UserMissing:  # another worker founded it too, and it was named or merged since
            raise Moved(user_id) from None
        taken = [f for f, reasons, _ in outcome.refused if ELSEWHERE in reasons]
        owners = {f.user_id for f in (self.faces.faces(taken) if taken else []) if f.user_id}
        if any(not unnamed.is_unnamed(u) for u in owners):
            # A named person took a founder meanwhile (trained or absorbed it): these faces
            # are that person's neighbours, which found no one.
            self.faces.delete_user(user_id)
            raise Moved(user_id)
        others = sorted(u for u in owners if u != user_id)
        if others:  # another worker put some of these faces in an unnamed person meanwhile
            target = min(others[0], user_id)
            for source in {user_id, *others} - {target}:
                self.merge(source, target)
            user_id = target
        self.tags.add((f.asset_id for f in founders if f.asset_id != face.asset_id), user_id,
                      read)
        log.info("unnamed person found", extra={"user_id": user_id, "faces": len(face_ids)})
        return user_id

    def _merge_into(self, decision: Join) -> None:
        for other in decision.merged:
            self.merge(other, decision.target)

    def merge(self, source: str, target: str) -> int:
        """`source`'s faces (held, and recorded as joined on the photos carrying its tag) and
        tags become `target`'s; returns the faces moved."""
        held = [f.face_id for f in self.faces.user_faces(source)]
        if not held:
            return 0  # named or merged by another worker meanwhile, which moves its tags
        holders = self.tags.holders(source) if self.settings.unnamed_tags else []
        self.faces.disassociate(source, held)
        self.faces.delete_user(source)
        face_ids = [*held, *self.joins.recorded(source, holders)]
        try:
            moved = self._associate(target, face_ids)
        except UserMissing:  # the target went meanwhile: the source stays as it was
            self.faces.ensure_user(source)
            if not self.faces.associate(source, held, NO_SIMILARITY_CHECK).associated:
                self.faces.delete_user(source)  # taken meanwhile by whoever took the target
            raise Moved(target) from None
        s = self.settings
        new_tag = unnamed.tag(target, s) if s.unnamed_tags else None
        self.tags.replace(holders, source, new_tag,
                          lambda a: target in state.read(a, s).rejected)
        log.info("unnamed people merged", extra={"user_id": target, "merged": source,
                                                 "faces": moved})
        return moved

    def _associate(self, user_id: str, face_ids: Sequence[str]) -> int:
        """Faces that fit under the user's 100; the others stay unassigned."""
        try:
            return len(self.faces.associate(user_id, face_ids, NO_SIMILARITY_CHECK).associated)
        except LimitReached:
            return 0
