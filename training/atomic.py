"""Atomic file writes: a temp file in the same folder, flushed and fsynced, then renamed over the target.

A run killed at any moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _replace_from_temp(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    return _replace_from_temp(path, lambda stream: stream.write(text.encode("utf-8")))


def torch_save_atomic(path: Path, obj) -> Path:
    import torch  # here, so config and curation (used by the GUI) load without torch

    return _replace_from_temp(path, lambda stream: torch.save(obj, stream))
