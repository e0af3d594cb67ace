"""`make bench`: facetag's figures on the local stack, in one run (a few minutes).

Prints, and writes to out/bench.json:
- webhook answer latency (p50/p99) for ignored, training and recognition notifications;
- recognition throughput through the webhook at the default concurrency, and reconciliation's;
- Rekognition and Cloudinary calls per recognised asset with k faces (k = 0…4), and bytes
  downloaded against the original's size;
- the calls retroactive tagging costs for 10, 100 and 1,000 older assets;
- cold-start import time and memory (scripts/bench_cold_start.py);
- the local servers' own figures (scripts/bench_face_engine.py, bench_cloudinary_server.py),
  and the calls a second botocore's standard retries achieve against the Rekognition
  stand-in's TPS quota (scripts/bench_rekognition_quota.py);
then a Markdown table for the README, with the machine it ran on.

Notifications are sent by this script, signed as Cloudinary signs them, so each answer is timed
exactly; the Cloudinary server's own notifications are switched off (drop rate 1). Photos are
made unique with a few changed pixels, so the face engine's per-image cache does not flatter
the figures.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import cloudinary
import cloudinary.api
import cloudinary.uploader
from PIL import Image, ImageDraw, ImageOps

from chalicelib import settings as settings_module
from chalicelib.faces import FaceIndex, make_client
from chalicelib.library import MediaLibrary
from chalicelib.reconcile import reconcile
from chalicelib.tagging import Tagger
from emulators.cloudinary.signing import sign_notification
from emulators.stack import (APP_KEY, APP_SECRET, LIBRARIAN_KEY, LocalStack, admin, local_stack)
from tests.photos import faceless, jpeg_bytes, photos
from tests.e2e.test_fault_burst import compose

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "bench.json"
OBAMA, BIDEN = "Barack Obama", "Joe Biden"
LAYOUTS: dict[int, tuple[tuple[str, bool], ...]] = {
    1: (("obama2", False),),
    2: (("obama3", False), ("biden", False)),
    3: (("obama2", False), ("biden", True), ("obama3", True)),
    4: (("obama3", False), ("biden", False), ("obama2", True), ("biden", True)),
}
RETRO_SIZES = (10, 100, 1000)


# -- plumbing --------------------------------------------------------------------------------

class Bench:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.rng = random.Random(1)
        self.rekognition = boto3.client(
            "rekognition", endpoint_url=stack.rekognition.url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing")
        self.counter = 0

    def reset(self) -> None:
        for url in (self.stack.rekognition.url, self.stack.cloudinary.url):
            admin(url, "reset", method="POST")
        admin(self.stack.cloudinary.url, "notifications", {"drop_rate": 1.0})
        admin(self.stack.cloudinary.url, "rate_limit", {"limit": 1_000_000})

    def unique(self, data: bytes) -> bytes:
        """The same photo with a few pixels changed: new bytes, same faces."""
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(4):
            x, y = self.rng.randrange(image.width), self.rng.randrange(image.height)
            draw.point((x, y), fill=tuple(self.rng.randrange(256) for _ in range(3)))
        return jpeg_bytes(image)

    def upload(self, data: bytes, tags: list[str] | None = None) -> dict[str, Any]:
        self.counter += 1
        options: dict[str, Any] = {"public_id": f"bench/{self.counter:06d}"}
        if tags:
            options["tags"] = tags
        return dict(cloudinary.uploader.upload(data, **options))

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
            status = response.status
        return (time.perf_counter() - started) * 1000, status

    def rek_stats(self) -> dict[str, int]:
        return dict(admin(self.stack.rekognition.url, "stats")["calls"])

    def cld_stats(self) -> dict[str, Any]:
        return admin(self.stack.cloudinary.url, "stats")

    def train(self, name: str, photo: str) -> dict[str, Any]:
        asset = self.upload(photos()[photo].data, [f"train:{name}"])
        self.notify(upload_notification(asset))
        return asset

    def tagger(self) -> Tagger:
        current = settings_module.from_env(self.stack.env())
        return Tagger(current, FaceIndex(make_client(), current.collection_id),
                      MediaLibrary(current.derivative_size), APP_KEY)


def upload_notification(asset: dict[str, Any]) -> dict[str, Any]:
    """What Cloudinary posts after an upload: the upload answer plus the type."""
    return {**asset, "notification_type": "upload",
            "notification_context": {"triggered_by": {"source": "api", "id": LIBRARIAN_KEY}}}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def latency(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": round(percentile(values, 0.5), 1),
            "p99_ms": round(percentile(values, 0.99), 1)}


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)}


def step(title: str) -> None:
    print(f"· {title}", file=sys.stderr, flush=True)


# -- the measurements ------------------------------------------------------------------------

def webhook_latency(bench: Bench) -> dict[str, Any]:
    step("webhook latency")
    bench.reset()
    bench.train(OBAMA, "obama")
    bench.train(BIDEN, "biden")
    ignored = [bench.notify({"notification_type": "create_folder", "folder_path": f"f{i}"})[0]
               for i in range(200)]
    training = []
    for i in range(15):
        photo = ("obama2", "obama3")[i % 2]
        asset = bench.upload(bench.unique(photos()[photo].data), [f"train:{OBAMA}"])
        training.append(bench.notify(upload_notification(asset))[0])
    recognition = []
    for i in range(30):
        data = bench.unique(compose(*LAYOUTS[1 + i % 4]))
        recognition.append(bench.notify(upload_notification(bench.upload(data)))[0])
    return {"ignored": latency(ignored), "training": latency(training),
            "recognition": latency(recognition)}


def throughput(bench: Bench, concurrency: int, assets: int = 48) -> dict[str, Any]:
    step(f"recognition throughput through the webhook ({concurrency} at once)")
    bench.reset()
    bench.train(OBAMA, "obama")
    bench.train(BIDEN, "biden")
    uploaded = [bench.upload(bench.unique(compose(*LAYOUTS[1 + i % 4])))
                for i in range(assets)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(lambda a: bench.notify(upload_notification(a))[1], uploaded))
    elapsed = time.perf_counter() - started
    assert statuses == [200] * assets, statuses
    webhook = {"assets": assets, "concurrency": concurrency, "seconds": round(elapsed, 1),
               "assets_per_minute": round(assets * 60 / elapsed)}

    step("reconciliation throughput")
    for i in range(assets):  # notifications are dropped: only reconciliation finds these
        bench.upload(bench.unique(compose(*LAYOUTS[1 + i % 4])))
    with bench.stack.sdk(APP_KEY, APP_SECRET):
        summary = reconcile(bench.tagger())
    assert summary.processed == assets and summary.failed == 0, summary
    seconds = summary.elapsed_ms / 1000
    return {"webhook": webhook,
            "reconciliation": {"assets": summary.processed, "concurrency": concurrency,
                               "seconds": round(seconds, 1),
                               "assets_per_minute": round(summary.processed * 60 / seconds),
                               "calls": summary.calls}}


def calls_per_asset(bench: Bench) -> dict[str, Any]:
    step("calls per recognised asset")
    bench.reset()
    bench.train(OBAMA, "obama")
    bench.train(BIDEN, "biden")
    rows: dict[str, Any] = {}
    cases: list[tuple[str, int, bytes]] = [("0 faces", 0, faceless(480, 360))]
    cases += [(f"{k} face{'s' if k > 1 else ''}", k, bench.unique(compose(*LAYOUTS[k])))
              for k in LAYOUTS]
    # A phone-sized original: the derivative, not the original, is what gets downloaded.
    cases += [("1 face, full-size original", 1, photos()["obama3"].data)]
    for label, k, data in cases:
        asset = bench.upload(data)
        rek, cld = bench.rek_stats(), bench.cld_stats()
        ms, status = bench.notify(upload_notification(asset))
        rek_spent = delta(bench.rek_stats(), rek)
        cld_after = bench.cld_stats()
        cld_spent = delta(cld_after["calls"], cld["calls"])
        downloaded = cld_after["delivery_bytes"] - cld["delivery_bytes"]
        rows[label] = {
            "faces": k, "status": status, "rekognition": rek_spent,
            "rekognition_total": sum(rek_spent.values()),
            "rekognition_bound": 1 + k, "within_bound": sum(rek_spent.values()) <= 1 + k,
            "cloudinary": cld_spent,
            "cloudinary_admin": cld_after["admin_calls"] - cld["admin_calls"],
            "cloudinary_upload_api": cld_after["upload_calls"] - cld["upload_calls"],
            "downloads": cld_after["delivery_requests"] - cld["delivery_requests"],
            "bytes_downloaded": downloaded, "original_bytes": int(asset["bytes"]),
            "download_ratio": round(downloaded / int(asset["bytes"]), 2),
            "original_size": f"{asset['width']}x{asset['height']}",
        }
    return rows


def retroactive(bench: Bench) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    face = compose(*LAYOUTS[1])
    older = faceless(96, 96)
    for n in RETRO_SIZES:
        step(f"retroactive tagging over {n} older assets")
        bench.reset()
        bench.rekognition.create_collection(CollectionId="facetag")
        # n older photos of the person, seeded fast: one small upload each, and the same face
        # indexed under each asset id (the face engine's cache makes that cheap).
        with ThreadPoolExecutor(8) as pool:
            assets = list(pool.map(lambda _: bench.upload(older), range(n)))
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda a: bench.rekognition.index_faces(
                CollectionId="facetag", ExternalImageId=a["asset_id"], Image={"Bytes": face},
                MaxFaces=1), assets))
        trainer = bench.upload(photos()["obama"].data, [f"train:{OBAMA}"])
        rek, cld = bench.rek_stats(), bench.cld_stats()
        ms, status = bench.notify(upload_notification(trainer))
        rek_spent = delta(bench.rek_stats(), rek)
        cld_after = bench.cld_stats()
        cld_spent = delta(cld_after["calls"], cld["calls"])
        tagged = sum(1 for a in assets[:5] if f"person:{OBAMA}" in
                     cloudinary.api.resource(a["public_id"]).get("tags", []))
        rows[str(n)] = {
            "status": status, "ms": round(ms), "rekognition": rek_spent,
            "search_faces": rek_spent.get("SearchFaces", 0),
            "cloudinary": cld_spent,
            "admin_reads": cld_after["admin_calls"] - cld["admin_calls"],
            # The training photo's own current state, then one read per 100 older assets.
            "admin_reads_bound": 1 + math.ceil(n / 100),
            "upload_api_writes": cld_after["upload_calls"] - cld["upload_calls"],
            "tag_writes_bound": math.ceil(n / 1000),
            "sample_tagged": f"{tagged}/5",
        }
    return rows


def cold_start() -> dict[str, Any]:
    """scripts/bench_cold_start.py's figures: import time against boto3, recognition memory."""
    step("cold start (scripts/bench_cold_start.py)")
    done = subprocess.run([sys.executable, "-m", "scripts.bench_cold_start", "--runs", "5"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    found = {key: re.search(pattern, done.stdout) for key, pattern in (
        ("import_app_ms", r"import app:\s+median\s+([\d.]+) ms"),
        ("import_boto3_ms", r"import boto3:\s+median\s+([\d.]+) ms"),
        ("rss_peak_mb", r"peak RSS (\d+) MB"))}
    return {"output": lines, **{k: float(m.group(1)) for k, m in found.items() if m}}


def server_benches() -> dict[str, Any]:
    results = {}
    for name, args in (("bench_face_engine", ["--seconds", "3"]),
                       ("bench_cloudinary_server", ["--seconds", "3"]),
                       ("bench_rekognition_quota", [])):
        step(f"scripts/{name}.py")
        done = subprocess.run([sys.executable, "-m", f"scripts.{name}", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=180)
        results[name] = [line for line in done.stdout.splitlines() if line.strip()]
    return results


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform()}


# -- report ----------------------------------------------------------------------------------

def markdown(r: dict[str, Any]) -> str:
    m, lat, thr = r["machine"], r["webhook_latency"], r["throughput"]
    lines = [f"Measured on the local stack: {m['nproc']} CPUs ({m['cpu']}), "
             f"Python {m['python']}.", "", "| Figure | Value |", "|---|---|"]
    for kind in ("ignored", "training", "recognition"):
        lines.append(f"| webhook answer, {kind} notification | p50 {lat[kind]['p50_ms']} ms, "
                     f"p99 {lat[kind]['p99_ms']} ms (n={lat[kind]['n']}) |")
    lines.append(f"| recognition throughput, webhook, {thr['webhook']['concurrency']} at once | "
                 f"{thr['webhook']['assets_per_minute']} assets/min |")
    lines.append(f"| reconciliation throughput, concurrency {thr['reconciliation']['concurrency']}"
                 f" | {thr['reconciliation']['assets_per_minute']} assets/min |")
    for label, row in r["calls_per_asset"].items():
        lines.append(
            f"| recognition, {label} | Rekognition {row['rekognition_total']} calls "
            f"(bound {row['rekognition_bound']}); Cloudinary {row['downloads']} download, "
            f"{row['cloudinary_upload_api']} Upload API writes, {row['cloudinary_admin']} Admin;"
            f" {row['bytes_downloaded'] // 1024} KB downloaded for a "
            f"{row['original_bytes'] // 1024} KB {row['original_size']} original |")
    for n, row in r["retroactive"].items():
        lines.append(
            f"| retroactive tagging, {n} older assets | {row['search_faces']} SearchFaces, "
            f"{sum(row['rekognition'].values())} Rekognition calls in all; "
            f"{row['admin_reads']} Admin reads (1 + ⌈n/100⌉ = {row['admin_reads_bound']}), "
            f"{row['upload_api_writes']} Upload API writes (2 on the training photo, "
            f"⌈n/1000⌉ = {row['tag_writes_bound']} tag write); {row['ms']} ms |")
    cold = r["cold_start"]
    lines.append(f"| cold start: `import app` | {cold.get('import_app_ms')} ms "
                 f"(`import boto3` alone: {cold.get('import_boto3_ms')} ms); peak RSS of one "
                 f"recognition {cold.get('rss_peak_mb')} MB |")
    quota = r["local_servers"].get("bench_rekognition_quota") or ["not measured"]
    lines.append(f"| Rekognition stand-in at its TPS quota | {quota[0]} |")
    return "\n".join(lines)


def violations(r: dict[str, Any]) -> list[str]:
    """The cost bounds facetag promises, checked on this run's figures."""
    found = [f"recognition, {label}: {row['rekognition_total']} Rekognition calls > 1 + k"
             for label, row in r["calls_per_asset"].items() if not row["within_bound"]]
    found += [f"recognition, {label}: {row['downloads']} downloads"
              for label, row in r["calls_per_asset"].items() if row["downloads"] != 1]
    for n, row in r["retroactive"].items():
        if row["search_faces"] != 1 or row["admin_reads"] > row["admin_reads_bound"] \
                or row["upload_api_writes"] > 2 + row["tag_writes_bound"]:
            found.append(f"retroactive tagging over {n} assets: {row}")
    return found


def main() -> None:
    started = time.monotonic()
    results: dict[str, Any] = {"machine": machine()}
    env = os.environ.copy()
    logs = Path(tempfile.mkdtemp(prefix="facetag-bench-"))
    with local_stack(log_dir=logs) as stack:
        for name, value in stack.env().items():
            os.environ[name] = value  # the in-process tagger's clients read them
        bench = Bench(stack)
        current = settings_module.from_env(stack.env())
        with stack.sdk():
            results["webhook_latency"] = webhook_latency(bench)
            results["throughput"] = throughput(bench, current.concurrency)
            results["calls_per_asset"] = calls_per_asset(bench)
            results["retroactive"] = retroactive(bench)
    os.environ.clear()
    os.environ.update(env)
    results["cold_start"] = cold_start()
    results["local_servers"] = server_benches()
    results["seconds"] = round(time.monotonic() - started)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "local_servers"}, indent=2))
    for name, lines in results["local_servers"].items():
        print(f"\n{name}:\n  " + "\n  ".join(lines))
    print("\n" + markdown(results))
    print(f"\n{OUT.relative_to(ROOT)} written; {results['seconds']} s in all; "
          f"the stack's logs are in {logs}")
    broken = violations(results)
    if broken:
        print("\ncost bounds not met:\n  " + "\n  ".join(broken))
        sys.exit(1)


if __name__ == "__main__":
    main()
