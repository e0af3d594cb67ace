"""Map dlib ResNet descriptor distances onto Rekognition's 0-100 Similarity scale.

dlib's face descriptor (dlib_face_recognition_resnet_model_v1) is trained so that two photos of
the same person lie within Euclidean distance 0.6 and two different people beyond it; at that
threshold it scores 99.38% on LFW. Rekognition's default search threshold is 80. So the curve is
anchored there: distance 0.6 maps to 80 ("same person, ordinary confidence").

The curve is a logistic in the distance, chosen (not fitted to any photos) with a second anchor:
distance 0.4 maps to 99, AWS's "high-stakes" level, i.e. a pair must be a third closer than the
model's operating point to reach it. That gives

    similarity(d) = 100 / (1 + exp(K * (d - D50)))    K = 16.04, D50 = 0.686

which is monotone and steep: 0.0 -> ~100, 0.4 -> 99, 0.5 -> 95.2, 0.549 -> 90, 0.6 -> 80,
0.686 -> 50, 0.8 -> 13.8, 0.9 -> 3.1. facetag's default match threshold 90 therefore means
distance <= 0.549: stricter than dlib's 0.6, near the 0.55 people use with this model when false
matches cost more than misses, which suits writing a person's name on a photo.
"""

from __future__ import annotations

import math

OPERATING_DISTANCE = 0.6
OPERATING_SIMILARITY = 80.0
STRICT_DISTANCE = 0.4
STRICT_SIMILARITY = 99.0


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


# Solve the two anchors for the logistic's slope and midpoint, so the constants stay derived.
K = (_logit(STRICT_SIMILARITY / 100) - _logit(OPERATING_SIMILARITY / 100)) / (
    OPERATING_DISTANCE - STRICT_DISTANCE)
D50 = OPERATING_DISTANCE + _logit(OPERATING_SIMILARITY / 100) / K


def similarity(distance: float) -> float:
    """Similarity 0-100 for a Euclidean descriptor distance."""
    z = K * (distance - D50)
    if z > 50:  # avoid overflow; the value is 0 to any printed precision
        return 0.0
    return 100.0 / (1.0 + math.exp(z))


def distance_for(similarity_value: float) -> float:
    """The distance at which `similarity` equals the given value (0 < value < 100)."""
    p = min(max(similarity_value / 100.0, 1e-12), 1 - 1e-12)
    return D50 - _logit(p) / K
