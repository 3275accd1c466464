"""Where AffectStudio keeps its files, and how it writes them without ever leaving half a file.

The data directory holds installed models and settings: `AFFECTSTUDIO_DATA_DIR` when set (tests and
portable installs use it), otherwise the platform's user data directory. Caches go below it unless
`AFFECTSTUDIO_CACHE_DIR` says otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(temp: Path, path: Path, overwrite: bool) -> None:
    """Move a finished temp file or folder into place: a rename, or a no-clobber link when not overwriting."""
    os.chmod(temp, (0o777 if temp.is_dir() else 0o666) & ~_umask())  # mkstemp/mkdtemp make 0600/0700
    if overwrite or temp.is_dir():
        if not overwrite and path.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(path))
        os.replace(temp, path)
    else:
        os.link(temp, path)  # atomic and fails if `path` exists, so two writers never replace each other
        temp.unlink()


def scratch_file(folder: Path, stem: str, suffix: str = "") -> Path:
    """A new empty file `folder/.STEM.<random>.partialSUFFIX`, unique per call (two runs never share one).

    The one naming of work-in-progress files: `atomic_path` publishes one as its target; a download keeps
    one only until it is verified and converted. Whatever a crash leaves is recognisable by `.partial`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=f".partial{suffix}")
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_path(path: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """A temp path beside `path` (same suffix, so writers that look at it choose the right format) that
    becomes `path` only if the block finishes; otherwise it is removed and `path` is left as it was.

    For writers that want a file name (matplotlib, Qt, OpenVINO). With `overwrite=False` an existing
    `path` is never replaced: FileExistsError instead, also when another process wins the race.
    """
    path = Path(path)
    temp = scratch_file(path.parent, path.stem, path.suffix)
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        _publish(temp, path, overwrite)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_write(path: str | Path, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Write `path` all or nothing: a temp file in the same folder, fsync, then rename over the target.

    If the block raises, the temp file is removed and any existing file at `path` is left as it was.
    With `overwrite=False` an existing file is never replaced (FileExistsError, race-free).
    """
    with atomic_path(path, overwrite) as temp, open(temp, "wb") as handle:
        yield handle
        handle.flush()


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Build a folder under a temporary name beside `path`; it becomes `path` only if the block finishes.

    `path` must not exist or be an empty folder (a finished folder is never replaced by a new one).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial"))
    try:
        yield temp
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
        _publish(temp, path, overwrite=False)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def write_text_atomic(path: str | Path, text: str, overwrite: bool = True) -> Path:
    with atomic_write(path, overwrite) as handle:
        handle.write(text.encode("utf-8"))
    return Path(path)
