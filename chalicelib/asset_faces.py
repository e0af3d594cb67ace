"""The faces of one asset in the collection, indexing its derivative only when needed."""

from __future__ import annotations

from collections.abc import Sequence

from . import state
from .assets import Asset
from .face_errors import UnusableImage
from .faces import StoredFace
from .library_errors import AssetGone, DeliveryRefused
from .outcome import AssetProblem
from .settings import Settings
from .stores import AssetLibrary, FaceStore


class AssetFaces:
    def __init__(self, settings: Settings, faces: FaceStore, library: AssetLibrary) -> None:
        self.settings = settings
        self.faces = faces
        self.library = library

    def of(self, asset: Asset) -> list[StoredFace]:
        """Largest first. Faces already indexed for this version are reused, not indexed again."""
        current = state.read(asset, self.settings)
        known = list(current.face_ids)
        if known and current.asset_version == str(asset.version):
            stored = self.faces.faces(known)
            if len(stored) == len(known):
                return sorted(stored, key=lambda f: f.box.area, reverse=True)
        elif known:
            self._drop_unassociated(known)
        try:
            image = self.library.download_derivative(asset.ref, asset.version)
        except (AssetGone, DeliveryRefused) as exc:
            raise AssetProblem(str(exc)) from None
        try:
            result = self.faces.index_faces(image, asset.asset_id)
        except UnusableImage as exc:
            raise AssetProblem(exc.reason) from None
        return [StoredFace(f.face_id, asset.asset_id, None, f.box) for f in result.faces]

    def _drop_unassociated(self, face_ids: Sequence[str]) -> None:
        """Faces of an overwritten version: gone from the photo, so gone from the index."""
        stale = [f.face_id for f in self.faces.faces(face_ids) if not f.user_id]
        if stale:
            self.faces.delete_faces(stale)

    def usable(self, asset: Asset, faces: Sequence[StoredFace]) -> list[StoredFace]:
        """Faces large enough on the derivative to be matched with confidence."""
        if not asset.width or not asset.height:
            return list(faces)
        scale = min(1.0, self.settings.derivative_size / max(asset.width, asset.height))
        w, h = asset.width * scale, asset.height * scale
        return [f for f in faces
                if min(f.box.width * w, f.box.height * h) >= self.settings.min_face_px]
