"""How the project store turns tables, traces and videos into bytes and keys.

Results and overlays are stored as a compressed `.npz` of their columns (no pickle ever), which loads
108,000 rows in a fraction of a second. Continuous traces (valence/arousal, float32 per frame, NaN =
unlabelled) are stored in chunks of `TRACE_CHUNK` frames, zlib-compressed, and only chunks that hold a
label: an hour of video with a minute of VA labels costs a few kB, and recording a second of VA rewrites
one or two chunks, not the whole trace.

Videos are keyed by a content fingerprint (size + SHA-256 of three 1 MiB samples), not by path: a renamed
or moved file keeps its results, and a re-encoded one does not inherit stale ones. Hashing all of a
multi-GB video would take longer than most users wait for a window.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from affectstudio.core.errors import AffectStudioError

SAMPLE_BYTES = 1 << 20
TRACE_CHUNK = 1024


class ProjectError(AffectStudioError):
    """The project file cannot be opened or used, or a video in it cannot be found or matched."""


def video_fingerprint(path: str | Path) -> str:
    """Content key of a video: its size and SHA-256 over its first, middle and last MiB."""
    path = Path(path)
    try:
        size = path.stat().st_size
        digest = hashlib.sha256(str(size).encode())
        with path.open("rb") as handle:
            for offset in sorted({0, max(0, size // 2 - SAMPLE_BYTES // 2), max(0, size - SAMPLE_BYTES)}):
                handle.seek(offset)
                digest.update(handle.read(SAMPLE_BYTES))
    except OSError as error:
        raise ProjectError(
            path, f"cannot read the video to fingerprint it ({error.strerror or error})"
        ) from error
    return digest.hexdigest()


def encode_frame(frame: pd.DataFrame) -> bytes:
    """Columns as a compressed npz, no pickle ever: text becomes fixed-width unicode, nullable integers
    (the AU activations, missing where there is no face) become float with NaN and are restored on load."""
    arrays = {}
    for index, column in enumerate(frame.columns):
        series = frame[column]
        if isinstance(series.dtype, pd.api.extensions.ExtensionDtype) and series.dtype.kind in "iu":
            tag, values = str(series.dtype), series.to_numpy(dtype=np.float64, na_value=np.nan)
        elif series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            tag, values = "str", series.fillna("").to_numpy().astype(str)
        else:
            tag, values = "", series.to_numpy()
        arrays[f"{index:04d}|{tag}|{column}"] = values
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def decode_frame(blob: bytes) -> pd.DataFrame:
    columns = {}
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        for key in sorted(archive.files):
            _, tag, column = key.split("|", 2)
            values = archive[key]
            if tag and tag != "str":
                columns[column] = pd.array(values, dtype="Float64").astype(tag)
            else:
                columns[column] = values
    return pd.DataFrame(columns)


def encode_chunk(values: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(values, dtype="<f4").tobytes(), 6)


def decode_chunk(blob: bytes) -> np.ndarray:
    values = np.frombuffer(zlib.decompress(blob), dtype="<f4").astype(np.float32)
    if len(values) != TRACE_CHUNK:
        raise ValueError(f"trace chunk of {len(values)} values, expected {TRACE_CHUNK}")
    return values
