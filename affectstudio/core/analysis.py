"""analyze(video) -> per-frame predictions: the pipeline behind `affectstudio analyze` and the GUI.

Faces come from `FaceStream` (decoding, detection and tracking in background threads); this module
batches their crops through the network and streams the rows to disk as each batch finishes, so memory
stays flat however long the video is. Cancellation (the GUI's button, the CLI's Ctrl-C) is checked between
batches: the rows done so far are kept, and the CSV's sidecar says the run is incomplete.

First results come fast: the first batches are small (1 crop, doubling up to the batch size); the face
detector and mesh model are made in a thread while the network is prepared; a model whose network is in the
fast-path cache runs from it without importing torch (`compiled.CachedEngine`), any other starts on plain
PyTorch while its fast path compiles in the background (see `engine.py`). The sidecar says which backend
computed which frames (`backends`), and `backend` sums it up in words.
"""

from __future__ import annotations

import functools
import platform
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from affectstudio import __version__
from affectstudio.core import compiled, startup
from affectstudio.core.crops_folder import CropSaver
from affectstudio.core.errors import VideoError
from affectstudio.core.face_stream import FaceStream, FrameFaces, prepare_in_background
from affectstudio.core.options import AnalysisOptions
from affectstudio.core.results import (
    NO_FACE,
    FrameBatch,
    ResultTable,
    ResultWriter,
    batch_to_frame,
    write_json_atomic,
)
from affectstudio.core.transforms import ALIGNED
from affectstudio.core.video import VideoReader

NO_FACE_WARNING = "no face found in any analysed frame; every row is empty"
FIRST_BATCH = 1  # crops in the first batch; each next batch doubles, up to the batch size
FINISHING = "fast path: finishing its one-time conversion, kept for later runs"


@dataclass
class Progress:
    done: int
    total: int
    fps: float
    eta_s: float
    preparing: str | None = None  # what is still being prepared in the background, in words


class BackendRuns:
    """Which backend computed which frames: runs of consecutive frames, in order."""

    def __init__(self):
        self.runs: list[dict] = []

    def add(self, backend: str, first: int, last: int) -> None:
        if self.runs and self.runs[-1]["backend"] == backend:
            self.runs[-1]["last_frame"] = last
        else:
            self.runs.append({"backend": backend, "first_frame": first, "last_frame": last})

    def summary(self, fallback: str) -> str:
        """One backend's name, or e.g. "eager (frames 0-27), then openvino-f32 (frames 28-119)"."""
        if len(self.runs) <= 1:
            return self.runs[0]["backend"] if self.runs else fallback
        return ", then ".join(
            f"{run['backend']} (frames {run['first_frame']}-{run['last_frame']})" for run in self.runs
        )


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
    model_digest: str
    untrained_tasks: list[str]
    device: str
    backend: str  # the backend, or which one ran which frames in words (see BackendRuns.summary)
    timings: dict[str, float] = field(default_factory=dict)
    truncated: str = ""  # the video holds fewer frames than its header promises: why, in words
    backends: list[dict] = field(default_factory=list)  # BackendRuns.runs
    fast_path: str = "off"  # the engine's fast path at the end: off, building, ready after N s, ...
    frames_undecodable: int = 0  # frames the decoder could not produce (corrupt data): empty rows


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
    columns: str = "affectstudio",
    engine=None,
) -> AnalysisResult:
    """Analyse every frame of `video`; stream rows to `output_csv` (and a JSON sidecar) if given.

    `on_rows` receives each finished batch of rows (the GUI fills its plots while the run goes on);
    `keep_table=False` keeps nothing in memory (the CLI), so memory does not grow with the video.
    `columns` is the column style of the output file (see `layouts`; a `.parquet` path writes Parquet);
    `engine` reuses a built InferenceEngine (a study runs many videos per worker, built once).
    """
    owned: list = []  # the engine made here: closed once the results are published
    try:
        return _analyze(
            video,
            output_csv,
            options or AnalysisOptions(),
            progress,
            cancelled,
            on_rows,
            loaded,
            keep_table,
            columns,
            engine,
            owned,
        )
    finally:
        for made in owned:  # a conversion under way is finished and saved (later runs reuse it), then stops
            made.close()


def _analyze(
    video, output_csv, options, progress, cancelled, on_rows, loaded, keep_table, columns, engine, owned
) -> AnalysisResult:
    startup.mark("pipeline imported")
    setup_started = time.perf_counter()
    with VideoReader(video) as reader:
        startup.mark("video probed")
        if engine is None:
            prepare_in_background(options)  # the face detector and mesh model, while the network is prepared
            engine = _engine(options, loaded)
            owned.append(engine)
        loaded = engine.loaded
        thresholds = list(loaded.config.au_thresholds)
        crop_method = options.crop_method or engine.prep.crop_method
        metadata = _metadata(reader, loaded, engine, options) | {"crop_method": crop_method}
        crop_saver = CropSaver(options.save_crops) if options.save_crops else None
        writer = ResultWriter(output_csv, metadata, thresholds, columns) if output_csv is not None else None
        stream = FaceStream(
            reader,
            face_range=options.face_range,
            min_confidence=options.min_confidence,
            detect_every=options.detect_every,
            which=options.faces,
            workers=options.detect_workers,
            buffer=4 * engine.batch_size,
            crop_method=crop_method,
            min_face_size=options.min_face_size,
            max_gap_s=options.max_gap_s,
        )
        setup_s = time.perf_counter() - setup_started

        started = time.perf_counter()  # frames/s and time left count from the first frame
        total, truncated = reader.info.frame_count, reader.info.truncated
        kept: list[pd.DataFrame] = []
        done = with_face = 0
        infer_s = 0.0
        was_cancelled = False
        runs = BackendRuns()
        try:
            with stream:
                if progress is not None:
                    waiting = "face detector, face landmarks" if crop_method == ALIGNED else "face detector"
                    background = f"; {engine.preparing}" if engine.preparing else ""
                    progress(Progress(0, total, 0.0, float("inf"), f"{waiting}{background}"))
                for pending in _batches(stream, engine.batch_size):
                    t0 = time.perf_counter()
                    batch = _predict(engine, pending)
                    infer_s += time.perf_counter() - t0
                    runs.add(engine.backend, pending[0].index, pending[-1].index)
                    if crop_saver is not None:
                        crop_saver.save(pending)
                    rows = writer.write(batch) if writer else batch_to_frame(batch, thresholds)
                    if keep_table:
                        kept.append(rows)
                    if on_rows is not None:
                        on_rows(rows)
                    startup.mark("first rows")
                    done += len(pending)
                    with_face += sum(1 for item in pending if item.faces)
                    if progress is not None:
                        fps = done / max(time.perf_counter() - started, 1e-9)
                        eta = max(total - done, 0) / fps
                        progress(Progress(done, total, fps, eta, engine.preparing))
                    if cancelled is not None and cancelled():
                        was_cancelled = True
                        break
            if done == 0 and not was_cancelled:
                raise VideoError(video, "no frame could be decoded")
        except BaseException:
            if writer:
                writer.abort()
            if crop_saver is not None:
                crop_saver.abort()
            raise
        fast_path = engine.fast_path  # before the engine is closed (a build still under way: "building")
        if owned and engine.preparing and progress is not None and done:  # closing it will wait
            progress(Progress(done, total, done / max(time.perf_counter() - started, 1e-9), 0.0, FINISHING))
    if crop_saver is not None:
        crop_saver.close()

    seconds = time.perf_counter() - started
    timings = {
        "setup_s": round(setup_s, 3),
        "processing_s": round(seconds, 3),
        "frames_per_s": round(done / seconds, 2) if seconds else 0.0,
        "track_crop_s": round(stream.track_crop_s, 3),
        "inference_s": round(infer_s, 3),
    }
    csv_path = sidecar = None
    if writer:
        csv_path = writer.close()
        summary = {
            "complete": not was_cancelled and not truncated,
            "frames_analysed": done,
            "frames_with_face": with_face,
            "frames_undecodable": stream.undecodable,
            "backend": runs.summary(engine.backend),
            "backends": runs.runs,
            "fast_path": fast_path,
            "timings": timings,
        }
        if done and not with_face:  # the terminal's warning, kept with the results
            summary["warning"] = "; ".join(w for w in (metadata["warning"], NO_FACE_WARNING) if w)
        sidecar = write_json_atomic(csv_path.with_suffix(".json"), {**metadata, **summary})
    return AnalysisResult(
        table=ResultTable.concat(kept, metadata) if keep_table else None,
        csv_path=csv_path,
        sidecar_path=sidecar,
        frames=done,
        frames_with_face=with_face,
        seconds=seconds,
        cancelled=was_cancelled,
        model_name=loaded.name,
        model_digest=loaded.digest,
        untrained_tasks=list(loaded.config.untrained_tasks),
        device=str(engine.device),
        backend=runs.summary(engine.backend),
        timings=timings,
        truncated=truncated,
        backends=runs.runs,
        fast_path=fast_path,
        frames_undecodable=stream.undecodable,
    )


def _engine(options: AnalysisOptions, loaded):
    """The network: opened from the fast-path cache without torch when this run can use it (the fast path,
    on the CPU, a model whose card the cache has: `compiled.py`), else PyTorch with the fast path built in
    the background (`engine.py`)."""
    from affectstudio.core.model.registry import ModelRegistry

    if loaded is None:
        registry = ModelRegistry()
        if options.fast and compiled.cpu_only(options.device):
            card = compiled.find_card(registry.identity(options.model))
            cached = compiled.CachedEngine.open(card, options.batch_size) if card else None
            if cached is not None:
                startup.mark("cached fast path opened")
                return cached
        loaded = registry.load(options.model)  # imports torch
        startup.mark("model loaded")
    from affectstudio.core.engine import InferenceEngine

    return InferenceEngine(loaded, options.device, options.batch_size, fast=options.fast)


def _batches(frames: Iterable[FrameFaces], batch_size: int) -> Iterator[list[FrameFaces]]:
    """Group frames so each network call gets about `batch_size` crops (frames without faces ride along,
    capped so a long stretch without faces still reports progress). The first batches are smaller
    (FIRST_BATCH crops, doubling), so the first rows do not wait for a whole batch of faces."""
    pending: list[FrameFaces] = []
    crops = 0
    size = min(FIRST_BATCH, batch_size)
    for item in frames:
        pending.append(item)
        crops += len(item.crops)
        if crops >= size or len(pending) >= 4 * batch_size:
            yield pending
            pending, crops = [], 0
            size = min(2 * size, batch_size)
    if pending:
        yield pending


def _predict(engine, pending: list[FrameFaces]) -> FrameBatch:
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


@functools.cache  # ~0.15 s a call (metadata scans): per video, that was most of a study's overhead
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
        "video_truncated": reader.info.truncated or None,
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
        # what the run will use; the sidecar says at the end which backend computed which frames
        "backend": engine.backend
        if engine.preparing is None
        else f"{engine.backend} until the fast path is ready (the sidecar says which frames ran where)",
        "options": asdict(options),
        "versions": {"python": platform.python_version(), **_package_versions()},
    }
