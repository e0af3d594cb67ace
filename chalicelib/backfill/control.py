"""Starting and stopping a backfill run (the operator's `facetag backfill`)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime

from ..library import quoted
from ..reconcile.finder import Window, base_expression, lacking_marker
from ..settings import Settings
from ..stores import AssetLibrary, MessageQueue, ParameterStore
from .scan import announce
from .state import RunState, RunStatus, load, save


class AlreadyRunning(Exception):
    """A run is still scanning: one at a time."""

    def __init__(self, state: RunState) -> None:
        super().__init__(f"backfill {state.run_id} is still running (started "
                         f"{state.started_at:%Y-%m-%d %H:%M} UTC)")
        self.state = state


def scope_expression(settings: Settings, window: Window, folder: str | None) -> str:
    """The window's assets facetag may work on, in one folder (exactly that path: Search has
    no folder wildcard) when given."""
    terms = [base_expression(settings), window.expression()]
    if folder:
        terms.append(f'asset_folder="{quoted(folder)}"')
    return " AND ".join(t for t in terms if t)


def start_run(settings: Settings, library: AssetLibrary, parameters: ParameterStore,
          scans: MessageQueue, since: datetime | None, until: datetime, folder: str | None,
          now: datetime) -> RunState:
    """A new run, its state saved and its first page message sent: two Admin calls (the
    counts that `status` measures progress from)."""
    current = load(parameters, settings.backfill_param)
    if current is not None and current.running:
        raise AlreadyRunning(current)
    scope = scope_expression(settings, Window(since=since, until=until), folder)
    state = RunState(
        run_id=f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}", since=since, until=until,
        folder=folder, scope=scope, expression=f"{scope} AND {lacking_marker(settings)}",
        started_at=now,
        done_at_start=library.count(f'{scope} AND tags="{quoted(settings.marker_tag)}"'),
        errors_at_start=library.count(f'{scope} AND tags="{quoted(settings.error_tag)}"'))
    save(parameters, settings.backfill_param, state)
    return announce(state, parameters, settings.backfill_param, scans)


def stop_run(settings: Settings, parameters: ParameterStore) -> RunState | None:
    """Stop scanning (chunks already queued are still processed); None when nothing runs."""
    current = load(parameters, settings.backfill_param)
    if current is None or not current.running:
        return None
    stopped = replace(current, status=RunStatus.STOPPED)
    save(parameters, settings.backfill_param, stopped)
    return stopped
