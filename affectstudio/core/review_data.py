"""What the review window shows: dense per-frame arrays for each face track, filled as result rows arrive.

The engine delivers rows (one per frame and face) in batches while it runs; the plots want dense arrays
indexed by frame with NaN where there is no face. `ReviewData` keeps both: the raw rows (for export) and the
dense arrays per track (for drawing), and knows how to derive what depends on settings (smoothing, AU
thresholds) without touching the video again. No Qt here, so it is tested as plain numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from affectstudio.core.results import AU_PROB_COLUMNS, BOX_COLUMNS, EXPR_COLUMNS


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
    _chunks: list[pd.DataFrame] = field(default_factory=list)
    analysed_until: int = 0  # frames [0, analysed_until) have rows

    @property
    def frame_count(self) -> int:
        return len(self.timestamps)

    def add_rows(self, rows: pd.DataFrame) -> list[int]:
        """Take one batch of result rows; return the track ids that are new."""
        if rows.empty:
            return []
        self._chunks.append(rows)
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

    def rows(self) -> pd.DataFrame:
        """All rows received so far, in frame order (one DataFrame, for export and the cache)."""
        if not self._chunks:
            return pd.DataFrame()
        if len(self._chunks) > 1:
            self._chunks = [pd.concat(self._chunks, ignore_index=True)]
        return self._chunks[0].sort_values(["frame", "track_id"], kind="stable").reset_index(drop=True)

    def track_ids(self) -> list[int]:
        return sorted(self.tracks)

    def faces_at(self, frame: int) -> list[tuple[int, np.ndarray]]:
        """(track id, box x0 y0 x1 y1) of every face present at `frame`."""
        out = []
        for track, arrays in sorted(self.tracks.items()):
            if 0 <= frame < self.frame_count and not np.isnan(arrays.boxes[frame, 0]):
                out.append((track, arrays.boxes[frame]))
        return out
