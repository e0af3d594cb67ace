"""Setting facetag up: `facetag init` and the `facetag webhook` triggers."""

from __future__ import annotations

import re
from dataclasses import asdict

import click

from facetag_cli.output import emit_json
from facetag_cli.wiring import Wiring

# The notifications facetag acts on; `webhook register` creates one trigger for each.
EVENT_TYPES = ("upload", "delete", "resource_tags_changed", "resource_context_changed")
_URL = re.compile(r"^https?://[^/\s]+/\S*$")


@click.command()
@click.pass_obj
def init(wiring: Wiring) -> None:
    """Create the face collection; check settings and credentials."""
    current = wiring.settings()
    click.echo(f"settings: valid (version {current.version})")
    tagger = wiring.tagger()
    account = wiring.account()
    account.ping()
    click.echo(f"Cloudinary: credentials accepted for cloud {account.cloud_name!r}")
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
    account = wiring.account()
    existing = {(r.uri, r.event_type) for r in account.registrations()}
    for event_type in EVENT_TYPES:
        if (url, event_type) in existing:
            click.echo(f"{event_type}: already registered")
        else:
            account.register(url, event_type)
            click.echo(f"{event_type}: registered")


@webhook.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def webhook_list(wiring: Wiring, as_json: bool) -> None:
    """List the notification triggers of the product environment."""
    registrations = wiring.account().registrations()
    if as_json:
        emit_json([asdict(r) for r in registrations])
        return
    if not registrations:
        click.echo("No triggers: run `facetag webhook register URL`.")
    for r in registrations:
        click.echo(f"{r.event_type:<26} {r.uri}  ({r.id})")


COMMANDS = (init, webhook)
