"""Human corrections: tag and context changes a librarian makes, and the rejections they mean.

A training label added or removed trains or untrains; a `person:`/`suggested:` tag a librarian
removes is remembered on the asset (`facetag_rejected`) so facetag never writes it there again.
facetag's own writes come back as notifications too: those are recognised and cause no work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from . import state
from .assets import Asset, AssetRef
from .decide import training_label
from .names import InvalidName, PersonName
from .notifications import Actor, ContextChanged, TagsChanged
from .outcome import AssetProblem, Outcome, OutcomeKind, combined
from .settings import Settings
from .state import StateWriter
from .stores import AssetLibrary
from .training import Trainer

log = logging.getLogger("facetag.corrections")

Process = Callable[[Asset], Outcome]


class Corrections:
    def __init__(self, settings: Settings, library: AssetLibrary, trainer: Trainer,
                 writer: StateWriter, process: Process, own_api_key: str | None) -> None:
        self.settings = settings
        self.library = library
        self.trainer = trainer
        self.writer = writer
        self.process = process
        self.own_api_key = own_api_key

    def _own(self, actor: Actor) -> bool:
        return bool(self.own_api_key) and actor.id == self.own_api_key

    def tags_changed(self, event: TagsChanged) -> Outcome:
        s = self.settings
        train_added = [t for t in event.added if t.startswith(s.train_tag_prefix)]
        train_removed = [t for t in event.removed if t.startswith(s.train_tag_prefix)]
        named_removed = [t for t in event.removed
                         if t.startswith((s.person_tag_prefix, s.suggest_tag_prefix))]
        outcomes: list[Outcome] = []
        if named_removed and not self._own(event.actor):
            outcomes.append(self._remember_rejections(event.ref, named_removed))
        for tag in train_removed:
            if tag not in train_added:
                try:
                    name = PersonName.parse(tag[len(s.train_tag_prefix):])
                except InvalidName:
                    continue  # never trained: nothing to undo
                outcomes.append(self.trainer.untrain(event.ref, name))
        if train_added or s.skip_tag in event.removed:
            outcomes.append(self._process_current(event.ref))
        return combined(outcomes)

    def context_changed(self, event: ContextChanged) -> Outcome:
        key = self.settings.train_context_key
        if key not in event.changed and key not in event.removed:
            return Outcome(OutcomeKind.IGNORED, "no change facetag acts on")
        asset = self.library.asset(event.ref.asset_id)
        if asset is None:
            return Outcome(OutcomeKind.IGNORED, "asset gone")
        if key in event.removed and not self._has_training_label(asset):
            trained = state.read(asset, self.settings).trained
            if trained is None:
                return Outcome(OutcomeKind.IGNORED, "asset was not training")
            return self.trainer.untrain(asset.ref, trained)
        return self.process(asset)

    def _has_training_label(self, asset: Asset) -> bool:
        try:
            return training_label(asset, self.settings) is not None
        except AssetProblem:
            return True  # unusable labels are still labels: processing marks the error

    def _process_current(self, ref: AssetRef) -> Outcome:
        asset = self.library.asset(ref.asset_id)
        return self.process(asset) if asset else Outcome(OutcomeKind.IGNORED, "asset gone")

    def _remember_rejections(self, ref: AssetRef, tags: Sequence[str]) -> Outcome:
        """A librarian removed a name facetag wrote: never write it on this asset again."""
        s = self.settings
        names = state.tagged_names(tags, s.person_tag_prefix) | state.tagged_names(
            tags, s.suggest_tag_prefix)
        asset = self.library.asset(ref.asset_id)
        if asset is None:
            return Outcome(OutcomeKind.IGNORED, "asset gone")
        # A suggestion replaced by the person's tag was confirmed, not rejected.
        names -= state.tagged_names(asset.tags, s.person_tag_prefix)
        if not names:
            return Outcome(OutcomeKind.IGNORED, "suggestion confirmed")
        self.writer.rejected(asset, state.read(asset, s).rejected | names)
        log.info("rejection remembered", extra={"asset_id": ref.asset_id,
                                                "outcome": OutcomeKind.REJECTED,
                                                "names": sorted(names)})
        return Outcome(OutcomeKind.REJECTED, ", ".join(sorted(names)))
