"""Notifications' events through the app's own path on the fakes: what the webhook queues
(intake.work_of), then a queue worker handling those messages."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from chalicelib.intake import work_of
from chalicelib.invocation import BatchResult, Pace, Received
from chalicelib.messages import WorkMessage, chunked, encode
from chalicelib.notifications import Event
from chalicelib.outcome import Outcome, combined
from chalicelib.tagging import Tagger
from chalicelib.worker import Worker
from tests.fakes import FakeQueue

_ids = count()


class FakeTime:
    """An invocation's clock: `remaining_ms` falls as the worker sleeps or as a test says."""

    def __init__(self, remaining_s: float = 900.0) -> None:
        self.remaining_s = remaining_s
        self.slept: list[float] = []

    def remaining_ms(self) -> float:
        return self.remaining_s * 1000

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.remaining_s -= seconds


class MessageFailed(Exception):
    """The worker handed the message back to its queue (a transient failure)."""


def records(*messages: WorkMessage | str, receives: int = 1) -> list[Received]:
    """SQS records of these messages (a str is a raw body)."""
    found = []
    for message in messages:
        n = next(_ids)
        body = message if isinstance(message, str) else encode(message)
        found.append(Received(f"m-{n}", f"receipt-{n}", body, receives))
    return found


def worker(tagger: Tagger, queue: FakeQueue | None = None, live: FakeQueue | None = None,
           time: FakeTime | None = None, reserve_s: float = 15.0, retry_delay_s: int = 30,
           backfill: bool = False) -> Worker:
    queue = queue if queue is not None else FakeQueue()
    live = live if live is not None else queue
    time = time or FakeTime()
    pace = Pace(time.remaining_ms, reserve_s, retry_delay_s,
                live_waiting=live.has_waiting if backfill else (lambda: False),
                sleep=time.sleep)
    return Worker(tagger, queue, live, pace)


def handle(tagger: Tagger, *messages: WorkMessage | str, **options: object) -> BatchResult:
    return worker(tagger, **options).handle(records(*messages))  # type: ignore[arg-type]


def deliver(tagger: Tagger, event: Event) -> Outcome:
    """One notification event, as the webhook queues it and a live worker handles it."""
    work = work_of(event, tagger.settings)
    if isinstance(work, Outcome):
        return work
    result = handle(tagger, WorkMessage((work,), "notification:test"))
    if result.failed:
        raise MessageFailed(result.failed)
    return combined([o for _, o in result.outcomes])


def deliver_all(tagger: Tagger, events: Sequence[Event], queue: FakeQueue | None = None
                ) -> list[Outcome]:
    """The events of one notification: queued as the webhook does (a bulk edit in chunks), then
    handled in one batch; one outcome per event, in order (the webhook's own for an event it
    did not queue). A bulk edit's follow-ups are left in `queue`."""
    work = [work_of(e, tagger.settings) for e in events]
    queued = [w for w in work if not isinstance(w, Outcome)]
    result = handle(tagger, *chunked(queued, "notification:test"), queue=queue)
    if result.failed:
        raise MessageFailed(result.failed)
    handled = iter(o for _, o in result.outcomes)
    return [w if isinstance(w, Outcome) else next(handled) for w in work]
