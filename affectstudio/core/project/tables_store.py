"""Cached results per (video, model) and imported overlays: DataFrames stored as npz blobs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from affectstudio.core.project.codec import decode_frame, encode_frame


@dataclass(frozen=True)
class CachedResult:
    frame: pd.DataFrame
    model_name: str
    untrained_tasks: list[str]
    created: float
    key: str = ""  # the results key it is cached under (the analysis its track edits belong to)


@dataclass(frozen=True)
class Overlay:
    """Per-frame output of another tool, imported read-only (`exchange`'s importers make the frame)."""

    name: str
    fmt: str
    source: str
    frame: pd.DataFrame | None  # None in listings, which do not decode the data
    created: float


class TablesMixin:
    """Result and overlay methods of `ProjectStore` (uses its `_db`, `_rows`, `transaction`)."""

    # results ------------------------------------------------------------------------------------------
    def save_results(
        self,
        video_hash: str,
        model_digest: str,
        model_name: str,
        frame: pd.DataFrame,
        untrained_tasks: list[str] = (),
    ) -> None:
        """Replace the cached result of (video, model): the old row stays unless the new one is complete."""
        with self.transaction():
            self._db.execute(
                "DELETE FROM results WHERE video_hash=? AND model_digest=?", (video_hash, model_digest)
            )
            self._db.execute(
                "INSERT INTO results VALUES (?,?,?,?,?,?)",
                (
                    video_hash,
                    model_digest,
                    model_name,
                    ",".join(untrained_tasks),
                    time.time(),
                    encode_frame(frame),
                ),
            )

    def load_results(self, video_hash: str, model_digest: str) -> CachedResult | None:
        rows = self._rows(
            "SELECT model_name, untrained_tasks, created, data FROM results"
            " WHERE video_hash=? AND model_digest=?",
            (video_hash, model_digest),
        )
        if not rows:
            return None
        name, tasks, created, blob = rows[0]
        tasks = [t for t in tasks.split(",") if t]
        return CachedResult(decode_frame(blob), name, tasks, created, model_digest)

    def latest_results(self, video_hash: str) -> CachedResult | None:
        """The most recently cached result of the video, whichever model made it."""
        rows = self._rows(
            "SELECT model_digest FROM results WHERE video_hash=? ORDER BY created DESC LIMIT 1", (video_hash,)
        )
        return self.load_results(video_hash, rows[0][0]) if rows else None

    def result_models(self, video_hash: str) -> dict[str, str]:
        """Model key -> model name of every result cached for the video."""
        rows = self._rows("SELECT model_digest, model_name FROM results WHERE video_hash=?", (video_hash,))
        return dict(rows)

    def forget_results(self, video_hash: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM results WHERE video_hash=?", (video_hash,))

    # overlays -----------------------------------------------------------------------------------------
    def save_overlay(self, video_hash: str, name: str, fmt: str, source: str | Path, frame: pd.DataFrame):
        blob = encode_frame(frame)
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO overlays VALUES (?,?,?,?,?,?)",
                (video_hash, name, fmt, str(source), time.time(), blob),
            )

    def overlays(self, video_hash: str) -> list[Overlay]:
        rows = self._rows(
            "SELECT name, fmt, source, created FROM overlays WHERE video_hash=? ORDER BY created",
            (video_hash,),
        )
        return [Overlay(name, fmt, source, None, created) for name, fmt, source, created in rows]

    def load_overlay(self, video_hash: str, name: str) -> Overlay | None:
        rows = self._rows(
            "SELECT fmt, source, created, data FROM overlays WHERE video_hash=? AND name=?",
            (video_hash, name),
        )
        if not rows:
            return None
        fmt, source, created, blob = rows[0]
        return Overlay(name, fmt, source, decode_frame(blob), created)

    def remove_overlay(self, video_hash: str, name: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM overlays WHERE video_hash=? AND name=?", (video_hash, name))
