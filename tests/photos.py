"""Real face photos for tests, taken from the `face-recognition` 1.3.0 sdist on PyPI.

The sdist ships `tests/test_images/` with photos of two people. It is fetched once with pip
(so the machine's package index settings apply), checked against a pinned SHA-256, and the
images are extracted into a cache directory outside the repository. Nothing fetched is
committed.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

SDIST_NAME = "face_recognition-1.3.0.tar.gz"
SDIST_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
IMAGES_PREFIX = "face_recognition-1.3.0/tests/test_images/"


def cache_dir() -> Path:
    base = os.environ.get("FACETAG_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "facetag"
    )
    return Path(base)


def _fetch_sdist(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", "face-recognition==1.3.0", "-d", tmp],
            check=True,
        )
        data = (Path(tmp) / SDIST_NAME).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SDIST_SHA256:
        raise RuntimeError(
            f"{SDIST_NAME}: SHA-256 {digest} does not match the pinned {SDIST_SHA256}")
    target.write_bytes(data)


def images_dir() -> Path:
    """Directory holding the sdist's test images, fetching them on first use."""
    root = cache_dir()
    images = root / "test_images"
    if (images / ".complete").exists():
        return images
    root.mkdir(parents=True, exist_ok=True)
    sdist = root / SDIST_NAME
    if not sdist.exists() or hashlib.sha256(sdist.read_bytes()).hexdigest() != SDIST_SHA256:
        _fetch_sdist(sdist)
    images.mkdir(exist_ok=True)
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith(IMAGES_PREFIX):
                name = Path(member.name).name
                extracted = tar.extractfile(member)
                assert extracted is not None
                (images / name).write_bytes(extracted.read())
    (images / ".complete").write_text("ok")
    return images


@dataclass(frozen=True)
class Photo:
    person: str | None
    path: Path

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


def photos() -> dict[str, Photo]:
    """Named photos: whole faces of two people and the partial-face cases."""
    d = images_dir()
    return {
        "obama": Photo("Barack Obama", d / "obama.jpg"),
        "obama2": Photo("Barack Obama", d / "obama2.jpg"),
        "obama3": Photo("Barack Obama", d / "obama3.jpg"),
        "obama_png": Photo("Barack Obama", d / "32bit.png"),
        "biden": Photo("Joe Biden", d / "biden.jpg"),
        "obama_partial": Photo(None, d / "obama_partial_face.jpg"),
        "obama_partial2": Photo(None, d / "obama_partial_face2.jpg"),
    }


def jpeg_bytes(image: object, quality: int = 90) -> bytes:
    """Encode a Pillow image as JPEG bytes."""
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)  # type: ignore[attr-defined]
    return buf.getvalue()


def side_by_side(*paths: Path, height: int = 600, flip: tuple[bool, ...] = ()) -> bytes:
    """A group photo composed at test time: the given photos scaled to one height, in a row."""
    from PIL import Image, ImageOps

    parts = []
    for i, path in enumerate(paths):
        image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        image = image.resize((round(image.width * height / image.height), height))
        if i < len(flip) and flip[i]:
            image = ImageOps.mirror(image)
        parts.append(image)
    group = Image.new("RGB", (sum(p.width for p in parts), height), "white")
    x = 0
    for p in parts:
        group.paste(p, (x, 0))
        x += p.width
    return jpeg_bytes(group)


def faceless(width: int = 800, height: int = 600) -> bytes:
    """A photo of nobody: a smooth gradient."""
    from PIL import Image

    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    return jpeg_bytes(image)
