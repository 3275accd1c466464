"""Column styles of the per-frame table, and `read_results`, which loads any of them back into ours.

Why styles: a lab's analysis scripts were written for OpenFace or py-feat output. Writing our numbers under
their column names lets those scripts run unchanged; `read_results` turns any of our files (CSV or Parquet,
any style) back into one DataFrame in our own layout (`results.COLUMNS`).

- `affectstudio`: our layout (README, "The per-frame CSV").
- `openface`: OpenFace 2 (FeatureExtraction / FaceLandmarkVidMulti) names: `frame` counted from 1,
  `face_id`, `timestamp`, `confidence`, `success`, then `AUxx_c` (0/1 presence) for each AU with OpenFace's
  two-digit numbers. The network predicts no intensities, so probabilities go in `AUxx_p` (not `AUxx_r`).
- `pyfeat`: py-feat's Fex names: `frame` (from 0), `approx_time`, `FaceRectX/Y/Width/Height`, `FaceScore`,
  `AU01`.. (probabilities), the emotions `anger`.. `neutral`, plus `valence`, `arousal`.
Columns neither tool has (boxes for OpenFace, `track_id`, `other` and the label for py-feat, ...) follow
theirs under our names, so every style holds the same information and reads back losslessly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from affectstudio.core.errors import ResultsError
from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD
from affectstudio.core.results import (
    AU_ACTIVE_COLUMNS,
    AU_PROB_COLUMNS,
    COLUMNS,
    EXPR_COLUMNS,
    NO_FACE,
    au_activations,
    expression_labels,
)

STYLES = ("affectstudio", "openface", "pyfeat")
FORMATS = ("csv", "parquet")
PARQUET_METADATA_KEY = b"affectstudio"

_TWO_DIGIT = [f"AU{int(au[2:]):02d}" for au in ACTION_UNITS]  # AU1 -> AU01, as both tools name them
OPENFACE_HEAD = ["frame", "face_id", "timestamp", "confidence", "success"]
OPENFACE_COLUMNS = [
    *OPENFACE_HEAD,
    *(f"{au}_c" for au in _TWO_DIGIT),
    *(f"{au}_p" for au in _TWO_DIGIT),
    "x0",
    "y0",
    "x1",
    "y1",
    "valence",
    "arousal",
    *EXPR_COLUMNS,
    "expression",
]
PYFEAT_EMOTIONS = {
    "anger": "expr_Anger",
    "disgust": "expr_Disgust",
    "fear": "expr_Fear",
    "happiness": "expr_Happiness",
    "sadness": "expr_Sadness",
    "surprise": "expr_Surprise",
    "neutral": "expr_Neutral",
}
PYFEAT_COLUMNS = [
    "frame",
    "approx_time",
    "FaceRectX",
    "FaceRectY",
    "FaceRectWidth",
    "FaceRectHeight",
    "FaceScore",
    *_TWO_DIGIT,
    *PYFEAT_EMOTIONS,
    "valence",
    "arousal",
    "track_id",
    "other",
]
TIME_COLUMN = {"affectstudio": "time", "openface": "timestamp", "pyfeat": "approx_time"}


def check_style(style: str) -> str:
    if style not in STYLES:
        raise ResultsError(None, f"unknown column style '{style}' (use {', '.join(STYLES)})")
    return style


def style_columns(style: str) -> list[str]:
    return {"affectstudio": COLUMNS, "openface": OPENFACE_COLUMNS, "pyfeat": PYFEAT_COLUMNS}[style]


def to_style(df: pd.DataFrame, style: str) -> pd.DataFrame:
    """Our rows (results.COLUMNS) renamed and reshaped into `style`'s columns, in its order."""
    if style == "affectstudio":
        return df[COLUMNS]
    face = df["track_id"].to_numpy() != NO_FACE
    out: dict[str, object] = {}
    if style == "openface":
        out["frame"] = df["frame"].to_numpy(dtype=np.int64) + 1
        out["face_id"] = np.where(face, df["track_id"], 0)
        out["timestamp"] = df["time"].to_numpy(dtype=np.float64)
        out["confidence"] = np.where(face, df["face_score"].to_numpy(dtype=np.float64, na_value=np.nan), 0.0)
        out["success"] = face.astype(np.int64)
        for au, name in zip(_TWO_DIGIT, ACTION_UNITS, strict=True):
            out[f"{au}_c"] = df[f"{name}_active"]
        for au, name in zip(_TWO_DIGIT, ACTION_UNITS, strict=True):
            out[f"{au}_p"] = df[f"{name}_prob"]
        for name in ("x0", "y0", "x1", "y1", "valence", "arousal", *EXPR_COLUMNS, "expression"):
            out[name] = df[name]
        return pd.DataFrame(out, index=df.index)[OPENFACE_COLUMNS]
    out["frame"] = df["frame"]
    out["approx_time"] = df["time"]
    out["FaceRectX"], out["FaceRectY"] = df["x0"], df["y0"]
    out["FaceRectWidth"], out["FaceRectHeight"] = df["x1"] - df["x0"], df["y1"] - df["y0"]
    out["FaceScore"] = df["face_score"]
    for au, name in zip(_TWO_DIGIT, ACTION_UNITS, strict=True):
        out[au] = df[f"{name}_prob"]
    for emotion, ours in PYFEAT_EMOTIONS.items():
        out[emotion] = df[ours]
    out["valence"], out["arousal"] = df["valence"], df["arousal"]
    out["track_id"], out["other"] = df["track_id"], df["expr_Other"]
    return pd.DataFrame(out, index=df.index)[PYFEAT_COLUMNS]


def detect_style(columns) -> str:
    names = set(columns)
    if {"frame", "track_id", "expr_Neutral", "AU1_prob"} <= names:
        return "affectstudio"
    if {"frame", "face_id", "timestamp", "success"} <= names:
        return "openface"
    if {"frame", "FaceRectX", "FaceRectWidth"} <= names:
        return "pyfeat"
    raise ValueError("columns match none of the affectstudio, openface or pyfeat layouts")


def from_style(df: pd.DataFrame, style: str, thresholds) -> pd.DataFrame:
    """Any style back to our layout. Columns a foreign file lacks become NaN; activations a style does not
    store are derived from the probabilities at the file's thresholds (as the writer did)."""
    n = len(df)

    def column(name: str, dtype=np.float64) -> np.ndarray:
        if name not in df.columns:
            return np.full(n, np.nan)
        return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=dtype, na_value=np.nan)

    if style == "affectstudio":
        out = df.copy()
    elif style == "openface":
        face = column("success") > 0
        out = pd.DataFrame({"frame": column("frame") - 1, "time": column("timestamp")})
        out["track_id"] = np.where(face, column("face_id"), NO_FACE)
        out["face_score"] = np.where(face, column("confidence"), np.nan)
        for au, name in zip(_TWO_DIGIT, ACTION_UNITS, strict=True):
            out[f"{name}_prob"] = column(f"{au}_p")
            if f"{au}_c" in df.columns:
                out[f"{name}_active"] = pd.array(column(f"{au}_c"), dtype="Float64").astype("Int8")
    else:
        no_face = np.isnan(column("FaceScore"))
        track = column("track_id") if "track_id" in df.columns else np.where(no_face, NO_FACE, 0)
        out = pd.DataFrame({"frame": column("frame"), "time": column("approx_time"), "track_id": track})
        out["face_score"] = column("FaceScore")
        out["x0"], out["y0"] = column("FaceRectX"), column("FaceRectY")
        out["x1"], out["y1"] = out["x0"] + column("FaceRectWidth"), out["y0"] + column("FaceRectHeight")
        for au, name in zip(_TWO_DIGIT, ACTION_UNITS, strict=True):
            out[f"{name}_prob"] = column(au)
        for emotion, ours in PYFEAT_EMOTIONS.items():
            out[ours] = column(emotion)
        out["expr_Other"] = column("other")
    if style != "affectstudio":
        for name in ("x0", "y0", "x1", "y1", "valence", "arousal", *EXPR_COLUMNS):
            if name not in out.columns:
                out[name] = column(name)
        if "expression" not in df.columns:
            out["expression"] = expression_labels(out[EXPR_COLUMNS].to_numpy(dtype=np.float64))
        else:
            out["expression"] = df["expression"]
    probs = out[AU_PROB_COLUMNS].to_numpy(dtype=np.float64, na_value=np.nan)
    derived = au_activations(probs, thresholds or [DEFAULT_AU_THRESHOLD] * len(ACTION_UNITS))
    for i, name in enumerate(AU_ACTIVE_COLUMNS):
        if name not in out.columns:
            out[name] = derived[:, i]
        out[name] = out[name].astype("Int8")
    out["frame"] = out["frame"].astype(np.int64)
    out["track_id"] = out["track_id"].astype(np.int64)
    out["expression"] = out["expression"].fillna("").astype(object)
    return out[COLUMNS].reset_index(drop=True)


def read_metadata(path: Path) -> dict:
    """The `# key: json` lines at the top of a CSV, or the metadata stored in a Parquet file's schema."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        raw = (pq.read_schema(path).metadata or {}).get(PARQUET_METADATA_KEY)
        return json.loads(raw) if raw else {}
    metadata: dict = {}
    with open(path, encoding="utf-8") as file:
        for line in file:
            if not line.startswith("#"):
                break
            key, _, value = line[1:].partition(":")
            metadata[key.strip()] = json.loads(value)
    return metadata


def read_results(path: str | Path) -> pd.DataFrame:
    """Load a per-frame results file of ours (CSV or Parquet, any column style) in our layout.

    The file's metadata (model, thresholds, ...) is in `df.attrs["metadata"]`, its style in
    `df.attrs["style"]`.
    """
    path = Path(path)
    if not path.is_file():
        raise ResultsError(path, "results file not found")
    try:
        metadata = read_metadata(path)
        if path.suffix.lower() == ".parquet":
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(path, comment="#", skipinitialspace=True, dtype={"expression": str})
        raw.columns = [str(c).strip() for c in raw.columns]
        style = detect_style(raw.columns)
        df = from_style(raw, style, metadata.get("au_thresholds"))
    except ResultsError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError, KeyError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ResultsError(path, f"not a readable results file ({first[:200]})") from None
    except Exception as error:  # pyarrow's own errors (ArrowInvalid is a ValueError, others are not)
        if type(error).__module__.startswith("pyarrow"):
            raise ResultsError(path, f"not a readable Parquet results file ({error})") from None
        raise
    df.attrs["metadata"] = metadata
    df.attrs["style"] = style
    return df
