"""The `facetag` operator command: see and manage the face index, reconcile, set things up.

Settings and credentials come from the same environment as the app (`FACETAG_*`, the
Cloudinary SDK's `CLOUDINARY_*`, AWS's own variables). Exit codes: 0 done, 1 something failed
or was left undone, 2 a usage or configuration problem. Expected problems print one sentence
on stderr, never a traceback.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import click

from .credentials import SecretUnavailable
from .face_errors import CollectionMissing, FacesError, FacesMisconfigured
from .library import MediaLibrary
from .library_errors import LibraryError, LibraryMisconfigured
from .names import InvalidName
from .people import People, SameName, UnknownPerson
from .reconcile import Options, Summary, Window, reconcile
from .settings import ConfigError, Settings
from .tagging import Tagger

# The notifications facetag acts on; `webhook register` creates one trigger for each.
EVENT_TYPES = ("upload", "delete", "resource_tags_changed", "resource_context_changed")
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
_SINCE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_HOURS = {"h": 1, "d": 24, "w": 24 * 7}


class Problem(Exception):
    """An expected failure: one sentence for stderr, and the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


# -- wiring ----------------------------------------------------------------------------------

class Env:
    """Settings and clients, built on first use so `--help` needs no configuration."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._tagger: Tagger | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from . import settings

            self._settings = settings.from_env()
        return self._settings

    def configure_cloudinary(self) -> None:
        """Check the SDK's configuration; a secret kept in SSM goes into it."""
        from . import credentials

        credentials.api_secret(self.settings)

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:
            from .tagging import build_tagger

            self.configure_cloudinary()
            self._tagger = build_tagger(self.settings)
        return self._tagger

    @property
    def people(self) -> People:
        return People(self.tagger)

    @property
    def library(self) -> MediaLibrary:
        """The media library alone, for commands that need no Rekognition client."""
        self.configure_cloudinary()
        return MediaLibrary(self.settings.derivative_size)


pass_env = click.make_pass_decorator(Env, ensure=True)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def say(message: str) -> None:
    click.echo(message, err=True)


# -- commands --------------------------------------------------------------------------------

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Tag people by name in a Cloudinary media library (operator commands)."""


@cli.command()
@pass_env
def init(env: Env) -> int:
    """Create the face collection; check settings and credentials."""
    import cloudinary

    current = env.settings
    click.echo(f"settings: valid (version {current.version})")
    tagger = env.tagger
    env.library.ping()
    click.echo(f"Cloudinary: credentials accepted for cloud {cloudinary.config().cloud_name!r}")
    created = tagger.faces.ensure_collection()
    info = tagger.faces.describe()
    click.echo(f"Rekognition: collection {current.collection_id!r} "
               f"{'created' if created else 'exists'} ({info.face_count} faces, "
               f"{info.user_count} people)")
    return 0


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_env
def people(env: Env, as_json: bool) -> int:
    """List people with their faces and training assets."""
    everyone = env.people.all()
    if as_json:
        emit_json([asdict(p) for p in everyone])
        return 0
    if not everyone:
        click.echo("No people yet: put a training label on a photo of someone.")
        return 0
    width = max(len(p.name) for p in everyone)
    click.echo(f"{'NAME':<{width}}  FACES  TRAINING ASSETS")
    for p in everyone:
        hidden = "  (hidden)" if p.hidden else ""
        click.echo(f"{p.name:<{width}}  {p.faces:>5}  {len(p.training_assets):>15}{hidden}")
    return 0


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_env
def person(env: Env, name: str, as_json: bool) -> int:
    """Show one person and the training assets, with their URLs."""
    from cloudinary.utils import cloudinary_url

    found = env.people.get(name)
    assets = env.people.assets(found.training_assets)
    rows = []
    for asset_id in found.training_assets:
        asset = assets.get(asset_id)
        url = (str(cloudinary_url(asset.public_id, type=asset.ref.delivery_type,
                                  version=asset.version)[0]) if asset else None)
        rows.append({"asset_id": asset_id, "public_id": asset.public_id if asset else None,
                     "url": url})
    if as_json:
        emit_json({**asdict(found), "training_assets": rows})
        return 0
    click.echo(f"{found.name}{' (hidden)' if found.hidden else ''}: {found.faces} faces, "
               f"{len(rows)} training assets")
    for row in rows:
        click.echo(f"  {row['public_id'] or '(deleted) ' + str(row['asset_id'])}"
                   f"{'  ' + row['url'] if row['url'] else ''}")
    return 0


@cli.command()
@click.argument("old")
@click.argument("new")
@pass_env
def rename(env: Env, old: str, new: str) -> int:
    """Rename a person everywhere; renaming to an existing person merges the two."""
    done = env.people.rename(old, new)
    verb = "Merged" if done.merged else "Renamed"
    click.echo(f"{verb} {old!r} into {new!r}: {done.faces_moved} faces moved, "
               f"{done.tags_rewritten} tags rewritten on {done.assets} assets.")
    return 0


@cli.command()
@click.argument("name")
@click.option("--untag", is_flag=True, help="Also remove the person's tags from every asset.")
@pass_env
def forget(env: Env, name: str, untag: bool) -> int:
    """Delete a person's faces (and with --untag their tags)."""
    done = env.people.forget(name, untag)
    click.echo(f"Forgot {name!r}: {done.faces_removed} faces removed"
               + (f", {done.tags_removed} tags removed." if untag else "."))
    if done.training_assets_left:
        say(f"{done.training_assets_left} training assets still carry the label: processing "
            "them again trains the person again (use --untag to remove the labels too).")
    return 0


@cli.command()
@click.argument("name")
@pass_env
def hide(env: Env, name: str) -> int:
    """Never tag this person again; their faces are kept."""
    changed = env.people.hide(name, hidden=True)
    click.echo(f"{name!r} is hidden." if changed else f"{name!r} was already hidden.")
    return 0


@cli.command()
@click.argument("name")
@pass_env
def unhide(env: Env, name: str) -> int:
    """Tag a hidden person again from now on."""
    changed = env.people.hide(name, hidden=False)
    click.echo(f"{name!r} is visible again." if changed else f"{name!r} was not hidden.")
    return 0


@cli.command()
@click.option("--yes", is_flag=True, help="Confirm: every face and person is deleted.")
@pass_env
def reset(env: Env, yes: bool) -> int:
    """Empty the face collection (tags on assets stay)."""
    if not yes:
        raise Problem("reset deletes every face and person in the collection: "
                      "run `facetag reset --yes` to confirm.")
    held = env.people.reset()
    click.echo(f"Collection {env.settings.collection_id!r} emptied ({held} faces deleted).")
    return 0


def window_options(func: Callable[..., int]) -> Callable[..., int]:
    func = click.option("--to", "until", type=click.DateTime(DATE_FORMATS),
                        help="Uploaded at or before (UTC).")(func)
    func = click.option("--from", "since_date", type=click.DateTime(DATE_FORMATS),
                        help="Uploaded at or after (UTC), e.g. 2026-05-01.")(func)
    func = click.option("--since", help="Uploaded in the last N hours/days/weeks: 12h, 7d, 2w.")(func)
    func = click.option("--dry-run", is_flag=True, help="Report what would be done; change nothing.")(func)
    func = click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")(func)
    func = click.option("--admin-calls", type=click.IntRange(min=1),
                        help="Admin API calls this run may use (default: the setting).")(func)
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
        utc = [d.replace(tzinfo=UTC) if d else None for d in (since_date, until)]
        if utc[0] and utc[1] and utc[0] > utc[1]:
            raise click.UsageError("--from is after --to")
        return Window(since=utc[0], until=utc[1])
    return None


@cli.command("reconcile")
@window_options
@pass_env
def reconcile_command(env: Env, since: str | None, since_date: datetime | None,
                      until: datetime | None, dry_run: bool, as_json: bool,
                      admin_calls: int | None) -> int:
    """Process what notifications missed; remove faces of deleted assets."""
    window = parse_window(since, since_date, until)
    return run_reconcile(env, Options(window=window, dry_run=dry_run, admin_calls=admin_calls),
                         as_json)


@cli.command()
@window_options
@pass_env
def rerun(env: Env, since: str | None, since_date: datetime | None, until: datetime | None,
          dry_run: bool, as_json: bool, admin_calls: int | None) -> int:
    """Run recognition again over a window, even on assets already processed."""
    window = parse_window(since, since_date, until)
    if window is None:
        raise click.UsageError("say which uploads to re-run: --since 7d, or --from/--to")
    return run_reconcile(env, Options(window=window, dry_run=dry_run, rerun=True,
                                      cleanup=False, admin_calls=admin_calls), as_json)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[str, int], None]]:
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


def run_reconcile(env: Env, options: Options, as_json: bool) -> int:
    tagger = env.tagger
    with progress_bar("Dry run" if options.dry_run else "Processing") as progress:
        summary = reconcile(tagger, options=options, progress=progress)
    if as_json:
        emit_json(summary.as_dict())
    else:
        print_summary(summary)
    if summary.stopped_early:
        say(f"Stopped early: {summary.reason}.")
    return 1 if summary.failed or summary.stopped_early else 0


def print_summary(s: Summary) -> None:
    for p in s.planned:
        click.echo(f"would {p.action}: {p.public_id or p.asset_id}")
    verb = "would process" if s.dry_run else "processed"
    click.echo(f"{s.window}: {s.found} assets to do, {verb} "
               f"{len([p for p in s.planned if p.public_id]) if s.dry_run else s.processed}; "
               f"{s.trained} trained, {s.tagged} tagged, {s.refused} refused, "
               f"{s.failed} failed; {s.removed} faces of deleted assets "
               f"{'to remove' if s.dry_run else 'removed'}.")
    click.echo(f"calls: {s.calls.get('cloudinary_admin', 0)} Cloudinary Admin "
               f"({s.calls.get('search', 0)} searches), {s.calls.get('rekognition', 0)} "
               f"Rekognition; {s.elapsed_ms / 1000:.1f}s")


@cli.group()
def webhook() -> None:
    """Cloudinary notification triggers for the app's webhook URL."""


@webhook.command("register")
@click.argument("url")
@pass_env
def webhook_register(env: Env, url: str) -> int:
    """Send the notifications facetag needs to URL (…/webhooks/cloudinary)."""
    if not re.match(r"^https?://[^/\s]+/\S*$", url):
        raise click.UsageError(f"{url!r} is not an http(s) URL")
    library = env.library
    existing = {(w.url, w.event_type) for w in library.webhooks()}
    for event_type in EVENT_TYPES:
        if (url, event_type) in existing:
            click.echo(f"{event_type}: already registered")
        else:
            library.add_webhook(url, event_type)
            click.echo(f"{event_type}: registered")
    return 0


@webhook.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_env
def webhook_list(env: Env, as_json: bool) -> int:
    """List the notification triggers of the product environment."""
    triggers = [{"id": w.trigger_id, "event_type": w.event_type, "uri": w.url}
                for w in env.library.webhooks()]
    if as_json:
        emit_json(triggers)
    elif not triggers:
        click.echo("No triggers: run `facetag webhook register URL`.")
    for t in ([] if as_json else triggers):
        click.echo(f"{t['event_type']:<26} {t['uri']}  ({t['id']})")
    return 0


# -- errors ----------------------------------------------------------------------------------

def explain(exc: BaseException) -> tuple[str, int] | None:
    """One sentence and an exit code for an expected failure; None for a bug."""
    if isinstance(exc, Problem):
        return str(exc), exc.code
    if isinstance(exc, ConfigError):
        return f"facetag is misconfigured: {exc}", 2
    if isinstance(exc, (InvalidName, UnknownPerson, SameName)):
        return str(exc), 2
    if isinstance(exc, (LibraryMisconfigured, FacesMisconfigured)):
        return f"{exc}.", 2
    if isinstance(exc, CollectionMissing):
        return f"{exc}: run `facetag init` to create it.", 2
    if isinstance(exc, (LibraryError, FacesError, SecretUnavailable)):
        return f"{exc}.", 1
    return None


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="facetag", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        say("Aborted.")
        sys.exit(1)
    except Exception as exc:  # expected failures become one sentence
        known = explain(exc)
        if known is None:
            raise
        say(f"facetag: {known[0]}")
        sys.exit(known[1])
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
