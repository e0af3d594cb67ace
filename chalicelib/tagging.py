"""The flows wired together: an asset, as read now, to the flow it needs.

State lives on the assets (tags and `facetag_*` context, see `state.py`) and in the Rekognition
collection; see docs/design.md. Every flow is idempotent: a message handled twice, or an
asset processed again with the same version and settings, changes nothing and indexes no new
face. A notification is a claim about the asset (the same signed body can come again after a
librarian changed it): what facetag writes is decided on the asset's current state, which the
caller (the queue worker, reconciliation) read.

Failures that a later attempt may fix (throttling past botocore's retries, Cloudinary 5xx,
timeouts) propagate to the caller, which hands the message back to its queue; the asset then
still lacks its processed marker, so reconciliation finds it too. Failures that no retry fixes
(no face on a training photo, an unreadable image, a name that cannot be used) are written on
the asset as `facetag:error` with a readable reason.
"""

from __future__ import annotations

import logging

from . import metrics
from .asset_faces import AssetFaces
from .assets import Asset
from .corrections import Corrections
from .decide import Need, decide
from .outcome import AssetProblem, Outcome, OutcomeKind
from .rebuild import Rebuild
from .recognition import Recogniser
from .settings import Settings
from .state import StateWriter
from .stores import AssetLibrary, FaceStore
from .training import Trainer

log = logging.getLogger("facetag.tagging")


class Tagger:
    """Turns the assets the workers and reconciliation read into tags on them."""

    def __init__(self, settings: Settings, faces: FaceStore, library: AssetLibrary,
                 own_api_key: str | None = None) -> None:
        self.settings = settings
        self.faces = faces
        self.library = library
        self.writer = StateWriter(settings, library)
        asset_faces = AssetFaces(settings, faces, library)
        self.recogniser = Recogniser(settings, faces, asset_faces, self.writer)
        self.trainer = Trainer(settings, faces, library, asset_faces, self.writer)
        self.corrections = Corrections(settings, self.trainer, self.writer, own_api_key)
        self.rebuild = Rebuild(settings, faces, library)

    def process(self, asset: Asset, rerun: bool = False) -> Outcome:
        """Do what the asset needs (see `decide`); `rerun` re-runs recognition even where the
        asset's marker is current (operator re-run)."""
        decision = decide(asset, self.settings, rerun)
        try:
            if decision.need is Need.TRAIN and decision.label is not None:
                return self.trainer.train(asset, decision.label)
            if decision.need is Need.RECOGNISE:
                return self.recogniser.recognise(asset)
            if decision.need is Need.REFUSE:
                raise AssetProblem(decision.reason)
        except AssetProblem as problem:
            log.warning("asset refused", extra={"asset_id": asset.asset_id,
                                                "outcome": OutcomeKind.ERROR,
                                                "reason": str(problem)})
            metrics.emit({"AssetsProcessed": 1, "Errors": 1}, asset.asset_id)
            self.writer.error(asset, problem)
            return Outcome(OutcomeKind.ERROR, str(problem))
        return decision.outcome()

