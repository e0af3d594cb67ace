"""The queue workers: one invocation's SQS messages, decided on the assets' current state.

A message names assets and what happened to them (messages.py); the worker reads every asset
of its batch in one `assets_by_ids` (100 ids per Admin call) and acts on that state only:
- a message about one asset does its face work inline (its FIFO group is the asset, so no
  other message about it runs meanwhile);
- a chunk of tag or context changes (a bulk edit, or a notification the route forwarded whole,
  read here as the route reads a small one: intake.py) reads its assets at its turn, writes
  its rejections together and its untraining asset by asset, and sends each asset that needs
  training or recognition to the live queue as a message of its own in its asset's group;
- a chunk of `Process` items (backfill, reconciliation) is processed inline, asset by asset,
  and a `Recluster` (`facetag unnamed --rebuild`) face by face (rebuild.py).
An asset is processed once per batch, however many messages name it.

Time: a worker takes no further asset (or face), nor a chunk's per-asset work, nor a chunk at
all, when less than `reserve_s` is left, and sends what it did not reach back as new messages
(same items, another origin: SQS drops a copy with the same deduplication id), answering the
old ones as done; a chunk's rejections, written before, are then found remembered. A backfill
worker waits, in short steps, while the live queue has messages waiting: live uploads first.

Failures: a malformed body is logged and dropped. A transient failure (anything but an
`AssetProblem`, which the flows write on the asset as `facetag:error`) fails its message: it
goes into `batchItemFailures` and comes back after `retry_delay_s · 2^(receives - 1)` (capped
by the queue at its visibility timeout); later messages of the same group in the batch are
handed back with it, to keep the group's order. In a chunk, the asset that failed is sent as a
message of its own instead (one bad asset does not repeat a hundred), unless the failure is in
the chunk's shared read or write, which fails the whole chunk.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from itertools import groupby

from . import metrics
from .assets import Asset
from .corrections import Change, unguarded
from .decide import decide
from .intake import forwarded_work
from .invocation import BatchResult, Pace, Received
from .messages import AssetItem, BadMessage, Process, WorkMessage, chunked, decode, reclusters
from .notifications import ContextChanged, TagsChanged
from .outcome import Outcome, OutcomeKind
from .stores import MessageQueue
from .tagging import Tagger

log = logging.getLogger("facetag.worker")

WAIT_STEP_S = 2.0  # how long a backfill worker waits before looking at the live queue again


class Worker:
    def __init__(self, tagger: Tagger, queue: MessageQueue, live: MessageQueue, pace: Pace,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`queue` is the queue served, `live` the live queue (follow-ups go there)."""
        self.tagger = tagger
        self.queue = queue
        self.live = live
        self.pace = pace
        self.clock = clock

    def retry_later(self, record: Received) -> None:
        """A failed message back after `retry_delay_s · 2^(receives - 1)`."""
        delay = self.pace.retry_delay_s * 2 ** max(0, record.receives - 1)
        try:
            self.queue.retry_later(record.receipt_handle, delay)
        except Exception:  # it comes back after the visibility timeout instead
            log.warning("retry delay not set", exc_info=True,
                        extra={"message_id": record.message_id})

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
        self.later: list[AssetItem] = []  # of the chunk being handled, not reached in time

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
            message = decode(record.body)
            if message.forwarded is None:
                return message
            found, settled = forwarded_work(message, self.w.tagger.settings)
        except BadMessage as err:
            log.error("malformed message dropped", extra={"message_id": record.message_id,
                                                          "reason": str(err)})
            self.result.dropped += 1
            return None
        self.result.outcomes += [(record.message_id, outcome) for outcome in settled]
        return found

    def _read_assets(self, messages: Sequence[WorkMessage]) -> None:
        """The batch's assets, but for bulk edits' chunks: those are read at their turn."""
        self.asset_count = len({i for m in messages for i in m.asset_ids})
        self._read_current([m for m in messages if not m.bulk_edit])

    def _read_current(self, messages: Sequence[WorkMessage]) -> None:
        corrections = self.w.tagger.corrections
        needed = list(dict.fromkeys(
            item.ref.asset_id for m in messages for item in m.asset_items
            if isinstance(item, Process) or corrections.needs_state(item)))
        if needed:
            self.current.update(self.w.tagger.library.assets_by_ids(needed))

    def _fail(self, record: Received, message: WorkMessage) -> None:
        self.result.failed.append(record.message_id)
        self.failed_groups.add(message.group_id)
        self.w.retry_later(record)

    def _time_low(self) -> bool:
        return self.w.pace.remaining_ms() / 1000 < self.w.pace.reserve_s

    def _may_take_asset(self) -> bool:
        """Whether there is time for one more asset, once live work (if any) went first."""
        pace = self.w.pace
        while not self._time_low() and pace.live_waiting():
            pace.sleep(WAIT_STEP_S)
        return not self._time_low()

    def _message(self, record: Received, message: WorkMessage) -> None:
        if len(message.asset_ids) == 1 and not message.bulk:
            if not self._may_take_asset():
                self._send_back(record, message.asset_items)
                return
            for run in _runs(message.asset_items):
                for outcome in self._items(run):
                    self._outcome(record, outcome)
            return
        if message.bulk_edit:
            if self._time_low():
                self._send_back(record, message.asset_items)
                return
            self._read_current([message])
        self.follow_ups, self.singles, self.later = [], [], []
        self._chunk(record, message)
        if self.later:
            self._send_back(record, self.later)
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
                                                  self._in_time),
                        *corrections.context_changed(contexts, self.current,
                                                     self._follow_up, self._in_time)]:
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

    def _items(self, run: Sequence[AssetItem]) -> list[Outcome]:
        """One asset's items of one kind, inline: a tag change split in several pieces is
        handled together (its rejections written once)."""
        corrections = self.w.tagger.corrections
        tags = [i for i in run if isinstance(i, TagsChanged)]
        contexts = [i for i in run if isinstance(i, ContextChanged)]
        if tags:
            return corrections.tags_changed(tags, self.current, self._process, unguarded)
        if contexts:
            return corrections.context_changed(contexts, self.current, self._process,
                                               unguarded)
        return [self._process_item(i) for i in run if isinstance(i, Process)]

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

    def _in_time(self, item: Change, work: Callable[[], Outcome]) -> Outcome:
        """A bulk edit's asset's own work (untraining, a follow-up), if there is time for it;
        else the asset's change is sent back with the rest."""
        if self._time_low():
            self.later.append(item)
            return Outcome(OutcomeKind.QUEUED, "sent back for lack of time")
        return self._single(item, work)

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


def _runs(items: Sequence[AssetItem]) -> list[list[AssetItem]]:
    """Consecutive items of the same kind."""
    return [list(run) for _, run in groupby(items, key=type)]
