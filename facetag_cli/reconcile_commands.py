"""`facetag reconcile` and `facetag rerun`: a window of uploads, a progress bar, a summary."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from chalicelib.reconcile import Options, Progress, Summary, Window
from facetag_cli.output import emit_json, say
from facetag_cli.wiring import Wiring

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
_SINCE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_HOURS = {"h": 1, "d": 24, "w": 24 * 7}

Command = TypeVar("Command", bound=Callable[..., Any])


def window_options(func: Command) -> Command:
    options = (
        click.option("--since", help="Uploaded in the last N hours/days/weeks: 12h, 7d, 2w."),
        click.option("--from", "since_date", type=click.DateTime(DATE_FORMATS),
                     help="Uploaded at or after (UTC), e.g. 2026-05-01."),
        click.option("--to", "until", type=click.DateTime(DATE_FORMATS),
                     help="Uploaded at or before (UTC)."),
        click.option("--dry-run", is_flag=True, help="Report what would be done; change nothing."),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
        click.option("--admin-calls", type=click.IntRange(min=1),
                     help="Admin API calls this run may use (default: the setting)."),
    )
    for option in reversed(options):  # as if stacked above the function, in this order
        func = option(func)
    return func


def parse_window(since: str | None, since_date: datetime | None,
                 until: datetime | None) -> Window | None:
    if since and (since_date or until):
        raise click.UsageError("use either --since or --from/--to, not both")
    if since:
        m = _SINCE.match(since)
        if not m or int(m.group(1)) < 1:
            raise click.UsageError(f"--since {since!r}: write a number and h, d or w (7d)")
        return Window(hours=int(m.group(1)) * _HOURS[m.group(2)])
    if since_date or until:
        start, end = (d.replace(tzinfo=UTC) if d else None for d in (since_date, until))
        if start and end and start > end:
            raise click.UsageError("--from is after --to")
        return Window(since=start, until=end)
    return None


@click.command("reconcile")
@window_options
@click.pass_obj
def reconcile_command(wiring: Wiring, since: str | None, since_date: datetime | None,
                      until: datetime | None, dry_run: bool, as_json: bool,
                      admin_calls: int | None) -> None:
    """Process what notifications missed; remove faces of deleted assets."""
    window = parse_window(since, since_date, until)
    run(wiring, Options(window=window, dry_run=dry_run, admin_calls=admin_calls), as_json)


@click.command()
@window_options
@click.pass_obj
def rerun(wiring: Wiring, since: str | None, since_date: datetime | None,
          until: datetime | None, dry_run: bool, as_json: bool,
          admin_calls: int | None) -> None:
    """Run recognition again over a window, even on assets already processed."""
    window = parse_window(since, since_date, until)
    if window is None:
        raise click.UsageError("say which uploads to re-run: --since 7d, or --from/--to")
    run(wiring, Options(window=window, dry_run=dry_run, rerun=True, cleanup=False,
                        admin_calls=admin_calls), as_json)


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """A bar on stderr whose length grows as assets are found; safe from worker threads."""
    lock = threading.Lock()
    with click.progressbar(length=0, label=label, file=sys.stderr) as bar:
        def update(kind: str, n: int) -> None:
            with lock:
                if kind == "found":
                    bar.length = (bar.length or 0) + n
                else:
                    bar.update(n)
        yield update


def run(wiring: Wiring, options: Options, as_json: bool) -> None:
    """One run; exit code 1 when an asset failed or the run stopped early."""
    with progress_bar("Dry run" if options.dry_run else "Processing") as progress:
        summary = wiring.reconcile(options, progress)
    if as_json:
        emit_json(summary.as_dict())
    else:
        print_summary(summary)
    if summary.stopped_early:
        say(f"Stopped early: {summary.reason}.")
    if summary.failed or summary.stopped_early:
        click.get_current_context().exit(1)


def print_summary(s: Summary) -> None:
    for p in s.planned:
        click.echo(f"would {p.action}: {p.public_id or p.asset_id}")
    verb = "would process" if s.dry_run else "processed"
    done = len([p for p in s.planned if p.public_id]) if s.dry_run else s.processed
    click.echo(f"{s.window}: {s.found} assets to do, {verb} {done}; "
               f"{s.trained} trained, {s.tagged} tagged, {s.refused} refused, "
               f"{s.failed} failed; {s.removed} faces of deleted assets "
               f"{'to remove' if s.dry_run else 'removed'}.")
    click.echo(f"calls: {s.calls.get('cloudinary_admin', 0)} Cloudinary Admin "
               f"({s.calls.get('search', 0)} searches), {s.calls.get('rekognition', 0)} "
               f"Rekognition; {s.elapsed_ms / 1000:.1f}s")


COMMANDS = (reconcile_command, rerun)
