"""`facetag backfill`: tag the library a team already has, on AWS (chalicelib/backfill).

Without a subcommand it starts a run (or, with `--dry-run`, says what one would cost);
`status` measures its progress, `stop` ends its scan.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from chalicelib.backfill import (
    AlreadyRunning,
    Estimate,
    Report,
    RunState,
    estimate,
    load,
    measure,
    scope_expression,
    start_run,
    stop_run,
)
from chalicelib.reconcile import Window
from chalicelib.reconcile.finder import lacking_marker
from chalicelib.settings import Settings
from facetag_cli.errors import Failed
from facetag_cli.output import duration, emit_json, say
from facetag_cli.reconcile_commands import DATE_FORMATS
from facetag_cli.wiring import Wiring


@click.group(invoke_without_command=True)
@click.option("--from", "since", type=click.DateTime(DATE_FORMATS),
              help="Uploaded at or after (UTC); default: the oldest upload.")
@click.option("--to", "until", type=click.DateTime(DATE_FORMATS),
              help="Uploaded at or before (UTC); default: now (later uploads are live work).")
@click.option("--folder", help="Only the assets of this folder (that exact path).")
@click.option("--dry-run", is_flag=True, help="Count the assets and estimate the cost; start "
              "nothing.")
@click.pass_context
def backfill(ctx: click.Context, since: datetime | None, until: datetime | None,
             folder: str | None, dry_run: bool) -> None:
    """Process every asset of a window lacking the current marker, on AWS."""
    if ctx.invoked_subcommand is not None:
        if since or until or folder or dry_run:
            raise click.UsageError("--from, --to, --folder and --dry-run start a backfill; "
                                   "give them without a subcommand")
        return
    wiring: Wiring = ctx.obj
    now = wiring.now()
    start, end = (d.replace(tzinfo=UTC) if d else None for d in (since, until))
    if start and start > (end or now):
        raise click.UsageError("--from is after --to")
    end = end or now
    folder = folder.strip("/") if folder else None
    settings = wiring.settings()
    if dry_run:
        dry(wiring, settings, start, end, folder)
        return
    try:
        state = start_run(settings, wiring.media_library(), wiring.parameters(),
                           wiring.queue(settings.scan_queue), start, end, folder, now)
    except AlreadyRunning as exc:
        raise Failed(f"{exc}: stop it with `facetag backfill stop`, or follow it with "
                     "`facetag backfill status`.") from None
    click.echo(state.run_id)
    say(f"Backfill {state.run_id} started over {describe(state)}: the scan runs on AWS; "
        "follow it with `facetag backfill status`.")


def describe(state: RunState) -> str:
    window = Window(since=state.since, until=state.until).describe()
    return window + (f", folder {state.folder}" if state.folder else "")


def dry(wiring: Wiring, settings: Settings, since: datetime | None, until: datetime,
        folder: str | None) -> None:
    library = wiring.media_library()
    scope = scope_expression(settings, Window(since=since, until=until), folder)
    assets = library.count(f"{scope} AND {lacking_marker(settings)}")
    window = Window(since=since, until=until).describe()
    click.echo(f"{window}{f', folder {folder}' if folder else ''}: {assets:,} assets lack "
               "the current marker.")
    print_estimate(estimate(assets, settings.rekognition_tps), settings)
    quota = library.quota
    if quota and quota.remaining is not None:
        until_reset = f", until {quota.reset_at:%H:%M} UTC" if quota.reset_at else ""
        click.echo(f"Cloudinary says {quota.remaining:,} Admin calls are left this hour"
                   f"{until_reset}; the scan pauses when they run low.")


def print_estimate(e: Estimate, settings: Settings) -> None:
    click.echo(f"Admin API calls: {e.scan_calls:,} Search pages + {e.read_calls:,} worker "
               f"reads = {e.admin_calls:,}.")
    click.echo("Rekognition, for k faces per photo (the README's cost table): 1 IndexFaces + k "
               "SearchUsers calls\nper photo, $1.00 per 1,000 calls (first tier); a training "
               "photo costs 3 calls.")
    click.echo(f"  {'faces per photo':>15}  {'calls':>10}  {'dollars':>10}  "
               f"{f'duration at {settings.rekognition_tps:g} TPS':>20}")
    for c in e.costs:
        click.echo(f"  {c.faces_per_photo:>15}  {c.rekognition_calls:>10,}  "
                   f"{f'${c.dollars:,.2f}':>10}  {duration(c.duration_s):>20}")


@backfill.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_obj
def status(wiring: Wiring, as_json: bool) -> None:
    """Scanned, queued, done, failed, rate and ETA of the last backfill."""
    settings = wiring.settings()
    state = load(wiring.parameters(), settings.backfill_param)
    if state is None:
        say("No backfill has been started: `facetag backfill --dry-run` says what one costs.")
        return
    backfill_queue = wiring.queue(settings.backfill_queue)
    dlq = backfill_queue.dead_letter_queue()
    dead = wiring.queue(dlq).depth().total if dlq else 0
    report = measure(state, settings, wiring.media_library(), dead, wiring.now())
    if as_json:
        emit_json(report.as_dict())
    else:
        print_report(report)


def print_report(r: Report) -> None:
    s = r.state
    click.echo(f"backfill {s.run_id}: {s.status.value}, over {describe(s)}, started "
               f"{s.started_at:%Y-%m-%d %H:%M} UTC")
    click.echo(f"scanned {s.scanned:,}, queued {s.queued:,}, done {r.done:,}, "
               f"failed {r.failed:,}")
    eta = ("scanning" if s.running else "unknown" if r.eta_s is None else duration(r.eta_s))
    click.echo(f"rate {r.rate_per_s * 60:,.1f} assets/min, ETA {eta}")
    if s.running and s.paused_until:
        click.echo(f"paused until {s.paused_until:%H:%M:%S} UTC: Cloudinary's Admin quota "
                   "is low")


@backfill.command()
@click.pass_obj
def stop(wiring: Wiring) -> None:
    """Stop the running backfill's scan; assets already queued are still processed."""
    stopped = stop_run(wiring.settings(), wiring.parameters())
    if stopped is None:
        say("No backfill is running.")
        return
    say(f"Backfill {stopped.run_id} stopped after {stopped.scanned:,} assets scanned; the "
        f"{stopped.queued:,} queued are still processed.")


COMMANDS = (backfill,)
