"""Face tracks: one track id per person, through detection gaps and occlusions.

A detector misses faces for a moment (a hand over the mouth, a turn of the head, motion blur); a new id
after each miss splits one person into several tracks, of which the review app plots one. So a track
that loses its face is kept, unreported, for `max_missed` frames (~1 s by default, `FaceStream` sets it
from the frame rate), its position predicted at constant, damped velocity, and a detection within reach of
that prediction takes the old id back. Where the choice is ambiguous (two faces near a prediction, two
people crossing) a small hue/saturation histogram of each face decides. The gap's frames themselves stay
rows without a face (their predictions would be guesses).

Tracks whose box never moves (a letter on a title card, a face on a poster) are marked `static` once
they have been seen for `static_after` detections (~1 s) with their centre within `static_motion` (5%) of
a face size of where it started. A still face's detected centre jitters by ~2% of its size (its size by
6%); a talking head moves by 50% and more in a second. A still track that starts moving comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from affectstudio.core.faces import Box, Detection, Face, FaceDetector

DAMPING = 0.85  # per frame: a predicted motion fades out over ~6 frames (a talking head jitters, drifts)
APPEARANCE_WEIGHT = 0.5


@dataclass
class _Track:
    track_id: int
    box: Box
    score: float
    last_matched: int  # frame number of the last detection matched to this track
    keypoints: np.ndarray | None = None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # centre, pixels per frame
    histogram: np.ndarray | None = None
    hits: int = 1
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)  # centre x, y and size at the first detection
    moved: float = 0.0  # largest shift of the centre since then, relative to the size

    def predicted(self, frame: int) -> Box:
        gap = frame - self.last_matched
        shift = self.velocity * DAMPING * (1 - DAMPING**gap) / (1 - DAMPING)
        return self.box.shifted(float(shift[0]), float(shift[1]))


def main_track(frames_per_track: dict[int, int]) -> int | None:
    """The track to show first: the one with the most frames (the subject, not a face that flashes by or
    a title card's letter), the lowest id among equals; None without tracks."""
    if not frames_per_track:
        return None
    return min(frames_per_track, key=lambda track: (-frames_per_track[track], track))


def _centre(box: Box) -> np.ndarray:
    return np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])


def _size(box: Box) -> float:
    return max(box.width, box.height, 1.0)


def colour_histogram(image: np.ndarray | None, box: Box) -> np.ndarray | None:
    """A normalised 8x4 hue/saturation histogram of the box's inner half (face, not background)."""
    if image is None:
        return None
    cx, cy = _centre(box)
    w, h = box.width / 4, box.height / 4
    patch = image[max(int(cy - h), 0) : max(int(cy + h), 1), max(int(cx - w), 0) : max(int(cx + w), 1)]
    if patch.size == 0:
        return None
    hsv = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [8, 4], [0, 180, 0, 256]).ravel()
    return hist / max(hist.sum(), 1e-9)


class FaceTracker:
    """Faces with track ids that stay the same from frame to frame, through gaps of up to `max_missed`.

    With `detect_every` N > 1 the detector runs on every N-th frame and, in between, each face seen at the
    last detection is reported at its last box with `detected=False` (`move` lets a landmark tracker
    update that box).
    """

    def __init__(
        self,
        detector: FaceDetector | None = None,
        detect_every: int = 1,
        iou_threshold: float = 0.3,
        max_missed: int = 30,
        reach: float = 0.6,
        static_after: int = 30,
        static_motion: float = 0.05,
    ):
        if detect_every < 1:
            raise ValueError(f"detect_every must be at least 1, not {detect_every}")
        self.detector = detector
        self.detect_every = detect_every
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self.reach = reach  # how far (in face sizes) from its prediction a detection may be to match
        self.static_after, self.static_motion = static_after, static_motion
        self.reset()

    def reset(self) -> None:
        """Forget all tracks (e.g. after seeking elsewhere in the video)."""
        self._tracks: list[_Track] = []
        self._frame = -1
        self._last_detection = -1
        self._next_id = 0

    def process(self, image: np.ndarray) -> list[Face]:
        """Detect (when due) and track: the faces in this frame, ordered by track id. Call once per frame."""
        return self.update(self.detector.detect(image) if self.detection_due() else None, image)

    def detection_due(self) -> bool:
        """Whether the detector should run on the next frame (every `detect_every`-th frame)."""
        return (self._frame + 1) % self.detect_every == 0

    def is_static(self, track_id: int) -> bool:
        """Seen long enough and never moved: not a face in a video (a title card's letter, a poster)."""
        track = self._find(track_id)
        return track is not None and track.hits >= self.static_after and track.moved < self.static_motion

    def move(self, track_id: int, box: Box) -> None:
        """A box for the track from elsewhere (landmark tracking between detections)."""
        track = self._find(track_id)
        if track is not None:
            track.box = box

    def update(self, detections: list[Detection] | None, image: np.ndarray | None = None) -> list[Face]:
        """Advance one frame with the detector's output for it, or None for a frame between detections.

        Split from `process` so detection can run on several frames at once (in a thread pool) while
        tracking, which needs the frames in order, stays sequential and cheap. `image` (RGB) gives the
        appearance cue; without it tracks match by position alone.
        """
        self._frame += 1
        if detections is None:
            live = [t for t in self._tracks if t.last_matched == self._last_detection]
            return [self._face(t, detected=False) for t in live]
        self._last_detection = self._frame
        matched = self._match(detections, image)
        self._tracks = [t for t in self._tracks if self._frame - t.last_matched <= self.max_missed]
        return sorted((self._face(t, detected=True) for t in matched), key=lambda face: face.track_id)

    def _face(self, track: _Track, detected: bool) -> Face:
        return Face(track.track_id, track.box, track.score, detected, track.keypoints, track.hits)

    def _find(self, track_id: int) -> _Track | None:
        return next((t for t in self._tracks if t.track_id == track_id), None)

    def _cost(self, track: _Track, detection: Detection, histogram: np.ndarray | None) -> float | None:
        """How unlike the track's prediction a detection is; None when it is out of reach."""
        predicted = track.predicted(self._frame)
        size = _size(predicted)
        if not 0.6 < _size(detection.box) / size < 1.6:
            return None
        distance = float(np.linalg.norm(_centre(detection.box) - _centre(predicted))) / size
        if distance > self.reach and predicted.iou(detection.box) < self.iou_threshold:
            return None
        if histogram is not None and track.histogram is not None:
            distance += APPEARANCE_WEIGHT * (1.0 - float(np.minimum(histogram, track.histogram).sum()))
        return distance

    def _match(self, detections: list[Detection], image: np.ndarray | None) -> list[_Track]:
        """Pair detections with tracks, cheapest first; unpaired detections start new tracks."""
        histograms = [colour_histogram(image, d.box) for d in detections]
        pairs = []
        for t, track in enumerate(self._tracks):
            for d, detection in enumerate(detections):
                cost = self._cost(track, detection, histograms[d])
                if cost is not None:
                    pairs.append((cost, t, d))
        used_tracks: set[int] = set()
        used_detections: set[int] = set()
        matched = []
        for _cost, t, d in sorted(pairs):
            if t in used_tracks or d in used_detections:
                continue
            used_tracks.add(t)
            used_detections.add(d)
            matched.append(self._extend(self._tracks[t], detections[d], histograms[d]))
        for d, detection in enumerate(detections):
            if d not in used_detections:
                box = detection.box
                track = _Track(self._next_id, box, detection.score, self._frame, detection.keypoints)
                track.histogram = histograms[d]
                track.origin = (*_centre(box), _size(box))
                self._next_id += 1
                self._tracks.append(track)
                matched.append(track)
        return matched

    def _extend(self, track: _Track, detection: Detection, histogram: np.ndarray | None) -> _Track:
        gap = self._frame - track.last_matched
        step = (_centre(detection.box) - _centre(track.box)) / max(gap, 1)
        track.velocity = 0.5 * track.velocity + 0.5 * step
        track.box, track.score, track.keypoints = detection.box, detection.score, detection.keypoints
        track.last_matched = self._frame
        track.hits += 1
        if histogram is not None:
            old = track.histogram if track.histogram is not None else histogram
            track.histogram = 0.9 * old + 0.1 * histogram
        cx, cy, size = track.origin
        centre = _centre(detection.box)
        change = max(abs(centre[0] - cx), abs(centre[1] - cy)) / size  # a box's size jitters (6%) anyway
        track.moved = max(track.moved, change)
        return track
