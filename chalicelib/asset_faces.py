"""The faces of one asset in the collection, indexing its derivative only when needed."""

from __future__ import annotations

from collections.abc import Sequence

from . import state
from .assets import Asset
from .face_errors import UnusableImage
from .face_values import StoredFace
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
        """Largest first. Faces already indexed for this version are reused, not indexed again.

        The face ids in the asset's context are a claim (an uploader can write another asset's
        ids there): only faces the collection says were indexed from this asset count."""
        current = state.read(asset, self.settings)
        claimed = current.face_ids
        mine = self._verified(asset, claimed)
        if current.asset_version == str(asset.version):
            if claimed and len(mine) == len(claimed):
                return sorted(mine, key=lambda f: f.box.area, reverse=True)
        elif mine:
            self._drop_unassociated(mine)
        try:
            image = self.library.download_derivative(asset.ref, asset.version)
        except (AssetGone, DeliveryRefused) as exc:
            raise AssetProblem(str(exc)) from None
        try:
            result = self.faces.index_faces(image, asset.asset_id)
        except UnusableImage as exc:
            raise AssetProblem(exc.reason) from None
        return [StoredFace(f.face_id, asset.asset_id, None, f.box) for f in result.faces]

    def _verified(self, asset: Asset, face_ids: Sequence[str]) -> list[StoredFace]:
        """The faces among `face_ids` that were indexed from this asset (one ListFaces call:
        the codec keeps at most 100 ids)."""
        if not face_ids or not asset.asset_id:
            return []
        return [f for f in self.faces.faces(face_ids) if f.asset_id == asset.asset_id]

    def _drop_unassociated(self, faces: Sequence[StoredFace]) -> None:
        """Faces of an overwritten version: gone from the photo, so gone from the index."""
        stale = [f.face_id for f in faces if not f.user_id]
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
