"""Save a project as a new file: a consistent snapshot through SQLite's backup API, written atomically.

A raw file copy of a WAL database can miss the edits still in its `-wal` file, or catch a page mid-write;
the backup API reads one consistent snapshot (committed edits, WAL included) while other connections keep
working. The snapshot is taken into memory and written with `atomic_write`, so the destination is either
the complete copy or untouched.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from affectstudio.core.paths import atomic_write
from affectstudio.core.project.codec import ProjectError
from affectstudio.core.project.store import SUFFIX


def save_project_as(source: str | Path, destination: str | Path) -> Path:
    """Copy the project file `source` to `destination` (`.affectproj` added when there is no suffix)."""
    source, destination = Path(source), Path(destination)
    if not destination.suffix:
        destination = destination.with_suffix(SUFFIX)
    if not source.is_file():
        raise ProjectError(source, "project not found")
    if destination.resolve() == source.resolve():
        raise ProjectError(destination, "is the project itself; choose another name")
    try:
        reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        snapshot = sqlite3.connect(":memory:")
        try:
            reader.backup(snapshot)
            data = snapshot.serialize()
        finally:
            reader.close()
            snapshot.close()
    except sqlite3.Error as error:
        raise ProjectError(source, f"cannot read the project to copy it ({error})") from None
    try:
        with atomic_write(destination) as handle:
            handle.write(data)
    except OSError as error:
        raise ProjectError(destination, f"cannot write the copy ({error.strerror or error})") from None
    return destination
