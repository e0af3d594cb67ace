"""Faces that joined an unnamed person without a call, and where they are found again.

A face that recognition finds like an unnamed person (its SearchUsers matched it, or a
neighbour's) joins it at no cost: its photo gets the person's tag, and the face is recorded in
the photo's own context (`facetag_unnamed_joined`, state.py), written with the result. It is
associated with the person only when that matters, in bulk:
- when the person is named (naming.py) or merged into another (clusters.py): the photos that
  carry its tag are read anyway, their recorded faces go along (one ListFaces checks that
  Rekognition indexed each from the photo that claims it, then 100 an AssociateFaces);
- never otherwise: SearchUsers finds the person by the faces it holds (the founders), and a
  SearchFaces that meets a joined face reads its photo (one Admin read per 100 photos) and
  counts it as the person's, so a joined face neither waits as a stranger's nor founds a second
  unnamed person.
A record counts while its photo carries the person's tag (`state.standing_joins`): one left
from a person named or merged since, or whose tag a librarian removed there, still keeps the
face from founding anyone, but says no more who it is. With the tags turned off nothing could
find the records again, so joins are associated at once (as the rebuild's are).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from . import state
from .assets import Asset
from .face_values import FaceMatch
from .settings import Settings
from .stores import AssetLibrary, FaceStore


class Joins:
    def __init__(self, settings: Settings, faces: FaceStore, library: AssetLibrary) -> None:
        self.settings = settings
        self.faces = faces
        self.library = library

    @property
    def deferred(self) -> bool:
        return self.settings.unnamed_tags

    def resolve(self, neighbours: Sequence[FaceMatch],
                read: dict[str, Asset] | None = None) -> list[FaceMatch]:
        """The neighbours as clustering sees them: an unassigned face its photo records as
        joined is the person's, or left out when the record no longer stands. Their photos are
        read by id (one Admin read per 100; kept in `read` for founding to tag them): a
        neighbour's ExternalImageId is Rekognition's."""
        asset_ids = sorted({n.asset_id for n in neighbours if not n.user_id and n.asset_id})
        if not self.deferred or not asset_ids:
            return list(neighbours)
        s = self.settings
        assets = self.library.assets_by_ids(asset_ids)
        if read is not None:
            read.update(assets)
        recorded: dict[tuple[str, str], str | None] = {}
        for asset in assets.values():
            standing = state.standing_joins(asset, s)
            for face_id in state.read(asset, s).joined:
                recorded[(asset.asset_id, face_id)] = standing.get(face_id)
        seen = []
        for n in neighbours:
            key = (n.asset_id, n.face_id)
            if n.user_id or key not in recorded:
                seen.append(n)
            elif (user_id := recorded[key]) is not None:
                seen.append(replace(n, user_id=user_id))
        return seen

    def recorded(self, user_id: str, holders: Sequence[Asset]) -> list[str]:
        """The faces these photos (carrying the person's tag) record as joined to it, that
        Rekognition says were indexed from the photo claiming them and no user holds."""
        claims = {f: a.asset_id for a in holders
                  for f, u in state.read(a, self.settings).joined.items() if u == user_id}
        if not claims:
            return []
        return sorted(f.face_id for f in self.faces.faces(list(claims))
                      if f.asset_id == claims[f.face_id] and not f.user_id)
