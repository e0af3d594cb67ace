"""The webhook's answer latency, p50/p99, for every notification type facetag receives.

The answer only verifies and enqueues, so it must not depend on the photo (a 20-face group
photo is timed apart) nor on the number of assets (a tag change on 1,000 assets is timed
apart). Each notification is posted and timed by the bench (bench_support.Bench.notify) once
the stack is idle, the previous notification's work done: on AWS the route runs in a Lambda of
its own, while here the workers and the Rekognition stand-in's face detection share the
machine's cores with it, and a timing taken while they work measures them.

Alone: `make bench-webhook [REPEATS=200]` (`python -m scripts.bench_webhook --repeats N`), N
notifications of each type; the 20-face group photo's are spread over `GROUP_PHOTOS` uploads
(the answer never looks at the photo; each photo is recognised once by the workers).
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from PIL import Image

from chalicelib import settings as settings_module
from chalicelib import webhook
from emulators.cloudinary.signing import sign_notification
from emulators.stack import APP_SECRET
from scripts.bench_support import (
    BIDEN,
    OBAMA,
    Bench,
    bench_on_stack,
    context_notification,
    delete_notification,
    latency,
    record,
    step,
    tags_notification,
    upload_notification,
)
from tests.e2e.test_fault_burst import compose
from tests.photos import faceless, jpeg_bytes

PORTRAITS = (("obama2", False), ("biden", False), ("obama3", True), ("biden", True))
GROUP_COLUMNS, GROUP_ROWS = 5, 4  # 20 faces
BULK_ASSETS = 1000
GROUP = "upload, 20-face group photo"
GROUP_PHOTOS = 5  # distinct group photos; more notifications name them again
REPEATS = {GROUP: 5, "ignored": 200, "upload": 30,
           "training tag": 15, "tag removal": 30, "context change": 15, "deletion": 30,
           f"tag change on {BULK_ASSETS} assets": 20}


def group_photo() -> bytes:
    """Twenty single portraits (240 px cells) on a 5 x 4 grid: 1200 x 960."""
    cells = [Image.open(io.BytesIO(compose(PORTRAITS[i % 4]))) for i in range(4)]
    cell = cells[0].width
    canvas = Image.new("RGB", (cell * GROUP_COLUMNS, cell * GROUP_ROWS), "white")
    for i in range(GROUP_COLUMNS * GROUP_ROWS):
        canvas.paste(cells[i % 4], ((i % GROUP_COLUMNS) * cell, (i // GROUP_COLUMNS) * cell))
    return jpeg_bytes(canvas)


def timed(bench: Bench, n: int, payload: Callable[[int], dict[str, Any]]) -> list[float]:
    """Each of `n` notifications' answer time; every one must be answered 200."""
    times = []
    for i in range(n):
        body = payload(i)  # made (and its asset uploaded) before the clock starts
        bench.stack.wait_for_notifications(900)
        ms, status = bench.notify(body)
        assert status == 200, (status, body.get("notification_type"))
        times.append(ms)
    return times


def webhook_latency(bench: Bench, repeats: int = 0) -> dict[str, Any]:
    """p50/p99 for each type, `REPEATS` notifications each, or `repeats` when given."""
    step("webhook latency, every notification type")
    bench.reset()
    bench.train_both()
    single = [compose(PORTRAITS[i % 4]) for i in range(4)]
    group = group_photo()
    step(f"  {BULK_ASSETS} quiet assets for the bulk tag change")
    bulk = bench.upload_many(lambda _: faceless(96, 96), BULK_ASSETS)

    groups: list[dict[str, Any]] = []

    def group_upload(i: int) -> dict[str, Any]:
        if len(groups) < GROUP_PHOTOS:
            groups.append(bench.upload(bench.unique(group)))
        return {**upload_notification(groups[i % GROUP_PHOTOS]), "request_id": uuid.uuid4().hex}

    kinds: dict[str, Callable[[int], dict[str, Any]]] = {
        GROUP: group_upload,
        "ignored": lambda i: {"notification_type": "create_folder", "folder_path": f"f{i}"},
        "upload": lambda i: upload_notification(bench.upload(bench.unique(single[i % 4]))),
        "training tag": lambda i: tags_notification(
            [bench.upload(bench.unique(single[0]))], added=[f"train:{OBAMA}"]),
        "tag removal": lambda i: tags_notification(
            [bench.upload(faceless(96, 96), [f"person:{BIDEN}"])], removed=[f"person:{BIDEN}"]),
        "context change": lambda i: context_notification(
            bench.upload(bench.unique(single[1])), "person", BIDEN),
        "deletion": lambda i: delete_notification(bench.upload(faceless(96, 96))),
        f"tag change on {BULK_ASSETS} assets": lambda i: tags_notification(
            bulk, removed=[f"person:Somebody {i % 5}"]),
    }
    figures = {}
    for kind, make in kinds.items():
        n = repeats or REPEATS[kind]
        step(f"  {kind} x {n}")
        figures[kind] = latency(timed(bench, n, make))
    bench.stack.wait_for_notifications(900)
    gc.freeze()  # as app.py does in the route's container: this process's objects stay put
    figures[f"tag change on {BULK_ASSETS} assets, in-process, no SQS"] = latency(
        [in_process(tags_notification(bulk, removed=[f"person:Nobody {i}"]))
         for i in range(max(20, repeats))])
    return figures


def in_process(payload: dict[str, Any]) -> float:
    """The route's own work on one notification, in this process, the queue a list: what the
    answer costs apart from the HTTP hop and SQS's send."""
    body = json.dumps(payload).encode()
    stamp = int(time.time())
    headers = {"X-Cld-Timestamp": str(stamp),
               "X-Cld-Signature": sign_notification(body, stamp, APP_SECRET)}
    current = settings_module.from_env()
    started = time.perf_counter()
    answer = webhook.handle(body, headers, lambda: current, lambda: APP_SECRET, lambda: None,
                            lambda messages: None, time.time)
    assert answer.status == 200, answer
    return (time.perf_counter() - started) * 1000


def sqs_send_ms(bench: Bench, depths: tuple[int, ...] = (0, 1000)) -> dict[str, float]:
    """One small message's send to a scratch FIFO queue on the stack's moto, at each depth
    (median of 5): moto looks through a FIFO queue's messages on each send and receive."""
    client = bench.stack.sqs_client()
    url = client.create_queue(QueueName="bench-scratch.fifo",
                              Attributes={"FifoQueue": "true"})["QueueUrl"]
    found = {}
    try:
        for depth in depths:
            while int(client.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]
                    ) < depth:
                client.send_message_batch(QueueUrl=url, Entries=[_entry(str(i))
                                                                 for i in range(10)])
            times = []
            for _ in range(5):
                started = time.perf_counter()
                client.send_message_batch(QueueUrl=url, Entries=[_entry("0")])
                times.append((time.perf_counter() - started) * 1000)
            found[f"depth {depth}"] = round(statistics.median(times), 1)
    finally:
        client.delete_queue(QueueUrl=url)
    return found


def _entry(n: str) -> dict[str, str]:
    unique = uuid.uuid4().hex
    return {"Id": n, "MessageBody": "x" * 300, "MessageGroupId": unique,
            "MessageDeduplicationId": unique}


def main() -> None:
    parser = argparse.ArgumentParser(description="The webhook's answer latency, every type.")
    parser.add_argument("--repeats", type=int, default=0,
                        help="notifications of each type (default: make bench's)")
    args = parser.parse_args()
    with bench_on_stack("webhook") as bench:
        figures = webhook_latency(bench, args.repeats)
    record({"webhook_latency": figures})
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
