"""The unnamed people as a librarian looks at them: most photos first, a face crop each, and a
contact sheet (one row per person: face crops, photo count, the tag to search).

Reading them costs one ListUsers, one ListFaces per unnamed person, one Admin read per 100
photos whose crops are shown, and with the tags on one Search count per unnamed person. The
photo count is the photos its tag finds (most of its faces joined it without being associated,
unnamed_joins.py); with the tags off, the photos of the faces it holds (all of them, up to
Rekognition's 100).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from chalicelib import unnamed
from chalicelib.delivery import face_crop_url
from chalicelib.face_values import StoredFace
from chalicelib.library import quoted
from chalicelib.tagging import Tagger

SHEET_CROPS = 12


@dataclass(frozen=True)
class UnnamedPerson:
    id: str  # the Rekognition user
    tag: str
    photos: int
    faces: int
    crops: tuple[str, ...]  # face crop URLs, one per photo


def count(tagger: Tagger) -> int:
    return sum(1 for u in tagger.faces.users() if unnamed.is_unnamed(u))


def photo_count(tagger: Tagger, user_id: str, faces: list[StoredFace]) -> int:
    s = tagger.settings
    if not s.unnamed_tags:
        return len({f.asset_id for f in faces})
    return tagger.library.count(f'tags="{quoted(unnamed.tag(user_id, s))}"')


def unnamed_people(tagger: Tagger, min_photos: int = 1, crops: int = 1) -> list[UnnamedPerson]:
    """Unnamed people with at least `min_photos` photos, most first, `crops` crops each."""
    members: dict[str, list[StoredFace]] = {}
    for user_id in tagger.faces.users():
        if unnamed.is_unnamed(user_id):
            members[user_id] = tagger.faces.user_faces(user_id)
    photos = {u: photo_count(tagger, u, faces) for u, faces in members.items()}
    shown: dict[str, list[StoredFace]] = {}
    for user_id, faces in members.items():
        if photos[user_id] >= min_photos:
            per_photo = {f.asset_id: f for f in faces}  # one face per photo
            shown[user_id] = sorted(per_photo.values(), key=lambda f: f.face_id)[:crops]
    assets = tagger.library.assets_by_ids(
        [f.asset_id for faces in shown.values() for f in faces]) if shown else {}
    people = []
    for user_id, faces in shown.items():
        urls = []
        for face in faces:
            asset = assets.get(face.asset_id)
            if asset is not None and asset.width and asset.height:
                urls.append(face_crop_url(asset.ref, asset.version, face.box, asset.width,
                                          asset.height))
        people.append(UnnamedPerson(user_id, unnamed.tag(user_id, tagger.settings),
                                    photos[user_id], len(members[user_id]), tuple(urls)))
    return sorted(people, key=lambda p: (-p.photos, p.id))


def contact_sheet(people: list[UnnamedPerson]) -> str:
    """An HTML page a librarian opens: one row per unnamed person."""
    rows = []
    for p in people:
        crops = "".join(f'<img class="crop" src="{html.escape(url)}" alt="" width="96" '
                        f'height="96">' for url in p.crops)
        rows.append(
            f'<tr class="person"><th><code>{html.escape(p.tag)}</code><br>{p.photos} '
            f'photo{"s" if p.photos != 1 else ""}<br><small>search: '
            f'<code>tags="{html.escape(p.tag)}"</code></small></th><td>{crops}</td></tr>')
    body = ("\n".join(rows) if rows else
            '<tr><td>No unnamed people yet: faces that match each other but nobody named '
            'appear here.</td></tr>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>facetag: unnamed people</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
th {{ text-align: left; vertical-align: top; padding: .5rem 1rem .5rem 0; font-weight: normal; }}
td {{ padding: .5rem 0; }}
.crop {{ border-radius: 6px; margin: 0 4px 4px 0; object-fit: cover; }}
</style></head>
<body>
<h1>Unnamed people</h1>
<p>To name someone, put <code>train:Their Name</code> on one of their photos, or run
<code>facetag name &lt;tag&gt; "Their Name"</code>.</p>
<table>
{body}
</table>
</body></html>
"""
