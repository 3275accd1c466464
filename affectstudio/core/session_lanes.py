"""Lane editing of a ReviewSession: every edit an undoable command, key coding, VA recording.

Each edit method builds a command from `annotations/edits.py` and pushes it on `self.undo`, which applies
it to the project store in one transaction; the stack's listener re-reads the lanes the command touched
and emits `lanes_changed(key)`. Undo and redo take the same path, so views cannot tell an edit from its
undo, and the store is the only copy that matters (every edit is committed at once).

Key coding (BORIS style): an expression key opens a segment at the playhead and closes the open one just
before it, so a run of key presses during playback tiles the timeline; the same key again closes it. An
AU key toggles that AU on at the playhead, and off at the next press. An open segment is not stored until
it is closed (it is shown growing with the playhead); `finish_coding` closes what is open at the playhead.

Which lanes a face's review shows (`shown_lanes`): its own, and beside them the annotator's "any face" lanes
(track -1: imported without a track, or coded before any face was found), since those hold for every face.
An any-face lane stays one: edits on it go to it, never to the face shown.

VA recording (Aff-Wild2's joystick protocol): while the video plays, each frame gets the pointer's
valence/arousal; the pass becomes one SetTrace (frames skipped between two samples are interpolated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from affectstudio.core.annotations.edits import (
    AddSegment,
    ChangeSegment,
    ClearRange,
    Command,
    MergeSegments,
    RemoveSegment,
    SetTrace,
    SplitSegment,
    UndoStack,
)
from affectstudio.core.annotations.lanes import (
    ANY_TRACK,
    DEFAULT_ANNOTATOR,
    LANE_NAMES,
    Lane,
    LaneKey,
    Segment,
)
from affectstudio.core.errors import AnnotationError


@dataclass(frozen=True)
class OpenSegment:
    """A key-coded segment still growing with the playhead."""

    key: LaneKey
    start: int
    value: str | int


class LaneEditing:
    """Mixed into ReviewSession (uses its store, video, frame, label_track and signals)."""

    def __init__(self):
        self.annotator = DEFAULT_ANNOTATOR
        self.lanes: dict[LaneKey, Lane] = {}
        self.coding: dict[str, OpenSegment] = {}  # lane name -> its open segment
        self.recording: dict[int, tuple[float, float]] | None = None  # frame -> (valence, arousal)
        self._recording_track: int | None = None
        self.undo = UndoStack(self.store, listener=self._edited)

    # reading ------------------------------------------------------------------------------------------
    def load_lanes(self) -> None:
        self.undo.clear()
        self.undo_changed.emit()
        self.coding = {}
        self.lanes = {lane.key: lane for lane in self.store.lanes(self.video.hash)}
        self.lanes_changed.emit(None)

    def clear_lanes(self) -> None:
        self.undo.clear()
        self.undo_changed.emit()
        self.lanes, self.coding, self.recording = {}, {}, None
        self.lanes_changed.emit(None)

    def lane(self, key: LaneKey) -> Lane:
        """The lane's content (an empty lane when nothing is coded in it yet)."""
        if key in self.lanes:
            return self.lanes[key]
        if key.kind == "continuous":
            return Lane(key, [], np.full(self.frame_count, np.nan, dtype=np.float32))
        return Lane(key)

    def annotators(self) -> list[str]:
        """Who coded this video, the current annotator first."""
        others = sorted({key.annotator for key in self.lanes} - {self.annotator})
        return [self.annotator, *others]

    def shown_lanes(self, annotator: str, track: int) -> list[LaneKey]:
        """The rows of `annotator` when face `track` is shown, in LANE_NAMES order: the face's own lane of
        each name, or the any-face lane of that name when only it holds something, or both (own first)."""
        open_ = {o.key for o in self.coding.values()}
        keys = []
        for name in LANE_NAMES:
            own = LaneKey(name, annotator, track)
            anyface = LaneKey(name, annotator, ANY_TRACK)
            if track == ANY_TRACK or (anyface not in self.lanes and anyface not in open_):
                keys.append(own)
            elif own in self.lanes or own in open_:
                keys += [own, anyface]
            else:
                keys.append(anyface)
        return keys

    def shown_lane_at(self, name: str, track: int, frame: int) -> LaneKey:
        """The current annotator's `name` row shown for `track` that has a segment at `frame` (the face's
        own before the any-face one), else the face's own: what a split at the playhead means."""
        shown = [key for key in self.shown_lanes(self.annotator, track) if key.name == name]
        return next(
            (key for key in shown if self.lane(key).segment_at(frame)), LaneKey(name, self.annotator, track)
        )

    def _edited(self, command: Command) -> None:
        for key in sorted(command.touched(), key=lambda k: (k.annotator, k.track_id, k.name)):
            lane = self.store.lane(self.video.hash, key)
            empty = not lane.segments and (lane.trace is None or not np.isfinite(lane.trace).any())
            if empty:
                self.lanes.pop(key, None)
            else:
                self.lanes[key] = lane
            self.lanes_changed.emit(key)
        self.undo_changed.emit()

    # edits --------------------------------------------------------------------------------------------
    def push(self, command: Command) -> Command:
        if self.video is None:
            raise AnnotationError(None, "open a video before annotating")
        return self.undo.push(command)

    def key_for(self, name: str, track: int | None = None, frame: int | None = None) -> LaneKey:
        """The current annotator's lane `name` for `track` (default: the face at `frame`, see label_track)."""
        return LaneKey(name, self.annotator, self.label_track(frame) if track is None else track)

    def add_segment(self, key: LaneKey, segment: Segment) -> Segment:
        return self.push(AddSegment(self.video.hash, key, segment)).added

    def change_segment(self, key: LaneKey, segment_id: int, **fields) -> None:
        self.push(ChangeSegment(self.video.hash, key, segment_id, **fields))

    def remove_segment(self, key: LaneKey, segment_id: int) -> None:
        self.push(RemoveSegment(self.video.hash, key, segment_id))

    def split_segment(self, key: LaneKey, at: int) -> None:
        """Split the segment under frame `at` there (at..stop becomes a new segment)."""
        segment = self.lane(key).segment_at(at)
        if segment is None:
            raise AnnotationError(None, f"no {key.name} segment at frame {at} to split")
        self.push(SplitSegment(self.video.hash, key, segment.id, at))

    def merge_with_next(self, key: LaneKey, segment_id: int) -> None:
        segments = self.lane(key).segments
        index = next(i for i, s in enumerate(segments) if s.id == segment_id)
        if index + 1 >= len(segments):
            raise AnnotationError(None, f"no {key.name} segment after frame {segments[index].stop} to merge")
        self.push(MergeSegments(self.video.hash, key, segment_id, segments[index + 1].id))

    def set_trace(self, key: LaneKey, start: int, values) -> None:
        self.push(SetTrace(self.video.hash, key, start, values))

    def clear_range(self, key: LaneKey, start: int, stop: int) -> None:
        self.push(ClearRange(self.video.hash, key, start, stop))

    # key coding ---------------------------------------------------------------------------------------
    def code_expression(self, value: str, track: int | None = None) -> None:
        """An expression key at the playhead: close the open expression segment, open `value` (the
        same value again only closes). AmbiguousTrack when the face cannot be told (ask, pass `track`)."""
        self._code("expression", value, track, toggle=True)

    def toggle_au(self, name: str, track: int | None = None) -> None:
        """An AU key: switch the AU on at the playhead, or off if it is on."""
        self._code(name, 1, track, toggle=True)

    def _code(self, name: str, value, track: int | None, toggle: bool) -> None:
        if self.video is None:
            return
        open_ = self.coding.get(name)
        if open_ is not None:
            self._close(name, self.frame - 1)
            if toggle and open_.value == value:
                return
        key = self.key_for(name, track)
        self.coding[name] = OpenSegment(key, self.frame, value)
        self.coding_changed.emit()

    def _close(self, name: str, stop: int) -> None:
        """Store the open segment up to `stop`. Closed on the frame it opened (two keys pressed at one
        frame: a correction) it is dropped; closed before it (the playhead went back) it spans the two."""
        open_ = self.coding.pop(name)
        try:
            if stop != open_.start - 1:
                start, stop = sorted((open_.start, stop))
                self.add_segment(open_.key, Segment(start, stop, open_.value))
        finally:
            self.coding_changed.emit()

    def finish_coding(self) -> None:
        """Close every open key-coded segment at the playhead (inclusive)."""
        for name in list(self.coding):
            self._close(name, self.frame)

    # VA recording -------------------------------------------------------------------------------------
    def start_va_recording(self, track: int | None = None) -> None:
        self._recording_track = self.label_track() if track is None else track
        self.recording = {}

    def record_va(self, valence: float, arousal: float, frame: int | None = None) -> None:
        """The pointer's position for the playhead's frame (clipped to [-1, 1])."""
        if self.recording is not None:
            frame = self.frame if frame is None else frame
            self.recording[frame] = (float(np.clip(valence, -1, 1)), float(np.clip(arousal, -1, 1)))

    def stop_va_recording(self) -> Command | None:
        """Write the pass as one undoable SetTrace; frames between two samples are interpolated."""
        samples, self.recording = self.recording, None
        if not samples or self.video is None:
            return None
        frames = np.array(sorted(samples))
        values = np.array([samples[f] for f in frames], dtype=np.float32)
        span = np.arange(frames[0], frames[-1] + 1)
        va = np.stack([np.interp(span, frames, values[:, i]) for i in range(2)], axis=1)
        key = LaneKey("valence", self.annotator, self._recording_track)
        return self.push(SetTrace(self.video.hash, key, int(frames[0]), va.astype(np.float32)))
