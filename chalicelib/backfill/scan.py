"""One scan invocation: one page message, at most one Search call.

SQS standard queues deliver at least once, so a page message is only acted on when it is the
run's next page; a copy, or a message of an older run, does nothing. The state is saved before
the next page's message is sent and marked `announced` after: a message whose send failed (the
invocation fails, SQS hands its message out again) is sent by that retry, which finds its page
done but the next one not announced.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..chunks import in_chunks
from ..decide import decide
from ..library_errors import RateLimited
from ..settings import Settings
from ..stores import AssetLibrary, MessageQueue, ParameterStore
from .state import RunState, RunStatus, load, save

log = logging.getLogger("facetag.backfill")

# Admin calls left to the workers when the scan pauses: a page queues at most five chunks, each
# read in one call, and live workers read too.
QUOTA_RESERVE = 100
MAX_DELAY_S = 900  # SQS's longest message delay
UNKNOWN_RESET_DELAY_S = MAX_DELAY_S


@dataclass(frozen=True)
class PageMessage:
    run_id: str
    page: int


def encode_page(message: PageMessage) -> str:
    return json.dumps({"run": message.run_id, "page": message.page}, sort_keys=True)


def decode_page(body: str) -> PageMessage | None:
    try:
        data = json.loads(body)
        return PageMessage(str(data["run"]), int(data["page"]))
    except (ValueError, KeyError, TypeError):
        return None


def announce(state: RunState, parameters: ParameterStore, name: str,
             scans: MessageQueue, delay_s: int = 0) -> RunState:
    """Send the message of the run's next page, then record that it was sent."""
    scans.send_text(encode_page(PageMessage(state.run_id, state.next_page)), delay_s)
    announced = replace(state, announced=True)
    save(parameters, name, announced)
    return announced


@dataclass
class Scan:
    settings: Settings
    library: AssetLibrary
    parameters: ParameterStore
    scans: MessageQueue
    backfill: MessageQueue
    now: Callable[[], datetime]

    def handle(self, body: str) -> str:
        """Act on one page message; returns what was done, for the log."""
        message = decode_page(body)
        name = self.settings.backfill_param
        state = load(self.parameters, name)
        if message is None:
            outcome = "malformed"
        elif state is None or state.run_id != message.run_id or not state.running:
            outcome = "not running"
        elif message.page == state.next_page - 1 and not state.announced:
            announce(state, self.parameters, name, self.scans)
            outcome = "announced"
        elif message.page != state.next_page:
            outcome = "duplicate"
        else:
            outcome = self.page(state)
        log.info("backfill scan", extra={"outcome": outcome, "page": message and message.page})
        return outcome

    def page(self, state: RunState) -> str:
        quota = self.library.quota
        if quota and quota.remaining is not None and quota.remaining < QUOTA_RESERVE:
            return self.pause(state, quota.reset_at)
        try:
            found = self.library.search(state.expression, state.cursor)
        except RateLimited as exc:
            return self.pause(state, exc.reset_at)
        work = [a for a in found.assets if decide(a, self.settings).is_work]
        self.backfill.send(in_chunks(work, f"backfill:{state.run_id}"))
        done = replace(state, cursor=found.next_cursor, next_page=state.next_page + 1,
                       announced=False, scanned=state.scanned + len(found.assets),
                       queued=state.queued + len(work), paused_until=None)
        name = self.settings.backfill_param
        if found.next_cursor is None:
            save(self.parameters, name, replace(done, status=RunStatus.SCANNED))
            return "scanned"
        save(self.parameters, name, done)
        announce(done, self.parameters, name, self.scans)
        return "page"

    def pause(self, state: RunState, reset_at: datetime | None) -> str:
        """The same page again, after the quota's reset (or SQS's longest delay)."""
        now = self.now()
        delay = (UNKNOWN_RESET_DELAY_S if reset_at is None else
                 math.ceil((reset_at - now).total_seconds()))
        delay = max(1, min(MAX_DELAY_S, delay))
        paused = replace(state, paused_until=now + timedelta(seconds=delay))
        announce(paused, self.parameters, self.settings.backfill_param, self.scans, delay)
        return "paused"
