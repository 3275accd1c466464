"""Annotation lanes of project videos -> a dataset the `training` package reads unchanged.

Two layouts: `affwild` (default), the s-Aff-Wild2 layout `cropped_aligned/<video>/<frame:05d>.jpg` (frames
numbered from 1) with `training_set_annotations.txt` / `validation_set_annotations.txt` of 16 columns
(challenge sentinels -5 / -1 where a label is missing); or `csv`, `images/<video>/...` with generic
`train.csv` / `validation.csv` (empty cell = not labelled; only the columns of tasks that have labels).
Each labelled face gets the crop `face_crop` makes (the one place that decides how training crops look).

Validation split: per video, the last `validation_share` of its labelled frames in time order (neighbouring
frames are nearly identical, so a random split would leak); a single video gets a time-contiguous part.

Into a new or an existing dataset folder: exporting a video again replaces only that video's rows and
crops (`affectstudio_export.json` remembers which folder names each video, by content hash, wrote). Nothing
old is lost if the export fails or is killed: crops are built under temporary folder names, the label
files are written beside and swapped with `atomic_write`, and old crops are removed only at the end.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from affectstudio.core.annotations.lanes import Lane
from affectstudio.core.dataset_files import DatasetFiles
from affectstudio.core.dataset_labels import LabelledFace, labelled_faces, track_labels
from affectstudio.core.errors import AnnotationError
from affectstudio.core.faces import Box, crop_face
from affectstudio.core.jobs import JobState, Progress
from affectstudio.core.video import VideoReader

FORMATS = ("affwild", "csv")


def face_crop(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The training crop of a face: the same crop the engine feeds the network."""
    return crop_face(image, Box(*(float(v) for v in box)))


@dataclass
class VideoLabels:
    """One video to export: its lanes and the analysed rows that hold its face boxes."""

    key: str  # content hash: the video's identity across renames and re-exports
    name: str  # folder name in the dataset (the file's stem)
    path: Path
    lanes: list[Lane]
    results: pd.DataFrame | None
    frame_count: int


@dataclass
class ExportSummary:
    folder: Path
    train_frames: int = 0
    validation_frames: int = 0
    videos: dict[str, tuple[int, int]] = field(default_factory=dict)  # folder name -> (train, validation)
    skipped: Counter = field(default_factory=Counter)  # reason -> frames

    @property
    def skipped_no_face(self) -> int:
        return sum(count for reason, count in self.skipped.items() if "face" in reason)


def export_dataset(
    folder: str | Path,
    videos: Sequence[VideoLabels],
    fmt: str = "affwild",
    validation_share: float = 0.2,
    state: JobState | None = None,
) -> ExportSummary:
    if fmt not in FORMATS:
        raise AnnotationError(None, f"unknown dataset format {fmt!r}; choose one of {', '.join(FORMATS)}")
    files = DatasetFiles(Path(folder), fmt)
    state = state or JobState()
    summary = ExportSummary(files.folder)
    plans = []
    for video in videos:
        if video.results is None:
            labels = track_labels(video.lanes, video.frame_count).values()
            summary.skipped[f"{video.name}: not analysed"] += sum(int(a.labelled().sum()) for a in labels)
            continue
        faces = labelled_faces(video.lanes, video.results, video.frame_count, summary.skipped)
        if faces:
            plans.append((video, faces))
    if not plans:
        reasons = "; ".join(f"{reason}: {count}" for reason, count in summary.skipped.items())
        raise AnnotationError(files.folder, f"no labelled frame with a face to export ({reasons or 'none'})")
    total, done = sum(len(faces) for _, faces in plans), 0
    staged: list[tuple[str, Path]] = []
    try:
        for video, faces in plans:
            names = files.claim(video.key, video.name, sorted({face.track for face in faces}))
            for track, name in names.items():
                rows = [face for face in faces if face.track == track]
                partial = files.images / f".{name}.partial-{uuid.uuid4().hex[:8]}"
                partial.mkdir(parents=True)
                staged.append((name, partial))
                done = _write_crops(video, rows, partial, state, done, total)
                cut = len(rows) - round(len(rows) * validation_share) if len(rows) > 1 else len(rows)
                files.add_rows(name, rows[:cut], rows[cut:])
                summary.videos[name] = (cut, len(rows) - cut)
        files.commit(staged)
    except BaseException:
        for _, partial in staged:
            shutil.rmtree(partial, ignore_errors=True)
        raise
    summary.train_frames = sum(train for train, _ in summary.videos.values())
    summary.validation_frames = sum(validation for _, validation in summary.videos.values())
    return summary


def _write_crops(video, faces: list[LabelledFace], into: Path, state, done: int, total: int) -> int:
    with VideoReader(video.path) as reader:
        for face in faces:
            state.check()
            crop = face_crop(reader.read(face.frame).image, face.box)
            ok, encoded = cv2.imencode(
                ".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95]
            )
            if not ok:
                raise AnnotationError(video.path, f"could not encode the face crop of frame {face.frame}")
            (into / f"{face.frame + 1:05d}.jpg").write_bytes(encoded.tobytes())
            done += 1
            state.report(Progress(done, total, f"{video.name}: frame {face.frame + 1}"))
    return done


def project_videos(store, videos: Sequence[str] | None = None, annotators: Sequence[str] | None = None):
    """`VideoLabels` of project videos (all, or those named by hash or path), from the latest analysis."""
    records = store.videos()
    if videos:
        wanted = []
        for name in videos:
            record = store.video(name)
            if record is None:
                raise AnnotationError(store.path, f"no video {name} in the project")
            wanted.append(record)
        records = wanted
    order = list(annotators or store.annotators())
    out = []
    for record in records:
        lanes = [lane for lane in store.lanes(record.hash) if lane.key.annotator in order]
        lanes.sort(key=lambda lane: order.index(lane.key.annotator))
        cached = store.latest_results(record.hash)
        frames = record.frame_count or (int(cached.frame["frame"].max()) + 1 if cached else 0)
        stem = record.path.stem
        out.append(
            VideoLabels(record.hash, stem, record.path, lanes, cached.frame if cached else None, frames)
        )
    return out


def export_project(
    store,
    folder: str | Path,
    videos: Sequence[str] | None = None,
    fmt: str = "affwild",
    annotators: Sequence[str] | None = None,
    validation_share: float = 0.2,
    state: JobState | None = None,
) -> ExportSummary:
    chosen = [video for video in project_videos(store, videos, annotators) if video.lanes]
    missing = [video.path for video in chosen if not video.path.is_file()]
    if missing:
        raise AnnotationError(missing[0], "video not found; relink it (affectstudio project relink)")
    return export_dataset(folder, chosen, fmt, validation_share, state)


def manifest_of(folder: str | Path) -> dict:
    path = Path(folder) / DatasetFiles.MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {}
