"""The contact sheet of unnamed people in headless Chromium, its face crops delivered by the
local Cloudinary server: every crop loads as an image."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import cloudinary.uploader
import pytest

from chalicelib.library import MediaLibrary
from chalicelib.settings import Settings
from chalicelib.tagging import Tagger
from facetag_cli.unnamed_people import SHEET_CROPS, contact_sheet, unnamed_people
from tests.fakes import FaceSpec, FakeFaces
from tests.fixtures_cloudinary import SdkHandle
from tests.photos import photos

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--virtual-time-budget=10000"]
# Added to the page for the test only: once the page has loaded, count the images that did.
PROBE = """<script>
window.addEventListener("load", () => {
  const loaded = [...document.images].filter(i => i.complete && i.naturalWidth > 0);
  document.body.setAttribute("data-loaded", String(loaded.length));
});
</script></body>"""


def rendered(page: Path) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed: run `bash .ci/run` or apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                               "--dump-dom", page.as_uri()],
                              capture_output=True, text=True, timeout=120).stdout


def test_the_contact_sheet_shows_every_face_crop_in_a_browser(cloudinary_sdk: SdkHandle,
                                                               tmp_path: Path) -> None:
    faces = FakeFaces()
    shipped = photos()
    for name in ("obama", "obama2", "obama3"):
        uploaded = cloudinary.uploader.upload(shipped[name].data, public_id=f"events/{name}",
                                              tags=["unnamed:0123456789ab"])
        faces.photos[uploaded["asset_id"]] = [FaceSpec("obama", 0.3)]
        faces.index_faces(b"", uploaded["asset_id"])
    faces.users_["u:0123456789ab"] = list(faces.stored)
    tagger = Tagger(Settings(), faces, MediaLibrary(1920))
    people = unnamed_people(tagger, crops=SHEET_CROPS)
    assert [len(p.crops) for p in people] == [3]
    page = tmp_path / "unnamed.html"
    page.write_text(contact_sheet(people).replace("</body>", PROBE), encoding="utf-8")
    dom = rendered(page)
    assert 'data-loaded="3"' in dom
    assert "unnamed:0123456789ab" in dom
