"""Deleted assets: their faces leave the collection, and people left without faces go."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .outcome import OutcomeKind
from .stores import FaceStore

log = logging.getLogger("facetag.forgetting")


def forget_assets(faces: FaceStore, asset_ids: Iterable[str]) -> int:
    """Remove the faces of these assets; returns how many faces were removed."""
    gone = set(asset_ids)
    if not gone:
        return 0
    doomed = [f for f in faces.all_faces() if f.asset_id in gone]
    by_user: dict[str, list[str]] = {}
    for f in doomed:
        if f.user_id:
            by_user.setdefault(f.user_id, []).append(f.face_id)
    for user_id, face_ids in by_user.items():
        faces.disassociate(user_id, face_ids)
        if not faces.user_faces(user_id):
            faces.delete_user(user_id)
    if doomed:
        faces.delete_faces([f.face_id for f in doomed])
    log.info("forgot assets", extra={"outcome": OutcomeKind.FORGOTTEN, "assets": len(gone),
                                     "faces": len(doomed)})
    return len(doomed)
