"""The commands about unnamed people: list them (or write a contact sheet), name one."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from pathlib import Path

import click

from chalicelib import unnamed
from chalicelib.messages import reclusters
from chalicelib.names import PersonName
from chalicelib.naming import UnknownUnnamed
from chalicelib.rebuild import Rebuild, Rebuilt, chunks, unassigned
from facetag_cli.errors import Problem
from facetag_cli.output import emit_json, say
from facetag_cli.unnamed_people import SHEET_CROPS, contact_sheet, unnamed_people
from facetag_cli.wiring import Wiring


@click.command("unnamed")
@click.option("--min-photos", type=click.IntRange(min=1), default=1, show_default=True,
              help="Only unnamed people on at least this many photos.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--html", "sheet", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a contact sheet (HTML) to this file.")
@click.option("--rebuild", is_flag=True,
              help="Group the unknown faces already in the collection: queued for the "
              "backfill workers, within the Rekognition quota.")
@click.option("--dry-run", is_flag=True, help="With --rebuild: say here what it would do, "
              "write and queue nothing.")
@click.pass_obj
def list_unnamed(wiring: Wiring, min_photos: int, as_json: bool, sheet: Path | None,
                 rebuild: bool, dry_run: bool) -> None:
    """List unnamed people (faces that match each other but nobody named), most photos first."""
    if dry_run and not rebuild:
        raise Problem("--dry-run goes with --rebuild.")
    if rebuild:
        _rebuild(wiring, dry_run)
        return
    people = unnamed_people(wiring.tagger(), min_photos, SHEET_CROPS if sheet else 1)
    if sheet is not None:
        sheet.write_text(contact_sheet(people), encoding="utf-8")
        say(f"Wrote a contact sheet of {len(people)} unnamed people to {sheet}.")
        return
    if as_json:
        emit_json([{**asdict(p), "crop_url": p.crops[0] if p.crops else None} for p in people])
        return
    if not people:
        click.echo("No unnamed people yet.")
        return
    width = max(len(p.tag) for p in people)
    click.echo(f"{'TAG':<{width}}  PHOTOS  FACE")
    for p in people:
        click.echo(f"{p.tag:<{width}}  {p.photos:>6}  {p.crops[0] if p.crops else '-'}")


def _rebuild(wiring: Wiring, dry_run: bool) -> None:
    tagger = wiring.tagger()
    settings = tagger.settings
    if settings.cluster_min_faces == 0:
        raise Problem("grouping is turned off (FACETAG_CLUSTER_MIN_FACES=0).")
    faces = list(unassigned(tagger.faces))
    if not dry_run:
        messages = reclusters([f.face_id for f in faces], "rebuild:" + uuid.uuid4().hex)
        wiring.queue(settings.backfill_queue).send(messages)
        say(f"Queued {len(faces)} unassigned faces in {len(messages)} messages on "
            f"{settings.backfill_queue}: the backfill workers group them within the "
            "Rekognition quota, after live work; `facetag unnamed` lists who they found.")
        return
    rebuild = Rebuild(settings, tagger.faces, tagger.library)
    total = Rebuilt()
    for chunk in chunks(faces):
        total.add(rebuild.chunk(chunk, dry_run=True))
    say(f"Dry run, nothing written: {len(faces)} unassigned faces, {total.faces} searched: "
        f"{total.founded} unnamed people founded, {total.joined} faces joined one, "
        f"{total.merged} merged, {total.tagged} photos tagged.")


def name_unnamed(wiring: Wiring, tag: str, new: str) -> None:
    """Name the unnamed person `tag` (`unnamed:<id>`) as `new`."""
    settings = wiring.settings()
    user_id = unnamed.of_tag(tag, settings)
    if user_id is None:
        raise Problem(f"{tag!r} is not an unnamed person's tag "
                      f"({settings.unnamed_tag_prefix}<12 hex digits>).")
    name = PersonName.parse(new)
    try:
        done = wiring.tagger().trainer.naming.give_name(user_id, name)
    except UnknownUnnamed as exc:
        raise Problem(str(exc)) from None
    verb = "Merged" if done.merged else "Named"
    click.echo(f"{verb} {tag!r} into {name.display!r}: {done.faces_moved} faces moved, "
               f"{done.assets} photos tagged {settings.person_tag_prefix}{name.display}.")
    if done.faces_released:
        say(f"{done.faces_released} faces did not fit under Rekognition's 100 faces per person "
            "and stay unassigned.")


@click.command("name")
@click.argument("tag")
@click.argument("name")
@click.pass_obj
def name_command(wiring: Wiring, tag: str, name: str) -> None:
    """Name an unnamed person: `facetag name unnamed:<id> "Jane Doe"`."""
    name_unnamed(wiring, tag, name)


COMMANDS = (list_unnamed, name_command)
