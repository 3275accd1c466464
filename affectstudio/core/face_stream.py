"""The faces of a video, frame by frame, produced ahead of the consumer by background threads.

    decode thread  ->  detection pool (one MediaPipe graph per thread)  ->  tracking thread  ->  consumer
    (frames)           (every `detect_every`-th frame)                      (in frame order, landmarks,
                                                                              crops)

Decoding (FFmpeg), detection (MediaPipe) and the network that consumes the crops all release the GIL in
their native code, so the stages run side by side; detection, the costliest CPU stage, scales with the
pool where there are cores to spare (two threads detect at 1.9x one thread here). Tracking needs the
frames in order and is cheap, so it stays in one thread. Queues are bounded: memory stays flat however
long the video is.

Crops are made as the model's config says (`transforms`): `aligned-5pt` fits the face mesh to each face
in the tracking thread (`alignment.MeshTracks`, ~3 ms a face) and warps it onto the templates; `box`
cuts the square box. Between detections (`detect_every` > 1) the mesh also tracks the face: its box
follows the mesh, and a face the mesh no longer finds is dropped.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from affectstudio.core import alignment, startup
from affectstudio.core.faces import Face, FaceDetector, crop_face
from affectstudio.core.options import AnalysisOptions
from affectstudio.core.reuse import Reusable
from affectstudio.core.tracking import FaceTracker
from affectstudio.core.transforms import ALIGNED, BOX, CROP_METHODS, CROP_SIZE
from affectstudio.core.video import VideoReader

log = logging.getLogger(__name__)

_DONE = object()


@dataclass
class FrameFaces:
    """One frame's faces (a chosen subset, see `which`) and their 112x112 crops, in the same order."""

    index: int
    time: float
    faces: list[Face]
    crops: list[np.ndarray]


def default_detect_workers() -> int:
    return max(1, min(8, (os.cpu_count() or 2) // 2))


class FaceStream:
    """Iterate to get a `FrameFaces` for every frame of the video, in order; use as a context manager.

    A frame the decoder cannot produce still comes out, with no faces, so nothing is dropped silently
    (`undecodable` counts them). Errors in any stage are raised in the consumer's thread.
    """

    def __init__(
        self,
        reader: VideoReader,
        *,
        face_range: str = "full",
        min_confidence: float = 0.5,
        detect_every: int = 1,
        which: str = "main",
        workers: int = 0,
        buffer: int = 64,
        crop_method: str = BOX,
        min_face_size: float = 0.0,
        max_gap_s: float = 1.0,
    ):
        if crop_method not in CROP_METHODS:
            raise ValueError(f"crop method must be one of {CROP_METHODS}, not {crop_method!r}")
        if which not in WHICH:
            raise ValueError(f"which faces must be one of {WHICH}, not {which!r}")
        self.reader = reader
        self.face_range, self.min_confidence, self.min_face_size = face_range, min_confidence, min_face_size
        self.detect_every, self.which, self.crop_method = detect_every, which, crop_method
        fps = reader.info.fps or 25.0
        self.tracker = FaceTracker(
            detect_every=detect_every,
            max_missed=max(1, round(max_gap_s * fps)),
            static_after=max(2, round(fps / detect_every)),
        )
        self._aligned = crop_method == ALIGNED
        self._meshes: alignment.MeshTracks | None = None  # made in the tracking thread (a compile)
        workers = workers or default_detect_workers()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="detect")
        self._local = threading.local()
        self._detectors: list[FaceDetector] = []
        self._stop = threading.Event()
        self._frames: queue.Queue = queue.Queue(maxsize=4 + 2 * workers)
        self._faces: queue.Queue = queue.Queue(maxsize=buffer)
        self._threads = [
            threading.Thread(
                target=self._guard, args=(self._decode, self._frames), name="decode", daemon=True
            ),
            threading.Thread(target=self._guard, args=(self._track, self._faces), name="track"),
        ]
        self.track_crop_s = 0.0
        self.undecodable = 0

    def __enter__(self) -> FaceStream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self):
        while (item := self._get(self._faces)) is not _DONE:
            yield item

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        key = (self.face_range, self.min_confidence, self.min_face_size)
        # the detection threads have ended: their detectors go back for the next video
        for detector in self._detectors:
            if not DETECTORS.give(detector, *key):
                detector.close()
        self._detectors = []
        if self._meshes is not None and not self._threads[1].is_alive():
            LANDMARKERS.give(self._meshes.landmarker)
            self._meshes = None

    # --- stages (background threads) ---------------------------------------------------------------
    def _decode(self, out: queue.Queue) -> None:
        for count, frame in enumerate(self.reader):
            if self._stop.is_set():
                return
            due = count % self.detect_every == 0
            self._put(out, (frame, self._pool.submit(self._detect, frame.image) if due else None))

    def _detect(self, image: np.ndarray):
        if not hasattr(self._local, "detector"):  # MediaPipe graphs are not shared between threads
            self._local.detector = DETECTORS.take(self.face_range, self.min_confidence, self.min_face_size)
            self._detectors.append(self._local.detector)
            startup.mark("face detector ready")
        return self._local.detector.detect(image)

    def _track(self, out: queue.Queue) -> None:
        if self._aligned:  # while the first frames are decoded and detected
            self._meshes = alignment.MeshTracks(LANDMARKERS.take())
            startup.mark("face landmarks model compiled")
        timestamps = self.reader.timestamps
        expected = 0
        while (item := self._get(self._frames)) is not _DONE:
            frame, detection = item
            for missing in range(expected, frame.index):
                self._put(out, self._undecodable(missing, timestamps))
            expected = frame.index + 1
            started = time.perf_counter()
            found = self.tracker.update(detection.result() if detection else None, frame.image)
            faces = [f for f in found if not self.tracker.is_static(f.track_id)]
            faces, crops = self._crops(frame.index, frame.image, _choose(faces, self.which))
            self.track_crop_s += time.perf_counter() - started
            self._put(out, FrameFaces(frame.index, frame.time, faces, crops))
            startup.mark("first frame's faces")
        for missing in range(expected, len(timestamps)):
            if self._stop.is_set():
                return
            self._put(out, self._undecodable(missing, timestamps))

    def _crops(self, index: int, image: np.ndarray, faces: list[Face]) -> tuple[list[Face], list[np.ndarray]]:
        if not self._aligned:
            return faces, [crop_face(image, face.box, CROP_SIZE) for face in faces]
        kept, crops = [], []
        for face in faces:
            before = self._meshes.previous(face.track_id, index - 1)
            mesh, presence = self._meshes.mesh(image, index, face)
            if not face.detected:  # between detections the mesh tracks the face, or loses it
                if presence < 0.5 or before is None:
                    continue
                dx, dy = mesh.mean(axis=0) - before.mean(axis=0)
                face = replace(face, box=face.box.shifted(float(dx), float(dy)))
                self.tracker.move(face.track_id, face.box)
            points = alignment.five_from_mesh(mesh)
            kept.append(replace(face, landmarks=points))
            crops.append(alignment.warp(image, alignment.align_matrix(points)[0], CROP_SIZE))
        return kept, crops

    def _undecodable(self, index: int, timestamps: np.ndarray) -> FrameFaces:
        self.undecodable += 1
        return FrameFaces(index, float(timestamps[index]), [], [])

    # --- plumbing: bounded queues that give up when the stream is stopped -----------------------------
    def _guard(self, work, out: queue.Queue) -> None:
        try:
            work(out)
        except BaseException as error:
            self._put(out, error)
        self._put(out, _DONE)

    def _put(self, out: queue.Queue, item) -> None:
        while not self._stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _get(self, source: queue.Queue):
        while True:
            try:
                item = source.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return _DONE
                continue
            if isinstance(item, BaseException):
                raise item
            return item


WHICH = ("main", "largest", "all")
# made once per process, reused by the next video's stream (see core/reuse.py)
DETECTORS = Reusable(FaceDetector)
LANDMARKERS = Reusable(alignment.Landmarker)


def prepare_in_background(options: AnalysisOptions) -> threading.Thread:
    """Make a face detector (and, for aligned crops, the face-mesh model) in a daemon thread and keep them
    for the next stream with these options, whose first frame then waits for neither: `analyze` calls this
    before it loads a model, the app when it starts, both while PyTorch is imported (~1 s of the face
    side's start overlaps with it). A failure is left for the stream to report."""
    key = (options.face_range, options.min_confidence, options.min_face_size)
    aligned = options.crop_method in (None, ALIGNED)  # None: the model's; aligned unless it says box

    def prepare():
        try:
            detector = DETECTORS.take(*key)
            if not DETECTORS.give(detector, *key):
                detector.close()
            if aligned:
                LANDMARKERS.give(LANDMARKERS.take())
        except Exception as error:
            log.info("could not prepare the face detector ahead (%s)", error)

    thread = threading.Thread(target=prepare, name="face-prepare", daemon=True)
    thread.start()
    return thread


def _choose(faces: list[Face], which: str) -> list[Face]:
    """`all` faces; the `main` one, the face of the track seen longest (the subject of a talking-head
    video, not a large face that flashes by); or the `largest` one in each frame."""
    if which == "all" or len(faces) <= 1:
        return faces
    if which == "largest":
        return [max(faces, key=lambda face: face.box.area)]
    return [max(faces, key=lambda face: (face.frames_seen, face.box.area))]
