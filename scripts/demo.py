"""The whole story on the local stack, with no account: `make demo`.

Starts the local stack, uploads photos through the real Cloudinary SDK and waits for the
webhooks and the queue workers. Older photos of a person nobody named become an unnamed person
(`unnamed:<id>`, shown in a contact sheet, `unnamed.html`); a librarian names it by putting a
training tag on one of them; training photos and new photos (a group photo among them) follow.
Then it prints who was tagged where and writes an HTML page with each photo, its face boxes,
its names, and the unnamed tag a name replaced.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import html
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader

from chalicelib import state, unnamed
from chalicelib.assets import Asset, asset_from_resource
from chalicelib.face_values import BoundingBox
from chalicelib.faces import FaceIndex
from chalicelib.recognition import person_of
from chalicelib.settings import Settings
from emulators.stack import LocalStack, local_stack
from tests.photos import faceless, photos, side_by_side

OUT = Path("out")


@dataclass(frozen=True)
class Upload:
    public_id: str
    data: bytes
    tags: tuple[str, ...] = ()


def story() -> tuple[list[Upload], Upload, list[tuple[str, list[Upload]]]]:
    """Older photos of someone nobody named (one becomes the photo a librarian names them on),
    then training photos, then new uploads.

    Each phase is finished (every webhook answered, every queued message handled) before the
    next starts, so the outcome does not depend on the order in which concurrent notifications
    happen to arrive.
    """
    p = photos()
    older = [Upload("archive/obama-rally", p["obama3"].data),
             Upload("archive/obama-portrait", p["obama"].data),
             Upload("archive/obama-press", p["obama_png"].data)]
    naming = Upload("archive/obama-portrait", b"", ("train:Barack Obama",))
    training = [Upload("people/joe-biden", p["biden"].data, ("train:Joe Biden",))]
    new = [
        Upload("events/speech", p["obama2"].data),
        Upload("events/together", side_by_side(p["obama2"].path, p["biden"].path,
                                               flip=(False, True))),
        Upload("events/landscape", faceless()),
    ]
    return older, naming, [("training photos", training), ("new photos", new)]


def upload_all(stack: LocalStack, uploads: Sequence[Upload], one_by_one: bool = False) -> None:
    """`one_by_one`: each photo's work is done before the next is uploaded (an unnamed person
    forms once its third face finds the first two)."""
    for u in uploads:
        cloudinary.uploader.upload(u.data, public_id=u.public_id, tags=list(u.tags))
        print(f"  uploaded {u.public_id}" + (f"  [{', '.join(u.tags)}]" if u.tags else ""))
        if one_by_one:
            stack.wait_for_notifications()
    stack.wait_for_notifications()


def unnamed_tags(public_id: str) -> list[str]:
    asset = asset_from_resource(cloudinary.api.resource(public_id))
    settings = Settings()
    return sorted(unnamed.tag(u, settings) for u in unnamed.tagged(asset.tags, settings))


def contact_sheet(stack: LocalStack, path: Path) -> None:
    """`facetag unnamed --html`, as an operator runs it against this stack."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("CLOUDINARY_", "FACETAG_", "AWS_"))}
    subprocess.run([sys.executable, "-m", "facetag_cli", "unnamed", "--html", str(path)],
                   env={**clean, **stack.env()}, check=True, capture_output=True, timeout=120)


@dataclass(frozen=True)
class LabelledFace:
    box: BoundingBox
    label: str


def face_boxes(index: FaceIndex, asset: Asset) -> list[LabelledFace]:
    """Who is where, asked of the collection (demo only: facetag itself stores no boxes)."""
    ids = list(state.read(asset, Settings()).face_ids)
    labelled = []
    for face in index.faces(ids) if ids else []:
        match = index.search_users(face.face_id, 80)
        person = person_of(match.user_id) if match else None
        label = "unknown"
        if match and person:
            label = f"{person[0].display} ({match.similarity:.0f})"
        elif match and unnamed.is_unnamed(match.user_id):
            label = unnamed.tag(match.user_id, Settings())
        labelled.append(LabelledFace(face.box, label))
    return labelled


def write_page(path: Path, rows: list[tuple[Asset, bytes, list[LabelledFace]]],
               before: dict[str, list[str]]) -> None:
    """`before`: the unnamed tags photos carried before a librarian named the person."""
    cards = []
    for asset, image, boxes in rows:
        was = before.get(asset.public_id)
        earlier = (f'<br><span class="was">was {html.escape(", ".join(was))}</span>'
                   if was else "")
        people = [t.removeprefix("person:") for t in asset.tags if t.startswith("person:")]
        overlays = "".join(
            f'<div class="box" style="left:{f.box.left*100:.2f}%;top:{f.box.top*100:.2f}%;'
            f'width:{f.box.width*100:.2f}%;height:{f.box.height*100:.2f}%">'
            f'<span>{html.escape(f.label)}</span></div>' for f in boxes)
        src = "data:image/jpeg;base64," + base64.b64encode(image).decode()
        cards.append(
            f'<figure><div class="photo"><img src="{src}" alt="{html.escape(asset.public_id)}">'
            f'{overlays}</div><figcaption><b>{html.escape(asset.public_id)}</b><br>'
            f'{html.escape(", ".join(people) or "nobody known")}{earlier}</figcaption></figure>')
    path.write_text(
        "<!doctype html><meta charset='utf-8'><title>facetag demo</title><style>"
        "body{font-family:sans-serif;display:flex;flex-wrap:wrap;gap:16px}"
        "figure{margin:0;width:360px}.photo{position:relative}img{width:100%;display:block}"
        ".box{position:absolute;border:2px solid #f33}.box span{position:absolute;top:100%;"
        "left:0;background:#f33;color:#fff;font-size:12px;white-space:nowrap;padding:1px 3px}"
        ".was{color:#777;text-decoration:line-through}"
        "</style><h1 style='width:100%'>facetag demo</h1>" + "".join(cards), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT, help="where the HTML page goes")
    parser.add_argument("--log-dir", type=Path, help="keep the stack's logs there (app.log: "
                        "the app's, workers.log: its queue workers')")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print("Fetching test photos (once) and starting the local stack...")
    older, naming, phases = story()
    kept = contextlib.nullcontext(str(args.log_dir)) if args.log_dir else None
    with kept or tempfile.TemporaryDirectory() as logs, local_stack(log_dir=Path(logs)) as stack, \
            stack.sdk():
        index = FaceIndex(stack.rekognition_client(), "facetag")
        print("Uploading older photos of someone nobody named yet:")
        upload_all(stack, older, one_by_one=True)
        before = {u.public_id: unnamed_tags(u.public_id) for u in older}
        sheet = args.out / "unnamed.html"
        contact_sheet(stack, sheet)
        for public_id, tags in before.items():
            print(f"  {public_id:28} {', '.join(tags) or '-'}")
        print(f"  (the unnamed people: {sheet})")
        print(f"A librarian names them: {', '.join(naming.tags)} on {naming.public_id}")
        cloudinary.uploader.add_tag(list(naming.tags), [naming.public_id])
        stack.wait_for_notifications()
        for title, uploads in phases:
            print(f"Uploading {title}:")
            upload_all(stack, uploads)
        uploaded = older + [u for _, uploads in phases for u in uploads]
        rows = []
        print()
        print(f"{'asset':28} {'people tagged':32} {'suggested':16} faces unknown")
        for u in uploaded:
            asset = asset_from_resource(cloudinary.api.resource(u.public_id))
            people = [t.removeprefix("person:") for t in asset.tags if t.startswith("person:")]
            suggested = [t.removeprefix("suggested:") for t in asset.tags
                         if t.startswith("suggested:")]
            faces = asset.context.get(state.FACES, "")
            # Unknown faces as the tags show them now: retroactive tagging adds names to older
            # photos after their recognition counted those faces as unknown.
            unknown = str(max(int(faces) - len(people) - len(suggested), 0)) if faces else "-"
            error = state.read(asset, Settings()).error
            status = f"  (error: {error})" if error else ""
            print(f"{u.public_id:28} {', '.join(people) or '-':32} {', '.join(suggested) or '-':16}"
                  f" {faces or '-':>5} {unknown:>7}{status}")
            url, _ = cloudinary.utils.cloudinary_url(u.public_id, crop="limit", width=800,
                                                     height=800, fetch_format="jpg",
                                                     version=asset.version, secure=False)
            with urllib.request.urlopen(url, timeout=30) as r:
                image = r.read()
            rows.append((asset, image, face_boxes(index, asset)))
        page = args.out / "demo.html"
        write_page(page, rows, before)
        print(f"\nWrote {page} (each photo with its face boxes and names) and {sheet}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
