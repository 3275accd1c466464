"""Annotations -> a training set the `training` package reads: face crops plus `train.csv`/`validation.csv`.

A researcher corrects or labels spans in the app; this turns them into data for retraining. Each annotated
frame gets the 112x112 crop of its annotation's face track (the same crop the engine sees), and a row with
valence/arousal and the expression where the annotation gives them (empty cells mean "not labelled", which
`training`'s masked curation uses). The last `validation_share` of the annotated frames, in time order,
becomes the validation split: neighbouring frames are nearly identical, so a random split would leak.

The folder is built under a temporary name and renamed into place at the end, so an interrupted export
never leaves a half-written dataset.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from affectstudio.core.errors import AnnotationError
from affectstudio.core.faces import Box, crop_face
from affectstudio.core.labels import EXPRESSIONS
from affectstudio.core.video import VideoReader


@dataclass(frozen=True)
class FrameLabel:
    track_id: int
    valence: float | None
    arousal: float | None
    expression: str | None


@dataclass
class ExportSummary:
    folder: Path
    train_frames: int
    validation_frames: int
    skipped_no_face: int


def frame_labels(annotations: Sequence) -> dict[int, FrameLabel]:
    """Per-frame labels from annotation spans (objects with track_id, start_frame, stop_frame inclusive,
    expression, valence, arousal, id); where spans overlap, the later annotation wins, field by field."""
    labels: dict[int, FrameLabel] = {}
    for annotation in sorted(annotations, key=lambda a: a.id):
        for frame in range(annotation.start_frame, annotation.stop_frame + 1):
            old = labels.get(frame)
            has_va = annotation.valence is not None
            labels[frame] = FrameLabel(
                track_id=annotation.track_id,
                valence=annotation.valence if has_va else (old.valence if old else None),
                arousal=annotation.arousal if has_va else (old.arousal if old else None),
                expression=annotation.expression or (old.expression if old else None),
            )
    return labels


def export_training_set(
    video: str | Path,
    annotations: Sequence,
    boxes: Mapping[int, np.ndarray],
    folder: str | Path,
    validation_share: float = 0.2,
    progress: Callable[[int, int], None] | None = None,
) -> ExportSummary:
    """Write crops and label CSVs for the annotated frames of `video` into a new `folder`.

    `boxes` maps a face track id to its (frames, 4) array of boxes (x0, y0, x1, y1; NaN without a face).
    A span annotated with no track selected (track id -1) takes the largest face of each frame.
    """
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise AnnotationError(folder, "export folder exists and is not empty; choose a new folder")
    labels = frame_labels(annotations)
    if not labels:
        raise AnnotationError(Path(video), "no annotated frames to export")
    partial = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    stem = Path(video).stem
    (partial / "images" / stem).mkdir(parents=True)
    rows: list[tuple[int, list[str]]] = []
    skipped = 0
    try:
        with VideoReader(video) as reader:
            frames = sorted(f for f in labels if 0 <= f < reader.info.frame_count)
            for done, index in enumerate(frames, 1):
                box = _box_for(labels[index].track_id, index, boxes)
                if box is None:
                    skipped += 1
                    continue
                crop = crop_face(reader.read(index).image, box)
                name = f"images/{stem}/{index + 1:05d}.jpg"
                ok, encoded = cv2.imencode(
                    ".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95]
                )
                if not ok:
                    raise AnnotationError(partial / name, "could not encode the face crop")
                (partial / name).write_bytes(encoded.tobytes())
                rows.append((index, [name, *_cells(labels[index])]))
                if progress is not None:
                    progress(done, len(frames))
        if not rows:
            raise AnnotationError(
                Path(video), "no annotated frame has a face box in its track; analyse first"
            )
        cut = len(rows) - round(len(rows) * validation_share) if len(rows) > 1 else len(rows)
        _write_csv(partial / "train.csv", [r for _, r in rows[:cut]])
        _write_csv(partial / "validation.csv", [r for _, r in rows[cut:]])
        if folder.exists():
            folder.rmdir()  # empty, checked above
        os.replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return ExportSummary(folder, cut, len(rows) - cut, skipped)


def _box_for(track_id: int, index: int, boxes: Mapping[int, np.ndarray]) -> Box | None:
    """The annotation's track's box; for a span made with no track selected (-1), the largest face."""
    candidates = [boxes[track_id]] if track_id in boxes else [] if track_id >= 0 else list(boxes.values())
    found = [b[index] for b in candidates if index < len(b) and not np.isnan(b[index]).any()]
    if not found:
        return None
    x0, y0, x1, y1 = max(found, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    return Box(float(x0), float(y0), float(x1), float(y1))


def _cells(label: FrameLabel) -> list[str]:
    va = ["", ""] if label.valence is None else [f"{label.valence:.4f}", f"{label.arousal:.4f}"]
    expression = "" if not label.expression else str(EXPRESSIONS.index(label.expression))
    return [*va, expression]


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "valence", "arousal", "expression"])
        writer.writerows(rows)
