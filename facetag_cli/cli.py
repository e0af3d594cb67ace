"""The `facetag` operator command: see and manage the face index, reconcile, set things up.

Settings and credentials come from the same environment as the app (`FACETAG_*`, the
Cloudinary SDK's `CLOUDINARY_*`, AWS's own variables), through the wiring in wiring.py. Exit
codes: 0 done, 1 something failed or was left undone, 2 a usage or configuration problem.
Expected problems print one sentence on stderr, never a traceback (errors.py).
"""

from __future__ import annotations

import click

from facetag_cli import (
    backfill_commands,
    people_commands,
    queue_commands,
    reconcile_commands,
    setup_commands,
    unnamed_commands,
)
from facetag_cli.errors import Group
from facetag_cli.wiring import FromEnvironment


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Tag people by name in a Cloudinary media library (operator commands)."""
    if ctx.obj is None:
        ctx.obj = FromEnvironment()


for command in (*setup_commands.COMMANDS, *people_commands.COMMANDS,
                *reconcile_commands.COMMANDS, *unnamed_commands.COMMANDS,
                *backfill_commands.COMMANDS, *queue_commands.COMMANDS):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="facetag")
