"""`make bench-backfill [ASSETS=5000] [BACKFILL_TPS=20]`: a library uploaded while notifications
were off, tagged by `facetag backfill`, with live uploads arriving meanwhile.

    python -m scripts.bench_backfill [--assets 5000] [--tps 20] [--live-every 10]

The assets are small faceless images (one IndexFaces each, cheap for the face engine), and the
quota of the stand-in and of the app is `--tps` (20 by default rather than AWS's 5, so that
5,000 assets take minutes, not half an hour). While the backfill runs, one photo is uploaded and
notified every `--live-every` seconds; its wait is the time from its notification to its
recognition in the workers' log. Once a quarter of the assets are done, `facetag backfill
status` gives an ETA, compared with the real end. Figures under "backfill" in out/bench.json:
the app's Admin calls (the operator's and the live uploads' own counted apart) against
⌈n/500⌉ + ⌈n/100⌉, the duration, the live uploads' median wait and the ETA's error.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from emulators.stack import LocalStack, admin
from scripts.bench_support import Bench, bench_on_stack, machine, record, step, upload_notification
from tests.e2e.test_fault_burst import compose
from tests.photos import faceless

STATUS_CALLS = 2  # Admin calls of one `facetag backfill status` (two Search counts)
START_CALLS = 2  # `facetag backfill` itself: two Search counts (marked and failed at the start)


def facetag(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    """The operator's command, configured like the app, on this stack."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("CLOUDINARY_", "FACETAG_", "AWS_"))}
    done = subprocess.run([sys.executable, "-m", "facetag_cli", *args],
                          env={**clean, **stack.env()}, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done


def backfilled(log: Path) -> int:
    """Assets the backfill workers have handled so far, from their batch log lines."""
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        if '"batch handled"' in line and "backfill" in line:
            count += int(json.loads(line).get("assets", 0))
    return count


def handled_at(log: Path, asset_ids: set[str]) -> dict[str, float]:
    """When the workers recognised each asset, from their log (seconds since the epoch)."""
    found: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        if '"facetag.recognition"' not in line:
            continue
        entry = json.loads(line)
        if entry.get("asset_id") in asset_ids and entry["asset_id"] not in found:
            found[entry["asset_id"]] = datetime.fromisoformat(entry["timestamp"]).timestamp()
    return found


def backfill(bench: Bench, n: int, tps: float, live_every: float) -> dict[str, Any]:
    stack = bench.stack
    assert stack.log_dir is not None
    log = stack.log_dir / "workers.log"
    bench.reset()  # notifications off: the library is uploaded behind facetag's back
    step(f"{n} faceless assets uploaded while notifications are off")
    bench.upload_many(lambda _: faceless(96, 96), n, threads=8)
    facetag(stack, "init")
    admin(stack.cloudinary.url, "stats/reset", method="POST")
    step("facetag backfill")
    started = time.monotonic()
    facetag(stack, "backfill")
    live: dict[str, float] = {}  # asset id: when notified
    eta: dict[str, float] = {}
    status_calls = 1  # the final status
    face = compose(("obama2", False))
    while True:
        done = backfilled(log)
        if not eta and done >= n / 4:
            report = json.loads(facetag(stack, "backfill", "status", "--json").stdout)
            status_calls += 1
            if report["eta_s"] is not None:
                eta = {"at_s": time.monotonic() - started, "eta_s": float(report["eta_s"]),
                       "done": report["done"]}
        if done >= n:
            break
        asset = bench.upload(bench.unique(face))
        live[asset["asset_id"]] = time.time()
        assert bench.notify(upload_notification(asset))[1] == 200
        time.sleep(live_every)
    stack.wait_for_notifications(600)
    seconds = time.monotonic() - started
    report = json.loads(facetag(stack, "backfill", "status", "--json").stdout)
    stats = bench.cld_stats()
    handled = handled_at(log, set(live))
    waits = [handled[a] - t for a, t in live.items() if a in handled]
    app_calls = stats["admin_calls"] - START_CALLS - STATUS_CALLS * status_calls - len(live)
    return {
        "assets": n, "tps": tps, "seconds": round(seconds, 1),
        "admin_calls": app_calls, "admin_calls_measured": stats["admin_calls"],
        "admin_calls_operator": START_CALLS + STATUS_CALLS * status_calls,
        "admin_calls_live_uploads": len(live),
        "admin_bound_base": math.ceil(n / 500) + math.ceil(n / 100),
        "calls_by_route": stats["calls"], "rekognition": bench.rek_stats()["calls"],
        "live_uploads": len(live), "live_handled": len(waits),
        "live_wait_median_s": round(statistics.median(waits), 2) if waits else None,
        "live_wait_max_s": round(max(waits), 2) if waits else None,
        "live_wait_share": round(statistics.median(waits) / seconds, 4) if waits else None,
        "eta": eta, "eta_error": eta_error(eta, seconds), "status": report,
    }


def eta_error(eta: dict[str, float], seconds: float) -> str:
    if not eta:
        return "no ETA given"
    actual = seconds - eta["at_s"]
    return (f"{eta['eta_s']:.0f} s left at {eta['at_s']:.0f} s, really {actual:.0f} s "
            f"({(eta['eta_s'] - actual) / actual:+.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=5000)
    parser.add_argument("--tps", type=float, default=20.0)
    parser.add_argument("--live-every", type=float, default=10.0)
    args = parser.parse_args()
    with bench_on_stack("backfill", rekognition_tps=args.tps) as bench:
        figures = backfill(bench, args.assets, args.tps, args.live_every)
    record({"backfill": figures, "backfill_machine": machine()})
    print(json.dumps(figures, indent=2))
    print(f"stack logs: {bench.stack.log_dir}")


if __name__ == "__main__":
    main()
