"""Bulk removal: a librarian removes `person:X` from 600 assets in one call (one notification
naming all 600), with the free plan's hourly Admin quota (500) in force.

    python -m scripts.bench_bulk [--assets 600]    (`make bench-bulk`; `make bench` runs it too)

Figures (under "bulk_removal" in out/bench.json): rejections remembered on the assets
(`facetag_rejected` naming X), the app's Admin calls against ⌈n/100⌉, how many Admin calls were
refused with 420 (in the workers' log), and the seconds from the call to drained queues.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import cloudinary.api
import cloudinary.uploader

from chalicelib.assets import asset_from_resource
from emulators.stack import admin
from scripts.bench_support import Bench, bench_on_stack, record, step
from tests.photos import faceless

NAME = "Zed"
QUOTA = 500  # the free plan's Admin calls an hour


def rate_limited(log: Path | None, start: int) -> int:
    """Lines of the workers' log after `start` that report an Admin call refused with 420."""
    if log is None:
        return 0
    with log.open("rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    return sum(1 for line in text.splitlines() if "RateLimited" in line or " 420" in line)


def bulk_removal(bench: Bench, n: int) -> dict[str, Any]:
    step(f"bulk removal of person:{NAME} from {n} assets")
    bench.reset()
    assets = bench.upload_many(lambda _: faceless(96, 96), n, tags=[f"person:{NAME}"])
    public_ids = [a["public_id"] for a in assets]
    stack = bench.stack
    admin(stack.cloudinary.url, "notifications", {"drop_rate": 0.0})
    admin(stack.cloudinary.url, "stats/reset", method="POST")
    admin(stack.cloudinary.url, "rate_limit", {"limit": QUOTA})
    log = stack.log_dir / "workers.log" if stack.log_dir else None
    log_start = log.stat().st_size if log else 0
    started = time.monotonic()
    for i in range(0, n, 1000):  # the SDK's remove_tag takes 1,000 public ids a call
        cloudinary.uploader.remove_tag(f"person:{NAME}", public_ids[i:i + 1000])
    stack.wait_for_notifications(300)
    seconds = time.monotonic() - started
    stats = bench.cld_stats()
    remembered = 0
    for i in range(0, n, 100):
        r = cloudinary.api.resources_by_asset_ids([a["asset_id"] for a in assets[i:i + 100]],
                                                  context=True)
        for resource in r["resources"]:
            rejected = asset_from_resource(resource).context.get("facetag_rejected")
            remembered += bool(rejected) and NAME in json.loads(rejected)
    admin(stack.cloudinary.url, "rate_limit", {"limit": 1_000_000})
    admin(stack.cloudinary.url, "notifications", {"drop_rate": 1.0})
    return {"assets": n, "remembered": remembered, "admin_calls": stats["admin_calls"],
            "admin_bound_base": math.ceil(n / 100), "calls_by_route": stats["calls"],
            "rate_limited": rate_limited(log, log_start),
            "notifications": stats["notifications"], "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=600)
    args = parser.parse_args()
    with bench_on_stack("bulk") as bench:
        figures = bulk_removal(bench, args.assets)
    record({"bulk_removal": figures})
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
