"""The job a study runs for each video: a plain function, the same under every executor.

`analyze_video(task, state)` analyses one video into its output file, accumulates its summary rows and
returns a `VideoOutcome`. It never raises for a problem with the video (a corrupt file, a bug in a decoder):
the study reports it and goes on. A video without any face is done (its rows are empty) with a note that
the study shows as a warning, as `analyze VIDEO` does: not a failure, so a rerun does not redo it.
Progress goes through `state.report`, cancellation through `state.check`/`state.cancelled` (a
`core.jobs.JobState`); the executor decides where they lead (a queue to the driver process, a Ray task's
return value).

A worker process analyses many videos, so the model and the inference engine are built once per process
(`engine_for`), not once per video: that is most of the per-video overhead of a short clip.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from affectstudio.core.analysis import AnalysisOptions
from affectstudio.core.errors import AffectStudioError
from affectstudio.core.jobs import JobState, Progress

_ENGINES: dict[tuple, object] = {}
NO_FACE_NOTE = "no face found in any frame; every row is empty"


@dataclass(frozen=True)
class VideoTask:
    video: str  # absolute path of the video, readable where the task runs
    name: str  # the video's name in the study (relative to the inputs' root)
    output: str  # output path relative to OUT
    out_dir: str  # OUT (absolute); with `return_data` a local temporary folder is used instead
    style: str = "affectstudio"
    return_data: bool = False  # return the output files' bytes instead of leaving them in OUT


@dataclass
class VideoOutcome:
    output: str
    status: str  # "done", "failed" or "cancelled"
    reason: str = ""  # why it failed, or a done video's warning (no face)
    frames: int = 0
    seconds: float = 0.0
    summary: list[dict] = field(default_factory=list)
    output_digest: str | None = None
    output_size: int | None = None
    files: dict[str, bytes] | None = None  # relative path -> bytes, when the driver writes the files


@atexit.register
def _close_engines() -> None:
    """At the worker's exit, an engine's fast-path build stops at its next safe point (a conversion under
    way is finished and saved for later runs). A build thread still inside OpenVINO when the process ends
    aborted it with "terminate called without an active exception" on the study's terminal."""
    for engine in _ENGINES.values():
        engine.close()
    _ENGINES.clear()


def engine_for(loaded, options: AnalysisOptions):
    """One inference engine per process, model and device options (built on first use)."""
    from affectstudio.core.engine import InferenceEngine

    key = (loaded.digest, options.device, options.batch_size, options.fast)
    if key not in _ENGINES:
        for engine in _ENGINES.values():  # a worker serves one study: one model at a time
            engine.close()
        _ENGINES.clear()
        _ENGINES[key] = InferenceEngine(loaded, options.device, options.batch_size, fast=options.fast)
    return _ENGINES[key]


def analyze_video(task: VideoTask, options: AnalysisOptions, loaded, state: JobState) -> VideoOutcome:
    """Analyse one video of a study; every problem with the video becomes a failed outcome, not a raise."""
    from affectstudio.core.study.summary import SummaryAccumulator

    started = time.perf_counter()
    summary = SummaryAccumulator()
    temp = tempfile.TemporaryDirectory(prefix="affectstudio-task-") if task.return_data else None
    out_dir = Path(temp.name if temp else task.out_dir)

    def progress(p) -> None:
        state.report(Progress(p.done, p.total, task.name, detail=p.fps))

    def outcome(status: str, reason: str = "", **extra) -> VideoOutcome:
        seconds = time.perf_counter() - started
        return VideoOutcome(task.output, status, reason, summary.frames, seconds, **extra)

    try:
        return _run(task, options, loaded, state, summary, out_dir, outcome, progress)
    finally:
        if temp is not None:
            temp.cleanup()


def _run(task, options, loaded, state, summary, out_dir: Path, outcome, progress) -> VideoOutcome:
    from affectstudio.core.analysis import analyze

    target = out_dir / task.output
    try:
        result = analyze(
            task.video,
            target,
            options,
            progress=progress,
            cancelled=state.cancelled,
            on_rows=summary.add,
            keep_table=False,
            columns=task.style,
            engine=engine_for(loaded, options),
        )
    except AffectStudioError as error:
        return outcome("failed", _one_line(str(error)))
    except Exception as error:  # a decoder or library failing on this file must not end the study
        return outcome("failed", _one_line(f"{task.video}: {type(error).__name__}: {error}"))
    if result.cancelled:
        return outcome("cancelled", "stopped before the end")
    status, reason = "done", ""
    if result.frames_with_face == 0:  # a result (every row empty), as for `analyze VIDEO`: not retried
        reason = NO_FACE_NOTE
    rows = summary.rows(task.name, task.output, loaded.name, loaded.digest, status, reason)
    digest, size = _digest(target)
    files = None
    if task.return_data:
        sidecar = Path(task.output).with_suffix(".json")
        files = {task.output: target.read_bytes(), str(sidecar): (out_dir / sidecar).read_bytes()}
    return outcome(status, reason, summary=rows, output_digest=digest, output_size=size, files=files)


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest(), path.stat().st_size


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0][:500] if text.strip() else "unknown error"


def thread_budget(jobs: int) -> int:
    """Cores per worker: the machine's cores shared out between the videos that run at once."""
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


def budgeted(options: AnalysisOptions, threads: int) -> AnalysisOptions:
    """Options for a worker with `threads` cores: torch and the detection pool sized to them."""
    import torch

    from affectstudio.core import compiled

    torch.set_num_threads(threads)
    compiled.MAX_STREAMS = threads
    return replace(options, detect_workers=max(1, threads // 2) if threads > 1 else 1)
