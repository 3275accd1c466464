"""The per-frame result table: its CSV layout, streaming writer, reader, smoothing and thresholds.

One row per frame and face track. A frame without a face is still a row (track_id -1, empty predictions),
so a CSV always has every frame of the video and nothing is dropped silently. Metadata (which model and
thresholds produced the numbers, whether its heads are trained) travels in `#` comment lines at the top of
the CSV and in a JSON sidecar.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from affectstudio.core.errors import ResultsError
from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD, EXPRESSIONS
from affectstudio.core.paths import write_text_atomic

NO_FACE = -1

EXPR_COLUMNS = [f"expr_{name}" for name in EXPRESSIONS]
AU_PROB_COLUMNS = [f"{au}_prob" for au in ACTION_UNITS]
AU_ACTIVE_COLUMNS = [f"{au}_active" for au in ACTION_UNITS]
BOX_COLUMNS = ["x0", "y0", "x1", "y1"]
COLUMNS = [
    "frame",
    "time",
    "track_id",
    "face_score",
    *BOX_COLUMNS,
    "valence",
    "arousal",
    *EXPR_COLUMNS,
    "expression",
    *AU_PROB_COLUMNS,
    *AU_ACTIVE_COLUMNS,
]
_INT_COLUMNS = ["frame", "track_id", *AU_ACTIVE_COLUMNS]
_FLOAT_FORMAT = "%.6g"


@dataclass
class FrameBatch:
    """Predictions for a run of rows, as arrays (NaN where a row has no face or a head is absent)."""

    frame: np.ndarray  # (R,) int
    time: np.ndarray  # (R,) float seconds
    track_id: np.ndarray  # (R,) int, NO_FACE for frames without a face
    face_score: np.ndarray  # (R,)
    boxes: np.ndarray  # (R, 4) x0 y0 x1 y1 pixels
    va: np.ndarray  # (R, 2)
    expr: np.ndarray  # (R, 8) probabilities
    au: np.ndarray  # (R, 12) probabilities


def batch_to_frame(batch: FrameBatch, thresholds: Sequence[float]) -> pd.DataFrame:
    """Turn a batch into CSV-ready rows: argmax label and thresholded AUs derived here, once."""
    rows = len(batch.frame)
    data: dict[str, object] = {
        "frame": batch.frame.astype(np.int64),
        "time": batch.time.astype(np.float64),
        "track_id": batch.track_id.astype(np.int64),
        "face_score": batch.face_score,
    }
    for i, name in enumerate(BOX_COLUMNS):
        data[name] = batch.boxes[:, i]
    data["valence"], data["arousal"] = batch.va[:, 0], batch.va[:, 1]
    for i, name in enumerate(EXPR_COLUMNS):
        data[name] = batch.expr[:, i]
    data["expression"] = expression_labels(batch.expr)
    for i, name in enumerate(AU_PROB_COLUMNS):
        data[name] = batch.au[:, i]
    active = au_activations(batch.au, thresholds)
    for i, name in enumerate(AU_ACTIVE_COLUMNS):
        data[name] = pd.array(active[:, i], dtype="Int8")
    frame = pd.DataFrame(data, index=pd.RangeIndex(rows))
    return frame[COLUMNS]


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps keep microseconds at any length of video; everything else keeps 6 significant digits."""
    out = frame.copy()
    out["time"] = np.char.mod("%.6f", frame["time"].to_numpy(dtype=np.float64))
    return out


def top_expression(expr: np.ndarray) -> np.ndarray:
    """Index of the most probable expression per row, -1 where the row has no probabilities."""
    out = np.full(len(expr), -1, dtype=np.int64)
    valid = ~np.isnan(expr).any(axis=1)
    out[valid] = np.argmax(expr[valid], axis=1)
    return out


def au_active(au: np.ndarray, thresholds: Sequence[float] | None) -> np.ndarray:
    """Activations (bool) per AU, derived from probabilities: a new threshold needs no re-run."""
    limits = np.asarray(thresholds if thresholds is not None else [DEFAULT_AU_THRESHOLD] * len(ACTION_UNITS))
    return au >= limits[None, :]


def expression_labels(expr: np.ndarray) -> np.ndarray:
    """Argmax expression name per row; empty where the row has no probabilities."""
    names = np.asarray(("", *EXPRESSIONS), dtype=object)
    return names[top_expression(expr) + 1]


def au_activations(au: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """0/1 activations per AU with per-AU thresholds; masked (pd.NA) where the probability is missing."""
    active = pd.array(au_active(au, thresholds).astype(np.int8).ravel(), dtype="Int8").reshape(au.shape)
    active[np.isnan(au)] = pd.NA
    return active


class ResultWriter:
    """Streams rows to `<path>.partial`, then moves the finished file into place atomically.

    A crash or a Ctrl-C never leaves a half-written CSV under the final name: `close()` is what publishes
    it, and `abort()` removes the partial file.
    """

    def __init__(self, path: str | Path, metadata: dict, thresholds: Sequence[float]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.thresholds = list(thresholds)
        self._partial = self.path.with_name(self.path.name + ".partial")
        self._file = open(self._partial, "w", newline="", encoding="utf-8")  # noqa: SIM115
        for key, value in metadata.items():
            self._file.write(f"# {key}: {json.dumps(value)}\n")
        self._file.write(",".join(COLUMNS) + "\n")
        self.rows = 0

    def write(self, batch: FrameBatch) -> pd.DataFrame:
        frame = batch_to_frame(batch, self.thresholds)
        _csv_ready(frame).to_csv(self._file, header=False, index=False, na_rep="", float_format=_FLOAT_FORMAT)
        self.rows += len(frame)
        return frame

    def close(self) -> Path:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._partial, self.path)
        return self.path

    def abort(self) -> None:
        self._file.close()
        self._partial.unlink(missing_ok=True)


def write_json_atomic(path: str | Path, data: dict) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


@dataclass
class TrackSeries:
    """Dense per-frame arrays for one face track (NaN where the track has no face in a frame)."""

    track_id: int
    time: np.ndarray  # (F,)
    va: np.ndarray  # (F, 2)
    expr: np.ndarray  # (F, 8)
    au: np.ndarray  # (F, 12)
    boxes: np.ndarray  # (F, 4)
    face_score: np.ndarray  # (F,)


class ResultTable:
    """All rows of an analysis, with the metadata that says how they were made."""

    def __init__(self, df: pd.DataFrame, metadata: dict | None = None):
        self.df = df.reset_index(drop=True)
        self.metadata = dict(metadata or {})

    def __len__(self) -> int:
        return len(self.df)

    @property
    def n_frames(self) -> int:
        return int(self.df["frame"].max()) + 1 if len(self.df) else 0

    @classmethod
    def concat(cls, frames: Sequence[pd.DataFrame], metadata: dict | None = None) -> ResultTable:
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
        return cls(df, metadata)

    def tracks(self) -> list[int]:
        ids = self.df["track_id"].to_numpy()
        return sorted(int(t) for t in np.unique(ids) if t != NO_FACE)

    def track_view(self, track_id: int, n_frames: int | None = None) -> TrackSeries:
        n = self.n_frames if n_frames is None else n_frames
        time = np.full(n, np.nan)
        all_frames = self.df["frame"].to_numpy()
        inside = all_frames < n
        time[all_frames[inside]] = self.df["time"].to_numpy()[inside]
        rows = self.df[(self.df["track_id"] == track_id) & inside]
        index = rows["frame"].to_numpy()

        def dense(columns: list[str]) -> np.ndarray:
            out = np.full((n, len(columns)), np.nan, dtype=np.float32)
            out[index] = rows[columns].to_numpy(dtype=np.float32, na_value=np.nan)
            return out

        return TrackSeries(
            track_id=track_id,
            time=time,
            va=dense(["valence", "arousal"]),
            expr=dense(EXPR_COLUMNS),
            au=dense(AU_PROB_COLUMNS),
            boxes=dense(BOX_COLUMNS),
            face_score=dense(["face_score"])[:, 0],
        )

    def with_thresholds(self, thresholds: Sequence[float]) -> ResultTable:
        """Re-derive the AU activations for new thresholds without touching the probabilities."""
        df = self.df.copy()
        active = au_activations(df[AU_PROB_COLUMNS].to_numpy(dtype=np.float64, na_value=np.nan), thresholds)
        for i, name in enumerate(AU_ACTIVE_COLUMNS):
            df[name] = active[:, i]
        return ResultTable(df, {**self.metadata, "au_thresholds": list(thresholds)})

    def to_csv(self, path: str | Path) -> Path:
        text = io.StringIO()
        for key, value in self.metadata.items():
            text.write(f"# {key}: {json.dumps(value, default=str)}\n")
        _csv_ready(self.df[COLUMNS]).to_csv(text, index=False, na_rep="", float_format=_FLOAT_FORMAT)
        return write_text_atomic(path, text.getvalue())

    @classmethod
    def from_csv(cls, path: str | Path) -> ResultTable:
        path = Path(path)
        if not path.is_file():
            raise ResultsError(path, "results file not found")
        metadata: dict = {}
        try:
            with open(path, encoding="utf-8") as file:
                for line in file:
                    if not line.startswith("#"):
                        break
                    key, _, value = line[1:].partition(":")
                    metadata[key.strip()] = json.loads(value)
            df = pd.read_csv(path, comment="#", dtype={"expression": str}, keep_default_na=True)
        except (UnicodeDecodeError, json.JSONDecodeError, pd.errors.ParserError, ValueError) as error:
            raise ResultsError(path, f"not an AffectStudio results CSV ({error})") from None
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise ResultsError(path, f"missing columns: {', '.join(missing[:5])}")
        df["expression"] = df["expression"].fillna("")
        for name in AU_ACTIVE_COLUMNS:
            df[name] = df[name].astype("Int8")
        return cls(df[COLUMNS], metadata)


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over `window` frames that skips NaN (frames without a face stay NaN).

    Works on (F,) or (F, K) arrays in O(F) with cumulative sums, so an hour of frames smooths instantly.
    """
    if window <= 1:
        return values.copy()
    x = values.reshape(len(values), -1).astype(np.float64)
    valid = ~np.isnan(x)
    csum = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(np.where(valid, x, 0.0), axis=0)])
    ccount = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(valid, axis=0)])
    half = window // 2
    idx = np.arange(len(x))
    lo = np.clip(idx - half, 0, len(x))
    hi = np.clip(idx + window - half, 0, len(x))
    total, count = csum[hi] - csum[lo], ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(valid, total / count, np.nan)
    return out.reshape(values.shape).astype(values.dtype)
