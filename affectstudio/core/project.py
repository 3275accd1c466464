"""The project store: one SQLite file that remembers videos, cached results, track names and annotations.

Why SQLite: every write is a transaction, so a crash (or a killed process) leaves either the old state or the
new one, never half a row; one file is easy to back up; and reads of one cached result are a single indexed
lookup. Results are stored as a compressed `.npz` blob of their columns (no pickle), which loads 108,000 rows
in a fraction of a second, so reopening an analysed video is instant.

Videos are keyed by a content fingerprint (size + SHA-256 of three 1 MiB samples), not by path: a renamed or
moved file keeps its results, and a re-encoded one does not inherit stale ones. Hashing all of a multi-GB
video would take longer than most users wait for a window.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from affectstudio.core.errors import AffectStudioError

SAMPLE_BYTES = 1 << 20
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    hash TEXT PRIMARY KEY, path TEXT NOT NULL, frame_count INTEGER, fps REAL, last_opened REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    video_hash TEXT NOT NULL, model_digest TEXT NOT NULL, model_name TEXT NOT NULL,
    untrained_tasks TEXT NOT NULL, created REAL NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (video_hash, model_digest)
);
CREATE TABLE IF NOT EXISTS track_names (
    video_hash TEXT NOT NULL, track_id INTEGER NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (video_hash, track_id)
);
CREATE TABLE IF NOT EXISTS annotations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, video_hash TEXT NOT NULL, track_id INTEGER NOT NULL,
    start_frame INTEGER NOT NULL, stop_frame INTEGER NOT NULL, expression TEXT,
    valence REAL, arousal REAL, note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS annotations_by_video ON annotations (video_hash, start_frame);
"""


class ProjectError(AffectStudioError):
    """The project file cannot be opened or is not a project store."""


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


@dataclass(frozen=True)
class CachedResult:
    frame: pd.DataFrame
    model_name: str
    untrained_tasks: list[str]
    created: float


@dataclass(frozen=True)
class Annotation:
    id: int
    track_id: int
    start_frame: int
    stop_frame: int  # inclusive
    expression: str | None
    valence: float | None
    arousal: float | None
    note: str = ""


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


class ProjectStore:
    """A SQLite-backed store; use one instance per thread (SQLite connections are not shared)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            with self._db:
                self._db.executescript(_SCHEMA)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as error:
            raise ProjectError(self.path, f"not a usable project file ({error})") from error

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # videos -------------------------------------------------------------------------------------------
    def remember_video(self, video_hash: str, path: str | Path, frame_count: int, fps: float) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO videos VALUES (?,?,?,?,?) ON CONFLICT(hash) DO UPDATE SET path=excluded.path,"
                " frame_count=excluded.frame_count, fps=excluded.fps, last_opened=excluded.last_opened",
                (video_hash, str(path), frame_count, fps, time.time()),
            )

    def video_path(self, video_hash: str) -> Path | None:
        row = self._db.execute("SELECT path FROM videos WHERE hash=?", (video_hash,)).fetchone()
        return Path(row[0]) if row else None

    # results ------------------------------------------------------------------------------------------
    def save_results(
        self,
        video_hash: str,
        model_digest: str,
        model_name: str,
        frame: pd.DataFrame,
        untrained_tasks: list[str] = (),
    ) -> None:
        blob = encode_frame(frame)
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?)",
                (video_hash, model_digest, model_name, ",".join(untrained_tasks), time.time(), blob),
            )

    def load_results(self, video_hash: str, model_digest: str) -> CachedResult | None:
        row = self._db.execute(
            "SELECT model_name, untrained_tasks, created, data FROM results"
            " WHERE video_hash=? AND model_digest=?",
            (video_hash, model_digest),
        ).fetchone()
        if row is None:
            return None
        tasks = [task for task in row[1].split(",") if task]
        return CachedResult(decode_frame(row[3]), row[0], tasks, row[2])

    def forget_results(self, video_hash: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM results WHERE video_hash=?", (video_hash,))

    # track names --------------------------------------------------------------------------------------
    def track_names(self, video_hash: str) -> dict[int, str]:
        rows = self._db.execute("SELECT track_id, name FROM track_names WHERE video_hash=?", (video_hash,))
        return {int(track): name for track, name in rows}

    def rename_track(self, video_hash: str, track_id: int, name: str) -> None:
        with self._db:
            if name.strip():
                self._db.execute(
                    "INSERT OR REPLACE INTO track_names VALUES (?,?,?)", (video_hash, track_id, name.strip())
                )
            else:
                self._db.execute(
                    "DELETE FROM track_names WHERE video_hash=? AND track_id=?", (video_hash, track_id)
                )

    # annotations --------------------------------------------------------------------------------------
    def add_annotation(
        self,
        video_hash: str,
        track_id: int,
        start_frame: int,
        stop_frame: int,
        expression: str | None = None,
        valence: float | None = None,
        arousal: float | None = None,
        note: str = "",
    ) -> int:
        start, stop = sorted((int(start_frame), int(stop_frame)))
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO annotations (video_hash, track_id, start_frame, stop_frame, expression, valence,"
                " arousal, note) VALUES (?,?,?,?,?,?,?,?)",
                (video_hash, track_id, start, stop, expression, valence, arousal, note),
            )
        return int(cursor.lastrowid)

    def annotations(self, video_hash: str) -> list[Annotation]:
        rows = self._db.execute(
            "SELECT id, track_id, start_frame, stop_frame, expression, valence, arousal, note"
            " FROM annotations"
            " WHERE video_hash=? ORDER BY start_frame, id",
            (video_hash,),
        )
        return [Annotation(*row) for row in rows]

    def remove_annotation(self, annotation_id: int) -> None:
        with self._db:
            self._db.execute("DELETE FROM annotations WHERE id=?", (annotation_id,))
