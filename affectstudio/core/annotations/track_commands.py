"""Undoable track corrections: merge two face tracks, split one at a frame, reject one as not a face.

Each is a `Command` of the annotation undo stack (edits.py), so GUI, CLI and undo change tracks the way they
change lanes: one store transaction stores the `TrackEdit` (track_edits.py) and moves the annotations the
edit concerns, and undo removes both. Annotations follow their frames: a merge moves every lane of the
merged track onto the kept one, a split moves what lies from the split frame on to the new track (a
segment across the split frame is cut in two there). A reject moves nothing: the lanes stay on the
rejected track, unseen, and come back with an undo. A merge whose lanes would overlap (both tracks coded
on the same frames by one annotator) is refused, never resolved by dropping labels.

`faces` is what the caller sees now: track id -> frames where that track has a face (after earlier edits).
`analysis` is the results key of the rows whose track ids the edit names: the edit is stored for that
analysis only (another model or other face options number other tracks with the same ids).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from affectstudio.core.annotations.edits import Command, SegmentChange, TraceChange
from affectstudio.core.annotations.lanes import LaneKey
from affectstudio.core.errors import AnnotationError
from affectstudio.core.track_edits import TrackEdit
from affectstudio.core.wording import plural


class TrackError(AnnotationError):
    """A track edit that does not fit the tracks (unknown track, overlapping faces, nothing to split)."""


def _known(faces: Mapping[int, np.ndarray], track: int) -> np.ndarray:
    if track not in faces:
        known = ", ".join(str(t) for t in sorted(faces)) or "none"
        raise TrackError(None, f"no face track {track} (tracks: {known})")
    return np.asarray(faces[track])


class TrackCommand(Command):
    """Stores `self.edit` along with the lane changes `_plan` records."""

    def __init__(self, video_hash: str, analysis: str | None, edit: TrackEdit):
        if not analysis:
            raise TrackError(None, "these face tracks are not from an analysis stored in the project")
        super().__init__(video_hash)
        self.analysis = analysis
        self.edit = edit

    def apply(self, store) -> None:
        with store.transaction():
            super().apply(store)
            self.edit = store.add_track_edit(self.video_hash, self.analysis, self.edit)  # redo: same id

    def revert(self, store) -> None:
        with store.transaction():
            store.remove_track_edit(self.edit.id)
            super().revert(store)

    def _plan(self, store) -> None:
        pass

    def _lanes_of(self, store, track: int) -> list[LaneKey]:
        return [key for key in store.lane_keys(self.video_hash) if key.track_id == track]

    def _move_trace(self, store, annotator: str, source: int, target: int, start: int) -> None:
        """Move a VA trace's labels from frame `start` on from track `source` to `target`."""
        keys = [LaneKey(name, annotator, t) for t in (source, target) for name in ("valence", "arousal")]
        src, dst = (
            np.stack([store.trace(self.video_hash, k) for k in pair], 1) for pair in (keys[:2], keys[2:])
        )
        labelled = np.flatnonzero(np.isfinite(src[:, 0]))
        labelled = labelled[labelled >= start]
        if not labelled.size:
            return
        lo, hi = int(labelled[0]), int(labelled[-1]) + 1
        both = np.isfinite(src[lo:hi, 0]) & np.isfinite(dst[lo:hi, 0])
        if both.any():
            raise TrackError(
                None,
                f"{annotator} coded valence/arousal on tracks {source} and {target} at frame "
                f"{lo + int(np.flatnonzero(both)[0])}: clear one first",
            )
        moved = np.where(np.isfinite(src[lo:hi]), src[lo:hi], dst[lo:hi])
        self._record(store, TraceChange(annotator, source, lo, src[lo:hi], np.full_like(src[lo:hi], np.nan)))
        self._record(store, TraceChange(annotator, target, lo, dst[lo:hi], moved))

    def _move_segments(self, store, key: LaneKey, target: int, start: int) -> None:
        """Move the segments of lane `key` from frame `start` on to the same lane of track `target`."""
        new_key = LaneKey(key.name, key.annotator, target)
        for segment in store.segments(self.video_hash, key):
            if segment.stop < start:
                continue
            if segment.start < start:  # across the split frame: cut in two there
                self._record(store, SegmentChange(key, segment, segment.with_(stop=start - 1)))
                part = segment.with_(start=start, id=None)
            else:
                self._record(store, SegmentChange(key, segment, None))
                part = segment
            try:
                self._record(store, SegmentChange(new_key, None, part))
            except AnnotationError:
                raise TrackError(
                    None,
                    f"{key.annotator} coded {key.name} on tracks {key.track_id} and {target} at frames "
                    f"{part.start}..{part.stop}: clear one first",
                ) from None

    def _move_lanes(self, store, source: int, target: int, start: int = 0) -> None:
        traces = set()
        for key in self._lanes_of(store, source):
            if key.kind == "continuous":
                traces.add(key.annotator)
            else:
                self._move_segments(store, key, target, start)
        for annotator in sorted(traces):
            self._move_trace(store, annotator, source, target, start)


class MergeTracks(TrackCommand):
    """Track `other` becomes part of `track` (its lanes too); refused where both have a face in a frame."""

    label = "merge tracks"

    def __init__(
        self, video_hash: str, analysis: str | None, faces: Mapping[int, np.ndarray], track: int, other: int
    ):
        if track == other:
            raise TrackError(None, f"cannot merge track {track} with itself")
        common = np.intersect1d(_known(faces, track), _known(faces, other))
        if common.size:
            raise TrackError(
                None,
                f"tracks {track} and {other} are both in frame {int(common[0])} "
                f"({plural(common.size, 'frame')}): two faces at once are two people",
            )
        super().__init__(video_hash, analysis, TrackEdit("merge", int(track), other=int(other)))

    def _plan(self, store) -> None:
        self._move_lanes(store, self.edit.other, self.edit.track)


class SplitTrack(TrackCommand):
    """Frames `frame`.. of `track` become the new track `new_track` (lanes from that frame on too)."""

    label = "split track"

    def __init__(
        self,
        video_hash: str,
        analysis: str | None,
        faces: Mapping[int, np.ndarray],
        track: int,
        frame: int,
        new_track: int,
    ):
        seen = _known(faces, track)
        if not (seen < frame).any() or not (seen >= frame).any():
            raise TrackError(
                None, f"track {track} has no face before or none from frame {frame}: nothing to split there"
            )
        if new_track in faces:
            raise TrackError(None, f"track {new_track} exists already")
        super().__init__(
            video_hash, analysis, TrackEdit("split", int(track), frame=int(frame), new_track=int(new_track))
        )

    def _plan(self, store) -> None:
        self._move_lanes(store, self.edit.track, self.edit.new_track, self.edit.frame)


class RejectTrack(TrackCommand):
    """`track` is not a face: it disappears from the plots, summaries and exports (its lanes are kept)."""

    label = "reject track"

    def __init__(self, video_hash: str, analysis: str | None, faces: Mapping[int, np.ndarray], track: int):
        _known(faces, track)
        super().__init__(video_hash, analysis, TrackEdit("reject", int(track)))
