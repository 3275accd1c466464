"""analyze(video) -> per-frame predictions: the pipeline behind `affectstudio analyze` and the GUI.

Three stages overlap instead of waiting on each other:

    decode thread -> frames (+ detection submitted to a thread pool) -> tracking thread (in frame order)
        -> crops -> caller's thread: batched inference, CSV rows

Decoding (FFmpeg), detection (MediaPipe) and the network all release the GIL in their native code, so the
stages run side by side, and detection, the costliest CPU stage, scales with the pool on machines with
more cores (two threads detect at 1.9x one thread here). Queues are bounded, so memory stays flat however
long the video is; rows stream to disk as each batch finishes. Cancellation (the GUI's button, the CLI's
Ctrl-C) is checked between batches: the rows done so far are kept and the CSV is marked incomplete.
"""

from __future__ import annotations

import os
import platform
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from affectstudio import __version__
from affectstudio.core.faces import Face, FaceDetector, FaceTracker, crop_face
from affectstudio.core.results import NO_FACE, FrameBatch, ResultTable, ResultWriter, write_json_atomic
from affectstudio.core.video import VideoReader

_DONE = object()


@dataclass
class AnalysisOptions:
    model: str | None = None  # registry name or checkpoint path; None = the default model
    device: str = "auto"
    batch_size: int = 32
    detect_every: int = 1
    face_range: str = "full"
    min_confidence: float = 0.5
    faces: str = "largest"  # or "all"
    fast: bool = True
    detect_workers: int = 0  # face-detection threads; 0 = half the CPU cores (detection releases the GIL)


@dataclass
class Progress:
    done: int
    total: int
    fps: float
    eta_s: float


@dataclass
class AnalysisResult:
    table: ResultTable | None
    csv_path: Path | None
    sidecar_path: Path | None
    frames: int
    frames_with_face: int
    seconds: float
    cancelled: bool
    model_name: str
    untrained_tasks: list[str]
    device: str
    backend: str
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _FrameFaces:
    index: int
    time: float
    faces: list[Face]
    crops: list[np.ndarray]


class _Stage(threading.Thread):
    """A pipeline stage: pulls from `source`, pushes to a bounded queue; errors travel down the queue."""

    def __init__(self, name: str, work: Callable, out: queue.Queue, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.work, self.out, self.stop = work, out, stop
        self.busy_s, self.undecodable = 0.0, 0

    def run(self) -> None:
        try:
            self.work(self)
        except BaseException as error:
            self.put(error)
        self.put(_DONE)

    def put(self, item) -> None:
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


def _get(q: queue.Queue, stop: threading.Event):
    while True:
        try:
            item = q.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                return _DONE
            continue
        if isinstance(item, BaseException):
            raise item
        return item


def analyze(
    video: str | Path,
    output_csv: str | Path | None,
    options: AnalysisOptions | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_rows: Callable[[pd.DataFrame], None] | None = None,
    loaded=None,
    keep_table: bool = True,
) -> AnalysisResult:
    """Analyse every frame of `video`; stream rows to `output_csv` (and a JSON sidecar) if given."""
    options = options or AnalysisOptions()
    started = time.perf_counter()
    reader = VideoReader(video)
    if loaded is None:
        from affectstudio.core.model.registry import ModelRegistry

        loaded = ModelRegistry().load(options.model)
    from affectstudio.core.engine import InferenceEngine

    engine = InferenceEngine(loaded, options.device, options.batch_size, fast=options.fast)
    thresholds = list(loaded.config.au_thresholds)
    metadata = _metadata(reader, loaded, engine, options)
    writer = ResultWriter(output_csv, metadata, thresholds) if output_csv is not None else None
    tracker = FaceTracker(detect_every=options.detect_every)
    detectors: list[FaceDetector] = []
    local = threading.local()

    def detect(image: np.ndarray):
        """Runs in the detection pool; MediaPipe graphs are not shared between threads."""
        if not hasattr(local, "detector"):
            local.detector = FaceDetector(options.face_range, options.min_confidence)
            detectors.append(local.detector)
        return local.detector.detect(image)

    workers = options.detect_workers or default_detect_workers()
    pool = ThreadPoolExecutor(workers, thread_name_prefix="detect")
    timestamps = reader.timestamps
    stop = threading.Event()
    frames_q: queue.Queue = queue.Queue(maxsize=4 + 2 * workers)
    faces_q: queue.Queue = queue.Queue(maxsize=4 * engine.batch_size)

    def decode(stage: _Stage) -> None:
        for count, frame in enumerate(reader):
            if stop.is_set():
                return
            due = count % options.detect_every == 0
            stage.put((frame, pool.submit(detect, frame.image) if due else None))

    def find_faces(stage: _Stage) -> None:
        """Tracking needs the frames in order, so it runs here, on the detections as they come back."""
        expected = 0
        while (item := _get(frames_q, stop)) is not _DONE:
            frame, detection = item
            expected = _skip_undecodable(stage, expected, frame.index)
            t0 = time.perf_counter()
            faces = _select(tracker.update(detection.result() if detection else None), options.faces)
            crops = [crop_face(frame.image, face.box) for face in faces]
            stage.busy_s += time.perf_counter() - t0
            stage.put(_FrameFaces(frame.index, frame.time, faces, crops))
        if not stop.is_set():
            _skip_undecodable(stage, expected, len(timestamps))

    def _skip_undecodable(stage: _Stage, expected: int, index: int) -> int:
        """Frames the decoder could not produce still get (empty) rows: nothing is dropped silently."""
        for missing in range(expected, index):
            stage.undecodable += 1
            stage.put(_FrameFaces(missing, float(timestamps[missing]), [], []))
        return index + 1

    stages = [_Stage("decode", decode, frames_q, stop), _Stage("faces", find_faces, faces_q, stop)]
    setup_s = time.perf_counter() - started
    started = time.perf_counter()  # frames/s and time left count from the first frame, not the model load
    for stage in stages:
        stage.start()

    total = reader.info.frame_count
    kept: list[pd.DataFrame] = []
    done = with_face = 0
    infer_s = 0.0
    pending: list[_FrameFaces] = []
    was_cancelled = False
    last_report = 0.0
    try:
        while True:
            item = _get(faces_q, stop)
            if item is not _DONE:
                pending.append(item)
            n_crops = sum(len(p.crops) for p in pending)
            if item is not _DONE and n_crops < engine.batch_size and len(pending) < 4 * engine.batch_size:
                continue
            if pending:
                t0 = time.perf_counter()
                batch = _predict(engine, pending)
                infer_s += time.perf_counter() - t0
                rows = writer.write(batch) if writer else None
                if on_rows is not None or keep_table:
                    from affectstudio.core.results import batch_to_frame

                    rows = rows if rows is not None else batch_to_frame(batch, thresholds)
                    if keep_table:
                        kept.append(rows)
                    if on_rows is not None:
                        on_rows(rows)
                done += len(pending)
                with_face += sum(1 for p in pending if p.faces)
                pending = []
            now = time.perf_counter()
            if progress is not None and (now - last_report > 0.1 or item is _DONE):
                last_report = now
                fps = done / max(now - started, 1e-9)
                progress(Progress(done, total, fps, max(total - done, 0) / fps if fps > 0 else float("inf")))
            if item is _DONE:
                break
            if cancelled is not None and cancelled():
                was_cancelled = True
                break
    except BaseException:
        stop.set()
        if writer:
            writer.abort()
        raise
    finally:
        stop.set()
        for stage in stages:
            stage.join(timeout=5)
        pool.shutdown(wait=True, cancel_futures=True)
        for detector in detectors:
            detector.close()
        reader.close()

    if done == 0 and not was_cancelled:
        if writer:
            writer.abort()
        from affectstudio.core.errors import VideoError

        raise VideoError(video, "no frame could be decoded")
    seconds = time.perf_counter() - started
    timings = {
        "setup_s": round(setup_s, 3),
        "processing_s": round(seconds, 3),
        "frames_per_s": round(done / seconds, 2) if seconds else 0.0,
        "track_crop_s": round(stages[1].busy_s, 3),
        "inference_s": round(infer_s, 3),
    }
    csv_path = sidecar = None
    if writer:
        csv_path = writer.close()
        sidecar = write_json_atomic(
            csv_path.with_suffix(".json"),
            {
                **metadata,
                "complete": not was_cancelled,
                "frames_analysed": done,
                "frames_with_face": with_face,
                "frames_undecodable": stages[1].undecodable,
                "timings": timings,
            },
        )
    table = ResultTable.concat(kept, metadata) if keep_table else None
    return AnalysisResult(
        table=table,
        csv_path=csv_path,
        sidecar_path=sidecar,
        frames=done,
        frames_with_face=with_face,
        seconds=seconds,
        cancelled=was_cancelled,
        model_name=loaded.name,
        untrained_tasks=list(loaded.config.untrained_tasks),
        device=str(engine.device),
        backend=engine.backend,
        timings=timings,
    )


def default_detect_workers() -> int:
    return max(1, min(8, (os.cpu_count() or 2) // 2))


def _select(faces: list[Face], which: str) -> list[Face]:
    if which == "all" or len(faces) <= 1:
        return faces
    return [max(faces, key=lambda f: (f.box.x1 - f.box.x0) * (f.box.y1 - f.box.y0))]


def _predict(engine, pending: list[_FrameFaces]) -> FrameBatch:
    """One network call for every crop of the pending frames; frames without a face become empty rows."""
    rows = sum(max(1, len(p.faces)) for p in pending)
    batch = FrameBatch(
        frame=np.empty(rows, dtype=np.int64),
        time=np.empty(rows),
        track_id=np.full(rows, NO_FACE, dtype=np.int64),
        face_score=np.full(rows, np.nan),
        boxes=np.full((rows, 4), np.nan),
        va=np.full((rows, 2), np.nan, dtype=np.float32),
        expr=np.full((rows, 8), np.nan, dtype=np.float32),
        au=np.full((rows, 12), np.nan, dtype=np.float32),
    )
    face_rows: list[int] = []
    crops: list[np.ndarray] = []
    row = 0
    for item in pending:
        for face, crop in zip(item.faces, item.crops, strict=True):
            batch.frame[row], batch.time[row] = item.index, item.time
            batch.track_id[row], batch.face_score[row] = face.track_id, face.score
            batch.boxes[row] = (face.box.x0, face.box.y0, face.box.x1, face.box.y1)
            face_rows.append(row)
            crops.append(crop)
            row += 1
        if not item.faces:
            batch.frame[row], batch.time[row] = item.index, item.time
            row += 1
    if crops:
        out = engine.predict(np.stack(crops))
        for name, array in (("va", out.va), ("expr", out.expr_probs), ("au", out.au_probs)):
            if array is not None:
                getattr(batch, name)[face_rows] = array
    return batch


def _package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("torch", "openvino", "mediapipe", "av", "numpy", "opencv-contrib-python"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _metadata(reader: VideoReader, loaded, engine, options: AnalysisOptions) -> dict:

    untrained = list(loaded.config.untrained_tasks)
    return {
        "affectstudio": __version__,
        "video": str(reader.info.path),
        "video_frames": reader.info.frame_count,
        "video_size": [reader.info.width, reader.info.height],
        "model": loaded.name,
        "model_digest": loaded.digest,
        "untrained_tasks": untrained,
        "warning": (
            f"predictions of the untrained heads ({', '.join(untrained)}) are not meaningful"
            if untrained
            else None
        ),
        "au_thresholds": list(loaded.config.au_thresholds),
        "device": str(engine.device),
        "backend": engine.backend,
        "options": asdict(options),
        "versions": {"python": platform.python_version(), **_package_versions()},
    }
