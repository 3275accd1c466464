"""The project store: one SQLite file (`*.affectproj`) holding a study's videos, cached results per model,
track names and corrections (merges, splits, rejects), annotators, annotation lanes and overlays.

Why SQLite: every write is a transaction, so a crash (or a killed process) leaves either the old state or
the new one, never half an edit; one file is easy to back up and share; reads of one cached result are a
single indexed lookup. Every edit is committed at once (WAL, synchronous=FULL: committed means on disk), so
there is no Save. One instance per thread (SQLite connections are not shared); several processes may open
the same project, and a write that finds it busy for `timeout` seconds says so.

Lanes, segments and traces are in `lanes_store.py`, cached results and overlays in `tables_store.py`
(mixins of this class); the table layout and migrations in `schema.py`; encodings in `codec.py`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from affectstudio.core.annotations.lanes import LaneKey
from affectstudio.core.project.codec import ProjectError, video_fingerprint
from affectstudio.core.project.lanes_store import LanesMixin
from affectstudio.core.project.legacy import LegacySpansMixin
from affectstudio.core.project.schema import SCHEMA_VERSION, migrate
from affectstudio.core.project.tables_store import TablesMixin
from affectstudio.core.track_edits import KINDS, TrackEdit

SUFFIX = ".affectproj"
BUSY = "is open in another AffectStudio window or process (the project is locked); close it there and retry"


def results_key(model_digest: str, options) -> str:
    """The cache key of a result: the model's weights and the face options that change its rows
    (the same key the GUI's analysis controller uses, so either finds what the other cached). Crop method,
    minimum face size and track gap are named only when not the defaults, so keys cached before they
    counted still find their results."""
    key = (
        f"{model_digest}|every={options.detect_every}|conf={options.min_confidence:g}"
        f"|range={options.face_range}|faces={options.faces}"
    )
    if options.crop_method:
        key += f"|crop={options.crop_method}"
    if options.min_face_size:
        key += f"|min={options.min_face_size:g}"
    if options.max_gap_s != 1.0:
        key += f"|gap={options.max_gap_s:g}"
    return key


@dataclass(frozen=True)
class VideoRecord:
    hash: str
    path: Path
    frame_count: int | None
    fps: float | None
    duration: float | None


@dataclass(frozen=True)
class VideoStatus:
    """What a project browser shows per video."""

    video: VideoRecord
    exists: bool
    models: list[str]  # names of the models whose results are cached
    annotated: dict[LaneKey, int] = field(default_factory=dict)  # labelled frames per lane


class ProjectStore(LanesMixin, TablesMixin, LegacySpansMixin):
    def __init__(self, path: str | Path, create: bool = True, timeout: float = 5.0):
        self.path = Path(path)
        self._depth = 0
        if not create and not self.path.is_file():
            raise ProjectError(self.path, "project not found" if not self.path.exists() else "not a file")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as error:
            raise self._error(error) from None
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def create(cls, path: str | Path) -> ProjectStore:
        """A new, empty project; refuses to touch an existing file."""
        path = Path(path)
        if path.exists():
            raise ProjectError(path, "already exists; open it, or choose a new name")
        return cls(path, create=True)

    def _open(self) -> None:
        try:
            version = self._version()
            if version > SCHEMA_VERSION:
                raise ProjectError(
                    self.path, f"made by a newer AffectStudio (schema {version} > {SCHEMA_VERSION})"
                )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            if version < SCHEMA_VERSION:
                with self.transaction():
                    version = self._version()  # another process may have migrated it meanwhile
                    if version < SCHEMA_VERSION:
                        migrate(self._db, version)
        except ValueError as error:
            raise ProjectError(self.path, f"not an AffectStudio project: {error}") from None
        except sqlite3.Error as error:
            raise self._error(error) from None

    def _version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _error(self, error: sqlite3.Error, doing: str = "not a usable project file") -> ProjectError:
        text = str(error)
        if "locked" in text or "busy" in text:
            return ProjectError(self.path, BUSY)
        return ProjectError(self.path, f"{doing} ({text})")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside commit together or not at all; nested blocks join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self._db
            finally:
                self._depth -= 1
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise self._error(error, "cannot write the project") from None
        self._depth = 1
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise self._error(error, "cannot write the project") from None
            raise
        finally:
            self._depth = 0

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as error:
            raise self._error(error, "cannot read the project") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # videos -------------------------------------------------------------------------------------------
    def add_video(self, path: str | Path) -> VideoRecord:
        """Add a video by its content; reads its frame count, rate and duration.

        A video whose content is already in the project under another path is re-pointed at `path` only
        when that other file is gone (it was moved); while it still exists, `path` is a copy and is refused:
        the project keeps the file it has until the user relinks it (`same_content` tells callers which)."""
        from affectstudio.core.video import VideoReader

        path = Path(path).resolve()
        with VideoReader(path) as reader:
            info = reader.info
        video_hash = video_fingerprint(path)
        known = self.video(video_hash)
        if known is not None and known.path != path and known.path.is_file():
            raise ProjectError(
                path,
                f"has the same content as {known.path}, already in the project; to use this copy instead, "
                "relink that video to it (affectstudio project relink, or Relink… in the app)",
            )
        self.remember_video(video_hash, path, info.frame_count, info.fps, info.duration)
        return self.video(video_hash)

    def remember_video(
        self, video_hash: str, path: str | Path, frame_count: int, fps: float, duration: float | None = None
    ) -> None:
        if duration is None and fps:
            duration = frame_count / fps
        now = time.time()
        with self.transaction():
            self._db.execute(
                "INSERT INTO videos (hash, path, frame_count, fps, last_opened, duration, added)"
                " VALUES (?,?,?,?,?,?,?) ON CONFLICT(hash) DO UPDATE SET path=excluded.path,"
                " frame_count=excluded.frame_count, fps=COALESCE(NULLIF(excluded.fps, 0), fps),"
                " duration=COALESCE(excluded.duration, duration), last_opened=excluded.last_opened",
                (video_hash, str(path), frame_count, fps, now, duration, now),
            )

    def videos(self) -> list[VideoRecord]:
        rows = self._rows("SELECT hash, path, frame_count, fps, duration FROM videos ORDER BY added, path")
        return [VideoRecord(h, Path(p), n, f, d) for h, p, n, f, d in rows]

    def video(self, hash_or_path: str | Path) -> VideoRecord | None:
        """A video by its fingerprint, or by the path it was added from."""
        for record in self.videos():
            if str(hash_or_path) == record.hash or Path(hash_or_path).resolve() == record.path.resolve():
                return record
        return None

    def same_content(self, path: str | Path) -> VideoRecord | None:
        """The project's video with the content of the file at `path`, whatever path it was added from."""
        return self.video(video_fingerprint(path))

    def video_path(self, video_hash: str) -> Path | None:
        record = self.video(video_hash)
        return record.path if record else None

    def missing_videos(self) -> list[VideoRecord]:
        return [record for record in self.videos() if not record.path.is_file()]

    def relink(self, old: str | Path, new_path: str | Path) -> VideoRecord:
        """Point a moved video (by its fingerprint or old path) at `new_path`, if the content matches."""
        record = self.video(old)
        if record is None:
            raise ProjectError(self.path, f"no video {old} in the project")
        new_path = Path(new_path).resolve()
        if video_fingerprint(new_path) != record.hash:
            raise ProjectError(new_path, f"is not the same video as {record.path.name} (its content differs)")
        with self.transaction():
            self._db.execute("UPDATE videos SET path=? WHERE hash=?", (str(new_path), record.hash))
        return self.video(record.hash)

    def video_status(self) -> list[VideoStatus]:
        models: dict[str, list[str]] = {}
        for video_hash, name in self._rows("SELECT video_hash, model_name FROM results ORDER BY created"):
            models.setdefault(video_hash, []).append(name)
        annotated: dict[str, dict[LaneKey, int]] = {}
        counts = self._rows(
            "SELECT l.video_hash, l.name, l.annotator, l.track_id, SUM(s.stop - s.start + 1)"
            " FROM lanes l JOIN segments s ON s.lane_id = l.id GROUP BY l.id"
            " UNION ALL SELECT l.video_hash, l.name, l.annotator, l.track_id, SUM(c.labelled)"
            " FROM lanes l JOIN trace_chunks c ON c.lane_id = l.id GROUP BY l.id"
        )
        for video_hash, name, annotator, track, frames in counts:
            annotated.setdefault(video_hash, {})[LaneKey(name, annotator, track)] = int(frames)
        return [
            VideoStatus(v, v.path.is_file(), models.get(v.hash, []), annotated.get(v.hash, {}))
            for v in self.videos()
        ]

    # track names and annotators -----------------------------------------------------------------------
    def track_names(self, video_hash: str) -> dict[int, str]:
        rows = self._rows("SELECT track_id, name FROM track_names WHERE video_hash=?", (video_hash,))
        return {int(track): name for track, name in rows}

    def rename_track(self, video_hash: str, track_id: int, name: str) -> None:
        with self.transaction():
            if name.strip():
                self._db.execute(
                    "INSERT OR REPLACE INTO track_names VALUES (?,?,?)", (video_hash, track_id, name.strip())
                )
            else:
                self._db.execute(
                    "DELETE FROM track_names WHERE video_hash=? AND track_id=?", (video_hash, track_id)
                )

    # track edits (core/track_edits.py) ----------------------------------------------------------------
    def track_edits(self, video_hash: str, analysis: str | None) -> list[TrackEdit]:
        """The edits of the video's analysis `analysis` (a results key; None: no analysis, no edits)."""
        if analysis is None:
            return []
        rows = self._rows(
            "SELECT kind, track, other, frame, new_track, id FROM track_edits"
            " WHERE video_hash=? AND analysis=? ORDER BY id",
            (video_hash, analysis),
        )
        return [TrackEdit(*row) for row in rows]

    def add_track_edit(self, video_hash: str, analysis: str, edit: TrackEdit) -> TrackEdit:
        """Store an edit of the analysis after its others (keeping `edit.id` if given, as redo does);
        returns it with its id."""
        if edit.kind not in KINDS:
            raise ProjectError(self.path, f"unknown track edit {edit.kind!r}")
        with self.transaction():
            cursor = self._db.execute(
                "INSERT INTO track_edits (id, video_hash, kind, track, other, frame, new_track, analysis)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (
                    edit.id,
                    video_hash,
                    edit.kind,
                    edit.track,
                    edit.other,
                    edit.frame,
                    edit.new_track,
                    analysis,
                ),
            )
        return replace(edit, id=int(cursor.lastrowid))

    def remove_track_edit(self, edit_id: int) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM track_edits WHERE id=?", (edit_id,))

    def annotators(self) -> list[str]:
        return [row[0] for row in self._rows("SELECT name FROM annotators ORDER BY added, name")]

    def add_annotator(self, name: str) -> None:
        LaneKey("event", name)  # validates the name
        with self.transaction():
            self._db.execute("INSERT OR IGNORE INTO annotators VALUES (?,?)", (name, time.time()))
