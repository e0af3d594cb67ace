"""Faces of assets that no longer exist, found by reading the collection and asking
Cloudinary which of its asset ids are gone (100 ids per Admin call).

This is where the faces of deleted assets leave the collection: the webhook only acknowledges
a deletion (see `forgetting.py`). One sweep lists the collection once to find every asset with
faces, and once more to remove the faces of those that are gone, however many there are.
"""

from __future__ import annotations

import logging
import random
from functools import partial

from ..face_errors import CollectionMissing
from ..faces import LIST_PAGE
from ..forgetting import forget_assets
from ..library import ASSET_ID_BATCH
from ..stores import AssetLibrary, FaceStore
from .budget import Budget
from .summary import Planned, Tally

log = logging.getLogger("facetag.reconcile")


def remove_orphans(faces: FaceStore, library: AssetLibrary, budget: Budget, tally: Tally,
                   dry_run: bool) -> None:
    counts = _faces_per_asset(faces, budget)
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


def _faces_per_asset(faces: FaceStore, budget: Budget) -> dict[str, int]:
    """How many faces each asset has in the collection. The run's limits are checked before
    the listing and after each page of it: a run that could not ask Cloudinary about the
    assets does not list them, and a long listing stops before Lambda's timeout."""
    budget.check()
    counts: dict[str, int] = {}
    try:
        for listed, face in enumerate(faces.all_faces(), 1):
            if face.asset_id:
                counts[face.asset_id] = counts.get(face.asset_id, 0) + 1
            if listed % LIST_PAGE == 0:
                budget.check()
    except CollectionMissing:
        # Nothing indexed yet, or the collection was deleted outside facetag: no face is left
        # to remove either way, and the first face indexed creates it again.
        log.warning("the face collection does not exist: no face of a deleted asset to remove",
                    extra={"outcome": "no collection"})
        return {}
    return counts
