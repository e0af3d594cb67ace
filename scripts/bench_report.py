"""The README's figures table from out/bench.json (every bench's latest figures), and the
bounds `make bench` checks on its own.

    python -m scripts.bench_report    prints the table from out/bench.json as it is
"""

from __future__ import annotations

import json
from typing import Any

from scripts.bench_support import OUT

WEBHOOK_P99_MS = 25.0  # issue 12: the answer only enqueues
SMALL_CONSTANT = 3  # Admin calls a bulk edit may spend beyond one read per 100 assets


def _webhook(r: dict[str, Any]) -> list[str]:
    lines = [f"| webhook answer, {kind} | p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms "
             f"(n={row['n']}{_depth(row)}) |" for kind, row in r.get("webhook_latency", {}).items()]
    if sends := r.get("sqs_send_ms"):
        lines.append("| moto's SendMessageBatch of one message to a FIFO queue (median) | "
                     + ", ".join(f"{ms} ms at {d}" for d, ms in sends.items()) + " |")
    return lines


def _depth(row: dict[str, Any]) -> str:
    """The live queue's messages (in flight) each send met, when the bench recorded them."""
    if "depth_max" not in row:
        return ""
    return f"; live queue {row['depth_p50']} in flight (median), at most {row['depth_max']}"


def _throughput(r: dict[str, Any]) -> list[str]:
    thr = r.get("throughput")
    if not thr:
        return []
    q, rec = thr["queue"], thr["reconciliation"]
    return [f"| recognition throughput through the queue, default quota (5 TPS) | "
            f"{q['assets_per_second']} assets/s ({q['assets_per_minute']} assets/min; "
            f"{q['assets']} uploads of 1 to 4 faces, first upload to drained queues; "
            f"{q['tagged_exactly']} tagged exactly) |",
            f"| reconciliation throughput (operator's command), concurrency "
            f"{rec['concurrency']} | {rec['assets_per_minute']} assets/min |"]


def _calls(r: dict[str, Any]) -> list[str]:
    lines = [f"| recognition, {label} | Rekognition {row['rekognition_total']} calls "
             f"(bound {row['rekognition_bound']}); Cloudinary {row['downloads']} download, "
             f"{row['cloudinary_upload_api']} Upload API writes, {row['cloudinary_admin']} "
             f"Admin; {row['bytes_downloaded'] // 1024} KB downloaded for a "
             f"{row['original_bytes'] // 1024} KB {row['original_size']} original |"
             for label, row in r.get("calls_per_asset", {}).items()]
    lines += [f"| retroactive tagging, {n} older assets | {row['search_faces']} SearchFaces, "
              f"{sum(row['rekognition'].values())} Rekognition calls in all; "
              f"{row['admin_reads']} Admin reads (1 + ⌈n/100⌉ = {row['admin_reads_bound']}), "
              f"{row['upload_api_writes']} Upload API writes (⌈n/1000⌉ = "
              f"{row['tag_writes_bound']} tag write, the rest on the training photo); "
              f"{row['seconds']} s through the queue |"
              for n, row in r.get("retroactive", {}).items()]
    if c := r.get("clusters"):
        grouped, plain, rebuild = c["with_grouping"], c["without_grouping"], c["rebuild"]
        lines.append(
            f"| unnamed people: {grouped['assets']} PyPI photos, {grouped['faces']} faces, "
            f"nobody trained (`scripts/bench_clusters.py`) | {grouped['unnamed_people']} "
            f"unnamed people, purity {grouped['purity']}, completeness "
            f"{grouped['completeness']}; Rekognition calls per photo "
            f"{grouped['calls_per_asset']} with clustering, {plain['calls_per_asset']} "
            f"without ({c['extra_calls_per_unknown_face']} extra per unknown face); rebuild "
            f"{rebuild['calls_per_face']} calls per face |")
    return lines


def _acceptance(r: dict[str, Any]) -> list[str]:
    lines = []
    if b := r.get("burst"):
        busiest = b["busiest"]
        lines.append(
            f"| burst: {b['n']} uploads of 0 to 4 faces at a {b['tps']:g} TPS quota "
            f"(`make bench-burst`) | {b['tagged_exactly']}/{b['n']} tagged exactly, DLQ "
            f"{b['dead_letters']}; {busiest} at {b['rates'][busiest]} calls/s = "
            f"{b['ratios'][busiest]:.0%} of the quota during the drain "
            f"({', '.join(f'{op} {v}' for op, v in b['rates'].items() if op != busiest)}; "
            f"{b['total_rate']} calls/s in all); {b['throttles']} throttled; "
            f"{b['assets_per_second']} assets/s, {b['drain_s']} s |")
    if k := r.get("bulk_removal"):
        lines.append(
            f"| bulk removal of `person:X` from {k['assets']} assets, one notification "
            f"(`make bench-bulk`) | {k['remembered']}/{k['assets']} rejections remembered; "
            f"{k['admin_calls']} Admin calls (⌈n/100⌉ = {k['admin_bound_base']}); "
            f"{k['rate_limited']} answered 420; {k['seconds']} s |")
    if f := r.get("backfill"):
        lines.append(
            f"| backfill of {f['assets']} assets, stand-in at {f['tps']:g} TPS "
            f"(`make bench-backfill`) | {f['admin_calls']} Admin calls (⌈n/500⌉ + ⌈n/100⌉ = "
            f"{f['admin_bound_base']}), besides the operator's {f['admin_calls_operator']} "
            f"and the live uploads' {f['admin_calls_live_uploads']}; {f['seconds']} s; "
            f"{f['live_uploads']} live uploads during it waited {f['live_wait_median_s']} s "
            f"(median, {f['live_wait_share']:.1%} of the duration); the ETA at a quarter done: "
            f"{f['eta_error']} |")
    return lines


def markdown(r: dict[str, Any]) -> str:
    lines = []
    if m := r.get("machine"):
        lines += [f"Measured on the local stack: {m['nproc']} CPUs ({m['cpu']}), "
                  f"Python {m['python']}.", ""]
    lines += ["| Figure | Value |", "|---|---|"]
    lines += _webhook(r) + _throughput(r) + _calls(r)
    if cold := r.get("cold_start"):
        lines.append(f"| cold start: `import app` | {cold.get('import_app_ms')} ms "
                     f"(`import boto3` alone: {cold.get('import_boto3_ms')} ms); peak RSS of "
                     f"one recognition {cold.get('rss_peak_mb')} MB |")
    if servers := r.get("local_servers"):
        quota = servers.get("bench_rekognition_quota") or ["not measured"]
        lines.append(f"| Rekognition stand-in at its TPS quota | {quota[0]} |")
    return "\n".join(lines + _acceptance(r))


def violations(r: dict[str, Any]) -> list[str]:
    """The bounds facetag promises, checked on `make bench`'s figures."""
    found = [f"webhook answer, {kind}: p99 {row['p99_ms']} ms >= {WEBHOOK_P99_MS} ms"
             for kind, row in r["webhook_latency"].items() if row["p99_ms"] >= WEBHOOK_P99_MS]
    found += [f"recognition, {label}: {row['rekognition_total']} Rekognition calls > 1 + k"
              for label, row in r["calls_per_asset"].items() if not row["within_bound"]]
    found += [f"recognition, {label}: {row['downloads']} downloads"
              for label, row in r["calls_per_asset"].items() if row["downloads"] != 1]
    for n, row in r["retroactive"].items():
        if row["search_faces"] != 1 or row["admin_reads"] > row["admin_reads_bound"] \
                or row["upload_api_writes"] > 2 + row["tag_writes_bound"]:
            found.append(f"retroactive tagging over {n} assets: {row}")
    bulk = r["bulk_removal"]
    if bulk["remembered"] != bulk["assets"] or bulk["rate_limited"] \
            or bulk["admin_calls"] > bulk["admin_bound_base"] + SMALL_CONSTANT:
        found.append(f"bulk removal: {bulk}")
    return found


if __name__ == "__main__":
    print(markdown(json.loads(OUT.read_text())))
