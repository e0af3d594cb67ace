"""Human corrections: tag and context changes a librarian makes, and the rejections they mean.

A training label added or removed trains or untrains; a `person:`/`suggested:` tag a librarian
removes is remembered on the asset (`facetag_rejected`) so facetag never writes it there again.
facetag's own writes come back as notifications too: those are recognised and cause no work.

One notification may name a thousand assets (a bulk edit), so all its changes are handled
together, with bounded work:
- the assets they need are read in one Admin call per 100 ids (`assets_by_ids`), never one
  call per asset, nor one per training label removed: untraining works on the asset read,
  and writes where it is now (a notification's public_id may have been renamed since);
- rejections that leave the same value on several assets are written in one call (up to
  1,000 assets a call);
- at most `MAX_PROCESSED` assets are trained or recognised in the request; the others are
  answered `deferred` and left to reconciliation.
A change on an opted-out asset (skip tag, excluded folder) writes nothing. A change that adds
the skip tag itself says so without a read; the folder and the other tags are not in a change
notification, so where a read is needed anyway it is checked on the state read, before writing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from . import state
from .assets import Asset
from .decide import decide, left_alone, training_label
from .names import InvalidName, PersonName
from .notifications import Actor, ContextChanged, TagsChanged
from .outcome import AssetProblem, Outcome, OutcomeKind, combined
from .settings import Settings
from .state import StateWriter
from .stores import AssetLibrary
from .training import Trainer

log = logging.getLogger("facetag.corrections")

Process = Callable[[Asset], Outcome]

# Trainings and recognitions one notification may cause in its request: each costs a download
# and a few Rekognition calls, and the request must end well inside API Gateway's 29 s.
MAX_PROCESSED = 10


@dataclass(frozen=True)
class _TagChange:
    """What one asset's tag change asks of facetag."""

    event: TagsChanged
    rejected: frozenset[str]  # names a librarian removed
    untrain: tuple[tuple[str, PersonName], ...]  # training labels removed: (tag, name)
    process: bool  # a training label was added or the skip tag removed
    opted_out: bool  # the change itself adds the skip tag

    @property
    def needs_read(self) -> bool:
        return not self.opted_out and (bool(self.rejected) or bool(self.untrain) or self.process)


class _Processing:
    """Trains or recognises the assets a notification's changes ask for, up to MAX_PROCESSED."""

    def __init__(self, settings: Settings, process: Process) -> None:
        self.settings = settings
        self.process = process
        self.left = MAX_PROCESSED

    def __call__(self, asset: Asset | None) -> Outcome:
        if asset is None:
            return Outcome(OutcomeKind.IGNORED, "asset gone")
        if decide(asset, self.settings).is_work:
            if not self.left:
                log.warning("processing deferred", extra={"asset_id": asset.asset_id,
                                                          "outcome": OutcomeKind.DEFERRED})
                return Outcome(OutcomeKind.DEFERRED,
                               f"more than {MAX_PROCESSED} assets to process in one change")
            self.left -= 1
        return self.process(asset)


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

    def _read(self, asset_ids: Iterable[str]) -> dict[str, Asset]:
        """Current state of the assets, in batched Admin reads; none when none is needed."""
        unique = list(dict.fromkeys(asset_ids))
        return self.library.assets_by_ids(unique) if unique else {}

    def tags_changed(self, events: Sequence[TagsChanged]) -> list[Outcome]:
        """One outcome per event, in order."""
        changes = [self._tag_change(e) for e in events]
        current = self._read(c.event.ref.asset_id for c in changes if c.needs_read)
        remembered = self._remember_rejections(changes, current)
        processing = _Processing(self.settings, self.process)
        skipped = Outcome(OutcomeKind.SKIPPED, "tagged " + self.settings.skip_tag)
        outcomes = []
        for change in changes:
            asset_id = change.event.ref.asset_id
            parts: list[Outcome] = []
            if change.rejected:
                parts.append(skipped if change.opted_out else remembered[asset_id])
            parts += [self._untrain(change.event, tag, name, current.get(asset_id))
                      for tag, name in change.untrain]
            if change.process:
                parts.append(skipped if change.opted_out else processing(current.get(asset_id)))
            outcomes.append(combined(parts))
        return outcomes

    def _tag_change(self, event: TagsChanged) -> _TagChange:
        s = self.settings
        train_added = [t for t in event.added if t.startswith(s.train_tag_prefix)]
        untrain: list[tuple[str, PersonName]] = []
        for tag in event.removed:
            if tag.startswith(s.train_tag_prefix) and tag not in train_added:
                try:
                    untrain.append((tag, PersonName.parse(tag[len(s.train_tag_prefix):])))
                except InvalidName:
                    continue  # never trained: nothing to undo
        rejected: set[str] = set()
        if not self._own(event.actor):
            rejected = state.tagged_names(event.removed, s.person_tag_prefix) | (
                state.tagged_names(event.removed, s.suggest_tag_prefix)) | (
                state.rejected_unnamed(event.removed, s))
        return _TagChange(event, frozenset(rejected), tuple(untrain),
                          process=bool(train_added) or s.skip_tag in event.removed,
                          opted_out=s.skip_tag in event.added)

    def _untrain(self, event: TagsChanged, tag: str, name: PersonName, asset: Asset | None
                 ) -> Outcome:
        # A label put back since (or a replay of an old removal) is not undone. The asset read
        # for the whole notification is what untraining writes to, wherever it is now.
        if asset is not None and tag in asset.tags:
            return Outcome(OutcomeKind.IGNORED, f"{tag} is on the asset again")
        return self.trainer.untrain(event.ref.asset_id, name, asset)

    def _remember_rejections(self, changes: Sequence[_TagChange], current: dict[str, Asset]
                             ) -> dict[str, Outcome]:
        """A librarian removed names facetag wrote: never write them on those assets again.
        `current` is updated with what is written, for the processing that follows."""
        removed: dict[str, set[str]] = {}
        for change in changes:
            if change.rejected and not change.opted_out:
                removed.setdefault(change.event.ref.asset_id, set()).update(change.rejected)
        outcomes: dict[str, Outcome] = {}
        writes: list[tuple[Asset, frozenset[str]]] = []
        for asset_id, names in removed.items():
            asset = current.get(asset_id)
            outcome, after = self._rejection(asset, names)
            outcomes[asset_id] = outcome
            if asset is not None and after is not None:
                writes.append((asset, after))
                current[asset_id] = replace(
                    asset, context={**asset.context, **state.rejected_context(after)})
        if writes:
            self.writer.rejected(writes)
        for asset, _ in writes:
            log.info("rejection remembered", extra={"asset_id": asset.asset_id,
                                                    "outcome": OutcomeKind.REJECTED,
                                                    "names": outcomes[asset.asset_id].detail})
        return outcomes

    def _rejection(self, asset: Asset | None, names: set[str]
                   ) -> tuple[Outcome, frozenset[str] | None]:
        """The outcome for one asset, and its new `facetag_rejected` names if they change."""
        if asset is None:
            return Outcome(OutcomeKind.IGNORED, "asset gone"), None
        alone = left_alone(asset, self.settings)
        if alone is not None:
            return alone.outcome(), None
        # A suggestion replaced by the person's tag was confirmed, not rejected.
        names = names - state.tagged_names(asset.tags, self.settings.person_tag_prefix)
        if not names:
            return Outcome(OutcomeKind.IGNORED, "suggestion confirmed"), None
        before = state.read(asset, self.settings).rejected
        outcome = Outcome(OutcomeKind.REJECTED, ", ".join(sorted(names)))
        return outcome, None if names <= before else before | names

    def context_changed(self, events: Sequence[ContextChanged]) -> list[Outcome]:
        """One outcome per event, in order."""
        key = self.settings.train_context_key
        relevant = [key in e.changed or key in e.removed for e in events]
        current = self._read(e.ref.asset_id for e, r in zip(events, relevant, strict=True) if r)
        processing = _Processing(self.settings, self.process)
        return [self._context_change(e, current.get(e.ref.asset_id), processing) if r
                else Outcome(OutcomeKind.IGNORED, "no change facetag acts on")
                for e, r in zip(events, relevant, strict=True)]

    def _context_change(self, event: ContextChanged, asset: Asset | None,
                        processing: _Processing) -> Outcome:
        if asset is None:
            return Outcome(OutcomeKind.IGNORED, "asset gone")
        if self.settings.train_context_key in event.removed and not self._has_training_label(
                asset):
            trained = state.read(asset, self.settings).trained
            if trained is None:
                return Outcome(OutcomeKind.IGNORED, "asset was not training")
            return self.trainer.untrain(asset.asset_id, trained, asset)
        return processing(asset)

    def _has_training_label(self, asset: Asset) -> bool:
        try:
            return training_label(asset, self.settings) is not None
        except AssetProblem:
            return True  # unusable labels are still labels: processing marks the error
