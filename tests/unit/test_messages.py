"""The queue messages as the webhook sends them: few per notification, each within SQS's size
limit, whatever a bulk edit lists, and read back whole."""

from __future__ import annotations

import pytest

from chalicelib.assets import AssetRef
from chalicelib.messages import (
    MESSAGE_BYTES,
    Process,
    WorkMessage,
    chunked,
    decode,
    encode,
)
from chalicelib.notifications import Actor, ContextChanged, TagsChanged
from chalicelib.sizing import CHUNK

LIBRARIAN = Actor("api", "librarian-key")
SKIP = "facetag:skip"


def ref(n: int) -> AssetRef:
    return AssetRef(f"{n:032x}", f"library/events/2024/IMG_{n:06d}")


def removal(n: int, *tags: str) -> TagsChanged:
    return TagsChanged(ref(n), (), tags or ("person:Jane Doe",), LIBRARIAN)


def long_names(count: int) -> list[str]:
    """`person:` tags of Cloudinary's longest, 255 characters."""
    return [f"person:{i:05d}" + "x" * 243 for i in range(count)]


def sizes(messages: list[WorkMessage]) -> list[int]:
    return [len(encode(m).encode()) for m in messages]


def test_a_thousand_assets_changes_are_one_message() -> None:
    changes = [removal(i) for i in range(1000)]
    [message] = chunked(changes, "notification:bulk")
    assert message.items == tuple(changes) and message.group_id.startswith("chunk-")
    assert decode(encode(message)) == message
    assert len(message.encoded) <= MESSAGE_BYTES


def test_a_bulk_edit_too_large_for_one_message_is_split_in_order_within_the_limit() -> None:
    changes = [removal(i, *long_names(3)) for i in range(1000)]  # about 800 KB of names
    messages = chunked(changes, "notification:bulk")
    assert 3 <= len(messages) <= 5
    assert all(size <= MESSAGE_BYTES for size in sizes(messages))
    assert [i for m in messages for i in m.items] == changes


def test_a_change_of_a_thousand_long_names_on_one_asset_is_split_by_its_tags() -> None:
    names = long_names(1000)
    change = TagsChanged(ref(1), (SKIP, "train:Jane Doe"), tuple(names), LIBRARIAN)
    messages = chunked([change], "notification:hostile", sticky=(SKIP,))
    assert len(messages) == 2 and all(size <= MESSAGE_BYTES for size in sizes(messages))
    pieces = [i for m in messages for i in m.items]
    assert all(isinstance(p, TagsChanged) and p.ref == change.ref and p.actor == LIBRARIAN
               for p in pieces)
    assert [t for p in pieces for t in p.removed] == names
    # Every piece knows the change opted the asset out; the label is added once.
    assert all(SKIP in p.added for p in pieces)
    assert [t for p in pieces for t in p.added if t != SKIP] == ["train:Jane Doe"]
    assert {m.group_id for m in messages} == {change.ref.asset_id}  # in order, one at a time


def test_a_bulk_edit_with_one_asset_too_large_keeps_every_message_within_the_limit() -> None:
    changes = [removal(i) for i in range(500)]
    changes.insert(250, removal(9999, *long_names(1000)))
    messages = chunked(changes, "notification:bulk", sticky=(SKIP,))
    assert all(size <= MESSAGE_BYTES for size in sizes(messages))
    items = [i for m in messages for i in m.items]
    assert [i.ref.asset_id for i in items if i.ref != ref(9999)] == [
        c.ref.asset_id for c in changes if c.ref != ref(9999)]
    assert sorted(t for i in items if i.ref == ref(9999) for t in i.removed) == long_names(1000)


def test_a_few_items_are_one_message_per_asset() -> None:
    changes = [removal(1), ContextChanged(ref(2), {"person": "Jo"}, (), LIBRARIAN), removal(1)]
    messages = chunked(changes, "notification:few")
    assert [m.group_id for m in messages] == [ref(1).asset_id, ref(2).asset_id]
    assert [len(m.items) for m in messages] == [2, 1]


def test_assets_to_process_are_chunks_of_at_most_a_hundred() -> None:
    processes = [Process(ref(i), 1) for i in range(250)]
    messages = chunked(processes, "rest-of:m-1")
    assert [len(m.items) for m in messages] == [CHUNK, CHUNK, 50]
    with pytest.raises(ValueError, match="at most 100"):
        WorkMessage(tuple(processes[:CHUNK + 1]), "backfill:run")


def test_a_message_made_by_chunked_has_the_body_encode_gives_it() -> None:
    changes = [removal(i, "person:Zoë", "person:\U0001f600") for i in range(30)]
    changes.append(removal(99, *long_names(1000)))
    for message in chunked(changes, 'notification:"odd" origin'):
        assert message.encoded == encode(message)
        assert decode(message.encoded) == message
