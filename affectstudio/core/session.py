"""ReviewSession: the state of one review (video, playhead, face track, results, lanes, overlays,
thresholds, smoothing) as a Qt-free object that tells whoever listens when it changes.

Why: the main window used to hold all of this and push it into each view, and dialogs reached back into
the window. Now views subscribe to the session's signals and render; the GUI, the CLI and the undo stack
change the review through the same methods, so an edit has one path however it was made. Signals are
psygnal's (napari's event library): typed, synchronous, no Qt, so this module runs and is tested headless.

Lane edits (`add_segment`, `set_trace`, ...) and key coding live in `session_lanes.LaneEditing`, mixed in
here; every one of them is an undoable command on `self.undo`. Track corrections (`merge_tracks`,
`split_track`, `reject_track`) are commands on the same stack (`annotations/track_commands.py`): after
each, and after its undo, the session replays the stored edits over its rows and says `tracks_changed`.
They belong to the analysis the rows come from (`use_analysis(key)`, the results key), so the edits of
one model's or one set of options' tracks are never replayed over another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from psygnal import Signal

from affectstudio.core.annotations.lanes import ANY_TRACK
from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD
from affectstudio.core.review_data import ReviewData, TrackArrays
from affectstudio.core.session_lanes import LaneEditing


@dataclass(frozen=True)
class OpenVideo:
    path: Path
    hash: str
    timestamps: np.ndarray  # presentation time of every frame, seconds
    fps: float

    @property
    def frame_count(self) -> int:
        return len(self.timestamps)


class AmbiguousTrack(Exception):
    """Several faces are present and none is selected: the caller must ask which one is meant."""

    def __init__(self, frame: int, tracks: list[int]):
        super().__init__(f"frame {frame}: several face tracks ({tracks}) and none selected")
        self.frame, self.tracks = frame, tracks


class ReviewSession(LaneEditing):
    video_changed = Signal()  # a video was opened or closed: everything else changed with it
    frame_changed = Signal(int)
    track_changed = Signal(object)  # the selected track id, or None
    tracks_changed = Signal()  # track ids or names changed
    results_changed = Signal()  # rows arrived or were dropped
    thresholds_changed = Signal(list)
    smoothing_changed = Signal(int)
    lanes_changed = Signal(object)  # the LaneKey that changed, or None for all of them
    overlays_changed = Signal()
    coding_changed = Signal()  # a key-coded segment opened or closed
    undo_changed = Signal()  # what undo/redo would do changed (an edit, an undo, a redo, a new video)

    def __init__(self, store, smoothing: int = 15):
        self.store = store
        self.video: OpenVideo | None = None
        self.frame = 0
        self.track: int | None = None
        self.track_names: dict[int, str] = {}
        self.data: ReviewData | None = None
        self.analysis: str | None = None  # results key of the rows shown (their track edits)
        self.thresholds: list[float] = [DEFAULT_AU_THRESHOLD] * len(ACTION_UNITS)
        self.smoothing = smoothing
        self.overlays: dict[str, object] = {}
        LaneEditing.__init__(self)

    # video --------------------------------------------------------------------------------------------
    @property
    def timestamps(self) -> np.ndarray:
        return self.video.timestamps if self.video is not None else np.zeros(0)

    @property
    def frame_count(self) -> int:
        return len(self.timestamps)

    def open_video(self, path: str | Path) -> OpenVideo:
        """Read the video's timestamps and fingerprint; raises AffectStudioError naming the file."""
        from affectstudio.core.project import video_fingerprint
        from affectstudio.core.video import VideoReader

        path = Path(path)
        with VideoReader(path) as reader:
            info, timestamps = reader.info, np.asarray(reader.timestamps, dtype=np.float64)
        video = OpenVideo(path, video_fingerprint(path), timestamps, float(info.fps))
        self.close_video(emit=False)
        self.video = video
        self.store.remember_video(video.hash, path, video.frame_count, video.fps)
        self.analysis = None
        self.data = ReviewData(timestamps)
        self.track_names = self.store.track_names(video.hash)
        self.overlays = {}
        self.load_lanes()
        self.frame = 0
        self.video_changed.emit()
        self.frame_changed.emit(0)
        return video

    def close_video(self, emit: bool = True) -> None:
        self.finish_coding()
        self.video, self.data, self.track, self.frame = None, None, None, 0
        self.analysis = None
        self.track_names, self.overlays = {}, {}
        self.clear_lanes()
        if emit:
            self.video_changed.emit()

    def use_store(self, store) -> None:
        """Work in another project from now on (File > Open project): the open video closes first."""
        from affectstudio.core.annotations.edits import UndoStack

        self.close_video()
        self.store = store
        self.undo = UndoStack(store, listener=self._edited)
        self.undo_changed.emit()

    # playhead and track -------------------------------------------------------------------------------
    def seek(self, frame: int) -> int:
        if self.video is None:
            return self.frame
        self.frame = max(0, min(int(frame), self.frame_count - 1))
        self.frame_changed.emit(self.frame)
        return self.frame

    def select_track(self, track: int | None) -> None:
        if track != self.track:
            self.track = track
            self.track_changed.emit(track)

    def track_arrays(self) -> TrackArrays | None:
        if self.data is None or self.track is None:
            return None
        return self.data.tracks.get(self.track)

    def rename_track(self, track: int, name: str) -> None:
        if self.video is None:
            return
        self.store.rename_track(self.video.hash, track, name)
        self.track_names = self.store.track_names(self.video.hash)
        self.tracks_changed.emit()

    # track corrections (undoable, stored in the project) ------------------------------------------------
    def merge_tracks(self, track: int, other: int) -> None:
        """Track `other` becomes part of `track` (its annotations too); `track` is selected."""
        from affectstudio.core.annotations.track_commands import MergeTracks

        faces = self._faces()
        self.push(MergeTracks(self.video.hash, self.analysis, faces, track, other))
        self.select_track(track)

    def split_track(self, track: int, frame: int | None = None) -> int:
        """Frames `frame` (default: the playhead).. of `track` become a new track; returns its id."""
        from affectstudio.core.annotations.track_commands import SplitTrack
        from affectstudio.core.track_edits import next_track_id

        faces = self._faces()
        raw = self.data.raw_rows()
        new = next_track_id(raw["track_id"].unique(), self.data.edits)
        frame = self.frame if frame is None else int(frame)
        self.push(SplitTrack(self.video.hash, self.analysis, faces, track, frame, new))
        return new

    def reject_track(self, track: int) -> None:
        """`track` is not a face: it leaves the plots, summaries and exports (undo brings it back)."""
        from affectstudio.core.annotations.track_commands import RejectTrack

        faces = self._faces()
        self.push(RejectTrack(self.video.hash, self.analysis, faces, track))

    def _faces(self) -> dict[int, np.ndarray]:
        """Frames of each face track now; refuses when there is nothing to correct."""
        if self.video is None or self.data is None or not self.data.tracks:
            from affectstudio.core.annotations.track_commands import TrackError

            raise TrackError(None, "no face tracks to correct: open a video and analyse it first")
        return self.data.face_frames()

    def _edited(self, command) -> None:
        if getattr(command, "edit", None) is not None and self.data is not None:  # a track command
            self.data.set_edits(self.store.track_edits(self.video.hash, self.analysis))
            ids = self.data.track_ids()
            if self.track not in ids:
                self._select_main()
            self.tracks_changed.emit()
            self.results_changed.emit()
        super()._edited(command)

    def _select_main(self) -> None:
        """Select the face seen longest (not the lowest id: that may be a title card's letter)."""
        ids = self.data.track_ids()
        if not ids:
            self.select_track(None)
            return
        from affectstudio.core.tracking import main_track  # cv2 and the detector: not at start-up

        counts = {track: int(np.isfinite(self.data.tracks[track].score).sum()) for track in ids}
        self.select_track(main_track(counts))

    def label_track(self, frame: int | None = None) -> int:
        """The face track a label made at `frame` belongs to: the selected track if its face is there, else
        the only face there. Several faces and none selected: AmbiguousTrack (ask, never guess). No face
        there: the selected track; no results at all: ANY_TRACK."""
        frame = self.frame if frame is None else frame
        if self.data is None or not self.data.tracks:
            return ANY_TRACK
        present = [track for track, _ in self.data.faces_at(frame)]
        if self.track is not None and (self.track in present or not present):
            return self.track
        if len(present) == 1:
            return present[0]
        if not present:
            raise AmbiguousTrack(frame, self.data.track_ids())
        raise AmbiguousTrack(frame, present)

    # results ------------------------------------------------------------------------------------------
    def reset_results(self, untrained_tasks: list[str] | None = None) -> None:
        """Drop the results (a new model or new analysis options); the video stays open."""
        if self.video is None:
            return
        untrained = self.data.untrained_tasks if untrained_tasks is None and self.data else untrained_tasks
        self.analysis = None
        self.data = ReviewData(self.timestamps, untrained_tasks=list(untrained or []))
        self.select_track(None)
        self.tracks_changed.emit()
        self.results_changed.emit()

    def use_analysis(self, key: str | None) -> None:
        """The rows shown (and arriving) are the analysis cached under `key`: its track edits apply."""
        if self.video is None or key == self.analysis:
            return
        self.analysis = key
        if self.data is not None:
            self.data.set_edits(self.store.track_edits(self.video.hash, key))
            if self.data.tracks and self.track not in self.data.track_ids():
                self._select_main()
            self.tracks_changed.emit()
            self.results_changed.emit()

    def set_untrained(self, tasks: list[str]) -> None:
        if self.data is not None:
            self.data.untrained_tasks = list(tasks)
            self.results_changed.emit()

    def add_rows(self, rows) -> None:
        """A batch of result rows (from the engine or the cache); new tracks get selected if none is."""
        if self.data is None:
            return
        if self.data.add_rows(rows):
            self.track_names = self.store.track_names(self.video.hash)
            self.tracks_changed.emit()
            if self.track not in self.data.track_ids():
                self._select_main()
        self.results_changed.emit()

    # display ------------------------------------------------------------------------------------------
    def set_thresholds(self, thresholds: list[float]) -> None:
        thresholds = [float(v) for v in thresholds]
        if len(thresholds) != len(ACTION_UNITS):
            raise ValueError(f"expected {len(ACTION_UNITS)} AU thresholds, got {len(thresholds)}")
        if thresholds != self.thresholds:
            self.thresholds = thresholds
            self.thresholds_changed.emit(thresholds)

    def set_smoothing(self, frames: int) -> None:
        if int(frames) != self.smoothing:
            self.smoothing = int(frames)
            self.smoothing_changed.emit(self.smoothing)

    def set_overlay(self, name: str, overlay) -> None:
        """A read-only track from another tool (None removes it)."""
        if overlay is None:
            self.overlays.pop(name, None)
        else:
            self.overlays[name] = overlay
        self.overlays_changed.emit()
