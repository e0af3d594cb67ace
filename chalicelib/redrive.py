"""Moving a dead-letter queue's messages back to their queue (`facetag queue redrive`).

Each message is deleted from the dead-letter queue only after its queue took it again: a
failure leaves it where it was (hidden for `HOLD_S`, then visible again). A FIFO message keeps
its group, so it still never runs beside another message about its asset.
"""

from __future__ import annotations

from .stores import MessageQueue

HOLD_S = 60  # how long a received dead letter stays hidden while it is being sent back


def redrive(dead_letters: MessageQueue, queue: MessageQueue, most: int | None = None) -> int:
    """Move up to `most` messages (all when None); returns how many were moved."""
    moved = 0
    while most is None or moved < most:
        batch = dead_letters.receive(10 if most is None else min(10, most - moved), HOLD_S)
        if not batch:
            break
        for message in batch:
            queue.resend(message)
            dead_letters.delete(message.receipt_handle)
            moved += 1
    return moved
