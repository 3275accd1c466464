"""The v1 span view of the lanes, for the annotation panel of the current main window.

The window labels a frame span with an expression and/or one valence/arousal pair; in schema v2 such a span
is an `expression` segment and a constant stretch of the VA traces of the default annotator. These methods
read and write that view so the window keeps working until the review session (branch `session`) moves it
onto lanes; then this module goes.

A VA-only span's note is an `event` at its first frame.
Ids: an expression span has its segment's id; a VA-only span (a run of one constant VA pair with no
expression segment of exactly its frames) has a negative id that encodes its track and first frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from affectstudio.core.annotations.lanes import DEFAULT_ANNOTATOR, LaneKey, Segment
from affectstudio.core.errors import AnnotationError

_SHIFT = 1 << 31


@dataclass(frozen=True)
class Annotation:
    id: int
    track_id: int
    start_frame: int
    stop_frame: int  # inclusive
    expression: str | None
    valence: float | None
    arousal: float | None
    note: str = ""


def _va_runs(va: np.ndarray) -> list[tuple[int, int, float, float]]:
    """Maximal runs of one constant, labelled (valence, arousal) pair: (start, stop, v, a)."""
    runs = []
    labelled = np.isfinite(va).all(axis=1)
    start = None
    for frame in range(len(va) + 1):
        same = start is not None and frame < len(va) and labelled[frame] and (va[frame] == va[start]).all()
        if start is not None and not same:
            runs.append((start, frame - 1, float(va[start, 0]), float(va[start, 1])))
            start = None
        if start is None and frame < len(va) and labelled[frame]:
            start = frame
    return runs


class LegacySpansMixin:
    """Span methods of `ProjectStore`, for the v1 annotation panel."""

    def _va(self, video_hash: str, track: int) -> np.ndarray:
        return np.stack(
            [self.trace(video_hash, LaneKey(n, DEFAULT_ANNOTATOR, track)) for n in ("valence", "arousal")], 1
        )

    def annotations(self, video_hash: str) -> list[Annotation]:
        tracks = {k.track_id for k in self.lane_keys(video_hash) if k.annotator == DEFAULT_ANNOTATOR}
        out = []
        for track in sorted(tracks):
            va = self._va(video_hash, track)
            runs = {(start, stop): (v, a) for start, stop, v, a in _va_runs(va)}
            for seg in self.segments(video_hash, LaneKey("expression", DEFAULT_ANNOTATOR, track)):
                v, a = runs.pop((seg.start, seg.stop), (None, None))
                out.append(Annotation(seg.id, track, seg.start, seg.stop, seg.value, _r(v), _r(a), seg.note))
            notes = {
                e.start: e for e in self.segments(video_hash, LaneKey("event", DEFAULT_ANNOTATOR, track))
            }
            for (start, stop), (v, a) in runs.items():
                ident = -((track + 2) * _SHIFT + start + 1)
                note = notes[start].value if start in notes else ""
                out.append(Annotation(ident, track, start, stop, None, _r(v), _r(a), note))
        return sorted(out, key=lambda a: (a.start_frame, a.id))

    def add_annotation(
        self,
        video_hash: str,
        track_id: int,
        start_frame: int,
        stop_frame: int,
        expression: str | None = None,
        valence: float | None = None,
        arousal: float | None = None,
        note: str = "",
    ) -> int:
        from affectstudio.core.annotations.edits import AddSegment, SetTrace

        start, stop = sorted((int(start_frame), int(stop_frame)))
        if expression is None and valence is None and arousal is None:
            raise AnnotationError(self.path, "nothing to annotate: choose an expression or valence/arousal")
        try:
            with self.transaction():
                if valence is not None or arousal is not None:
                    va = np.tile(
                        np.array(
                            [
                                [
                                    np.nan if valence is None else valence,
                                    np.nan if arousal is None else arousal,
                                ]
                            ],
                            np.float32,
                        ),
                        (stop - start + 1, 1),
                    )
                    SetTrace(video_hash, LaneKey("valence", DEFAULT_ANNOTATOR, track_id), start, va).apply(
                        self
                    )
                if expression is None:
                    if note:
                        key = LaneKey("event", DEFAULT_ANNOTATOR, track_id)
                        AddSegment(video_hash, key, Segment(start, start, note)).apply(self)
                    return -((track_id + 2) * _SHIFT + start + 1)
                command = AddSegment(
                    video_hash,
                    LaneKey("expression", DEFAULT_ANNOTATOR, track_id),
                    Segment(start, stop, expression, note),
                )
                command.apply(self)
                return command.added.id
        except AnnotationError as error:
            if error.path is not None:
                raise
            raise AnnotationError(self.path, error.problem) from None

    def remove_annotation(self, annotation_id: int, video_hash: str | None = None) -> None:
        """Remove a span: its expression segment and its VA stretch. A VA-only span needs `video_hash`."""
        if video_hash is None:
            found = self.segment(annotation_id) if annotation_id > 0 else None
            if found is None:
                return
            video_hash = found[0]
        spans = [a for a in self.annotations(video_hash) if a.id == annotation_id]
        if not spans:
            return
        span = spans[0]
        with self.transaction():
            if span.valence is not None:
                nan = np.full((span.stop_frame - span.start_frame + 1, 2), np.nan, np.float32)
                self.write_va(video_hash, DEFAULT_ANNOTATOR, span.track_id, span.start_frame, nan)
            if span.id > 0:
                self.remove_segment(span.id)
            elif span.note:
                key = LaneKey("event", DEFAULT_ANNOTATOR, span.track_id)
                for event in self.segments(video_hash, key):
                    if event.start == span.start_frame:
                        self.remove_segment(event.id)


def _r(value: float | None) -> float | None:
    """float32 storage back to the decimal the user typed (6 significant digits)."""
    return None if value is None else float(f"{value:.6g}")
