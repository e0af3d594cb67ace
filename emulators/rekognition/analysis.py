"""Rekognition's reading of a detected face: FaceDetail, Confidence and the quality filter.

The engine reports dlib's numbers; this module says what Rekognition would report for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .engine import DecodedImage, DetectedFace, Point

# Rekognition never reports faces it is unsure of; dlib's own cut (SVM margin 0) is kept and
# the margin is mapped to 0-100 by a logistic: margin 0 -> 88, 0.5 -> 97.0, 1 -> 99.3,
# 2 -> 99.97. Clear frontal faces have margins of 1-3, so they read 99+, as on Rekognition.
CONFIDENCE_OFFSET = 2.0
CONFIDENCE_SLOPE = 3.0

# Rekognition's minimum face: "no smaller than 40x40 pixels in an image with 1920X1080 pixels",
# and proportionally larger in images with dimensions higher than that (Guidelines and quotas).
# The page does not say which side scales; the long side is taken, as the detection scale
# (engine.py) does: 40 px up to a 1920 px long side, 2.08% of it beyond.
MIN_FACE_PX = 40.0
MIN_FACE_LONG_SIDE = 1920.0

# Mouth corners in the eyes' frame (see `landmarks`): on the 7 PyPI photos the 68-point model
# puts them 0.99-1.27 eye distances below the eyes and 0.38-0.67 to each side of the middle,
# the middle following about half of the nose's sideways offset. Placed so, they lie 0.05-0.17
# eye distances (mean 0.12, about 5% of the face box) from that model's corners.
MOUTH_DROP = 1.13
MOUTH_HALF_WIDTH = 0.52
MOUTH_SHIFT_WITH_NOSE = 0.5


@dataclass(frozen=True)
class QualityBar:
    """The least a face must show to pass one QualityFilter level."""
    confidence: float
    brightness: float
    sharpness: float
    max_yaw: float
    max_pitch: float


# Rekognition does not publish its bars; these keep the order NONE < LOW < MEDIUM < HIGH and
# AUTO = MEDIUM ("Rekognition chooses"), with ordinary photos passing AUTO.
QUALITY_BARS: dict[str, QualityBar] = {
    "LOW": QualityBar(confidence=80, brightness=8, sharpness=8, max_yaw=80, max_pitch=70),
    "MEDIUM": QualityBar(confidence=90, brightness=15, sharpness=20, max_yaw=60, max_pitch=50),
    "HIGH": QualityBar(confidence=98, brightness=25, sharpness=45, max_yaw=40, max_pitch=30),
}
QUALITY_BARS["AUTO"] = QUALITY_BARS["MEDIUM"]
TIERS = ("LOW", "MEDIUM", "HIGH")


def confidence(face: DetectedFace) -> float:
    z = CONFIDENCE_OFFSET + CONFIDENCE_SLOPE * face.detector_score
    return 100.0 / (1.0 + math.exp(-z))


def min_face_size(image: DecodedImage) -> float:
    return MIN_FACE_PX * max(1.0, max(image.width, image.height) / MIN_FACE_LONG_SIDE)


def is_small(face: DetectedFace, image: DecodedImage) -> bool:
    return min(face.box.width, face.box.height) < min_face_size(image)


def quality_reasons(face: DetectedFace, image: DecodedImage, quality_filter: str) -> list[str]:
    """Why the face fails the filter (empty: it passes). NONE filters nothing."""
    if quality_filter == "NONE":
        return []
    bar = QUALITY_BARS[quality_filter]
    reasons = []
    if abs(face.yaw) > bar.max_yaw or abs(face.pitch) > bar.max_pitch:
        reasons.append("EXTREME_POSE")
    if face.brightness < bar.brightness:
        reasons.append("LOW_BRIGHTNESS")
    if face.sharpness < bar.sharpness:
        reasons.append("LOW_SHARPNESS")
    if confidence(face) < bar.confidence:
        reasons.append("LOW_CONFIDENCE")
    if is_small(face, image):
        reasons.append("SMALL_BOUNDING_BOX")
    return reasons


def quality_tier(face: DetectedFace, image: DecodedImage) -> int:
    """How many of LOW, MEDIUM, HIGH the face passes: the "quality" MaxFaces drops by."""
    return sum(1 for level in TIERS if not quality_reasons(face, image, level))


def bounding_box(face: DetectedFace, image: DecodedImage) -> dict[str, float]:
    """Rekognition's box: ratios of the image size, from the top-left corner."""
    return {"Width": face.box.width / image.width, "Height": face.box.height / image.height,
            "Left": face.box.left / image.width, "Top": face.box.top / image.height}


def landmarks(face: DetectedFace) -> list[tuple[str, Point]]:
    """Rekognition's default landmarks, in pixels, named from the viewer's side.

    Eyes and nose are dlib's points; dlib's 5-point model has no mouth, so the mouth corners
    are placed where the 68-point model puts them on the PyPI photos, measured in the frame
    of the eyes (origin between them, unit the eye distance).
    """
    eye_a = _mean(face.landmarks[0], face.landmarks[1])
    eye_b = _mean(face.landmarks[2], face.landmarks[3])
    left, right = sorted((eye_a, eye_b), key=lambda p: p.x)
    nose = face.landmarks[4]
    mid = _mean(left, right)
    across = Point(right.x - left.x, right.y - left.y)  # one eye distance, left to right
    down = Point(-across.y, across.x)  # one eye distance, perpendicular, towards the mouth
    nose_across = ((nose.x - mid.x) * across.x + (nose.y - mid.y) * across.y) / (
        across.x ** 2 + across.y ** 2 or 1.0)
    centre = MOUTH_SHIFT_WITH_NOSE * nose_across

    def at(x: float, y: float) -> Point:
        return Point(mid.x + x * across.x + y * down.x, mid.y + x * across.y + y * down.y)

    return [("eyeLeft", left), ("eyeRight", right), ("nose", nose),
            ("mouthLeft", at(centre - MOUTH_HALF_WIDTH, MOUTH_DROP)),
            ("mouthRight", at(centre + MOUTH_HALF_WIDTH, MOUTH_DROP))]


def _mean(a: Point, b: Point) -> Point:
    return Point((a.x + b.x) / 2, (a.y + b.y) / 2)


def face_detail(face: DetectedFace, image: DecodedImage) -> dict[str, Any]:
    """The default FaceDetail members. Attributes beyond DEFAULT (age, emotions...) are not
    computed: the engine has no model for them, so ALL returns the same members."""
    return {
        "BoundingBox": bounding_box(face, image),
        "Landmarks": [{"Type": kind, "X": point.x / image.width, "Y": point.y / image.height}
                      for kind, point in landmarks(face)],
        "Pose": {"Roll": face.roll, "Yaw": face.yaw, "Pitch": face.pitch},
        "Quality": {"Brightness": face.brightness, "Sharpness": face.sharpness},
        "Confidence": confidence(face),
    }
