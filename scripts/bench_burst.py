"""`make bench-burst [N=1000] [TPS=5]`: a burst of uploads drained at the Rekognition quota.

    python -m scripts.bench_burst [--n 1000] [--tps 5]

The stand-in's quota (`FACETAG_STANDIN_REKOGNITION_TPS`) and the app's (`FACETAG_REKOGNITION_TPS`)
are both `--tps`. Two people are trained, then N photos of 0 to 4 faces of them (the burst test's
seven layouts, each copy made unique) are uploaded, and each upload's notification posted at
once. Figures (printed, and under "burst" in out/bench.json): assets tagged exactly (against
the expected people), messages in the dead-letter queues, Rekognition calls answered a second
per operation from the burst's first call to its last, each ÷ the quota (the busiest
operation's ratio is the acceptance figure, at least 85 %), calls refused by the quota, and
the assets a second. At 5 TPS, N=1000 takes about ten minutes.
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scripts.bench_support import (
    Bench,
    bench_on_stack,
    delta,
    latency,
    machine,
    record,
    step,
    upload_notification,
)
from tests.e2e.test_fault_burst import photo_set

SAMPLE_S = 1.0
ACCEPTED_RATIO = 0.85


class Sampler(threading.Thread):
    """The stand-in's counters every second while the burst drains: (seconds, answered calls by
    operation) with throttled calls left out."""

    def __init__(self, bench: Bench) -> None:
        super().__init__(daemon=True)
        self.bench = bench
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            stats = self.bench.rek_stats()
            answered = delta(stats["calls"], stats["throttled"])
            self.samples.append((time.monotonic(), answered))
            self.done.wait(SAMPLE_S)

    def stop(self) -> None:
        self.done.set()
        self.join()
        stats = self.bench.rek_stats()
        self.samples.append((time.monotonic(), delta(stats["calls"], stats["throttled"])))


def rates(samples: list[tuple[float, dict[str, int]]]) -> tuple[dict[str, float], float]:
    """Each operation's calls a second from the first sample its count moved to the last,
    and the whole burst's span in seconds (first call of any operation to the last)."""
    found: dict[str, float] = {}
    start, end = float("inf"), 0.0
    base = samples[0][1]
    for op in {op for _, counts in samples for op in counts}:
        moving = [(t, counts.get(op, 0) - base.get(op, 0)) for t, counts in samples]
        if not moving[-1][1]:
            continue  # called before the burst only
        first = next(i for i, (_, n) in enumerate(moving) if n > 0)
        last = next(i for i in range(len(moving)) if moving[i][1] == moving[-1][1])
        t0 = moving[max(0, first - 1)][0]
        found[op] = round(moving[last][1] / (moving[last][0] - t0), 2)
        start, end = min(start, t0), max(end, moving[last][0])
    return found, end - start


def burst(bench: Bench, n: int, tps: float) -> dict[str, Any]:
    bench.reset()
    bench.train_both()
    step(f"{n} unique photos of 0 to 4 faces")
    layouts = photo_set()
    made = [(bench.unique(layouts[i % len(layouts)].data), layouts[i % len(layouts)].people)
            for i in range(n)]
    admin_before = bench.rek_stats()
    sampler = Sampler(bench)
    sampler.start()
    step(f"the burst: {n} uploads, each notified at once")
    started = time.monotonic()

    answers: list[float] = []

    def upload(i: int) -> str:
        asset = bench.upload(made[i][0], public_id=f"burst/{i:05d}")
        ms, status = bench.notify(upload_notification(asset))
        assert status == 200
        answers.append(ms)
        return str(asset["asset_id"])

    with ThreadPoolExecutor(8) as pool:
        asset_ids = list(pool.map(upload, range(n)))
    uploaded_s = time.monotonic() - started
    step(f"uploaded in {uploaded_s:.0f} s; the queue drains")
    bench.stack.wait_for_notifications(timeout=n * 10 / tps + 600)
    sampler.stop()
    drain_s = time.monotonic() - started
    per_op, span = rates(sampler.samples)
    tags = bench.tags(asset_ids)
    exact = sum(1 for (_, people), a in zip(made, asset_ids, strict=True)
                if {t.removeprefix("person:") for t in tags[a] if t.startswith("person:")}
                == people)
    after = bench.rek_stats()
    answered = delta(delta(after["calls"], admin_before["calls"]),
                     delta(after["throttled"], admin_before["throttled"]))
    busiest = max(per_op, key=lambda op: per_op[op])
    return {"n": n, "tps": tps, "tagged_exactly": exact,
            "dead_letters": sum(bench.stack.dead_letters().values()),
            "rates": per_op, "ratios": {op: round(r / tps, 3) for op, r in per_op.items()},
            "busiest": busiest, "busiest_ratio": round(per_op[busiest] / tps, 3),
            "calls": answered, "total_rate": round(sum(answered.values()) / span, 2),
            "throttles": sum(delta(after["throttled"], admin_before["throttled"]).values()),
            "uploaded_s": round(uploaded_s, 1), "drain_s": round(drain_s, 1),
            "assets_per_second": round(n / drain_s, 2),
            # moto's sends slow down with the queue's depth (README, Benchmarks)
            "webhook_answers": latency(answers),
            "timeline": [(round(t - started, 1), c) for t, c in sampler.samples[::10]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--tps", type=float, default=5.0)
    args = parser.parse_args()
    with bench_on_stack("burst", rekognition_tps=args.tps) as bench:
        figures = burst(bench, args.n, args.tps)
    record({"burst": figures, "burst_machine": machine()})
    shown = {k: v for k, v in figures.items() if k != "timeline"}
    for key, value in shown.items():
        print(f"{key}: {value}")
    print(f"stack logs: {bench.stack.log_dir}")
    if figures["busiest_ratio"] < ACCEPTED_RATIO or figures["tagged_exactly"] != args.n \
            or figures["dead_letters"]:
        raise SystemExit("burst: acceptance not met")


if __name__ == "__main__":
    main()
