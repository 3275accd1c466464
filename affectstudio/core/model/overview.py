"""What the CLI's `models list` and the GUI's Models window show, and the download job they both run.

One plain function lists installed models (with which heads are trained and where they came from) and the
catalog's downloadable ones (with size and licence), so the two front ends cannot drift apart. The
download job is the registry's verified fetch wrapped for a `JobState`: progress in bytes, words for
what it is doing, and cancellation at every chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.jobs import JobState, Progress
from affectstudio.core.model.checkpoint import CheckpointConfig

TASK_NAMES = {"va": "valence/arousal", "expr": "expression", "au": "action units"}


@dataclass(frozen=True)
class ModelRow:
    """One line of the models list: an installed model or one the catalog can download."""

    name: str
    installed: bool
    default: bool
    heads: str  # which heads are trained, in words
    trained_tasks: tuple[str, ...]
    provenance: str  # where it came from, in words
    size_bytes: int  # file size (installed) or the catalog's estimate (0 = unknown)
    licence: str
    description: str
    path: Path | None


def heads_summary(config: CheckpointConfig) -> str:
    """Which task heads are trained, in words ('expression trained; valence/arousal, ... UNTRAINED')."""
    trained = [TASK_NAMES[t] for t in config.tasks if t not in config.untrained_tasks]
    untrained = [TASK_NAMES[t] for t in config.untrained_tasks]
    parts = []
    if trained:
        parts.append(", ".join(trained) + " trained")
    if untrained:
        parts.append(", ".join(untrained) + " UNTRAINED")
    if config.untrained_expressions:
        parts.append("no " + "/".join(config.untrained_expressions) + " class")
    return "; ".join(parts)


def provenance_text(config: CheckpointConfig) -> str:
    """Where a model came from: its training data and whether it was downloaded, imported or trained."""
    info = config.provenance or {}
    data = info.get("training_data")
    parts = [f"trained on {data}" if isinstance(data, str) and data else "training data unknown"]
    if info.get("url"):
        parts.append(f"downloaded from {info['url']}")
    elif info.get("imported_from"):
        parts.append(f"imported from {info['imported_from']}")
    elif info.get("source"):
        parts.append(str(info["source"]))
    return "; ".join(parts)


def model_rows(registry) -> tuple[list[ModelRow], list[AffectStudioError]]:
    """Installed models (default first marked), then catalog models not installed; plus unreadable files."""
    entries, problems = registry.scan()
    rows = []
    for entry in entries:
        catalog = registry.catalog.get(entry.name)
        rows.append(
            ModelRow(
                entry.name,
                True,
                entry.default,
                heads_summary(entry.config),
                tuple(t for t in entry.config.tasks if t not in entry.config.untrained_tasks),
                provenance_text(entry.config),
                entry.path.stat().st_size,
                catalog.licence if catalog else "",
                str(entry.config.provenance.get("description") or ""),
                entry.path,
            )
        )
    installed = {entry.name for entry in entries}
    for name, item in registry.catalog.items():
        if name not in installed:
            rows.append(
                ModelRow(
                    name,
                    False,
                    False,
                    "expression trained; valence/arousal, action units UNTRAINED (stock DDAMFN++)",
                    ("expr",),
                    f"trained on {item.training_data}; released by the DDAMFN authors",
                    item.size_bytes,
                    item.licence,
                    item.description,
                    None,
                )
            )
    return rows, problems


def format_size(size_bytes: int) -> str:
    if size_bytes <= 0:
        return "size unknown"
    return f"{size_bytes / 1e6:.1f} MB" if size_bytes >= 1e5 else f"{size_bytes / 1e3:.0f} kB"


def fetch_job(registry, name: str) -> Callable[[JobState], object]:
    """A job that downloads, verifies and installs catalog model `name`; returns its ModelEntry.

    Cancelling stops it within about a tenth of a second, also while the server keeps it waiting
    (`cancel_watch.POLL_S`); the downloader removes its temp file."""

    def job(state: JobState):
        def progress(done: int, total: int) -> None:
            state.check()
            size = f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            state.report(Progress(done, total or None, f"{name}: downloading, {size}"))

        def notice(message: str) -> None:
            state.check()
            state.report(Progress(0, None, f"{name}: {message}"))

        state.check()
        return registry.fetch(name, progress=progress, notice=notice, cancelled=state.cancelled)

    return job
