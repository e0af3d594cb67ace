"""Rekognition's reading of a detected face: FaceDetail, Confidence and the quality filter.

The engine reports dlib's numbers; this module says what Rekognition would report for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .engine import DecodedImage, DetectedFace

# Rekognition never reports faces it is unsure of; dlib's own cut (SVM margin 0) is kept and
# the margin is mapped to 0-100 by a logistic: margin 0 -> 88, 0.5 -> 97.0, 1 -> 99.3,
# 2 -> 99.97. Clear frontal faces have margins of 1-3, so they read 99+, as on Rekognition.
CONFIDENCE_OFFSET = 2.0
CONFIDENCE_SLOPE = 3.0

# Rekognition's minimum face: 40x40 px in a 1920x1080 image, scaling up with the image (about
# 3.7% of its shorter side); the 40 px floor holds for smaller images.
MIN_FACE_PX = 40.0
MIN_FACE_RATIO = 40.0 / 1080.0


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
    return max(MIN_FACE_PX, MIN_FACE_RATIO * min(image.width, image.height))


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


def face_detail(face: DetectedFace, image: DecodedImage) -> dict[str, Any]:
    """The default FaceDetail members. Attributes beyond DEFAULT (age, emotions...) are not
    computed: the engine has no model for them, so ALL returns the same members."""
    right_eye, left_eye = sorted(face.landmarks[0:2], key=lambda p: p.x), \
        sorted(face.landmarks[2:4], key=lambda p: p.x)
    # Points 2-3 are the eye on the image's left; name landmarks from the viewer's side.
    if left_eye[0].x > right_eye[0].x:
        left_eye, right_eye = right_eye, left_eye

    def mark(kind: str, x: float, y: float) -> dict[str, Any]:
        return {"Type": kind, "X": x / image.width, "Y": y / image.height}

    landmarks = [
        mark("eyeLeft", (left_eye[0].x + left_eye[1].x) / 2, (left_eye[0].y + left_eye[1].y) / 2),
        mark("eyeRight", (right_eye[0].x + right_eye[1].x) / 2,
             (right_eye[0].y + right_eye[1].y) / 2),
        mark("nose", face.landmarks[4].x, face.landmarks[4].y),
        mark("leftEyeLeft", left_eye[0].x, left_eye[0].y),
        mark("leftEyeRight", left_eye[1].x, left_eye[1].y),
        mark("rightEyeLeft", right_eye[0].x, right_eye[0].y),
        mark("rightEyeRight", right_eye[1].x, right_eye[1].y),
    ]
    return {
        "BoundingBox": bounding_box(face, image),
        "Landmarks": landmarks,
        "Pose": {"Roll": face.roll, "Yaw": face.yaw, "Pitch": face.pitch},
        "Quality": {"Brightness": face.brightness, "Sharpness": face.sharpness},
        "Confidence": confidence(face),
    }
