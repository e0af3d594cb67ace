"""The queue workers: one invocation's SQS messages, decided on the assets' current state.

A message names assets and what happened to them (messages.py); the worker reads every asset
of its batch in one `assets_by_ids` (100 ids per Admin call) and acts on that state only:
- a message about one asset does its face work inline (its FIFO group is the asset, so no
  other message about it runs meanwhile);
- a chunk of tag or context changes (a bulk edit) writes its rejections and untraining
  together, and sends each asset that needs training or recognition as a message of its own
  to the live queue (a follow-up), where it runs alone in its asset's group;
- a chunk of `Process` items (backfill, reconciliation) is processed inline, asset by asset,
  and a `Recluster` (`facetag unnamed --rebuild`) face by face (rebuild.py).
An asset is processed once per batch, however many messages name it.

Time: a worker takes no further asset (or face) when less than `reserve_s` is left, and sends
what it did not reach back as new messages (same items, another origin: SQS would drop a copy
with the same deduplication id), answering the old ones as done. A backfill worker also waits,
in short steps, while the live queue has messages waiting: live uploads go first.

Failures: a malformed body is logged and dropped (no retry can help it). A transient failure
(anything but an `AssetProblem`, which the flows write on the asset as `facetag:error`) fails
its message: it goes into `batchItemFailures` and comes back after `retry_delay_s · 2^(receives
- 1)` (capped by the queue at its visibility timeout); later messages of the same group in the
batch are handed back with it, to keep the group's order. In a chunk, the asset that failed is
sent as a message of its own instead, so one bad asset does not repeat a hundred, unless the
failure is in the chunk's shared read or write, which fails the whole chunk.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from . import metrics
from .assets import Asset
from .corrections import Change, unguarded
from .decide import decide
from .messages import AssetItem, BadMessage, Process, WorkMessage, chunked, decode, reclusters
from .notifications import ContextChanged, TagsChanged
from .outcome import Outcome, OutcomeKind
from .stores import MessageQueue
from .tagging import Tagger

log = logging.getLogger("facetag.worker")

WAIT_STEP_S = 2.0  # how long a backfill worker waits before looking at the live queue again


@dataclass(frozen=True)
class Received:
    """One SQS record of a Lambda event."""

    message_id: str
    receipt_handle: str
    body: str
    receives: int  # ApproximateReceiveCount: 1 the first time


def received(event: Mapping[str, Any]) -> list[Received]:
    return [Received(str(r["messageId"]), str(r["receiptHandle"]), str(r["body"]),
                     int(r.get("attributes", {}).get("ApproximateReceiveCount", 1)))
            for r in event.get("Records", [])]


@dataclass(frozen=True)
class Pace:
    """How a worker spends its invocation's time."""

    remaining_ms: Callable[[], float]
    reserve_s: float  # the time one asset may take at the worker's pace (sizing.py)
    retry_delay_s: int
    live_waiting: Callable[[], bool] = lambda: False  # a backfill worker's look at live work
    sleep: Callable[[float], None] = time.sleep


@dataclass
class BatchResult:
    failed: list[str] = field(default_factory=list)  # message ids handed back
    outcomes: list[tuple[str, Outcome]] = field(default_factory=list)  # (message id, outcome)
    dropped: int = 0  # malformed bodies
    resent: int = 0  # items sent back for lack of time
    follow_ups: int = 0  # assets of bulk edits sent as messages of their own
    singled: int = 0  # assets of chunks that failed, sent as messages of their own

    def response(self) -> dict[str, list[dict[str, str]]]:
        """Lambda's partial batch response."""
        return {"batchItemFailures": [{"itemIdentifier": m} for m in self.failed]}


class Worker:
    def __init__(self, tagger: Tagger, queue: MessageQueue, live: MessageQueue, pace: Pace,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`queue` is the queue served, `live` the live queue (follow-ups go there)."""
        self.tagger = tagger
        self.queue = queue
        self.live = live
        self.pace = pace
        self.clock = clock

    def handle(self, records: Sequence[Received]) -> BatchResult:
        started = self.clock()
        batch = _Batch(self, records)
        result = batch.run()
        self._log(records, result, batch.asset_count, started)
        return result

    def _log(self, records: Sequence[Received], result: BatchResult, assets: int,
             started: float) -> None:
        rekognition = self.tagger.faces.calls.take()
        calls = self.tagger.library.calls
        cloudinary = calls.admin.take() + calls.upload.take() + calls.delivery.take()
        kinds = Counter(str(o.kind) for _, o in result.outcomes)
        log.log(logging.WARNING if result.failed else logging.INFO, "batch handled", extra={
            "queue": self.queue.name, "messages": len(records), "assets": assets,
            "outcomes": dict(kinds), "failures": len(result.failed), "dropped": result.dropped,
            "resent": result.resent, "follow_ups": result.follow_ups, "singled": result.singled,
            "rekognition_calls": rekognition, "cloudinary_calls": cloudinary,
            "ms": round((self.clock() - started) * 1000)})
        metrics.emit({"Messages": len(records), "Failures": len(result.failed),
                      "RekognitionCalls": rekognition, "CloudinaryCalls": cloudinary},
                     queue=self.queue.name)


class _Batch:
    """One invocation's state: the assets read, those processed, what goes back."""

    def __init__(self, worker: Worker, records: Sequence[Received]) -> None:
        self.w = worker
        self.records = records
        self.result = BatchResult()
        self.current: dict[str, Asset] = {}
        self.processed: set[str] = set()
        self.failed_groups: set[str] = set()
        self.asset_count = 0
        self.follow_ups: list[Process] = []  # of the chunk being handled
        self.singles: list[AssetItem] = []  # of the chunk being handled

    def run(self) -> BatchResult:
        decoded = [(r, m) for r in self.records if (m := self._decode(r)) is not None]
        try:
            self._read_assets([m for _, m in decoded])
        except Exception:  # the batch's shared read: every message comes back
            log.warning("batch read failed", exc_info=True)
            for record, message in decoded:
                self._fail(record, message)
            return self.result
        for record, message in decoded:
            if message.group_id in self.failed_groups:
                self._fail(record, message)  # after a failed message of its group: its order
                continue
            try:
                self._message(record, message)
            except Exception:  # transient: the message is retried
                log.warning("message failed", exc_info=True, extra={
                    "message_id": record.message_id, "asset_ids": list(message.asset_ids)})
                self._fail(record, message)
        return self.result

    def _decode(self, record: Received) -> WorkMessage | None:
        try:
            return decode(record.body)
        except BadMessage as err:
            log.error("malformed message dropped", extra={"message_id": record.message_id,
                                                          "reason": str(err)})
            self.result.dropped += 1
            return None

    def _read_assets(self, messages: Sequence[WorkMessage]) -> None:
        ids = list(dict.fromkeys(i for m in messages for i in m.asset_ids))
        self.asset_count = len(ids)
        corrections = self.w.tagger.corrections
        needed = list(dict.fromkeys(
            item.ref.asset_id for m in messages for item in m.asset_items
            if isinstance(item, Process) or corrections.needs_state(item)))
        if needed:
            self.current = self.w.tagger.library.assets_by_ids(needed)

    def _fail(self, record: Received, message: WorkMessage) -> None:
        self.result.failed.append(record.message_id)
        self.failed_groups.add(message.group_id)
        delay = self.w.pace.retry_delay_s * 2 ** max(0, record.receives - 1)
        try:
            self.w.queue.retry_later(record.receipt_handle, delay)
        except Exception:  # it comes back after the visibility timeout instead
            log.warning("retry delay not set", exc_info=True,
                        extra={"message_id": record.message_id})

    def _time_low(self) -> bool:
        return self.w.pace.remaining_ms() / 1000 < self.w.pace.reserve_s

    def _may_take_asset(self) -> bool:
        """Whether there is time for one more asset, once live work (if any) went first."""
        pace = self.w.pace
        while not self._time_low() and pace.live_waiting():
            pace.sleep(WAIT_STEP_S)
        return not self._time_low()

    def _message(self, record: Received, message: WorkMessage) -> None:
        if len(message.asset_ids) == 1:
            if not self._may_take_asset():
                self._send_back(record, message.asset_items)
                return
            for item in message.asset_items:
                self._outcome(record, self._item(item, self._process))
            return
        self.follow_ups, self.singles = [], []
        self._chunk(record, message)
        follow_ups = list(dict.fromkeys(self.follow_ups))
        if follow_ups:
            origin = "follow-up:" + message.deduplication_id[:32]
            self.w.live.send([WorkMessage((p,), origin) for p in follow_ups])
            self.result.follow_ups += len(follow_ups)
        if self.singles:
            origin = "failed-in:" + record.message_id
            self.w.queue.send([WorkMessage((i,), origin) for i in self.singles])
            self.result.singled += len(self.singles)

    def _chunk(self, record: Received, message: WorkMessage) -> None:
        corrections = self.w.tagger.corrections
        tags = [i for i in message.items if isinstance(i, TagsChanged)]
        contexts = [i for i in message.items if isinstance(i, ContextChanged)]
        for outcome in [*corrections.tags_changed(tags, self.current, self._follow_up,
                                                  self._single),
                        *corrections.context_changed(contexts, self.current,
                                                     self._follow_up, self._single)]:
            self._outcome(record, outcome)
        processes = [i for i in message.items if isinstance(i, Process)]
        for n, item in enumerate(processes):
            if not self._may_take_asset():
                self._send_back(record, processes[n:])
                return
            self._outcome(record, self._single(item, partial(self._process_item, item)))
        if message.face_ids:
            self._recluster(record, message.face_ids)

    def _recluster(self, record: Received, face_ids: Sequence[str]) -> None:
        done = self.w.tagger.rebuild.recluster(face_ids, self._may_take_asset)
        if done.left:
            self.w.queue.send(reclusters(done.left, "rest-of:" + record.message_id))
            self.result.resent += len(done.left)
        self._outcome(record, done.outcome())

    def _item(self, item: AssetItem, process: Callable[[Asset], Outcome]) -> Outcome:
        if isinstance(item, Process):
            return self._process_item(item)
        corrections = self.w.tagger.corrections
        if isinstance(item, TagsChanged):
            return corrections.tags_changed([item], self.current, process, unguarded)[0]
        return corrections.context_changed([item], self.current, process, unguarded)[0]

    def _process_item(self, item: Process) -> Outcome:
        asset = self.current.get(item.ref.asset_id)
        if asset is None:
            return Outcome(OutcomeKind.IGNORED, "asset gone")
        return self._process(asset)

    def _process(self, asset: Asset) -> Outcome:
        """Train or recognise on the state read, once per batch (after it the state read is
        no longer the asset's)."""
        if asset.asset_id in self.processed:
            return Outcome(OutcomeKind.UNCHANGED, "processed earlier in this batch")
        outcome = self.w.tagger.process(asset)
        self.processed.add(asset.asset_id)
        return outcome

    def _follow_up(self, asset: Asset) -> Outcome:
        """A bulk edit's asset that needs work: a message of its own, in its asset's group."""
        if asset.asset_id in self.processed:
            return self._process(asset)
        decision = decide(asset, self.w.tagger.settings)
        if not decision.is_work:
            return decision.outcome()
        self.follow_ups.append(Process(asset.ref, asset.version))
        return Outcome(OutcomeKind.QUEUED, "sent to the live queue as a message of its own")

    def _single(self, item: Change | Process, work: Callable[[], Outcome]) -> Outcome:
        """A chunk's asset: its failure sends it as a message of its own, the chunk goes on."""
        try:
            return work()
        except Exception as err:  # transient: retried as its own message
            log.warning("asset failed in a chunk", exc_info=True,
                        extra={"asset_id": item.ref.asset_id})
            self.singles.append(item)
            return Outcome(OutcomeKind.QUEUED,
                           f"failed ({type(err).__name__}): sent as a message of its own")

    def _send_back(self, record: Received, items: Sequence[AssetItem]) -> None:
        """Items not reached for lack of time: new messages, this one answered as done."""
        self.w.queue.send(chunked(items, "rest-of:" + record.message_id))
        self.result.resent += len(items)
        log.info("time low: items sent back", extra={"message_id": record.message_id,
                                                     "items": len(items)})

    def _outcome(self, record: Received, outcome: Outcome) -> None:
        self.result.outcomes.append((record.message_id, outcome))
