"""What a notification's events ask of the workers: a queue item each, or an answer at once.

An event becomes an item (`messages.Process` for an upload; a tag or context change as it is)
unless it can be settled without reading anything: an `Ignored` event, a deletion (left to
reconciliation's sweep, see forgetting.py), an upload whose own body says it is left alone (not
an image, opted out, already done for this version: doing less needs no proof), and a change
that touches nothing facetag acts on (facetag's own writes echoed back, most often). Nothing
here reads, downloads or calls a service: the worker decides on the asset's current state.

A change is queued with only what facetag acts on (corrections.py), so that a bulk edit's
message carries no tags of the library's own: of a tag change, the training labels and the
skip tag added and the names, unnamed people's tags, training labels and skip tag removed, none
longer than a tag can be (`names.TAG_MAX`: no asset carries it, facetag never wrote it), and
no training label both added and removed (it stays: nothing to untrain); of a context change,
the training key alone, its value cut to `TAG_MAX` (the worker reads the value on the asset).
"""

from __future__ import annotations

from dataclasses import replace

from .decide import decide
from .forgetting import deletion_deferred
from .messages import AssetItem, BadMessage, Process, WorkMessage
from .names import TAG_MAX
from .notifications import (
    AssetsDeleted,
    AssetUploaded,
    ContextChanged,
    Event,
    MalformedNotification,
    TagsChanged,
    read,
)
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
        kept = _facetag_tags(event, settings)
        return kept if _tags_concern_facetag(kept, settings) else Outcome(
            OutcomeKind.IGNORED, NOTHING_TO_DO)
    if isinstance(event, ContextChanged):
        key = settings.train_context_key
        if key not in event.changed and key not in event.removed:
            return Outcome(OutcomeKind.IGNORED, NOTHING_TO_DO)
        return replace(event, removed=(key,) if key in event.removed else (),
                       changed={key: event.changed[key][:TAG_MAX]} if key in event.changed
                       else {})
    if isinstance(event, AssetsDeleted):
        return deletion_deferred(event.refs)
    return Outcome(OutcomeKind.IGNORED, event.reason)


def forwarded_work(message: WorkMessage, settings: Settings
                   ) -> tuple[WorkMessage | None, list[Outcome]]:
    """A bulk edit the route forwarded whole, read as the route reads a small one: the message
    of its changes facetag acts on (None if none), and the outcomes of its other events."""
    if message.forwarded is None:
        raise ValueError("not a forwarded notification")
    try:
        events = read(message.forwarded.body).events
    except MalformedNotification as err:  # the route checked it: not the route's message
        raise BadMessage(f"a forwarded body that is not a notification: {err}") from None
    work = [work_of(event, settings) for event in events]
    items = tuple(w for w in work if not isinstance(w, Outcome))
    return (WorkMessage(items, message.origin, bulk=True) if items else None,
            [w for w in work if isinstance(w, Outcome)])


def _facetag_tags(event: TagsChanged, s: Settings) -> TagsChanged:
    """The change with only the tags facetag acts on."""
    named = (s.train_tag_prefix, s.person_tag_prefix, s.suggest_tag_prefix,
             s.unnamed_tag_prefix)
    added = tuple(t for t in event.added if len(t) <= TAG_MAX and (
        t.startswith(s.train_tag_prefix) or t == s.skip_tag))
    labels = {t for t in added if t.startswith(s.train_tag_prefix)}
    removed = tuple(t for t in event.removed if len(t) <= TAG_MAX and t not in labels and (
        t.startswith(named) or t == s.skip_tag))
    return replace(event, added=added, removed=removed)


def _tags_concern_facetag(kept: TagsChanged, s: Settings) -> bool:
    """A training label added or removed, the skip tag removed, or a name or an unnamed
    person's tag removed (maybe a rejection: whether facetag's own key removed it is the
    worker's to tell); `kept` holds only such tags and the skip tag added."""
    return bool(kept.removed) or any(t.startswith(s.train_tag_prefix) for t in kept.added)
