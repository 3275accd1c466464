"""The study summary: one row per video and face track, accumulated while the rows stream to disk.

Why streaming sums rather than re-reading each per-frame file: a study's summary costs nothing extra
(no second pass over hours of rows) and memory stays flat. The definitions (what a test recomputes from
the per-frame files):
- `frames`: rows of frames analysed in the video (every frame, face or not); `face_frames`: frames where
  this track has a face; `face_share` = face_frames / frames.
- `duration_s`: time span of the analysed frames, the last frame's duration included:
  (last time - first time) * frames / (frames - 1); 0 for one frame.
- `valence_mean/sd`, `arousal_mean/sd`: over the track's face frames (sample sd, ddof = 1; NaN for < 2).
- `share_<Expression>`: fraction of the track's face frames whose top expression it is.
- `<AU>_rate`: fraction of the track's face frames where the AU is active (model thresholds).
A video without any face gets one row with `track_id` -1; a failed video one row with its reason.
"""

from __future__ import annotations

import math
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.results import AU_ACTIVE_COLUMNS, NO_FACE
from affectstudio.core.study.inputs import natural_key

SHARE_COLUMNS = [f"share_{name}" for name in EXPRESSIONS]
RATE_COLUMNS = [f"{au}_rate" for au in ACTION_UNITS]
SUMMARY_COLUMNS = [
    "video",
    "output",
    "track_id",
    "frames",
    "face_frames",
    "face_share",
    "duration_s",
    "valence_mean",
    "valence_sd",
    "arousal_mean",
    "arousal_sd",
    *SHARE_COLUMNS,
    *RATE_COLUMNS,
    "model",
    "model_digest",
    "status",
    "reason",
]


class _Track:
    def __init__(self):
        self.frames = 0
        self.shift: np.ndarray | None = None  # the first values seen: sums of squares around them
        self.sums = np.zeros(2)
        self.squares = np.zeros(2)
        self.counts = np.zeros(2)
        self.top = np.zeros(len(EXPRESSIONS))
        self.active = np.zeros(len(ACTION_UNITS))

    def add(self, rows: pd.DataFrame) -> None:
        self.frames += rows["frame"].nunique()
        va = rows[["valence", "arousal"]].to_numpy(dtype=np.float64, na_value=np.nan)
        valid = ~np.isnan(va)
        if self.shift is None and valid.all(axis=1).any():
            self.shift = va[valid.all(axis=1)][0]
        shifted = va - (self.shift if self.shift is not None else 0.0)  # sums of squares stay exact
        self.sums += np.where(valid, shifted, 0).sum(axis=0)
        self.squares += np.where(valid, shifted * shifted, 0).sum(axis=0)
        self.counts += valid.sum(axis=0)
        labels = rows["expression"].to_numpy(dtype=object)
        for i, name in enumerate(EXPRESSIONS):
            self.top[i] += np.count_nonzero(labels == name)
        active = rows[AU_ACTIVE_COLUMNS].to_numpy(dtype=np.float64, na_value=0.0)
        self.active += active.sum(axis=0)

    def stats(self) -> dict:
        out: dict[str, float] = {}
        for i, name in enumerate(("valence", "arousal")):
            n = self.counts[i]
            mean = self.sums[i] / n if n else math.nan  # of the shifted values
            var = (self.squares[i] - n * mean * mean) / (n - 1) if n > 1 else math.nan
            shift = self.shift[i] if self.shift is not None else 0.0
            out[f"{name}_mean"] = mean + shift
            out[f"{name}_sd"] = math.sqrt(max(var, 0.0)) if n > 1 else math.nan
        for column, count in zip(SHARE_COLUMNS, self.top, strict=True):
            out[column] = count / self.frames if self.frames else math.nan
        for column, count in zip(RATE_COLUMNS, self.active, strict=True):
            out[column] = count / self.frames if self.frames else math.nan
        return out


class SummaryAccumulator:
    """Feed it every batch of rows (our layout) as it is written; `rows()` gives the summary rows."""

    def __init__(self):
        self._tracks: dict[int, _Track] = {}
        self._frames: set[int] | None = None
        self.frames = 0
        self._first_time = math.nan
        self._last_time = math.nan
        self._seen_last = -1

    def add(self, rows: pd.DataFrame) -> None:
        if not len(rows):
            return
        frames = rows["frame"].to_numpy()
        times = rows["time"].to_numpy(dtype=np.float64)
        new = frames > self._seen_last  # a frame's rows never span two batches; guard anyway
        self.frames += len(np.unique(frames[new]))
        if math.isnan(self._first_time):
            self._first_time = float(times[0])
        self._last_time = float(times[-1])
        self._seen_last = max(self._seen_last, int(frames.max()))
        faces = rows[rows["track_id"] != NO_FACE]
        for track_id, part in faces.groupby("track_id", sort=True):
            self._tracks.setdefault(int(track_id), _Track()).add(part)

    def duration(self) -> float:
        if self.frames < 2:
            return 0.0
        return (self._last_time - self._first_time) * self.frames / (self.frames - 1)

    def rows(self, video: str, output: str, model: str, digest: str, status: str, reason: str) -> list[dict]:
        base = {"video": video, "output": output, "frames": self.frames, "duration_s": self.duration()}
        tail = {"model": model, "model_digest": digest, "status": status, "reason": reason}
        if not self._tracks:
            empty = _Track().stats()
            return [{**base, "track_id": NO_FACE, "face_frames": 0, "face_share": 0.0, **empty, **tail}]
        out = []
        for track_id, track in sorted(self._tracks.items()):
            share = track.frames / self.frames if self.frames else math.nan
            row = {**base, "track_id": track_id, "face_frames": track.frames, "face_share": share}
            out.append({**row, **track.stats(), **tail})
        return out


def failed_row(video: str, model: str, digest: str, reason: str) -> dict:
    """A video without results (failed, or not analysed yet): its output column stays empty."""
    return {
        "video": video,
        "output": None,
        "model": model,
        "model_digest": digest,
        "status": "failed",
        "reason": reason,
    }


def summary_frame(rows: list[dict]) -> pd.DataFrame:
    """The summary table in a fixed column order, sorted by video (natural order: `img2` before `img10`,
    as the inputs are) then track."""
    df = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    df["track_id"] = df["track_id"].astype("Int64")
    for column in ("frames", "face_frames"):
        df[column] = df[column].astype("Int64")

    def key(i: int) -> tuple:
        track = df.at[i, "track_id"]
        return natural_key(PurePosixPath(df.at[i, "video"])), pd.notna(track), track if pd.notna(track) else 0

    return df.iloc[sorted(range(len(df)), key=key)].reset_index(drop=True)
