"""Human corrections: tag and context changes a librarian makes, and the rejections they mean.

A training label added or removed trains or untrains; a `person:`/`suggested:` tag a librarian
removes is remembered on the asset (`facetag_rejected`) so facetag never writes it there again.
facetag's own writes come back as notifications too: those are recognised and cause no work.

One notification may name a thousand assets (a bulk edit), so its changes are handled
together, with bounded work:
- the assets they need are read by the caller (the queue worker) in one Admin call per 100 ids
  (`assets_by_ids`) and handed in as `current`, never one call per asset, nor one per training
  label removed: untraining works on the asset read, and writes where it is now (a
  notification's public_id may have been renamed since); only the person the asset trains
  (its state says whom) is untrained, so a thousand labels removed cost at most one release;
- rejections that leave the same value on several assets are written in one call (up to
  1,000 assets a call);
- training and recognition go through the caller's `process`: inline for one asset's message,
  or sent as a message of its own for each asset of a bulk edit (worker.py); the per-asset
  work goes through the caller's `guard`, so that one asset's failure need not fail the rest.
A change on an opted-out asset (skip tag, excluded folder) writes nothing. A change that adds
the skip tag itself says so without a read; the folder and the other tags are not in a change
notification, so where a read is needed anyway it is checked on the state read, before writing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

from . import state
from .assets import Asset
from .decide import left_alone, training_label
from .names import InvalidName, PersonName
from .notifications import Actor, ContextChanged, TagsChanged
from .outcome import AssetProblem, Outcome, OutcomeKind, combined
from .settings import Settings
from .state import StateWriter
from .training import Trainer

log = logging.getLogger("facetag.corrections")

Change = TagsChanged | ContextChanged
Process = Callable[[Asset], Outcome]
# One change's own work (untraining, processing): `guard(change, work)` runs `work()`.
Guard = Callable[[Change, Callable[[], Outcome]], Outcome]


def unguarded(change: Change, work: Callable[[], Outcome]) -> Outcome:
    """A failure fails the caller: one asset's message is retried whole."""
    return work()


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


class Corrections:
    def __init__(self, settings: Settings, trainer: Trainer, writer: StateWriter,
                 own_api_key: str | None) -> None:
        self.settings = settings
        self.trainer = trainer
        self.writer = writer
        self.own_api_key = own_api_key

    def _own(self, actor: Actor) -> bool:
        return bool(self.own_api_key) and actor.id == self.own_api_key

    def needs_state(self, change: Change) -> bool:
        """Whether handling the change reads its asset (facetag's own echoes need nothing)."""
        if isinstance(change, TagsChanged):
            return self._tag_change(change).needs_read
        return self._acts_on(change)

    def _acts_on(self, change: ContextChanged) -> bool:
        key = self.settings.train_context_key
        return key in change.changed or key in change.removed

    def tags_changed(self, events: Sequence[TagsChanged], current: dict[str, Asset],
                     process: Process, guard: Guard = unguarded) -> list[Outcome]:
        """One outcome per event, in order; `current` holds the assets as read (those that
        `needs_state`), and is updated with the rejections written."""
        changes = [self._tag_change(e) for e in events]
        remembered = self._remember_rejections(changes, current)
        skipped = Outcome(OutcomeKind.SKIPPED, "tagged " + self.settings.skip_tag)
        outcomes = []
        for change in changes:
            asset_id = change.event.ref.asset_id
            parts: list[Outcome] = []
            if change.rejected:
                parts.append(skipped if change.opted_out else remembered[asset_id])
            if change.untrain or (change.process and not change.opted_out):
                parts.append(guard(change.event, partial(self._tag_work, change,
                                                         current.get(asset_id), process)))
            elif change.process:
                parts.append(skipped)
            outcomes.append(combined(parts))
        return outcomes

    def _tag_work(self, change: _TagChange, asset: Asset | None, process: Process) -> Outcome:
        """Untraining and processing of one asset's tag change."""
        parts = [self._untrain(change, asset)] if change.untrain else []
        if change.process:
            parts.append(Outcome(OutcomeKind.SKIPPED, "tagged " + self.settings.skip_tag)
                         if change.opted_out else _processed(asset, process))
        return combined(parts)

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

    def _untrain(self, change: _TagChange, asset: Asset | None) -> Outcome:
        """One outcome for all the training labels the change removed. An asset trains one
        person at most, and its state says whom: a removed label naming anyone else trained
        nothing here and costs no Rekognition call (a bulk edit may remove a thousand)."""
        if asset is None:
            return Outcome(OutcomeKind.IGNORED, "asset gone")  # the sweep removes its faces
        trained = state.read(asset, self.settings).trained
        tags = [tag for tag, name in change.untrain if name == trained]
        if trained is None or not tags:
            return Outcome(OutcomeKind.IGNORED, "no label removed trains this asset")
        # A label put back since (or a replay of an old removal) is not undone. The asset read
        # for the whole notification is what untraining writes to, wherever it is now.
        if any(tag in asset.tags for tag in tags):
            return Outcome(OutcomeKind.IGNORED, f"{tags[0]} is on the asset again")
        return self.trainer.untrain(change.event.ref.asset_id, trained, asset)

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

    def context_changed(self, events: Sequence[ContextChanged], current: Mapping[str, Asset],
                        process: Process, guard: Guard = unguarded) -> list[Outcome]:
        """One outcome per event, in order."""
        return [guard(e, partial(self._context_change, e, current.get(e.ref.asset_id), process))
                if self._acts_on(e) else Outcome(OutcomeKind.IGNORED, "no change facetag acts on")
                for e in events]

    def _context_change(self, event: ContextChanged, asset: Asset | None,
                        process: Process) -> Outcome:
        if asset is None:
            return Outcome(OutcomeKind.IGNORED, "asset gone")
        if self.settings.train_context_key in event.removed and not self._has_training_label(
                asset):
            trained = state.read(asset, self.settings).trained
            if trained is None:
                return Outcome(OutcomeKind.IGNORED, "asset was not training")
            return self.trainer.untrain(asset.asset_id, trained, asset)
        return process(asset)

    def _has_training_label(self, asset: Asset) -> bool:
        try:
            return training_label(asset, self.settings) is not None
        except AssetProblem:
            return True  # unusable labels are still labels: processing marks the error


def _processed(asset: Asset | None, process: Process) -> Outcome:
    if asset is None:
        return Outcome(OutcomeKind.IGNORED, "asset gone")
    return process(asset)
