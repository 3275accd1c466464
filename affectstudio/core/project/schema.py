"""The project file's tables, its schema version and the migrations between versions.

`PRAGMA user_version` holds the schema version. Opening an older file migrates it in one transaction (a
crash mid-migration leaves the old file as it was); a file from a newer AffectStudio is refused, never
downgraded. Version 1 was the app's single global store (`data_dir()/project.sqlite3`): videos, results,
track names and a flat `annotations` table of spans. Version 2 keeps those and adds lanes: its migration
carries each old span into the lanes of the default annotator for the span's track (expression into
`expression` segments, valence/arousal into the continuous traces; where spans overlapped the later one
wins, as the old export did). A value version 2 refuses (unknown expression, VA outside [-1, 1], valence
without arousal) becomes an `event` at the span's start whose text says what the old span held, so
nothing a user typed is lost. Version 3 adds `track_edits` (merges, splits, rejects of face tracks); its
migration only creates the table. Version 4 keys each track edit to the analysis whose track ids it names
(`analysis`: the results key, the `model_digest` column of `results`), since another model or other face
options make other tracks of the same ids; its migration attaches each existing edit to the latest cached
analysis of its video, the one the review window showed when it was made (an edit of a video without any
cached result keeps an empty key and applies to no analysis).

The row helpers below (lane ids, trace chunks) are shared by the store and the migrations.
"""

from __future__ import annotations

import math
import sqlite3
import time

import numpy as np

from affectstudio.core.annotations.lanes import DEFAULT_ANNOTATOR, LaneKey
from affectstudio.core.labels import EXPRESSIONS
from affectstudio.core.project.codec import TRACE_CHUNK, decode_chunk, encode_chunk

SCHEMA_VERSION = 4

_V2_TABLES = [
    """CREATE TABLE IF NOT EXISTS videos (
        hash TEXT PRIMARY KEY, path TEXT NOT NULL, frame_count INTEGER, fps REAL, last_opened REAL NOT NULL,
        duration REAL, added REAL)""",
    """CREATE TABLE IF NOT EXISTS results (
        video_hash TEXT NOT NULL, model_digest TEXT NOT NULL, model_name TEXT NOT NULL,
        untrained_tasks TEXT NOT NULL, created REAL NOT NULL, data BLOB NOT NULL,
        PRIMARY KEY (video_hash, model_digest))""",
    """CREATE TABLE IF NOT EXISTS track_names (
        video_hash TEXT NOT NULL, track_id INTEGER NOT NULL, name TEXT NOT NULL,
        PRIMARY KEY (video_hash, track_id))""",
    "CREATE TABLE IF NOT EXISTS annotators (name TEXT PRIMARY KEY, added REAL NOT NULL)",
    """CREATE TABLE IF NOT EXISTS lanes (
        id INTEGER PRIMARY KEY, video_hash TEXT NOT NULL, name TEXT NOT NULL, annotator TEXT NOT NULL,
        track_id INTEGER NOT NULL, UNIQUE (video_hash, name, annotator, track_id))""",
    # `value` has no declared type, so an AU's 0/1 stays an integer and an expression stays text
    """CREATE TABLE IF NOT EXISTS segments (
        id INTEGER PRIMARY KEY AUTOINCREMENT, lane_id INTEGER NOT NULL REFERENCES lanes(id),
        start INTEGER NOT NULL, stop INTEGER NOT NULL, value, note TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS segments_by_lane ON segments (lane_id, start)",
    """CREATE TABLE IF NOT EXISTS trace_chunks (
        lane_id INTEGER NOT NULL REFERENCES lanes(id), chunk INTEGER NOT NULL, labelled INTEGER NOT NULL,
        data BLOB NOT NULL, PRIMARY KEY (lane_id, chunk))""",
    """CREATE TABLE IF NOT EXISTS overlays (
        video_hash TEXT NOT NULL, name TEXT NOT NULL, fmt TEXT NOT NULL, source TEXT NOT NULL,
        created REAL NOT NULL, data BLOB NOT NULL, PRIMARY KEY (video_hash, name))""",
]
# v3: corrections of the face tracks (core/track_edits.py), replayed over cached results in `id` order;
# v4: per analysis (the results key of the tracks they name)
_V3_TABLES = [
    """CREATE TABLE IF NOT EXISTS track_edits (
        id INTEGER PRIMARY KEY AUTOINCREMENT, video_hash TEXT NOT NULL, kind TEXT NOT NULL,
        track INTEGER NOT NULL, other INTEGER, frame INTEGER, new_track INTEGER,
        analysis TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS track_edits_by_analysis ON track_edits (video_hash, analysis, id)",
]

_V1_ONLY = {"annotations"}
_KNOWN = {
    "videos",
    "results",
    "track_names",
    "annotators",
    "lanes",
    "segments",
    "trace_chunks",
    "overlays",
    "track_edits",
}


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Bring an open file (inside a transaction) from `version` to SCHEMA_VERSION."""
    if version == 0:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        foreign = tables - _KNOWN - {"sqlite_sequence"}
        if foreign:
            raise ValueError(f"an SQLite file of another program (tables: {', '.join(sorted(foreign))})")
    if version == 1:
        db.execute("ALTER TABLE videos ADD COLUMN duration REAL")
        db.execute("ALTER TABLE videos ADD COLUMN added REAL")
        db.execute(
            "UPDATE videos SET added = last_opened, duration = CASE WHEN fps > 0 THEN frame_count / fps END"
        )
    if version == 3:
        _edits_to_analyses(db)
    for statement in _V2_TABLES + _V3_TABLES:
        db.execute(statement)
    if version == 1:
        _spans_to_lanes(db)
        db.execute("DROP TABLE annotations")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _edits_to_analyses(db: sqlite3.Connection) -> None:
    """v3 -> v4: each edit belongs to the latest cached analysis of its video."""
    db.execute("ALTER TABLE track_edits ADD COLUMN analysis TEXT NOT NULL DEFAULT ''")
    db.execute(
        "UPDATE track_edits SET analysis = COALESCE((SELECT r.model_digest FROM results r"
        " WHERE r.video_hash = track_edits.video_hash ORDER BY r.created DESC LIMIT 1), '')"
    )


# row helpers ----------------------------------------------------------------------------------------------
def lane_id(db: sqlite3.Connection, video_hash: str, key: LaneKey, create: bool) -> int | None:
    row = db.execute(
        "SELECT id FROM lanes WHERE video_hash=? AND name=? AND annotator=? AND track_id=?",
        (video_hash, key.name, key.annotator, key.track_id),
    ).fetchone()
    if row is not None or not create:
        return None if row is None else int(row[0])
    db.execute("INSERT OR IGNORE INTO annotators VALUES (?,?)", (key.annotator, time.time()))
    cursor = db.execute(
        "INSERT INTO lanes (video_hash, name, annotator, track_id) VALUES (?,?,?,?)",
        (video_hash, key.name, key.annotator, key.track_id),
    )
    return int(cursor.lastrowid)


def read_trace(db: sqlite3.Connection, lane: int | None, length: int) -> np.ndarray:
    """The lane's trace over `length` frames (NaN where unlabelled or not stored)."""
    out = np.full(length, np.nan, dtype=np.float32)
    if lane is None:
        return out
    for chunk, blob in db.execute("SELECT chunk, data FROM trace_chunks WHERE lane_id=?", (lane,)):
        start = chunk * TRACE_CHUNK
        if start < length:
            values = decode_chunk(blob)
            out[start : start + TRACE_CHUNK] = values[: length - start]
    return out


def stored_length(db: sqlite3.Connection, lane: int | None) -> int:
    row = db.execute("SELECT MAX(chunk) FROM trace_chunks WHERE lane_id=?", (lane,)).fetchone()
    return 0 if row[0] is None else (int(row[0]) + 1) * TRACE_CHUNK


def write_trace(db: sqlite3.Connection, lane: int, start: int, values: np.ndarray) -> None:
    """Overwrite frames start..start+len(values)-1; chunks left with no label are deleted."""
    stop = start + len(values)
    for chunk in range(start // TRACE_CHUNK, math.ceil(stop / TRACE_CHUNK)):
        base = chunk * TRACE_CHUNK
        row = db.execute(
            "SELECT data FROM trace_chunks WHERE lane_id=? AND chunk=?", (lane, chunk)
        ).fetchone()
        current = decode_chunk(row[0]) if row else np.full(TRACE_CHUNK, np.nan, dtype=np.float32)
        lo, hi = max(start, base), min(stop, base + TRACE_CHUNK)
        current[lo - base : hi - base] = values[lo - start : hi - start]
        labelled = int(np.isfinite(current).sum())
        if labelled:
            db.execute(
                "INSERT OR REPLACE INTO trace_chunks VALUES (?,?,?,?)",
                (lane, chunk, labelled, encode_chunk(current)),
            )
        else:
            db.execute("DELETE FROM trace_chunks WHERE lane_id=? AND chunk=?", (lane, chunk))


# v1 -> v2 ---------------------------------------------------------------------------------------------------
def _spans_to_lanes(db: sqlite3.Connection) -> None:
    rows = db.execute(
        "SELECT id, video_hash, track_id, start_frame, stop_frame, expression, valence, arousal, note"
        " FROM annotations ORDER BY video_hash, track_id, id"
    ).fetchall()
    groups: dict[tuple[str, int], list] = {}
    for row in rows:
        groups.setdefault((row[1], int(row[2])), []).append(row)
    for (video_hash, track), spans in groups.items():
        length = max(int(span[4]) for span in spans) + 1
        source = np.full(length, -1, dtype=np.int64)  # which span's expression labels each frame
        va = np.full((length, 2), np.nan, dtype=np.float32)
        events: list[tuple[int, str]] = []
        for number, (_, _, _, start, stop, expression, valence, arousal, note) in enumerate(spans):
            start, stop = sorted((int(start), int(stop)))
            problems = []
            if expression in EXPRESSIONS:
                source[start : stop + 1] = number
            elif expression:
                problems.append(f"expression {expression!r}")
            if valence is not None and arousal is not None and -1 <= valence <= 1 and -1 <= arousal <= 1:
                va[start : stop + 1] = (valence, arousal)
            elif valence is not None or arousal is not None:
                problems.append(f"valence {valence}, arousal {arousal}")
            if problems or (note and expression not in EXPRESSIONS):
                text = f"v1 annotation of frames {start}..{stop}: " + "; ".join(problems)
                events.append((start, (text + (f" — {note}" if note else "")) if problems else note))
        _write_expression_runs(db, video_hash, track, spans, source)
        for name, column in (("valence", 0), ("arousal", 1)):
            if np.isfinite(va[:, column]).any():
                lane = lane_id(db, video_hash, LaneKey(name, DEFAULT_ANNOTATOR, track), True)
                write_trace(db, lane, 0, va[:, column])
        for frame, text in events:
            lane = lane_id(db, video_hash, LaneKey("event", DEFAULT_ANNOTATOR, track), True)
            db.execute(
                "INSERT INTO segments (lane_id, start, stop, value, note) VALUES (?,?,?,?,'')",
                (lane, frame, frame, text),
            )


def _write_expression_runs(db, video_hash: str, track: int, spans: list, source: np.ndarray) -> None:
    """One segment per run of frames labelled by the same old span (the later span wins on overlaps)."""
    edges = np.flatnonzero(np.diff(source)) + 1
    lane = None
    for run in np.split(np.arange(len(source)), edges):
        number = int(source[run[0]])
        if number < 0:
            continue
        if lane is None:
            lane = lane_id(db, video_hash, LaneKey("expression", DEFAULT_ANNOTATOR, track), True)
        span = spans[number]
        db.execute(
            "INSERT INTO segments (lane_id, start, stop, value, note) VALUES (?,?,?,?,?)",
            (lane, int(run[0]), int(run[-1]), span[5], span[8] or ""),
        )
