"""What the benches share: a `Bench` driving the local stack (uploads, signed notifications
timed exactly, the stand-ins' counters), figures helpers, and out/bench.json, which every bench
updates under its own keys so that one file holds the latest figures of each.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cloudinary
import cloudinary.api
import cloudinary.uploader
from PIL import Image, ImageDraw, ImageOps

from emulators.cloudinary.signing import sign_notification
from emulators.stack import APP_SECRET, LIBRARIAN_KEY, LocalStack, admin, local_stack
from tests.photos import jpeg_bytes, photos

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "bench.json"
OBAMA, BIDEN = "Barack Obama", "Joe Biden"


class Bench:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.rng = random.Random(1)
        self.counter = 0

    def reset(self) -> None:
        """Empty stand-ins; Cloudinary's own notifications off (the bench posts and times
        each one itself), its Admin quota out of the way."""
        self.stack.wait_for_notifications(600)
        for url in (self.stack.rekognition.url, self.stack.cloudinary.url):
            admin(url, "reset", method="POST")
        admin(self.stack.cloudinary.url, "notifications", {"drop_rate": 1.0})
        admin(self.stack.cloudinary.url, "rate_limit", {"limit": 1_000_000})

    def unique(self, data: bytes) -> bytes:
        """The same photo with a few pixels changed: new bytes, same faces (the face engine's
        per-image cache does not flatter the figures)."""
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(4):
            x, y = self.rng.randrange(image.width), self.rng.randrange(image.height)
            draw.point((x, y), fill=tuple(self.rng.randrange(256) for _ in range(3)))
        return jpeg_bytes(image)

    def upload(self, data: bytes, tags: Sequence[str] = (), **options: Any) -> dict[str, Any]:
        self.counter += 1
        options.setdefault("public_id", f"bench/{self.counter:06d}")
        if tags:
            options["tags"] = list(tags)
        return dict(cloudinary.uploader.upload(data, **options))

    def upload_many(self, data: Callable[[int], bytes], n: int, threads: int = 8,
                    **options: Any) -> list[dict[str, Any]]:
        """`n` uploads the app is not told of (notifications are off)."""
        first = self.counter
        self.counter += n
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(lambda i: dict(cloudinary.uploader.upload(
                data(i), public_id=f"bench/{first + i + 1:06d}", **options)), range(n)))

    def notify(self, payload: dict[str, Any]) -> tuple[float, int]:
        """POST one signed notification to the webhook; (milliseconds, status)."""
        body = json.dumps(payload).encode()
        timestamp = int(time.time())
        request = urllib.request.Request(
            self.stack.webhook_url, data=body, method="POST",
            headers={"Content-Type": "application/json", "X-Cld-Timestamp": str(timestamp),
                     "X-Cld-Signature": sign_notification(body, timestamp, APP_SECRET)})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            status = int(response.status)
        return (time.perf_counter() - started) * 1000, status

    def rek_stats(self) -> dict[str, Any]:
        return admin(self.stack.rekognition.url, "stats")

    def rek_calls(self) -> dict[str, int]:
        return dict(self.rek_stats()["calls"])

    def cld_stats(self) -> dict[str, Any]:
        return admin(self.stack.cloudinary.url, "stats")

    def train(self, name: str, photo: str) -> dict[str, Any]:
        asset = self.upload(photos()[photo].data, [f"train:{name}"])
        self.notify(upload_notification(asset))
        return asset

    def train_both(self) -> None:
        """Obama and Biden trained, and that work done."""
        self.train(OBAMA, "obama")
        self.train(BIDEN, "biden")
        self.stack.wait_for_notifications(120)

    def tags(self, asset_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each asset's tags, by asset id, read 100 at a time."""
        found: dict[str, list[str]] = {}
        for i in range(0, len(asset_ids), 100):
            r = cloudinary.api.resources_by_asset_ids(list(asset_ids[i:i + 100]), tags=True)
            found.update({x["asset_id"]: list(x.get("tags", [])) for x in r["resources"]})
        return found


def by_librarian() -> dict[str, Any]:
    return {"notification_context": {"triggered_by": {"source": "api", "id": LIBRARIAN_KEY}}}


def upload_notification(asset: dict[str, Any]) -> dict[str, Any]:
    """What Cloudinary posts after an upload: the upload answer plus the type."""
    return {**asset, "notification_type": "upload", **by_librarian()}


def tags_notification(assets: Sequence[dict[str, Any]], added: Sequence[str] = (),
                      removed: Sequence[str] = ()) -> dict[str, Any]:
    """A librarian's tag edit of `assets`, in one notification."""
    return {"notification_type": "resource_tags_changed", "source": "api",
            "resources": [{"asset_id": a["asset_id"], "public_id": a["public_id"],
                           "resource_type": "image", "type": "upload", "added": list(added),
                           "removed": list(removed)} for a in assets],
            "request_id": uuid.uuid4().hex, **by_librarian()}


def context_notification(asset: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    return {"notification_type": "resource_context_changed", "source": "api",
            "resources": {asset["public_id"]: {
                "asset_id": asset["asset_id"], "resource_type": "image", "type": "upload",
                "added": [{"name": key, "value": value}], "updated": [], "removed": []}},
            "request_id": uuid.uuid4().hex, **by_librarian()}


def delete_notification(asset: dict[str, Any]) -> dict[str, Any]:
    return {"notification_type": "delete",
            "resources": [{"asset_id": asset["asset_id"], "public_id": asset["public_id"],
                           "resource_type": "image", "type": "upload",
                           "version": asset["version"]}],
            "request_id": uuid.uuid4().hex, **by_librarian()}


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def latency(values: Sequence[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": round(percentile(values, 0.5), 1),
            "p99_ms": round(percentile(values, 0.99), 1), "max_ms": round(max(values), 1)}


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)}


def step(title: str) -> None:
    print(f"· {title}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform()}


def record(figures: dict[str, Any]) -> None:
    """out/bench.json with these keys replaced, the other benches' kept."""
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({**previous, **figures}, indent=2))


@contextlib.contextmanager
def app_environment(stack: LocalStack) -> Iterator[None]:
    """This process's environment pointed at the stack (the in-process clients read it)."""
    saved = os.environ.copy()
    os.environ.update(stack.env())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def bench_on_stack(name: str, rekognition_tps: float | None = None) -> Iterator[Bench]:
    """A Bench on a local stack started for the block, this process's environment and the SDK
    pointed at it; the stack's logs go to a new temporary folder `facetag-bench-<name>-…`, kept
    afterwards (`bench.stack.log_dir`). With `rekognition_tps`, the Rekognition stand-in answers
    that many calls a second and throttles past it, and the app paces itself to the same rate."""
    settings = {}
    if rekognition_tps is not None:
        os.environ["FACETAG_STANDIN_REKOGNITION_TPS"] = f"{rekognition_tps:g}"  # the stand-in's
        settings["FACETAG_REKOGNITION_TPS"] = f"{rekognition_tps:g}"
    logs = Path(tempfile.mkdtemp(prefix=f"facetag-bench-{name}-"))
    with local_stack(settings=settings, log_dir=logs) as stack, app_environment(stack), \
            stack.sdk():
        yield Bench(stack)
