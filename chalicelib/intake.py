"""What a notification's events ask of the workers: a queue item each, or an answer at once.

An event becomes an item (`messages.Process` for an upload; a tag or context change as it is)
unless it can be settled without reading anything: an `Ignored` event, a deletion (left to
reconciliation's sweep, see forgetting.py), an upload whose own body says it is left alone (not
an image, opted out, already done for this version: doing less needs no proof), and a change
that touches nothing facetag acts on (facetag's own writes echoed back, most often). Nothing
here reads, downloads or calls a service: the worker decides on the asset's current state.
"""

from __future__ import annotations

from .decide import decide
from .forgetting import deletion_deferred
from .messages import AssetItem, Process
from .notifications import AssetsDeleted, AssetUploaded, ContextChanged, Event, TagsChanged
from .outcome import Outcome, OutcomeKind
from .settings import Settings

NOTHING_TO_DO = "no change facetag acts on"


def work_of(event: Event, settings: Settings) -> AssetItem | Outcome:
    """The item to queue for this event, or the outcome of an event that needs no work."""
    if isinstance(event, AssetUploaded):
        decision = decide(event.asset, settings)
        if not decision.is_work:
            return decision.outcome()
        return Process(event.asset.ref, event.asset.version)
    if isinstance(event, TagsChanged):
        return event if _tags_concern_facetag(event, settings) else Outcome(
            OutcomeKind.IGNORED, NOTHING_TO_DO)
    if isinstance(event, ContextChanged):
        key = settings.train_context_key
        return event if key in event.changed or key in event.removed else Outcome(
            OutcomeKind.IGNORED, NOTHING_TO_DO)
    if isinstance(event, AssetsDeleted):
        return deletion_deferred(event.refs)
    return Outcome(OutcomeKind.IGNORED, event.reason)


def _tags_concern_facetag(event: TagsChanged, s: Settings) -> bool:
    """A training label added or removed, the skip tag removed, or a name or an unnamed
    person's tag removed (maybe a rejection: whether facetag's own key removed it is the
    worker's to tell)."""
    named = (s.train_tag_prefix, s.person_tag_prefix, s.suggest_tag_prefix,
             s.unnamed_tag_prefix)
    return (any(t.startswith(s.train_tag_prefix) for t in event.added)
            or any(t.startswith(named) or t == s.skip_tag for t in event.removed))
