"""Faces of assets that no longer exist, found by reading the collection and asking
Cloudinary which of its asset ids are gone (100 ids per Admin call)."""

from __future__ import annotations

import random
from functools import partial

from ..face_errors import CollectionMissing
from ..forgetting import forget_assets
from ..library import ASSET_ID_BATCH
from ..stores import AssetLibrary, FaceStore
from .budget import Budget
from .summary import Planned, Tally


def remove_orphans(faces: FaceStore, library: AssetLibrary, budget: Budget, tally: Tally,
                   dry_run: bool) -> None:
    try:
        counts: dict[str, int] = {}
        for face in faces.all_faces():
            if face.asset_id:
                counts[face.asset_id] = counts.get(face.asset_id, 0) + 1
    except CollectionMissing:
        return  # no collection yet: nothing indexed, nothing to remove
    ids = sorted(counts)
    # A random start: when one run cannot check every asset, the next checks others.
    start = random.randrange(len(ids)) if ids else 0
    ids = ids[start:] + ids[:start]
    gone: list[str] = []
    try:
        for i in range(0, len(ids), ASSET_ID_BATCH):
            batch = ids[i:i + ASSET_ID_BATCH]
            existing = budget.admin(partial(library.assets_by_ids, batch))
            gone.extend(a for a in batch if a not in existing)
    finally:
        # What was found before a stop is acted on: those assets are known to be gone.
        if gone and dry_run:
            tally.summary.removed = sum(counts[a] for a in gone)
            for a in gone:
                tally.planned(Planned(f"remove {counts[a]} faces of a deleted asset",
                                      asset_id=a))
        elif gone:
            tally.summary.removed = forget_assets(faces, gone)
