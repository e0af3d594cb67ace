"""Face engine: decode an image, find faces, describe them, compare descriptors.

Built on dlib (PyPI `dlib-bin`) and the model files of `face-recognition-models`: the frontal
HOG face detector, the 5-point shape predictor and the ResNet face descriptor (128-d). Nothing
here knows about Rekognition; `models.py` turns these results into Rekognition's rules.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlib  # type: ignore[import-untyped]
import numpy as np
from PIL import Image, ImageOps

# dlib's frontal HOG detector scans an 80 px window; the smallest faces it finds every time are
# boxes of about 64 px (faces shrunk to 40 px on a 1920x1280 photo: 48 of 48 found at 1.6x,
# at 1.5x too, 36 px ones 5 of 6 at 1.6x and 3 of 6 at 1.5x).
DETECTOR_SMALLEST_FACE_PX = 64
# The smallest face to find: Rekognition's 40 px minimum on a 1920 px wide photo (AWS limits
# page), the size of facetag's derivatives; on larger images it grows in proportion.
SMALLEST_FACE_PX = 40
SMALLEST_FACE_LONG_SIDE = 1920
# Small images cost little to scan: they are enlarged further, up to 2.5x within 1.6 megapixels,
# so faces of about 32 px in them are still found (and reported too small, as Rekognition does).
SMALL_IMAGE_PIXELS = 1_600_000
MAX_UPSCALE = 2.5
# Descriptor extraction: dlib's default padding around the aligned 150 px face chip.
CHIP_PADDING = 0.25
# Results kept per image content: re-sending the same photo (retries, re-indexing under another
# ExternalImageId, tests) costs no second detection or descriptor pass.
CACHED_IMAGES = 128
CACHED_DESCRIPTORS = 4096
# Quality measures are taken on the face crop resized to a fixed size, so they do not depend
# on how many pixels the face has.
QUALITY_CROP = 96

Descriptor = np.ndarray  # shape (128,), float32
ScaleRule = Callable[[int, int], float]  # (width, height) -> factor applied before detection


class ImageDecodeError(ValueError):
    """The bytes are not an image Pillow can read."""


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class FaceBox:
    """A face box in pixels of the (orientation-corrected) image."""
    left: float
    top: float
    width: float
    height: float

    @property
    def area(self) -> float:
        return self.width * self.height


@dataclass(frozen=True)
class DetectedFace:
    box: FaceBox
    detector_score: float  # dlib's SVM margin: > 0 means "face"; ~1-3 for clear frontal faces
    # dlib 5-point order: image-right eye (outer, inner), image-left eye (outer, inner), nose base
    landmarks: tuple[Point, ...]
    brightness: float  # 0-100, mean luminance of the face crop
    sharpness: float  # 0-100, from the variance of the Laplacian of the face crop
    roll: float  # degrees, from the eye line
    yaw: float  # degrees, rough, from the nose offset between the eyes
    pitch: float  # degrees, rough, from the nose drop below the eye line


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # (height, width, 3) uint8 RGB, orientation already applied
    width: int
    height: int


def model_dir() -> Path:
    """Folder of the face-recognition-models `.dat` files.

    Found by spec rather than by import: the package's __init__ imports pkg_resources, which
    is deprecated and absent from recent setuptools.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face-recognition-models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def decode_image(data: bytes) -> DecodedImage:
    """Decode JPEG/PNG bytes to RGB, applying the JPEG EXIF orientation."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            oriented = ImageOps.exif_transpose(opened)
            rgb = oriented.convert("RGB")  # alpha and palette dropped: only RGB is used
    except Exception as error:  # Pillow raises many types for corrupt data
        raise ImageDecodeError(str(error)) from error
    pixels = np.asarray(rgb, dtype=np.uint8)
    return DecodedImage(pixels=pixels, width=rgb.width, height=rgb.height)


def distance(a: Descriptor, b: Descriptor) -> float:
    return float(np.linalg.norm(a - b))


def distances(query: Descriptor, matrix: np.ndarray) -> np.ndarray:
    """Euclidean distances from one descriptor to each row of a (n, 128) matrix."""
    if len(matrix) == 0:
        return np.zeros(0, dtype=np.float64)
    found: np.ndarray = np.linalg.norm(matrix - query, axis=1)
    return found


def detection_scale(width: int, height: int) -> float:
    """Enlarge the image until a 40 px face is as large as the smallest the detector finds
    (1.6x), the full 1.6x up to a 1920 px long side and proportionally less beyond, so the copy
    the detector scans never exceeds 3072 px on its long side (about 0.1 s per megapixel);
    small images more, up to 2.5x within 1.6 megapixels."""
    for_smallest_face = (DETECTOR_SMALLEST_FACE_PX / SMALLEST_FACE_PX
                         * min(1.0, SMALLEST_FACE_LONG_SIDE / max(width, height)))
    for_small_image = min(MAX_UPSCALE, math.sqrt(SMALL_IMAGE_PIXELS / (width * height)))
    return max(for_smallest_face, for_small_image)


class FaceEngine:
    """Loaded models. Loading takes about a second: do it once per process."""

    def __init__(self, models: Path | None = None, scale: ScaleRule = detection_scale) -> None:
        """`scale`: how much to enlarge an image before detection (benchmarks compare rules)."""
        folder = models or model_dir()
        self._scale = scale
        # The HOG detector keeps its scan in the object and lets other threads run meanwhile:
        # one detector per concurrent call, made on demand (0.3 s) and reused.
        self._detectors: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._detectors.put(dlib.get_frontal_face_detector())
        self._shapes = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self._describer = dlib.face_recognition_model_v1(
            str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
        # dlib's DNN keeps working buffers inside the network object: one call at a time;
        # the lock also guards the caches.
        self._lock = threading.Lock()
        self._faces: OrderedDict[str, list[DetectedFace]] = OrderedDict()
        self._descriptors: OrderedDict[tuple[str, FaceBox], Descriptor] = OrderedDict()

    def find_faces(self, image: DecodedImage, cache_key: str | None = None
                   ) -> list[DetectedFace]:
        """Every face the detector finds, largest first. `cache_key` names the image content
        (e.g. its SHA-256) so the same image is analysed once."""
        with self._lock:
            if cache_key is not None and cache_key in self._faces:
                self._faces.move_to_end(cache_key)
                return list(self._faces[cache_key])
        boxes = self._detect(image)  # the slow part, outside the lock
        with self._lock:
            faces = [self._analyse(image, box, score) for box, score in boxes]
            faces.sort(key=lambda face: face.box.area, reverse=True)
            if cache_key is not None:
                _remember(self._faces, cache_key, faces, CACHED_IMAGES)
        return list(faces)

    def describe(self, image: DecodedImage, face: DetectedFace, cache_key: str | None = None
                 ) -> Descriptor:
        """The 128-d descriptor of a found face (about 0.1 s: only for faces that are kept)."""
        key = (cache_key, face.box) if cache_key is not None else None
        rect = dlib.rectangle(round(face.box.left), round(face.box.top),
                              round(face.box.left + face.box.width),
                              round(face.box.top + face.box.height))
        with self._lock:
            if key is not None and key in self._descriptors:
                return self._descriptors[key]
            shape = self._shapes(image.pixels, rect)
            vector = self._describer.compute_face_descriptor(image.pixels, shape, 0, CHIP_PADDING)
            descriptor = np.asarray(vector, dtype=np.float32)
            if key is not None:
                _remember(self._descriptors, key, descriptor, CACHED_DESCRIPTORS)
        return descriptor

    def _detect(self, image: DecodedImage) -> list[tuple[dlib.rectangle, float]]:
        # Detect on a scaled copy, then map the boxes back to the original's pixels.
        scale = self._scale(image.width, image.height)
        if abs(scale - 1.0) < 0.05:
            scale, pixels = 1.0, image.pixels
        else:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            pixels = np.asarray(Image.fromarray(image.pixels).resize(
                size, Image.Resampling.BILINEAR))
        with self._detector() as detector:
            rects, scores, _ = detector.run(pixels, 0, 0.0)
        found = []
        for rect, score in zip(rects, scores, strict=True):
            original = dlib.rectangle(round(rect.left() / scale), round(rect.top() / scale),
                                      round(rect.right() / scale), round(rect.bottom() / scale))
            found.append((original, float(score)))
        return found

    @contextlib.contextmanager
    def _detector(self) -> Iterator[Any]:
        try:
            detector = self._detectors.get_nowait()
        except queue.Empty:
            detector = dlib.get_frontal_face_detector()
        try:
            yield detector
        finally:
            self._detectors.put(detector)

    def _analyse(self, image: DecodedImage, rect: dlib.rectangle, score: float) -> DetectedFace:
        shape = self._shapes(image.pixels, rect)
        points = tuple(Point(float(shape.part(i).x), float(shape.part(i).y)) for i in range(5))
        box = FaceBox(float(rect.left()), float(rect.top()),
                      float(rect.width()), float(rect.height()))
        brightness, sharpness = _crop_quality(image, box)
        roll, yaw, pitch = _pose(points)
        return DetectedFace(box=box, detector_score=score, landmarks=points,
                            brightness=brightness, sharpness=sharpness,
                            roll=roll, yaw=yaw, pitch=pitch)


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> None:
    cache[key] = value
    while len(cache) > size:
        cache.popitem(last=False)


def _crop_quality(image: DecodedImage, box: FaceBox) -> tuple[float, float]:
    """Brightness and sharpness (0-100) of the face crop.

    Brightness: mean luminance scaled to 0-100. Sharpness: variance of a 4-neighbour Laplacian
    on the crop resized to a fixed size, mapped by 100 * (1 - exp(-var / 150)) so blurred faces
    (variance below ~20) score low and crisp ones approach 100.
    """
    left = max(0, int(box.left))
    top = max(0, int(box.top))
    right = min(image.width, int(box.left + box.width))
    bottom = min(image.height, int(box.top + box.height))
    if right - left < 2 or bottom - top < 2:
        return 0.0, 0.0
    crop = Image.fromarray(image.pixels[top:bottom, left:right]).convert("L")
    gray = np.asarray(crop.resize((QUALITY_CROP, QUALITY_CROP), Image.Resampling.BILINEAR),
                      dtype=np.float64)
    brightness = float(gray.mean()) / 255.0 * 100.0
    laplacian = (4 * gray[1:-1, 1:-1] - gray[:-2, 1:-1] - gray[2:, 1:-1]
                 - gray[1:-1, :-2] - gray[1:-1, 2:])
    sharpness = 100.0 * (1.0 - math.exp(-float(laplacian.var()) / 150.0))
    return brightness, sharpness


def _pose(points: tuple[Point, ...]) -> tuple[float, float, float]:
    """Rough roll, yaw and pitch in degrees from the five landmarks.

    Roll is the eye line's angle. Yaw and pitch come from where the nose sits relative to the
    eyes once roll is undone: sideways offset for yaw, drop below the eye line for pitch (a
    frontal face has the nose about 0.6 eye-distances below the eyes). Good to ~15 degrees.
    """
    right_eye = Point((points[0].x + points[1].x) / 2, (points[0].y + points[1].y) / 2)
    left_eye = Point((points[2].x + points[3].x) / 2, (points[2].y + points[3].y) / 2)
    nose = points[4]
    dx, dy = right_eye.x - left_eye.x, right_eye.y - left_eye.y
    eye_distance = math.hypot(dx, dy) or 1.0
    roll = math.degrees(math.atan2(dy, dx))
    mid = Point((left_eye.x + right_eye.x) / 2, (left_eye.y + right_eye.y) / 2)
    cos, sin = dx / eye_distance, dy / eye_distance
    along = ((nose.x - mid.x) * cos + (nose.y - mid.y) * sin) / eye_distance
    below = (-(nose.x - mid.x) * sin + (nose.y - mid.y) * cos) / eye_distance
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, along * 2.0))))
    pitch = math.degrees(math.atan((0.6 - below) / 0.6)) if below > -1 else 90.0
    return roll, yaw, pitch
