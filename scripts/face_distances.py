"""Pairwise descriptor distances on the test photos, beside the distance -> Similarity mapping.

`python -m scripts.face_distances`. Runs the face engine in-process (no server). The mapping is
anchored on the model's published operating point, not fitted to these photos; this script only
shows where the photos fall on it.
"""

from __future__ import annotations

import hashlib
import itertools

from emulators.rekognition.engine import FaceEngine, decode_image, distance
from emulators.rekognition.similarity import D50, K, distance_for, similarity
from tests.photos import photos


def print_mapping() -> None:
    print(f"similarity(d) = 100 / (1 + exp({K:.2f} * (d - {D50:.3f})))")
    print("distance  similarity")
    for d in (0.0, 0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1.0):
        print(f"  {d:5.2f}    {similarity(d):6.2f}")
    for level in (75, 80, 90, 95, 99):
        print(f"similarity {level} <=> distance {distance_for(level):.3f}")


def main() -> None:
    print_mapping()
    engine = FaceEngine()
    descriptors = {}
    for name, photo in photos().items():
        data = photo.data
        image = decode_image(data)
        faces = engine.find_faces(image, hashlib.sha256(data).hexdigest())
        print(f"{name:<15} {image.width}x{image.height}  faces: {len(faces)}")
        if faces:
            descriptors[name] = (photo.person or "Barack Obama (partial)",
                                 engine.describe(image, faces[0]))
    print()
    print(f"{'photo A':<15} {'photo B':<15} {'same person':<12} {'distance':>8} {'similarity':>10}")
    for (a, (person_a, da)), (b, (person_b, db)) in itertools.combinations(
            descriptors.items(), 2):
        same = person_a.split(" (")[0] == person_b.split(" (")[0]
        d = distance(da, db)
        print(f"{a:<15} {b:<15} {'yes' if same else 'no':<12} {d:8.3f} {similarity(d):10.2f}")


if __name__ == "__main__":
    main()
