"""Deleted assets: their faces leave the collection, and people left without faces go.

A deletion notification names the assets and nothing more: facetag's context on them is gone
with them, and Rekognition cannot list faces by `ExternalImageId`. Finding one asset's faces
would mean listing the whole collection (one ListFaces call per 4,096 faces: 4,883 calls at
Rekognition's 20 million), inside the webhook. So the webhook only acknowledges a deletion, at
no call, and reconciliation's sweep (`reconcile/orphans.py`) removes the faces of every asset
deleted since its last run with one listing of the collection.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from .assets import AssetRef
from .outcome import Outcome, OutcomeKind
from .stores import FaceStore

log = logging.getLogger("facetag.forgetting")


def deletion_deferred(refs: Sequence[AssetRef]) -> Outcome:
    """The webhook's part of a deletion: nothing to call, whatever the collection's size."""
    return Outcome(OutcomeKind.DEFERRED,
                   f"faces of {len(refs)} deleted assets leave at the next reconciliation")


def forget_assets(faces: FaceStore, asset_ids: Iterable[str]) -> int:
    """Remove the faces of these assets (one listing of the collection for all of them);
    returns how many faces were removed."""
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
