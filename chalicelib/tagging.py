"""The dispatcher: notifications and reconciliation's findings to the flow each one needs.

State lives on the assets (tags and `facetag_*` context, see `state.py`) and in the Rekognition
collection; see docs/design.md. Every flow is idempotent: a notification delivered twice, or an
asset processed again with the same version and settings, changes nothing and indexes no new
face. A notification is a claim about the asset (the same signed body can come again after a
librarian changed it): what facetag writes is decided on the asset's current state.

Failures that a later attempt may fix (throttling past botocore's retries, Cloudinary 5xx,
timeouts) propagate to the caller, which answers so that Cloudinary retries; the asset then
still lacks its processed marker, so reconciliation finds it too. Failures that no retry fixes
(no face on a training photo, an unreadable image, a name that cannot be used) are written on
the asset as `facetag:error` with a readable reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from . import metrics
from .asset_faces import AssetFaces
from .assets import Asset
from .corrections import Corrections
from .decide import Need, decide
from .forgetting import deletion_deferred
from .notifications import (
    AssetsDeleted,
    AssetUploaded,
    ContextChanged,
    Event,
    TagsChanged,
)
from .outcome import AssetProblem, Outcome, OutcomeKind
from .recognition import Recogniser
from .settings import Settings
from .state import StateWriter
from .stores import AssetLibrary, FaceStore
from .training import Trainer

log = logging.getLogger("facetag.tagging")


class Tagger:
    """Turns notifications (and reconciliation's findings) into tags on assets."""

    def __init__(self, settings: Settings, faces: FaceStore, library: AssetLibrary,
                 own_api_key: str | None = None) -> None:
        self.settings = settings
        self.faces = faces
        self.library = library
        self.writer = StateWriter(settings, library)
        asset_faces = AssetFaces(settings, faces, library)
        self.recogniser = Recogniser(settings, faces, asset_faces, self.writer)
        self.trainer = Trainer(settings, faces, library, asset_faces, self.writer)
        self.corrections = Corrections(settings, library, self.trainer, self.writer,
                                       self.process, own_api_key)

    def handle_all(self, events: Sequence[Event]) -> list[Outcome]:
        """The events of one notification, one outcome each, in order. Its tag changes are
        handled together, and so are its context changes: a bulk edit reads its assets in
        batches (see corrections.py)."""
        tag_changes = {i: e for i, e in enumerate(events) if isinstance(e, TagsChanged)}
        context_changes = {i: e for i, e in enumerate(events) if isinstance(e, ContextChanged)}
        outcomes = dict(zip(tag_changes,
                            self.corrections.tags_changed(list(tag_changes.values())),
                            strict=True))
        outcomes.update(zip(context_changes,
                            self.corrections.context_changed(list(context_changes.values())),
                            strict=True))
        return [outcomes[i] if i in outcomes else self.handle(e) for i, e in enumerate(events)]

    def handle(self, event: Event) -> Outcome:
        """Process one notification event; returns a short outcome for logs and answers."""
        if isinstance(event, AssetUploaded):
            return self.uploaded(event.asset)
        if isinstance(event, TagsChanged):
            return self.corrections.tags_changed([event])[0]
        if isinstance(event, ContextChanged):
            return self.corrections.context_changed([event])[0]
        if isinstance(event, AssetsDeleted):
            return deletion_deferred(event.refs)
        return Outcome(OutcomeKind.IGNORED, event.reason)

    def uploaded(self, claimed: Asset) -> Outcome:
        """An upload notification shows the asset as it was uploaded, and the same signed body
        may come again hours later (Cloudinary's redelivery, or a replay), after a librarian
        changed the asset: it is a claim, not the asset's state. What it can settle without a
        read (not an image, opted out, already done) costs nothing; otherwise the asset's
        current state is read (one Admin call) and that is what is decided on and written."""
        decision = decide(claimed, self.settings)
        if not decision.is_work:
            return decision.outcome()
        current = self.library.asset(claimed.asset_id)
        if current is None:
            return Outcome(OutcomeKind.IGNORED, "asset gone")
        return self.process(current)

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

