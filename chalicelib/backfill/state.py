"""A backfill run's state, kept whole in one SSM parameter as JSON (a few hundred bytes: well
inside a standard parameter's 4 KB)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..stores import ParameterStore


class BadState(ValueError):
    """The parameter does not hold a backfill run's state."""


class RunStatus(StrEnum):
    RUNNING = "running"  # pages are still being scanned
    SCANNED = "scanned"  # every page was scanned; the workers may still be busy
    STOPPED = "stopped"  # stopped by the operator: no more pages are scanned


@dataclass(frozen=True)
class RunState:
    run_id: str
    since: datetime | None  # the window of uploads: from (None: the beginning)
    until: datetime  # to (the moment the run started, unless given)
    folder: str | None
    scope: str  # the Search expression of the window's assets (done and failed counts)
    expression: str  # the scope lacking the current marker: what is scanned
    started_at: datetime
    done_at_start: int  # the scope's assets carrying the marker when the run started
    errors_at_start: int  # the scope's assets carrying facetag:error when it started
    cursor: str | None = None
    next_page: int = 0
    announced: bool = False  # the message for `next_page` was sent
    scanned: int = 0
    queued: int = 0
    paused_until: datetime | None = None
    status: RunStatus = RunStatus.RUNNING

    @property
    def running(self) -> bool:
        return self.status is RunStatus.RUNNING


_TIMES = ("since", "until", "started_at", "paused_until")


def encode(state: RunState) -> str:
    data: dict[str, Any] = asdict(state)
    for key in _TIMES:
        data[key] = data[key].isoformat() if data[key] is not None else None
    data["status"] = state.status.value
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def decode(text: str) -> RunState:
    try:
        data = json.loads(text)
        for key in _TIMES:
            data[key] = datetime.fromisoformat(data[key]) if data[key] is not None else None
        data["status"] = RunStatus(data["status"])
        return RunState(**data)
    except (ValueError, KeyError, TypeError) as err:
        raise BadState(f"not a backfill run's state: {type(err).__name__}") from None


def load(parameters: ParameterStore, name: str) -> RunState | None:
    text = parameters.get(name)
    return None if text is None else decode(text)


def save(parameters: ParameterStore, name: str, state: RunState) -> None:
    parameters.put(name, encode(state))
