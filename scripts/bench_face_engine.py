"""Face engine figures: IndexFaces throughput of the local Rekognition server, and the engine's
detection rule before and after it detected at the derivative's resolution.

`python -m scripts.bench_face_engine [--seconds N] [--threads N]`; bounded to about a minute.
Starts its own server on a free port and stops it at the end.

1. IndexFaces through boto3 on the PyPI photos. Each request carries a unique byte suffix
   (ignored by the decoders) so the server's per-image cache never answers: the figures are
   for new photos. A last phase resends identical bytes to show the cached path.
2. The engine in this process, with the rule it had before (every image scaled to 1.6
   megapixels) and the current one (1.6x up to a 1920 px long side, so 40 px faces are found),
   image by image in turn so the machine's other load weighs on both alike: images per second
   (detection and a descriptor per face, no cache) on the PyPI photos and on a 1920x1280 group
   photo of four faces 40-64 px wide, and how many of those four each rule finds.
"""

from __future__ import annotations

import argparse
import itertools
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from emulators.rekognition.engine import (
    DecodedImage,
    FaceEngine,
    ScaleRule,
    decode_image,
    detection_scale,
)
from tests.fixtures_rekognition import (
    GROUP_SIZE,
    PlacedFace,
    rekognition_client,
    small_faces_group,
)
from tests.photos import photos
from tests.servers import running

SHIPPED = ("obama", "obama2", "obama3", "obama_png", "biden")


def pixel_budget_scale(width: int, height: int) -> float:
    """The rule before: scale to 1.6 megapixels (down for big photos, at most 2.5x up)."""
    return min(2.5, math.sqrt(1_600_000 / (width * height)))


def _index_faces(url: str, images: list[bytes], seconds: float, threads: int,
                 fresh: bool) -> None:
    counter = itertools.count()
    deadline = time.monotonic() + seconds
    done, faces = 0, 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal done, faces
        client = rekognition_client(url)
        while time.monotonic() < deadline:
            n = next(counter)
            data = images[n % len(images)]
            if fresh:
                data += f"bench-{n}".encode()  # after the JPEG EOI / PNG IEND: ignored
            records = client.index_faces(CollectionId="bench", ExternalImageId=f"img{n}",
                                         Image={"Bytes": data})["FaceRecords"]
            with lock:
                done += 1
                faces += len(records)

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()
    elapsed = time.monotonic() - started
    label = "new images" if fresh else "repeated images (cached)"
    print(f"IndexFaces, {label:<25} {threads} thread(s): {done:4d} images, {faces:4d} faces "
          f"in {elapsed:5.1f}s = {done / elapsed:5.2f} images/s, "
          f"{1000 * elapsed * threads / max(done, 1):6.0f} ms/image", flush=True)


def _analyse(engine: FaceEngine, image: DecodedImage) -> list[tuple[float, float]]:
    """Detect and describe every face, as IndexFaces does; the faces' centres in pixels."""
    faces = engine.find_faces(image)
    for face in faces:
        engine.describe(image, face)
    return [(f.box.left + f.box.width / 2, f.box.top + f.box.height / 2) for f in faces]


def _found(centres: list[tuple[float, float]], placed: list[PlacedFace]) -> int:
    return sum(1 for face in placed if any(
        abs(x - face.centre[0]) < face.width / 2 and abs(y - face.centre[1]) < face.width / 2
        for x, y in centres))


def _compare_rules(rules: dict[str, ScaleRule], shipped: list[DecodedImage],
                   group: DecodedImage, placed: list[PlacedFace], seconds: float) -> None:
    engines = {name: FaceEngine(scale=rule) for name, rule in rules.items()}
    spent = {(name, kind): 0.0 for name in rules for kind in ("photos", "group")}
    counts = dict.fromkeys(spent, 0)
    found: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or not found:
        for kind, image in [("photos", image) for image in shipped] + [("group", group)]:
            for name, engine in engines.items():
                started = time.perf_counter()
                centres = _analyse(engine, image)
                spent[name, kind] += time.perf_counter() - started
                counts[name, kind] += 1
                if kind == "group":
                    found[name] = _found(centres, placed)
    for name in rules:
        rates = {kind: counts[name, kind] / spent[name, kind] for kind in ("photos", "group")}
        print(f"engine, {name:<27} {rates['photos']:5.2f} images/s on the PyPI photos, "
              f"{rates['group']:5.2f} on the {GROUP_SIZE[0]}x{GROUP_SIZE[1]} group, "
              f"found {found[name]} of its {len(placed)} faces of "
              f"{min(p.width for p in placed)}-{max(p.width for p in placed)} px", flush=True)
    before, after = rules
    for kind in ("photos", "group"):
        factor = (spent[after, kind] / counts[after, kind]) / (
            spent[before, kind] / counts[before, kind])
        print(f"engine, after/before time per image on the {kind}: {factor:4.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase (5 phases)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    shipped = photos()
    images = [shipped[name].data for name in SHIPPED]
    sizes = ", ".join(f"{len(data) // 1024} KB" for data in images)
    print(f"{len(images)} photos as shipped in the face-recognition 1.3.0 sdist ({sizes})")
    with running(["-m", "emulators.rekognition", "--consistency-delay-ms", "0"]) as server:
        client = rekognition_client(server.url)
        client.create_collection(CollectionId="bench")
        _index_faces(server.url, images, args.seconds, 1, fresh=True)
        _index_faces(server.url, images, args.seconds, args.threads, fresh=True)
        for data in images:  # fill the cache before timing the cached path
            client.index_faces(CollectionId="bench", Image={"Bytes": data})
        _index_faces(server.url, images, min(args.seconds, 3.0), 1, fresh=False)
        group, placed = small_faces_group(client)
    rules: dict[str, ScaleRule] = {"before (1.6 MP budget)": pixel_budget_scale,
                                   "after (derivative res.)": detection_scale}
    _compare_rules(rules, [decode_image(data) for data in images], decode_image(group),
                   placed, 2 * args.seconds)


if __name__ == "__main__":
    main()
