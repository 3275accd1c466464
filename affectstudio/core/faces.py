"""Faces: MediaPipe detection (offline) and square 112x112 box crops with margin (tracks: `tracking.py`).

MediaPipe 0.10.21's legacy `solutions.face_detection` runs the BlazeFace models that ship inside its wheel
(`mediapipe/modules/face_detection/*.tflite`), so detection never touches the network. "full" is the
full-range model (faces anywhere up to ~5 m, the right default for arbitrary video), "short" the faster
short-range one (faces within ~2 m, e.g. webcams).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

RANGES = {"full": 1, "short": 0}  # MediaPipe's model_selection


@dataclass(frozen=True)
class Box:
    """A box in pixels of the (upright) frame; x1, y1 exclusive."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def shifted(self, dx: float, dy: float) -> Box:
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    def iou(self, other: Box) -> float:
        overlap = Box(
            max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1)
        )
        inter = overlap.area if overlap.width > 0 and overlap.height > 0 else 0.0
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clamped(self, width: int, height: int) -> Box:
        return Box(
            min(max(self.x0, 0.0), width),
            min(max(self.y0, 0.0), height),
            min(max(self.x1, 0.0), width),
            min(max(self.y1, 0.0), height),
        )


@dataclass(frozen=True)
class Detection:
    """One face the detector found: box, score and its 6 keypoints in pixels (MediaPipe's order: the
    subject's right eye (image left), left eye, nose tip, mouth centre, right ear, left ear)."""

    box: Box
    score: float
    keypoints: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Face:
    track_id: int
    box: Box
    score: float
    detected: bool  # False: the tracker carried the box from the last detection (detect_every > 1)
    keypoints: np.ndarray | None = field(default=None, compare=False, repr=False)
    frames_seen: int = field(default=1, compare=False)  # detections of this track so far
    landmarks: np.ndarray | None = field(default=None, compare=False, repr=False)  # 5 (x, y), for alignment


class FaceDetector:
    """MediaPipe face detection on RGB uint8 frames; boxes in pixels, clamped to the frame, best first.

    The full-range model misses some large, close faces that the short-range one finds (one of the 17
    shared conformance images), so with `range="full"` a frame where it finds nothing is tried again
    with the short-range model: a frame with a face costs nothing more. Detections smaller than
    `min_size` pixels (the box's shorter side) are dropped: a 112 px crop of them is mostly upscaling,
    and small boxes are where the false faces (text, patterns) are.
    """

    def __init__(self, range: str = "full", min_confidence: float = 0.5, min_size: float = 0.0):
        if range not in RANGES:
            raise ValueError(f"face range must be one of {sorted(RANGES)}, not {range!r}")
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within [0, 1], not {min_confidence}")
        from affectstudio.core.startup import import_mediapipe

        FaceDetection = import_mediapipe().solutions.face_detection.FaceDetection  # slow: only when used

        self.range = range
        self.min_confidence = min_confidence
        self.min_size = min_size
        self._models = [FaceDetection(model_selection=RANGES[range], min_detection_confidence=min_confidence)]
        if range == "full":
            self._models.append(FaceDetection(model_selection=0, min_detection_confidence=min_confidence))

    def detect(self, image: np.ndarray) -> list[Detection]:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.shape} {image.dtype}")
        image = np.ascontiguousarray(image)
        for model in self._models:
            found = self._detect(model, image)
            if found:
                return found
        return []

    def _detect(self, model, image: np.ndarray) -> list[Detection]:
        height, width = image.shape[:2]
        found = []
        for detection in model.process(image).detections or ():
            rel = detection.location_data.relative_bounding_box
            box = Box(
                rel.xmin * width,
                rel.ymin * height,
                (rel.xmin + rel.width) * width,
                (rel.ymin + rel.height) * height,
            ).clamped(width, height)
            keypoints = detection.location_data.relative_keypoints
            points = np.array([(k.x * width, k.y * height) for k in keypoints])
            # MediaPipe's legacy detector ignores its own min_detection_confidence (mediapipe issue 3896)
            score = float(detection.score[0])
            if min(box.width, box.height) > max(1.0, self.min_size) and score >= self.min_confidence:
                found.append(Detection(box, score, points if len(points) else None))
        return sorted(found, key=lambda item: -item.score)

    def close(self) -> None:
        for model in self._models:
            model.close()

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def crop_face(image: np.ndarray, box: Box, size: int = 112, margin: float = 0.2) -> np.ndarray:
    """A size x size RGB crop: the square of side max(w, h) * (1 + margin) centred on the box.

    Parts of the square outside the frame are black rather than edge-replicated: replicated edge pixels
    smear into streaks that look like structure (hair, a jaw line) to the network, while black is what
    affine face alignment (OpenCV's warpAffine default), and so aligned training crops, leave there.
    """
    height, width = image.shape[:2]
    side = max(1, round(max(box.width, box.height) * (1.0 + margin)))
    left = round((box.x0 + box.x1) / 2 - side / 2)
    top = round((box.y0 + box.y1) / 2 - side / 2)
    right, bottom = left + side, top + side
    inside = image[max(top, 0) : max(min(bottom, height), 0), max(left, 0) : max(min(right, width), 0)]
    if inside.size == 0:  # the square lies wholly outside the frame
        return np.zeros((size, size, 3), dtype=np.uint8)
    square = cv2.copyMakeBorder(
        inside,
        max(-top, 0),
        max(bottom - height, 0),
        max(-left, 0),
        max(right - width, 0),
        cv2.BORDER_CONSTANT,
        value=(0, 0, 0),
    )
    return _resize_square(square, size)


def _resize_square(square: np.ndarray, size: int) -> np.ndarray:
    """Downscale without aliasing, fast: OpenCV's area averaging is quick only for whole-number factors
    (a 240 -> 112 INTER_AREA takes ~350 us), so scale linearly to the nearest multiple of `size` first
    (~150 us in all, within 0.2 grey levels of a direct INTER_AREA)."""
    factor = square.shape[0] // size
    if factor < 2:
        return cv2.resize(square, (size, size), interpolation=cv2.INTER_LINEAR)
    if square.shape[0] != factor * size:
        square = cv2.resize(square, (factor * size, factor * size), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
