"""Cold start figures: what importing the app costs, and the memory of one recognition.

    python -m scripts.bench_cold_start [--runs 7]

1. `import app` in a fresh interpreter, against `import boto3` alone (which any Lambda using
   AWS pays), alternating the two, `--runs` times each: medians and their ratio. Import must
   stay cheap: no client, no network, no file read at import time.
2. One recognition (a photo with two faces) on the local stack, in a fresh process that does
   what the Lambda does (settings, secret and tagger from `chalicelib.runtime`,
   `Tagger.process`): the process's peak resident memory (ru_maxrss) after the imports and
   after the recognition, and the peak of Python allocations during the recognition alone
   (tracemalloc).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
IMPORT_TIMER = ("import time; t = time.perf_counter(); import {module}; "
                "print(time.perf_counter() - t)")


def import_seconds(module: str) -> float:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    run = subprocess.run([sys.executable, "-c", IMPORT_TIMER.format(module=module)],
                         cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True)
    return float(run.stdout.strip())


def import_medians(runs: int) -> tuple[float, float]:
    app_times, boto3_times = [], []
    for _ in range(runs):  # alternating: a slow moment of the machine hits both alike
        boto3_times.append(import_seconds("boto3"))
        app_times.append(import_seconds("app"))
    return statistics.median(app_times), statistics.median(boto3_times)


def recognise_one(public_id: str) -> dict[str, float | str]:
    """In this process: what one webhook-triggered recognition allocates (child side)."""
    import dataclasses
    import resource
    import tracemalloc

    import cloudinary.api

    import app  # noqa: F401 - what Lambda imports first, counted in the memory figures
    from chalicelib import runtime
    from chalicelib.assets import asset_from_resource

    tagger = runtime.tagger()
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stored = asset_from_resource(cloudinary.api.resource(public_id, tags=True, context=True))
    # As a new upload: no faces remembered, so the derivative is downloaded and indexed.
    asset = dataclasses.replace(stored, context={}, tags=())
    image = tagger.library.download_derivative(asset.ref, asset.version)  # its size, for scale
    tracemalloc.start()
    outcome = tagger.process(asset, rerun=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if outcome.kind != "recognised":
        raise RuntimeError(f"recognition did not run: {outcome}")
    return {"rss_after_imports_mb": before_kib / 1024, "rss_peak_mb": after_kib / 1024,
            "traced_peak_mb": peak / 1024 / 1024, "derivative_kb": len(image) / 1024,
            "outcome": str(outcome)}


def recognition_memory() -> dict[str, Any]:
    import cloudinary
    import cloudinary.uploader

    from emulators.stack import local_stack
    from tests.photos import photos, side_by_side

    p = photos()
    with tempfile.TemporaryDirectory() as logs, local_stack(log_dir=Path(logs)) as stack:
        env = stack.env()
        with stack.sdk(env["CLOUDINARY_API_KEY"], env["CLOUDINARY_API_SECRET"]):
            cloudinary.uploader.upload(side_by_side(p["obama2"].path, p["biden"].path),
                                       public_id="bench/pair")
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("CLOUDINARY_", "FACETAG_"))}
        run = subprocess.run([sys.executable, "-m", "scripts.bench_cold_start", "--recognise",
                              "bench/pair"], cwd=PROJECT_DIR, env={**clean, **env},
                             capture_output=True, text=True, timeout=300, check=False)
        if run.returncode != 0:
            raise RuntimeError(run.stderr)
    figures: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cold start and memory figures")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--recognise", metavar="PUBLIC_ID", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.recognise:  # the child process of the memory measurement
        print(json.dumps(recognise_one(args.recognise)))
        return 0
    app_s, boto3_s = import_medians(args.runs)
    print(f"import app:   median {app_s * 1000:6.1f} ms over {args.runs} fresh interpreters")
    print(f"import boto3: median {boto3_s * 1000:6.1f} ms")
    print(f"ratio app/boto3: {app_s / boto3_s:.2f}")
    memory = recognition_memory()
    print(f"one recognition ({memory['outcome']}; derivative {memory['derivative_kb']:.0f} KB):")
    print(f"  peak RSS {memory['rss_peak_mb']:.0f} MB ({memory['rss_after_imports_mb']:.0f} MB "
          f"after imports and clients); Python allocations peak "
          f"{memory['traced_peak_mb']:.2f} MB during the recognition")
    return 0


if __name__ == "__main__":
    sys.exit(main())
