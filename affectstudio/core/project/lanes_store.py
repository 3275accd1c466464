"""Lanes in the project store: segments (expression, AUs, events, exclusions) and VA traces.

Everything is validated here, at the store, whoever writes (GUI, CLI import, undo): segment values through
`lanes.check_segment`, traces through `lanes.check_trace`, valence and arousal only together (a frame with
one and not the other is refused), and segments of one lane never overlap (the undoable edits in
`annotations/edits.py` trim neighbours first; here an overlap is an error). These are primitives: each is
one transaction, and an edit command groups several in one `transaction()`.
"""

from __future__ import annotations

import numpy as np

from affectstudio.core.annotations.lanes import Lane, LaneKey, Segment, check_segment, check_trace
from affectstudio.core.errors import AnnotationError
from affectstudio.core.project.schema import lane_id, read_trace, stored_length, write_trace
from affectstudio.core.wording import plural

_SEGMENT_COLUMNS = "s.start, s.stop, s.value, s.note, s.id"


class LanesMixin:
    """Lane methods of `ProjectStore` (uses its `_db`, `_rows`, `transaction`)."""

    def lane_keys(self, video_hash: str) -> list[LaneKey]:
        rows = self._rows(
            "SELECT name, annotator, track_id FROM lanes l WHERE video_hash=?"
            " AND (EXISTS (SELECT 1 FROM segments s WHERE s.lane_id=l.id)"
            " OR EXISTS (SELECT 1 FROM trace_chunks c WHERE c.lane_id=l.id))"
            " ORDER BY annotator, track_id, name",
            (video_hash,),
        )
        return [LaneKey(*row) for row in rows]

    def lanes(self, video_hash: str) -> list[Lane]:
        return [self.lane(video_hash, key) for key in self.lane_keys(video_hash)]

    def lane(self, video_hash: str, key: LaneKey) -> Lane:
        if key.kind == "continuous":
            return Lane(key, [], self.trace(video_hash, key))
        return Lane(key, self.segments(video_hash, key))

    def segments(self, video_hash: str, key: LaneKey) -> list[Segment]:
        rows = self._rows(
            f"SELECT {_SEGMENT_COLUMNS} FROM segments s JOIN lanes l ON s.lane_id = l.id"
            " WHERE l.video_hash=? AND l.name=? AND l.annotator=? AND l.track_id=? ORDER BY s.start",
            (video_hash, key.name, key.annotator, key.track_id),
        )
        return [Segment(*row) for row in rows]

    def segment(self, segment_id: int) -> tuple[str, LaneKey, Segment] | None:
        """(video hash, lane, segment) of a segment id."""
        rows = self._rows(
            f"SELECT l.video_hash, l.name, l.annotator, l.track_id, {_SEGMENT_COLUMNS}"
            " FROM segments s JOIN lanes l ON s.lane_id = l.id WHERE s.id=?",
            (segment_id,),
        )
        if not rows:
            return None
        row = rows[0]
        return row[0], LaneKey(row[1], row[2], row[3]), Segment(*row[4:])

    def add_segment(self, video_hash: str, key: LaneKey, segment: Segment) -> Segment:
        """Store a segment (keeping `segment.id` if given, as undo does); returns it with its id."""
        segment = self._checked(video_hash, key, segment)
        with self.transaction():
            lane = lane_id(self._db, video_hash, key, create=True)
            self._refuse_overlap(lane, segment)
            cursor = self._db.execute(
                "INSERT INTO segments (id, lane_id, start, stop, value, note) VALUES (?,?,?,?,?,?)",
                (segment.id, lane, segment.start, segment.stop, segment.value, segment.note),
            )
        return segment.with_(id=int(cursor.lastrowid))

    def update_segment(self, video_hash: str, key: LaneKey, segment: Segment) -> Segment:
        segment = self._checked(video_hash, key, segment)
        with self.transaction():
            lane = lane_id(self._db, video_hash, key, create=False)
            self._refuse_overlap(lane, segment)
            cursor = self._db.execute(
                "UPDATE segments SET start=?, stop=?, value=?, note=? WHERE id=? AND lane_id=?",
                (segment.start, segment.stop, segment.value, segment.note, segment.id, lane),
            )
            if cursor.rowcount != 1:
                raise AnnotationError(self.path, f"no segment {segment.id} in lane {key.name}")
        return segment

    def remove_segment(self, segment_id: int) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM segments WHERE id=?", (segment_id,))

    def frame_count(self, video_hash: str) -> int | None:
        rows = self._rows("SELECT frame_count FROM videos WHERE hash=?", (video_hash,))
        return int(rows[0][0]) if rows and rows[0][0] else None

    def trace(self, video_hash: str, key: LaneKey) -> np.ndarray:
        """A valence/arousal lane's per-frame trace (float32, NaN = unlabelled), the video's length."""
        lane = lane_id(self._db, video_hash, key, create=False)
        length = self.frame_count(video_hash) or stored_length(self._db, lane)
        return read_trace(self._db, lane, length)

    def write_va(self, video_hash: str, annotator: str, track_id: int, start: int, va: np.ndarray) -> None:
        """Set valence and arousal (an (n, 2) array; NaN clears) on frames start..start+n-1, together."""
        va = np.asarray(va, dtype=np.float32).reshape(-1, 2)
        try:
            check_trace(va)
        except AnnotationError as error:
            raise AnnotationError(self.path, error.problem) from None
        lonely = np.flatnonzero(np.isnan(va[:, 0]) != np.isnan(va[:, 1]))
        if lonely.size:
            raise AnnotationError(
                self.path,
                f"frame {start + lonely[0]}: valence and arousal are labelled together or not at all",
            )
        frames = self.frame_count(video_hash)
        if start < 0 or (frames is not None and start + len(va) > frames):
            raise AnnotationError(
                self.path,
                f"frames {start}..{start + len(va) - 1} are outside the video ({plural(frames, 'frame')})",
            )
        with self.transaction():
            for column, name in enumerate(("valence", "arousal")):
                lane = lane_id(self._db, video_hash, LaneKey(name, annotator, track_id), create=True)
                write_trace(self._db, lane, start, va[:, column])

    def _checked(self, video_hash: str, key: LaneKey, segment: Segment) -> Segment:
        try:
            segment = check_segment(key.kind, segment)
        except AnnotationError as error:
            raise AnnotationError(self.path, f"{key.name} lane: {error.problem}") from None
        frames = self.frame_count(video_hash)
        if frames is not None and segment.stop >= frames:
            raise AnnotationError(
                self.path,
                f"segment {segment.start}..{segment.stop} ends past the video ({plural(frames, 'frame')})",
            )
        return segment

    def _refuse_overlap(self, lane: int | None, segment: Segment) -> None:
        """Segments of a lane never overlap, so they are sorted by start and by stop alike: only the last
        one starting at or before `segment.stop` can reach into it (one index lookup, not a scan)."""
        row = self._db.execute(
            "SELECT id, start, stop FROM segments WHERE lane_id=? AND start<=? AND id IS NOT ?"
            " ORDER BY start DESC LIMIT 1",
            (lane, segment.stop, segment.id),
        ).fetchone()
        if row is not None and row[2] >= segment.start:
            raise AnnotationError(
                self.path,
                f"segment {segment.start}..{segment.stop} overlaps segment {row[0]} ({row[1]}..{row[2]})",
            )
