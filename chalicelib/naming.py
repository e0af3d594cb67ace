"""Naming an unnamed person: its faces become the person's, its tag becomes theirs.

Through a training label on one of its photos, or on a photo whose face matches it (training.py
calls `give_name` before associating the training face), or from the terminal (`facetag name`/
`facetag rename unnamed:<id> <Name>`). A person who exists already (visible or hidden) takes
the faces: the two are merged. The tags are rewritten on every photo that carries the unnamed
tag, found with one Search (500 a page): for n photos at most ⌈n/500⌉ Admin reads, and
⌈n/1000⌉ calls adding the person's tag and as many removing the unnamed one. A photo where a
librarian removed the person's name before gets no person tag; a hidden person gets none
anywhere.

The unnamed person's faces are those it holds and those its photos record as joined
(unnamed_joins.py: one ListFaces checks them, then 100 an AssociateFaces). Rekognition keeps at
most 100 faces per user: the person takes the unnamed faces up to 80 (the face that trains
first), leaving room for 20 training photos; the other faces stay in the
collection, unassigned. Later photos are recognised from the faces the person holds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from . import state, unnamed
from .face_errors import LimitReached
from .names import PersonName
from .settings import Settings
from .stores import AssetLibrary, FaceStore
from .unnamed_joins import Joins
from .unnamed_tags import UnnamedTags

log = logging.getLogger("facetag.naming")

MAX_FACES_PER_USER = 100  # Rekognition's
ROOM_FOR_TRAINING = 20
NO_SIMILARITY_CHECK = 0.0  # a librarian said who this is


class UnknownUnnamed(LookupError):
    def __init__(self, user_id: str, tag: str) -> None:
        super().__init__(f"no unnamed person {tag!r} (id {user_id}): `facetag unnamed` lists "
                         "them.")


@dataclass(frozen=True)
class Named:
    faces_moved: int
    faces_released: int  # past the person's room: left unassigned
    assets: int  # photos whose unnamed tag was replaced
    merged: bool  # the person existed


class Naming:
    def __init__(self, settings: Settings, faces: FaceStore, library: AssetLibrary) -> None:
        self.settings = settings
        self.faces = faces
        self.tags = UnnamedTags(settings, library)
        self.joins = Joins(settings, faces, library)

    def give_name(self, user_id: str, name: PersonName, first: str | None = None) -> Named:
        """`user_id`'s faces (`first` before the others) and tags become `name`'s."""
        s = self.settings
        held = [f.face_id for f in self.faces.user_faces(user_id)]
        holders = self.tags.holders(user_id) if s.unnamed_tags or not held else []
        if not held and not holders:
            raise UnknownUnnamed(user_id, unnamed.tag(user_id, s))
        members = [*held, *self.joins.recorded(user_id, holders)]
        members.sort(key=lambda f: f != first)
        theirs = self.faces.user_faces(name.hidden_user_id)
        hidden = bool(theirs)
        target = name.hidden_user_id if hidden else name.user_id
        theirs = theirs or self.faces.user_faces(target)
        room = max(0, MAX_FACES_PER_USER - ROOM_FOR_TRAINING - len(theirs))
        if first in members and len(theirs) < MAX_FACES_PER_USER:
            room = max(room, 1)
        if held:
            self.faces.disassociate(user_id, held)
        self.faces.delete_user(user_id)
        moved = 0
        if members[:room]:
            self.faces.ensure_user(target)
            try:
                moved = len(self.faces.associate(target, members[:room],
                                                 NO_SIMILARITY_CHECK).associated)
            except LimitReached:
                moved = 0
        person_tag = None if hidden else s.person_tag_prefix + name.display
        assets = self.tags.replace(
            holders, user_id, person_tag,
            lambda a: name.display in state.read(a, s).rejected or user_id in state.read(
                a, s).rejected)
        log.info("unnamed person named", extra={"user_id": user_id, "faces": moved,
                                                "assets": assets})
        return Named(moved, len(members) - moved, assets, bool(theirs))
