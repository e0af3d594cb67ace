"""`facetag queue`: the work queues' depths, and moving dead letters back (`redrive`)."""

from __future__ import annotations

from typing import Any

import click

from chalicelib.redrive import redrive
from chalicelib.settings import Settings
from facetag_cli.output import duration, emit_json, say
from facetag_cli.wiring import Wiring

QUEUES = ("live", "backfill", "scan")


def queue_name(settings: Settings, which: str) -> str:
    return str(getattr(settings, f"{which}_queue"))


def figures(wiring: Wiring, which: str) -> dict[str, Any]:
    name = queue_name(wiring.settings(), which)
    queue = wiring.queue(name)
    depth = queue.depth()
    dlq = queue.dead_letter_queue()
    return {"queue": which, "name": name, "visible": depth.visible,
            "in_flight": depth.in_flight, "delayed": depth.delayed,
            "dead_letter_queue": dlq,
            "dead_letters": wiring.queue(dlq).depth().total if dlq else None,
            "oldest_age_s": wiring.oldest_age_s(name)}


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def queue(ctx: click.Context, as_json: bool) -> None:
    """Messages waiting, in flight, delayed and dead in the live, backfill and scan queues."""
    if ctx.invoked_subcommand is not None:
        if as_json:
            raise click.UsageError("--json goes without a subcommand")
        return
    rows = [figures(ctx.obj, which) for which in QUEUES]
    if as_json:
        emit_json(rows)
        return
    click.echo(f"{'queue':<9} {'visible':>8} {'in flight':>10} {'delayed':>8} "
               f"{'dead letters':>13} {'oldest':>8}")
    for r in rows:
        dead = "no DLQ" if r["dead_letters"] is None else f"{r['dead_letters']:,}"
        age = "unknown" if r["oldest_age_s"] is None else duration(r["oldest_age_s"])
        click.echo(f"{r['queue']:<9} {r['visible']:>8,} {r['in_flight']:>10,} "
                   f"{r['delayed']:>8,} {dead:>13} {age:>8}")
    say("Counts are SQS's approximations; the oldest message's age is CloudWatch's "
        "(unknown without a data point in the last 10 minutes).")


@queue.command("redrive")
@click.option("--queue", "which", type=click.Choice(QUEUES),
              help="Only this queue's dead letters (default: every queue's).")
@click.option("--max", "most", type=click.IntRange(min=1),
              help="Move at most this many messages (default: all).")
@click.pass_obj
def redrive_command(wiring: Wiring, which: str | None, most: int | None) -> None:
    """Move dead-letter queue messages back to their queue (FIFO: in their group)."""
    settings = wiring.settings()
    for each in (which,) if which else QUEUES:
        name = queue_name(settings, each)
        target = wiring.queue(name)
        dlq = target.dead_letter_queue()
        if dlq is None:
            say(f"{name} has no dead-letter queue.")
            continue
        moved = redrive(wiring.queue(dlq), target, most)
        click.echo(f"{each}: moved {moved:,} messages from {dlq} back to {name}.")
        if most is not None:
            most -= moved
            if most == 0:
                break


COMMANDS = (queue,)
