"""Throughput of the local Cloudinary server through the real SDK: uploads/s and searches/s.

`python -m scripts.bench_cloudinary_server [--seconds N] [--threads N]`; bounded to under a
minute. Starts its own server on a free port and stops it at the end.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import cloudinary
import cloudinary.uploader

from tests.fixtures_cloudinary import CloudinaryServer, jpeg_bytes, sdk_config_for
from tests.servers import running


def _rate(label: str, count: int, seconds: float) -> None:
    print(f"{label:<32} {count:>6} in {seconds:5.2f}s  = {count / seconds:8.1f}/s", flush=True)


_public_ids = itertools.count()  # shared by both phases so every upload is a new asset


def bench_uploads(seconds: float, threads: int) -> int:
    image = jpeg_bytes(64, 48)
    deadline = time.monotonic() + seconds
    done = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            cloudinary.uploader.upload(image, public_id=f"bench/{next(_public_ids):06d}",
                                       tags="bench,facetag:v1" if done % 2 else "bench")
            with lock:
                done += 1

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()
    _rate(f"uploads ({threads} thread(s))", done, time.monotonic() - started)
    return done


def bench_searches(seconds: float) -> None:
    expression = 'resource_type:image AND type:upload AND uploaded_at>1d AND -tags="facetag:v1"'
    deadline = time.monotonic() + seconds
    started, done = time.monotonic(), 0
    while time.monotonic() < deadline:
        (cloudinary.Search().expression(expression).sort_by("uploaded_at", "asc")
         .max_results(500).with_field("tags").with_field("context").execute())
        done += 1
    _rate("searches (500 per page)", done, time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase (max 15)")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    seconds = min(args.seconds, 15.0)
    argv = ["-m", "emulators.cloudinary", "--admin-rate-limit", "1000000"]
    with running(argv, timeout=30) as process:
        server = CloudinaryServer(process)
        cloudinary.config(**sdk_config_for(server))
        bench_uploads(seconds / 2, 1)
        count = bench_uploads(seconds, args.threads)
        print(f"library now holds {server.stats()['assets']} assets ({count} from the last phase)")
        bench_searches(seconds / 2)


if __name__ == "__main__":
    main()
