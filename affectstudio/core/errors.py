"""Errors a user can cause. Each names the file it is about and says what is wrong with it.

The CLI prints `str(error)` as one line and exits non-zero; the GUI shows it in a dialog.
Anything that is not an `AffectStudioError` is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class AffectStudioError(Exception):
    """A problem with something the user gave us (a file, a setting), not a bug."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class VideoError(AffectStudioError):
    """A video that is missing, unreadable, corrupt or empty."""


class CheckpointError(AffectStudioError):
    """A model checkpoint that is missing, corrupt or of an unknown layout."""


class RegistryError(AffectStudioError):
    """A model registry operation that cannot be done (unknown name, failed download, ...)."""


class AnnotationError(AffectStudioError):
    """An annotation or dataset file that is malformed."""


class ResultsError(AffectStudioError):
    """A results file (CSV) that cannot be read back."""
