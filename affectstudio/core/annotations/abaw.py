"""Spans to the s-Aff-Wild2 annotation layout that the `training` package reads (one row per frame)."""

from __future__ import annotations

from pathlib import Path

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS, INVALID_AU, INVALID_EXPR, INVALID_VA
from affectstudio.core.paths import write_text_atomic


def write_abaw_annotations(path: str | Path, video_name: str, annotations) -> Path:
    """One row per annotated frame: `video/00001.jpg,valence,arousal,expression,AU1..AU26`.

    `annotations` are the store's span view (`ProjectStore.annotations`). Frames are numbered from 1 as in
    s-Aff-Wild2's cropped_aligned folders. Where spans overlap, the later annotation wins. AUs are written
    as invalid (-1): the span view carries none.
    """
    frames: dict[int, list] = {}
    for annotation in sorted(annotations, key=lambda a: a.id):
        for frame in range(annotation.start_frame, annotation.stop_frame + 1):
            row = frames.setdefault(frame, [INVALID_VA, INVALID_VA, INVALID_EXPR])
            if annotation.valence is not None:
                row[0], row[1] = annotation.valence, annotation.arousal
            if annotation.expression:
                row[2] = EXPRESSIONS.index(annotation.expression)
    header = ",".join(["image", "valence", "arousal", "expression", *ACTION_UNITS])
    invalid_aus = ",".join([str(INVALID_AU)] * len(ACTION_UNITS))
    lines = [header] + [
        f"{video_name}/{frame + 1:05d}.jpg,{v:g},{a:g},{e},{invalid_aus}"
        for frame, (v, a, e) in sorted(frames.items())
    ]
    return write_text_atomic(path, "\n".join(lines) + "\n")
