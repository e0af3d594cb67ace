"""Throughput against the Rekognition TPS quota: what botocore's standard retry mode achieves
when more callers than the quota allows share it, and how many throttles that costs.

`python -m scripts.bench_rekognition_quota [--calls N] [--threads N] [--tps N]`; starts its own
local Rekognition server with `--tps` on a free port and stops it at the end. The callers call
SearchUsers back to back, each with its own boto3 client in standard retry mode (3 attempts);
a call that is still throttled on its last attempt counts as failed.
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.config import Config
from botocore.exceptions import ClientError

from emulators.common.admin_client import admin
from tests.fixtures_rekognition import rekognition_client
from tests.photos import photos
from tests.servers import running

COLLECTION, USER = "bench", "person"
STANDARD = Config(retries={"mode": "standard"})


@dataclass(frozen=True)
class QuotaRun:
    tps: float
    calls: int
    threads: int
    succeeded: int
    failed: int  # still throttled after the retries
    throttles: int  # answers the quota refused, retries included
    seconds: float

    @property
    def rate(self) -> float:
        return self.succeeded / self.seconds

    @property
    def beyond_burst(self) -> float:
        """Calls a second once the bucket's initial burst is spent: the sustained rate."""
        return max(0, self.succeeded - self.tps) / self.seconds

    def summary(self) -> str:
        return (f"SearchUsers at a {self.tps:g} TPS quota, {self.calls} calls from "
                f"{self.threads} threads, standard retry mode: {self.rate:.2f} calls/s "
                f"({self.rate / self.tps:.0%} of the quota; {self.beyond_burst:.2f} calls/s = "
                f"{self.beyond_burst / self.tps:.0%} beyond the initial burst), "
                f"{self.throttles} throttles, {self.failed} calls failed after 3 attempts, "
                f"{self.seconds:.1f} s")


def measure(calls: int, threads: int, tps: float) -> QuotaRun:
    with running(["-m", "emulators.rekognition", "--consistency-delay-ms", "0",
                  "--tps", f"{tps:g}"]) as server:
        client = rekognition_client(server.url, STANDARD)
        client.create_collection(CollectionId=COLLECTION)
        face_id = client.index_faces(
            CollectionId=COLLECTION, Image={"Bytes": photos()["obama"].data}, MaxFaces=1
        )["FaceRecords"][0]["Face"]["FaceId"]
        client.create_user(CollectionId=COLLECTION, UserId=USER)
        client.associate_faces(CollectionId=COLLECTION, UserId=USER, FaceIds=[face_id])
        admin(server.url, "stats/reset", {})
        lock = threading.Lock()
        own = threading.local()  # a client per caller, as separate workers would each have
        failed = 0

        def search(_: int) -> None:
            nonlocal failed
            if not hasattr(own, "client"):
                own.client = rekognition_client(server.url, STANDARD)
            try:
                own.client.search_users(CollectionId=COLLECTION, UserId=USER)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ProvisionedThroughputExceededException":
                    raise
                with lock:
                    failed += 1

        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(search, range(calls)))
        seconds = time.perf_counter() - started
        throttled = admin(server.url, "stats")["throttled"].get("SearchUsers", 0)
    return QuotaRun(tps, calls, threads, calls - failed, failed, throttled, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--tps", type=float, default=5.0)
    args = parser.parse_args()
    print(measure(args.calls, args.threads, args.tps).summary(), flush=True)


if __name__ == "__main__":
    main()
