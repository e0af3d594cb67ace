"""The commands about people: list, show, rename (or merge), forget, hide, unhide, reset."""

from __future__ import annotations

from dataclasses import asdict

import click

from chalicelib import unnamed
from facetag_cli.errors import Problem
from facetag_cli.output import emit_json, say
from facetag_cli.people import People
from facetag_cli.unnamed_commands import name_unnamed
from facetag_cli.unnamed_people import count as count_unnamed
from facetag_cli.wiring import Wiring


def _people(wiring: Wiring) -> People:
    return People(wiring.tagger())


@click.command("people")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def list_people(wiring: Wiring, as_json: bool) -> None:
    """List people with their faces and training assets."""
    everyone = _people(wiring).all()
    if as_json:
        emit_json([asdict(p) for p in everyone])
        return
    unnamed_count = count_unnamed(wiring.tagger())
    if not everyone:
        click.echo("No people yet: put a training label on a photo of someone.")
    else:
        width = max(len(p.name) for p in everyone)
        click.echo(f"{'NAME':<{width}}  FACES  TRAINING ASSETS")
        for p in everyone:
            hidden = "  (hidden)" if p.hidden else ""
            click.echo(f"{p.name:<{width}}  {p.faces:>5}  {len(p.training_assets):>15}{hidden}")
    click.echo(f"{len(everyone)} named, {unnamed_count} unnamed"
               + (" (`facetag unnamed` lists them)." if unnamed_count else "."))


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def person(wiring: Wiring, name: str, as_json: bool) -> None:
    """Show one person and the training assets, with their URLs."""
    people = _people(wiring)
    found = people.get(name)
    assets = people.assets(found.training_assets)
    rows: list[dict[str, str | None]] = []
    for asset_id in found.training_assets:
        asset = assets.get(asset_id)
        url = people.library.derivative_url(asset.ref, asset.version) if asset else None
        rows.append({"asset_id": asset_id, "public_id": asset.public_id if asset else None,
                     "url": url})
    if as_json:
        emit_json({**asdict(found), "training_assets": rows})
        return
    click.echo(f"{found.name}{' (hidden)' if found.hidden else ''}: {found.faces} faces, "
               f"{len(rows)} training assets")
    for row in rows:
        shown = row["public_id"] or f"(deleted) {row['asset_id']}"
        click.echo(f"  {shown}{'  ' + row['url'] if row['url'] else ''}")


@click.command()
@click.argument("old")
@click.argument("new")
@click.pass_obj
def rename(wiring: Wiring, old: str, new: str) -> None:
    """Rename a person everywhere; renaming to an existing person merges the two. An unnamed
    person (`unnamed:<id>`) is named."""
    if unnamed.of_tag(old, wiring.settings()) is not None:
        name_unnamed(wiring, old, new)
        return
    done = _people(wiring).rename(old, new)
    verb = "Merged" if done.merged else "Renamed"
    click.echo(f"{verb} {old!r} into {new!r}: {done.faces_moved} faces moved, "
               f"{done.tags_rewritten} tags rewritten on {done.assets} assets.")


@click.command()
@click.argument("name")
@click.option("--untag", is_flag=True, help="Also remove the person's tags from every asset.")
@click.pass_obj
def forget(wiring: Wiring, name: str, untag: bool) -> None:
    """Delete a person's faces (and with --untag their tags)."""
    done = _people(wiring).forget(name, untag)
    click.echo(f"Forgot {name!r}: {done.faces_removed} faces removed"
               + (f", {done.tags_removed} tags removed." if untag else "."))
    if done.training_assets_left:
        say(f"{done.training_assets_left} training assets still carry the label: processing "
            "them again trains the person again (use --untag to remove the labels too).")


@click.command()
@click.argument("name")
@click.pass_obj
def hide(wiring: Wiring, name: str) -> None:
    """Never tag this person again; their faces are kept."""
    changed = _people(wiring).hide(name, hidden=True)
    click.echo(f"{name!r} is hidden." if changed else f"{name!r} was already hidden.")


@click.command()
@click.argument("name")
@click.pass_obj
def unhide(wiring: Wiring, name: str) -> None:
    """Tag a hidden person again from now on."""
    changed = _people(wiring).hide(name, hidden=False)
    click.echo(f"{name!r} is visible again." if changed else f"{name!r} was not hidden.")


@click.command()
@click.option("--yes", is_flag=True, help="Confirm: every face and person is deleted.")
@click.pass_obj
def reset(wiring: Wiring, yes: bool) -> None:
    """Empty the face collection (tags on assets stay)."""
    if not yes:
        raise Problem("reset deletes every face and person in the collection: "
                      "run `facetag reset --yes` to confirm.")
    held = _people(wiring).reset()
    click.echo(f"Collection {wiring.settings().collection_id!r} emptied ({held} faces deleted).")


COMMANDS = (list_people, person, rename, forget, hide, unhide, reset)
