"""The study manifest: `OUT/.affectstudio-study.sqlite`, one row per output, what state each video is in.

Why SQLite: each state change is a transaction, so a killed run leaves every row either before or after
its change, never half; several worker processes may report at once without a lock file of our own.
(Hidden name: it is bookkeeping, not a result; `affectstudio analyze` prints where it is.)

A row is keyed by its output (unique within OUT) and remembers what produced it: the video's content
fingerprint (`project.video_fingerprint`), the model digest and the options that change results. A video
is skipped on a re-run only when it is `done` with the same three and its output is still there with the
recorded size; anything else (pending, running when a run was killed, failed, changed) is analysed again.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from affectstudio.core.errors import AffectStudioError

MANIFEST_NAME = ".affectstudio-study.sqlite"
STATES = ("pending", "running", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    output TEXT PRIMARY KEY, video TEXT NOT NULL, name TEXT NOT NULL, fingerprint TEXT NOT NULL,
    model_digest TEXT NOT NULL, options TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
    output_digest TEXT, output_size INTEGER, summary TEXT, updated REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Entry:
    output: str
    video: str
    name: str
    fingerprint: str
    model_digest: str
    options: str
    state: str
    reason: str
    output_digest: str | None
    output_size: int | None
    summary: list[dict] | None


class Manifest:
    """Open (creating if needed) the manifest of the study in `out`."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.path = self.out / MANIFEST_NAME
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise AffectStudioError(self.path, f"cannot open the study manifest ({error})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get(self, output: str) -> Entry | None:
        row = self._db.execute(
            "SELECT output, video, name, fingerprint, model_digest, options, state, reason, output_digest,"
            " output_size, summary FROM videos WHERE output = ?",
            (output,),
        ).fetchone()
        if row is None:
            return None
        return Entry(*row[:10], json.loads(row[10]) if row[10] else None)

    def entries(self) -> list[Entry]:
        outputs = [r[0] for r in self._db.execute("SELECT output FROM videos ORDER BY output")]
        return [self.get(o) for o in outputs]

    def states(self) -> list[tuple[str, str, str, str]]:
        """(output, name, state, reason) of every row, oldest change first."""
        return self._db.execute("SELECT output, name, state, reason FROM videos ORDER BY updated").fetchall()

    def is_done(self, output: str, fingerprint: str, model_digest: str, options: str, present=None) -> bool:
        """Done with the same video, model and options, and its output still there: by default the file in
        OUT with its recorded size; `present(entry)` says where else it lives (a project's store)."""
        entry = self.get(output)
        if entry is None or entry.state != "done":
            return False
        if (entry.fingerprint, entry.model_digest, entry.options) != (fingerprint, model_digest, options):
            return False
        if present is not None:
            return bool(present(entry))
        path = self.out / output
        return path.is_file() and path.stat().st_size == entry.output_size

    def set_pending(self, output: str, video: str, name: str, fingerprint: str, digest: str, options: str):
        self._db.execute(
            "INSERT INTO videos (output, video, name, fingerprint, model_digest, options, state, reason,"
            " updated) VALUES (?, ?, ?, ?, ?, ?, 'pending', '', ?) ON CONFLICT(output) DO UPDATE SET"
            " video=excluded.video, name=excluded.name, fingerprint=excluded.fingerprint,"
            " model_digest=excluded.model_digest, options=excluded.options, state='pending', reason='',"
            " output_digest=NULL, output_size=NULL, summary=NULL, updated=excluded.updated",
            (output, video, name, fingerprint, digest, options, time.time()),
        )

    def set_state(
        self,
        output: str,
        state: str,
        reason: str = "",
        output_digest: str | None = None,
        output_size: int | None = None,
        summary: list[dict] | None = None,
    ) -> None:
        assert state in STATES, state
        self._db.execute(
            "UPDATE videos SET state=?, reason=?, output_digest=?, output_size=?, summary=?, updated=?"
            " WHERE output=?",
            (
                state,
                reason.splitlines()[0][:500] if reason else "",
                output_digest,
                output_size,
                json.dumps(summary, default=_plain) if summary is not None else None,
                time.time(),
                output,
            ),
        )


def _plain(value):
    """numpy scalars in summary rows -> JSON numbers."""
    return value.item() if hasattr(value, "item") else str(value)
