"""`make bench`: facetag's figures on the local stack, in one run (a few minutes).

Prints, and writes to out/bench.json (other benches' keys are kept, see bench_support.record):
- the webhook's answer latency (p50/p99) for every notification type, a 20-face group photo and
  a tag change on 1,000 assets apart (scripts/bench_webhook.py);
- recognition throughput through the queue (assets tagged a second, from the first upload to
  drained queues) at the default quota, and reconciliation's (the operator's command, inline);
- Rekognition and Cloudinary calls per recognised asset with k faces (k = 0…4), and bytes
  downloaded against the original's size;
- the calls retroactive tagging costs for 10, 100 and 1,000 older assets;
- cold-start import time and memory (scripts/bench_cold_start.py);
- the local servers' own figures (scripts/bench_face_engine.py, bench_cloudinary_server.py),
  and the calls a second botocore's standard retries achieve against the Rekognition
  stand-in's TPS quota (scripts/bench_rekognition_quota.py);
then a Markdown table for the README, with the machine it ran on.

The longer acceptance runs are separate: `make bench-burst` (scripts/bench_burst.py),
`make bench-bulk` (scripts/bench_bulk.py), `make bench-backfill` (scripts/bench_backfill.py).
Notifications are sent by this script, signed as Cloudinary signs them, so each answer is timed
exactly; the Cloudinary server's own notifications are switched off (drop rate 1).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cloudinary.api

from chalicelib import settings as settings_module
from chalicelib.faces import FaceIndex, make_client
from chalicelib.library import MediaLibrary
from chalicelib.reconcile import reconcile
from chalicelib.tagging import Tagger
from emulators.stack import APP_KEY, APP_SECRET
from scripts import bench_clusters
from scripts.bench_bulk import bulk_removal
from scripts.bench_report import markdown, violations
from scripts.bench_support import (
    BIDEN,
    OBAMA,
    OUT,
    ROOT,
    Bench,
    bench_on_stack,
    delta,
    machine,
    record,
    step,
    upload_notification,
)
from scripts.bench_webhook import sqs_send_ms, webhook_latency
from tests.e2e.test_fault_burst import compose
from tests.photos import faceless, photos

LAYOUTS: dict[int, tuple[tuple[str, bool], ...]] = {
    1: (("obama2", False),),
    2: (("obama3", False), ("biden", False)),
    3: (("obama2", False), ("biden", True), ("obama3", True)),
    4: (("obama3", False), ("biden", False), ("obama2", True), ("biden", True)),
}
RETRO_SIZES = (10, 100, 1000)


def tagger(bench: Bench) -> Tagger:
    current = settings_module.from_env(bench.stack.env())
    return Tagger(current, FaceIndex(make_client(), current.collection_id),
                  MediaLibrary(current.derivative_size), APP_KEY)


# -- the measurements ------------------------------------------------------------------------

def throughput(bench: Bench, assets: int = 48) -> dict[str, Any]:
    step(f"recognition throughput through the queue ({assets} uploads)")
    bench.reset()
    bench.train_both()
    photos_ = [bench.unique(compose(*LAYOUTS[1 + i % 4])) for i in range(assets)]
    started = time.perf_counter()
    uploaded = []
    for data in photos_:
        uploaded.append(bench.upload(data))
        assert bench.notify(upload_notification(uploaded[-1]))[1] == 200
    bench.stack.wait_for_notifications(600)
    elapsed = time.perf_counter() - started
    tags = bench.tags([a["asset_id"] for a in uploaded])
    exact = sum(1 for i, a in enumerate(uploaded) if people(tags[a["asset_id"]])
                == {OBAMA if n.startswith("obama") else BIDEN for n, _ in LAYOUTS[1 + i % 4]})
    queued = {"assets": assets, "seconds": round(elapsed, 1),
              "assets_per_second": round(assets / elapsed, 2),
              "assets_per_minute": round(assets * 60 / elapsed), "tagged_exactly": exact}

    step("reconciliation throughput (the operator's command, in-process)")
    for i in range(assets):  # notifications are dropped: only reconciliation finds these
        bench.upload(bench.unique(compose(*LAYOUTS[1 + i % 4])))
    with bench.stack.sdk(APP_KEY, APP_SECRET):
        summary = reconcile(tagger(bench))
    assert summary.processed == assets and summary.failed == 0, summary
    seconds = summary.elapsed_ms / 1000
    current = settings_module.from_env(bench.stack.env())
    return {"queue": queued,
            "reconciliation": {"assets": summary.processed, "concurrency": current.concurrency,
                               "seconds": round(seconds, 1),
                               "assets_per_minute": round(summary.processed * 60 / seconds),
                               "calls": summary.calls}}


def people(tags: list[str]) -> set[str]:
    return {t.removeprefix("person:") for t in tags if t.startswith("person:")}


def spent(bench: Bench, notification: dict[str, Any]) -> dict[str, Any]:
    """The calls one notification's work costs, once the queue has drained."""
    rek, cld = bench.rek_calls(), bench.cld_stats()
    status = bench.notify(notification)[1]
    bench.stack.wait_for_notifications(300)
    rek_spent = delta(bench.rek_calls(), rek)
    after = bench.cld_stats()
    return {"status": status, "rekognition": rek_spent,
            "cloudinary": delta(after["calls"], cld["calls"]),
            **{key: after[key] - cld[key] for key in
               ("admin_calls", "upload_calls", "delivery_requests", "delivery_bytes")}}


def calls_per_asset(bench: Bench) -> dict[str, Any]:
    step("calls per recognised asset")
    bench.reset()
    bench.train_both()
    rows: dict[str, Any] = {}
    cases: list[tuple[str, int, bytes]] = [("0 faces", 0, faceless(480, 360))]
    cases += [(f"{k} face{'s' if k > 1 else ''}", k, bench.unique(compose(*LAYOUTS[k])))
              for k in LAYOUTS]
    # A phone-sized original: the derivative, not the original, is what gets downloaded.
    cases += [("1 face, full-size original", 1, photos()["obama3"].data)]
    for label, k, data in cases:
        asset = bench.upload(data)
        s = spent(bench, upload_notification(asset))
        total = sum(s["rekognition"].values())
        rows[label] = {
            "faces": k, "status": s["status"], "rekognition": s["rekognition"],
            "rekognition_total": total, "rekognition_bound": 1 + k,
            "within_bound": total <= 1 + k, "cloudinary": s["cloudinary"],
            "cloudinary_admin": s["admin_calls"], "cloudinary_upload_api": s["upload_calls"],
            "downloads": s["delivery_requests"], "bytes_downloaded": s["delivery_bytes"],
            "original_bytes": int(asset["bytes"]),
            "download_ratio": round(s["delivery_bytes"] / int(asset["bytes"]), 2),
            "original_size": f"{asset['width']}x{asset['height']}",
        }
    return rows


def retroactive(bench: Bench) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    face = compose(*LAYOUTS[1])
    older = faceless(96, 96)
    rekognition = bench.stack.rekognition_client()
    for n in RETRO_SIZES:
        step(f"retroactive tagging over {n} older assets")
        bench.reset()
        rekognition.create_collection(CollectionId="facetag")
        # n older photos of the person, seeded fast: one small upload each, and the same face
        # indexed under each asset id (the face engine's cache makes that cheap).
        assets = bench.upload_many(lambda _: older, n)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda a: rekognition.index_faces(
                CollectionId="facetag", ExternalImageId=a["asset_id"], Image={"Bytes": face},
                MaxFaces=1), assets))
        trainer = bench.upload(photos()["obama"].data, [f"train:{OBAMA}"])
        started = time.perf_counter()
        s = spent(bench, upload_notification(trainer))
        seconds = time.perf_counter() - started
        tagged = sum(1 for a in assets[:5] if f"person:{OBAMA}" in
                     cloudinary.api.resource(a["public_id"]).get("tags", []))
        rows[str(n)] = {
            "status": s["status"], "seconds": round(seconds, 1), "rekognition": s["rekognition"],
            "search_faces": s["rekognition"].get("SearchFaces", 0),
            "cloudinary": s["cloudinary"], "admin_reads": s["admin_calls"],
            # The training photo's own current state, then one read per 100 older assets.
            "admin_reads_bound": 1 + math.ceil(n / 100),
            "upload_api_writes": s["upload_calls"],
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


def main() -> None:
    started = time.monotonic()
    results: dict[str, Any] = {"machine": machine()}
    with bench_on_stack("all") as bench:
        results["webhook_latency"] = webhook_latency(bench)
        results["sqs_send_ms"] = sqs_send_ms(bench)
        results["throughput"] = throughput(bench)
        results["calls_per_asset"] = calls_per_asset(bench)
        results["retroactive"] = retroactive(bench)
        results["bulk_removal"] = bulk_removal(bench, 600)
    results["clusters"] = bench_clusters.measure()
    results["cold_start"] = cold_start()
    results["local_servers"] = server_benches()
    results["seconds"] = round(time.monotonic() - started)
    record(results)
    print(json.dumps({k: v for k, v in results.items() if k != "local_servers"}, indent=2))
    for name, lines in results["local_servers"].items():
        print(f"\n{name}:\n  " + "\n  ".join(lines))
    print("\n" + markdown(json.loads(OUT.read_text())))
    print(f"\n{OUT.relative_to(ROOT)} written; {results['seconds']} s in all; "
          f"the stack's logs are in {bench.stack.log_dir}")
    broken = violations(results)
    if broken:
        print("\nbounds not met:\n  " + "\n  ".join(broken))
        sys.exit(1)


if __name__ == "__main__":
    main()
