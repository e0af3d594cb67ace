"""IndexFaces throughput of the local Rekognition server through boto3, on the PyPI photos.

`python -m scripts.bench_face_engine [--seconds N] [--threads N]`; bounded to well under a
minute. Starts its own server on a free port and stops it at the end. Each request carries a
unique byte suffix (ignored by the decoders) so the server's per-image cache never answers:
the figures are for new photos. A second phase resends identical bytes to show the cached path.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.fixtures_rekognition import rekognition_client
from tests.photos import photos
from tests.servers import running


def _bench(url: str, images: list[bytes], seconds: float, threads: int, fresh: bool) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase (4 phases)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    shipped = photos()
    images = [shipped[name].data for name in ("obama", "obama2", "obama3", "obama_png", "biden")]
    sizes = ", ".join(f"{len(data) // 1024} KB" for data in images)
    print(f"{len(images)} photos as shipped in the face-recognition 1.3.0 sdist ({sizes})")
    with running(["-m", "emulators.rekognition"]) as server:
        rekognition_client(server.url).create_collection(CollectionId="bench")
        _bench(server.url, images, args.seconds, 1, fresh=True)
        _bench(server.url, images, args.seconds, args.threads, fresh=True)
        warm = rekognition_client(server.url)
        for data in images:  # fill the cache before timing the cached path
            warm.index_faces(CollectionId="bench", Image={"Bytes": data})
        _bench(server.url, images, min(args.seconds, 3.0), 1, fresh=False)


if __name__ == "__main__":
    main()
