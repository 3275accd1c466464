"""What the review window shows: dense per-frame arrays for each face track, filled as result rows arrive.

The engine delivers rows (one per frame and face) in batches while it runs; the plots want dense arrays
indexed by frame with NaN where there is no face. `ReviewData` keeps both: the raw rows (for export) and the
dense arrays per track (for drawing), and knows how to derive what depends on settings (smoothing, AU
thresholds) without touching the video again. Track corrections (`track_edits.py`: merges, splits,
rejects) are replayed over the raw rows: the arrays and `rows()` show the edited tracks, the raw rows stay
as the engine made them, so a changed list of edits (`set_edits`, an undo) only redraws. No Qt here, so it
is tested as plain numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from affectstudio.core.results import AU_PROB_COLUMNS, BOX_COLUMNS, EXPR_COLUMNS
from affectstudio.core.track_edits import TrackEdit, TrackSummary, apply_edits, rejected_tracks


@dataclass
class TrackArrays:
    """Dense per-frame predictions of one face track; NaN where the track has no face."""

    va: np.ndarray  # (F, 2)
    expr: np.ndarray  # (F, 8)
    au: np.ndarray  # (F, 12)
    boxes: np.ndarray  # (F, 4)
    score: np.ndarray  # (F,)

    @classmethod
    def empty(cls, frames: int) -> TrackArrays:
        def nan(*shape):
            return np.full(shape, np.nan, dtype=np.float32)

        return cls(nan(frames, 2), nan(frames, 8), nan(frames, 12), nan(frames, 4), nan(frames))


@dataclass
class ReviewData:
    """All results of one video, for one model."""

    timestamps: np.ndarray
    tracks: dict[int, TrackArrays] = field(default_factory=dict)
    untrained_tasks: list[str] = field(default_factory=list)
    model_name: str = ""
    edits: list[TrackEdit] = field(default_factory=list)
    _chunks: list[pd.DataFrame] = field(default_factory=list)  # raw rows, as the engine made them
    analysed_until: int = 0  # frames [0, analysed_until) have rows

    @property
    def frame_count(self) -> int:
        return len(self.timestamps)

    def add_rows(self, rows: pd.DataFrame) -> list[int]:
        """Take one batch of result rows; return the track ids that are new."""
        if rows.empty:
            return []
        self._chunks.append(rows)
        return self._fill(apply_edits(rows, self.edits))

    def set_edits(self, edits: list[TrackEdit]) -> None:
        """Replay a new list of track edits over every row received (the arrays are rebuilt)."""
        self.edits = list(edits)
        self.tracks = {}
        raw = self.raw_rows()
        if not raw.empty:
            self._fill(apply_edits(raw, self.edits))

    def _fill(self, rows: pd.DataFrame) -> list[int]:
        if rows.empty:
            return []
        new = []
        frames = rows["frame"].to_numpy(dtype=np.int64)
        self.analysed_until = max(self.analysed_until, int(frames.max()) + 1)
        track_ids = rows["track_id"].to_numpy(dtype=np.int64)
        for track in np.unique(track_ids):
            if track < 0:
                continue  # frames without a face: the arrays already hold NaN there
            pick = track_ids == track
            index = frames[pick]
            index = index[index < self.frame_count]
            part = rows[pick].iloc[: len(index)]
            if track not in self.tracks:
                self.tracks[int(track)] = TrackArrays.empty(self.frame_count)
                new.append(int(track))
            arrays = self.tracks[int(track)]
            arrays.va[index] = part[["valence", "arousal"]].to_numpy(dtype=np.float32)
            arrays.expr[index] = part[EXPR_COLUMNS].to_numpy(dtype=np.float32)
            arrays.au[index] = part[AU_PROB_COLUMNS].to_numpy(dtype=np.float32)
            arrays.boxes[index] = part[BOX_COLUMNS].to_numpy(dtype=np.float32)
            arrays.score[index] = part["face_score"].to_numpy(dtype=np.float32)
        return new

    def raw_rows(self) -> pd.DataFrame:
        """All rows received so far as the engine made them (before track edits)."""
        if not self._chunks:
            return pd.DataFrame()
        if len(self._chunks) > 1:
            self._chunks = [pd.concat(self._chunks, ignore_index=True)]
        return self._chunks[0]

    def rows(self) -> pd.DataFrame:
        """All rows received so far with the track edits applied, in frame order (for export)."""
        rows = apply_edits(self.raw_rows(), self.edits)
        if rows.empty:
            return rows
        return rows.sort_values(["frame", "track_id"], kind="stable").reset_index(drop=True)

    def summary(self) -> TrackSummary:
        """Tracks and face frames over all tracks (rejects counted apart), from the arrays: no row scan."""
        rejected = len(set(rejected_tracks(self.edits)))
        face = np.zeros(self.frame_count, dtype=bool)
        for arrays in self.tracks.values():
            face |= ~np.isnan(arrays.score)
        return TrackSummary(len(self.tracks) + rejected, rejected, int(face.sum()), self.analysed_until)

    def face_frames(self) -> dict[int, np.ndarray]:
        """Track id -> the frames where it has a face (what track edits are checked against)."""
        return {track: np.flatnonzero(~np.isnan(a.score)) for track, a in sorted(self.tracks.items())}

    def track_ids(self) -> list[int]:
        return sorted(self.tracks)

    def faces_at(self, frame: int) -> list[tuple[int, np.ndarray]]:
        """(track id, box x0 y0 x1 y1) of every face present at `frame`."""
        out = []
        for track, arrays in sorted(self.tracks.items()):
            if 0 <= frame < self.frame_count and not np.isnan(arrays.boxes[frame, 0]):
                out.append((track, arrays.boxes[frame]))
        return out
