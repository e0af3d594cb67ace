"""Assets needing work as messages for the backfill queue: chunks of up to `sizing.CHUNK`
`Process` items, each read by a backfill worker in one Admin call (the backfill scan and the
scheduled reconciliation send them)."""

from __future__ import annotations

from collections.abc import Sequence

from .assets import Asset
from .messages import Process, WorkMessage
from .sizing import CHUNK


def in_chunks(assets: Sequence[Asset], origin: str) -> list[WorkMessage]:
    items = [Process(a.ref, a.version) for a in assets]
    return [WorkMessage(tuple(items[i:i + CHUNK]), origin) for i in range(0, len(items), CHUNK)]
