"""`make demo` end to end: the printed table, and the HTML page as a browser renders it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from emulators.processes import PROJECT_DIR

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("demo")
    run = subprocess.run([sys.executable, "-m", "scripts.demo", "--out", str(out)],
                         cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return run.stdout, out / "demo.html"


def unnamed_row(stdout: str, public_id: str) -> str:
    """The photo's line in the demo's listing of unnamed tags, before anyone was named."""
    return next(line for line in stdout.split("A librarian names them")[0].splitlines()
                if line.strip().startswith(public_id + " "))


def row(stdout: str, public_id: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith(public_id + " "))


def test_demo_prints_each_person_on_their_photos(demo: tuple[str, Path]) -> None:
    stdout, _ = demo
    assert "Barack Obama" in row(stdout, "events/speech")
    assert "Joe Biden" not in row(stdout, "events/speech")
    assert "Barack Obama, Joe Biden" in row(stdout, "events/together")
    assert "Barack Obama" in row(stdout, "archive/obama-rally")  # tagged retroactively
    landscape = row(stdout, "events/landscape").split()
    assert landscape[1] == "-"  # nobody on a photo of nobody


def test_demo_forms_one_unnamed_person_and_a_training_tag_names_it(demo: tuple[str, Path]
                                                                    ) -> None:
    stdout, page = demo
    archive = ("archive/obama-rally", "archive/obama-portrait", "archive/obama-press")
    before = {unnamed_row(stdout, p).split()[1] for p in archive}
    assert len(before) == 1 and before.pop().startswith("unnamed:")
    for public_id in archive:  # named everywhere from one training tag
        assert row(stdout, public_id).split()[1:3] == ["Barack", "Obama"]
    sheet = (page.parent / "unnamed.html").read_text()
    assert sheet.count('class="crop"') >= 1 and "unnamed:" in sheet


def test_demo_page_shows_names_in_a_browser(demo: tuple[str, Path]) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed: run `bash .ci/run` or apt-get install chromium")
    _, page = demo
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                              "--dump-dom", page.as_uri()],
                             capture_output=True, text=True, timeout=120).stdout
    assert dom.count('class="box"') >= 5  # a face box per face found
    for name in ("Barack Obama", "Joe Biden"):
        assert name in dom
    assert "events/together" in dom
    assert dom.count('class="was"') == 3  # the unnamed tag the name replaced, struck out
