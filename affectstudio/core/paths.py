"""Where AffectStudio keeps its files, and how it writes them without ever leaving half a file.

The data directory holds installed models and settings: `AFFECTSTUDIO_DATA_DIR` when set (tests and
portable installs use it), otherwise the platform's user data directory. Caches go below it unless
`AFFECTSTUDIO_CACHE_DIR` says otherwise.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import platformdirs

APP_NAME = "AffectStudio"


def data_dir() -> Path:
    """The user's AffectStudio data directory (created on first use)."""
    override = os.environ.get("AFFECTSTUDIO_DATA_DIR")
    path = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_NAME, False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Disposable files (compiled models, cached results); safe to delete at any time."""
    override = os.environ.get("AFFECTSTUDIO_CACHE_DIR")
    if override:
        path = Path(override).expanduser()
    elif os.environ.get("AFFECTSTUDIO_DATA_DIR"):
        path = data_dir() / "cache"
    else:
        path = Path(platformdirs.user_cache_dir(APP_NAME, False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: int | None = None) -> Iterator[BinaryIO]:
    """Write `path` all or nothing: a temp file in the same folder, fsync, then rename over the target.

    If the block raises, the temp file is removed and any existing file at `path` is left as it was.
    `mode` sets the file's permissions before the rename (the temp file is created 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str, mode: int | None = None) -> Path:
    with atomic_write(path, mode) as handle:
        handle.write(text.encode("utf-8"))
    return Path(path)
