"""Setting facetag up: `facetag init`, the `facetag webhook` triggers, and `facetag setup
batch-failures` (a step each `chalice deploy` of a stage needs)."""

from __future__ import annotations

import re

import click

from facetag_cli.errors import Failed, Problem
from facetag_cli.event_sources import WORKERS, function_name
from facetag_cli.output import emit_json
from facetag_cli.wiring import Wiring

# The notifications facetag acts on; `webhook register` creates one trigger for each.
EVENT_TYPES = ("upload", "delete", "resource_tags_changed", "resource_context_changed")
_URL = re.compile(r"^https?://[^/\s]+/\S*$")
_STAGE = re.compile(r"^[a-z0-9-]{1,20}$")  # infra/queues.json's Stage


@click.command()
@click.pass_obj
def init(wiring: Wiring) -> None:
    """Create the face collection; check settings and credentials."""
    current = wiring.settings()
    click.echo(f"settings: valid (fingerprint {current.fingerprint})")
    tagger = wiring.tagger()
    tagger.library.ping()
    click.echo(f"Cloudinary: credentials accepted for cloud {tagger.library.cloud_name!r}")
    created = tagger.faces.ensure_collection()
    info = tagger.faces.describe()
    click.echo(f"Rekognition: collection {current.collection_id!r} "
               f"{'created' if created else 'exists'} ({info.face_count} faces, "
               f"{info.user_count} people)")


@click.group()
def webhook() -> None:
    """Cloudinary notification triggers for the app's webhook URL."""


@webhook.command("register")
@click.argument("url")
@click.pass_obj
def webhook_register(wiring: Wiring, url: str) -> None:
    """Send the notifications facetag needs to URL (…/webhooks/cloudinary)."""
    if not _URL.match(url):
        raise click.UsageError(f"{url!r} is not an http(s) URL")
    library = wiring.media_library()
    existing = {(w.url, w.event_type) for w in library.webhooks()}
    for event_type in EVENT_TYPES:
        if (url, event_type) in existing:
            click.echo(f"{event_type}: already registered")
        else:
            library.add_webhook(url, event_type)
            click.echo(f"{event_type}: registered")


@webhook.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def webhook_list(wiring: Wiring, as_json: bool) -> None:
    """List the notification triggers of the product environment."""
    webhooks = wiring.media_library().webhooks()
    if as_json:
        # Cloudinary's own names for a trigger's fields.
        emit_json([{"id": w.trigger_id, "event_type": w.event_type, "uri": w.url}
                   for w in webhooks])
        return
    if not webhooks:
        click.echo("No triggers: run `facetag webhook register URL`.")
    for w in webhooks:
        click.echo(f"{w.event_type:<26} {w.url}  ({w.trigger_id})")


@click.group()
def setup() -> None:
    """Steps a deployed stage needs beyond `chalice deploy`."""


@setup.command("batch-failures")
@click.option("--stage", required=True, help="The deployed Chalice stage (dev, prod).")
@click.option("--check", is_flag=True, help="Only report; exit 1 if a worker lacks it.")
@click.pass_obj
def batch_failures(wiring: Wiring, stage: str, check: bool) -> None:
    """Make Lambda read the queue workers' partial batch responses (ReportBatchItemFailures).

    Chalice creates the workers' SQS event source mappings without it: run this after each
    `chalice deploy` (it changes nothing where it is on already).
    """
    if not _STAGE.match(stage):
        raise Problem(f"{stage!r} is not a stage name")
    sources = wiring.event_sources()
    lacking = []
    for handler in WORKERS:
        function = function_name(stage, handler)
        mappings = sources.mappings(function)
        if not mappings:
            click.echo(f"{function}: no event source mapping")
            lacking.append(function)
        for mapping in mappings:
            if not mapping.reports_failures and not check:
                mapping = sources.report_failures(mapping)
                click.echo(f"{function} <- {mapping.queue}: ReportBatchItemFailures turned on")
            elif mapping.reports_failures:
                click.echo(f"{function} <- {mapping.queue}: ReportBatchItemFailures on")
            else:
                click.echo(f"{function} <- {mapping.queue}: ReportBatchItemFailures off")
                lacking.append(function)
    if lacking:
        raise Failed(f"{len(lacking)} of the workers' event sources would retry a whole batch "
                     f"for one failed message ({', '.join(lacking)}): deploy the stage, then run "
                     f"`facetag setup batch-failures --stage {stage}`.")


COMMANDS = (init, webhook, setup)
