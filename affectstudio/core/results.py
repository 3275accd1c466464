"""The per-frame result table: its CSV layout, streaming writer, reader, smoothing and thresholds.

One row per frame and face track. A frame without a face is still a row (track_id -1, empty predictions),
so a CSV always has every frame of the video and nothing is dropped silently. Metadata (which model and
thresholds produced the numbers, whether its heads are trained) travels in `#` comment lines at the top of
the CSV and in a JSON sidecar.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from affectstudio.core.errors import ResultsError
from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD, EXPRESSIONS
from affectstudio.core.paths import atomic_write, write_text_atomic

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
    for name in ("time", "timestamp", "approx_time"):  # the time column of each style (see layouts)
        if name in out.columns:
            out[name] = np.char.mod("%.6f", frame[name].to_numpy(dtype=np.float64))
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
    """Streams rows to a temporary file unique to this run, then moves it into place atomically.

    A crash or a Ctrl-C never leaves a half-written file under the final name: `close()` is what publishes
    it, and `abort()` removes the temporary file. The temporary file comes from `paths.atomic_write`
    (a unique name per run), so two runs writing the same name never share one. `style` names the columns
    (see `layouts`); a `.parquet` path writes Parquet (row groups of `PARQUET_ROWS`), anything else CSV.
    """

    PARQUET_ROWS = 16384

    def __init__(
        self, path: str | Path, metadata: dict, thresholds: Sequence[float], style: str = "affectstudio"
    ):
        from affectstudio.core.layouts import check_style, style_columns

        self.path = Path(path)
        self.thresholds = list(thresholds)
        self.style = check_style(style)
        self.metadata = metadata
        self.parquet = self.path.suffix.lower() == ".parquet"
        self._stack = contextlib.ExitStack()
        self._handle = self._stack.enter_context(atomic_write(self.path))
        self._pending: list[pd.DataFrame] = []
        self._parquet_writer = None
        if not self.parquet:
            self._file = io.TextIOWrapper(self._handle, encoding="utf-8", newline="", write_through=False)
            for key, value in metadata.items():
                self._file.write(f"# {key}: {json.dumps(value, default=str)}\n")
            self._file.write(",".join(style_columns(self.style)) + "\n")
        self.rows = 0

    def _styled(self, frame: pd.DataFrame) -> pd.DataFrame:
        from affectstudio.core.layouts import to_style

        return to_style(frame, self.style)

    def write(self, batch: FrameBatch) -> pd.DataFrame:
        frame = batch_to_frame(batch, self.thresholds)
        if self.parquet:
            self._pending.append(frame)
            if sum(len(f) for f in self._pending) >= self.PARQUET_ROWS:
                self._flush_parquet()
        else:
            _csv_ready(self._styled(frame)).to_csv(
                self._file, header=False, index=False, na_rep="", float_format=_FLOAT_FORMAT
            )
        self.rows += len(frame)
        return frame

    def _flush_parquet(self, final: bool = False) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from affectstudio.core.layouts import PARQUET_METADATA_KEY

        if not self._pending and not (final and self._parquet_writer is None):
            return
        frames = self._pending or [batch_to_frame(_empty_batch(), self.thresholds)]
        styled = self._styled(pd.concat(frames, ignore_index=True))
        self._pending = []
        if self._parquet_writer is None:
            meta = json.dumps(self.metadata, default=str).encode()
            schema = pa.Schema.from_pandas(styled, preserve_index=False)
            schema = _parquet_schema(schema).with_metadata({PARQUET_METADATA_KEY: meta})
            self._parquet_writer = pq.ParquetWriter(self._handle, schema)
        table = pa.Table.from_pandas(styled, schema=self._parquet_writer.schema, preserve_index=False)
        self._parquet_writer.write_table(table)

    def close(self) -> Path:
        if self.parquet:
            self._flush_parquet(final=True)
            self._parquet_writer.close()
        else:
            self._file.flush()
            self._file.detach()
        self._stack.close()  # fsync, then rename over the final name
        return self.path

    def abort(self) -> None:
        """Drop everything written: release the encoders first (so nothing writes to a closed file when
        they are collected), then remove the temporary file."""
        try:
            if self._parquet_writer is not None:
                self._parquet_writer.close()
            elif not self.parquet:
                self._file.detach()
        except (OSError, ValueError):
            pass
        self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)


def _empty_batch() -> FrameBatch:
    return FrameBatch(
        frame=np.zeros(0, np.int64),
        time=np.zeros(0),
        track_id=np.zeros(0, np.int64),
        face_score=np.zeros(0),
        boxes=np.zeros((0, 4)),
        va=np.zeros((0, 2), np.float32),
        expr=np.zeros((0, 8), np.float32),
        au=np.zeros((0, 12), np.float32),
    )


def _parquet_schema(schema):
    """Fix the types a first batch cannot tell (all-empty columns come out as null): floats stay float64,
    labels strings, activations int8, whatever the first rows held."""
    import pyarrow as pa

    fields = []
    for field in schema:
        if pa.types.is_null(field.type) or field.name == "expression":
            kind = pa.string() if field.name == "expression" else pa.float64()
            field = field.with_type(kind)
        fields.append(field)
    return pa.schema(fields)


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
        if path.suffix.lower() == ".parquet":
            from affectstudio.core.layouts import read_results

            df = read_results(path)
            return cls(df, df.attrs["metadata"])
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
        if missing and {"face_id", "FaceRectX"} & set(df.columns):  # another column style (see layouts)
            from affectstudio.core.layouts import read_results

            df = read_results(path)
            return cls(df, df.attrs["metadata"])
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
