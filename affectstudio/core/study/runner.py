"""`run_study(state, spec)`: a whole study as one job (plan, skip what is done, run the rest, summarise).

The driver plans the outputs, checks the manifest, hands the videos that need work to an executor (local
processes or Ray), records every state change in the manifest as it happens, and writes the summary from
the manifest at the end, so a resumed run's summary covers the videos done by earlier runs too.

`run_items` is that driver for any list of videos and any `Target` (where a finished output goes): a study
of files keeps its outputs in OUT (`FolderTarget`); a project's analysis (`study/project.py`) moves each
into the project store. Both get the same manifest, executors, failure isolation and progress events.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from affectstudio.core.analysis import AnalysisOptions
from affectstudio.core.errors import AffectStudioError
from affectstudio.core.jobs import JobState, Progress
from affectstudio.core.layouts import check_style
from affectstudio.core.study.inputs import check_not_overwriting, expand_inputs, plan_outputs
from affectstudio.core.study.manifest import Manifest
from affectstudio.core.study.summary import failed_row, summary_frame
from affectstudio.core.study.worker import VideoOutcome, VideoTask

SUMMARY_NAME = "study_summary"


@dataclass
class StudySpec:
    inputs: list[str]
    out: Path
    options: AnalysisOptions = field(default_factory=AnalysisOptions)
    style: str = "affectstudio"
    format: str = "csv"  # or "parquet", for per-frame files and the summary
    jobs: int = 1
    executor: str = "local"  # or "ray"
    ray_address: str | None = None
    ray_return_results: bool = False


@dataclass(frozen=True)
class VideoEvent:
    """One video's state changed: pending, running (frames done of total), done or failed (the reason)."""

    output: str  # the video's key in the manifest
    name: str
    state: str
    done: int = 0
    total: int = 0
    reason: str = ""


@dataclass
class StudyProgress:
    """The `detail` of a study's progress reports: what a progress line shows, and for views that list
    the videos, what changed (`event`) or, in the first report, every video's state (`planned`)."""

    videos_done: int
    videos_total: int
    failed: int
    frames: int
    frames_per_s: float
    eta_s: float
    current: list[str]
    event: VideoEvent | None = None
    planned: list[VideoEvent] | None = None


@dataclass
class StudyReport:
    total: int
    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (video name, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # done this run, with a note: no face
    cancelled: int = 0
    summary_path: Path | None = None
    manifest_path: Path | None = None
    frames: int = 0
    seconds: float = 0.0
    model_name: str = ""
    untrained_tasks: list[str] = field(default_factory=list)  # heads of the model that are not trained


def result_options(spec: StudySpec) -> str:
    """The options that change a video's output files (device and batch size do not)."""
    o = spec.options
    keys = {
        "detect_every": o.detect_every,
        "face_range": o.face_range,
        "min_confidence": o.min_confidence,
        "faces": o.faces,
        "crop_method": o.crop_method,
        "min_face_size": o.min_face_size,
        "max_gap_s": o.max_gap_s,
        "style": spec.style,
        "format": spec.format,
    }
    return json.dumps(keys, sort_keys=True)


class FolderTarget:
    """A study's outputs stay in OUT as files; the summary is written there at the end."""

    def __init__(self, summary_path: Path):
        self.summary_path = summary_path

    def check(self, item, fingerprint: str) -> str | None:
        """A reason not to analyse the video (None: go ahead)."""
        return None

    present = None  # the manifest's own check: the output file with its recorded size

    def accept(self, item, outcome: VideoOutcome) -> None:
        """A done video's output is where it belongs already."""

    def finish(self, summary) -> None:
        _write_summary(summary, self.summary_path)


def run_study(state: JobState, spec: StudySpec, loaded=None) -> StudyReport:
    from affectstudio.core.model.registry import ModelRegistry

    check_style(spec.style)
    suffix = ".parquet" if spec.format == "parquet" else ".csv"
    out = Path(spec.out).resolve()
    videos = expand_inputs(spec.inputs)
    items = plan_outputs(videos, suffix)
    summary_path = out / f"{SUMMARY_NAME}{suffix}"
    planned = [out / i.output for i in items] + [out / i.output.with_suffix(".json") for i in items]
    check_not_overwriting(videos, [*planned, summary_path])
    loaded = loaded if loaded is not None else ModelRegistry().load(spec.options.model)
    executor = _executor(spec, loaded)
    report = run_items(
        state, items, out, loaded, result_options(spec), executor, spec.style, FolderTarget(summary_path)
    )
    report.summary_path = summary_path
    return report


def run_items(state: JobState, items, out: Path, loaded, options_key: str, executor, style, target):
    """Analyse `items` (StudyItems) into OUT with `executor`, recording each state in OUT's manifest;
    `target` checks each video, says whether a done one's output is still there, takes each finished
    output and writes the summary."""
    from affectstudio.core.project import video_fingerprint

    report = StudyReport(
        total=len(items), model_name=loaded.name, untrained_tasks=list(loaded.config.untrained_tasks)
    )
    with Manifest(out) as manifest:
        report.manifest_path = manifest.path
        tasks, planned = [], []
        for item in items:
            key = item.output.as_posix()
            try:
                fingerprint = video_fingerprint(item.video)
            except AffectStudioError as error:
                fingerprint = f"unreadable: {error}"
            present = None if target.present is None else (lambda _entry, item=item: target.present(item))
            if manifest.is_done(key, fingerprint, loaded.digest, options_key, present):
                report.skipped += 1
                planned.append(VideoEvent(key, item.name, "done"))
                continue
            manifest.set_pending(key, str(item.video), item.name, fingerprint, loaded.digest, options_key)
            reason = target.check(item, fingerprint)
            if reason is not None:
                manifest.set_state(key, "failed", reason)
                report.failed.append((item.name, reason))
                planned.append(VideoEvent(key, item.name, "failed", reason=reason))
                continue
            planned.append(VideoEvent(key, item.name, "pending"))
            tasks.append(VideoTask(str(item.video.resolve()), item.name, key, str(out), style))
        names = {item.output.as_posix(): item for item in items}
        events = _Events(
            state, manifest, report, len(items), {t.output: t for t in tasks}, target, out, names
        )
        state.report(Progress(report.skipped, len(items), "starting", events.detail(planned=planned)))
        executor.run(tasks, events)
        rows = []
        for item in items:
            entry = manifest.get(item.output.as_posix())
            if entry.summary:
                rows.extend(entry.summary)
            elif entry.state == "failed":
                rows.append(failed_row(item.name, loaded.name, loaded.digest, entry.reason))
            else:
                rows.append(
                    {
                        **failed_row(item.name, loaded.name, loaded.digest, ""),
                        "status": entry.state,
                        "reason": "not analysed yet (the run was stopped)",
                    }
                )
    target.finish(summary_frame(rows))
    report.seconds = events.elapsed()
    return report


def _executor(spec: StudySpec, loaded):
    if spec.executor == "ray":
        from affectstudio.core.study.ray_executor import RayExecutor

        return RayExecutor(loaded, spec.options, spec.ray_address, spec.ray_return_results)
    if spec.executor != "local":
        raise AffectStudioError(None, f"unknown executor '{spec.executor}' (use local or ray)")
    from affectstudio.core.study.local import LocalExecutor

    return LocalExecutor(spec.jobs, loaded, spec.options)


def _write_summary(df, path: Path) -> None:
    from affectstudio.core.paths import atomic_write

    with atomic_write(path) as handle:
        if path.suffix == ".parquet":
            df.to_parquet(handle, index=False)
        else:
            handle.write(df.to_csv(index=False, float_format="%.6g").encode("utf-8"))


class _Events:
    """What the executor tells the driver; turned into manifest rows and the study's progress reports."""

    def __init__(self, state, manifest, report, total, tasks, target, out: Path, items):
        self.state, self.manifest, self.report, self.total = state, manifest, report, total
        self.tasks, self.target, self.out, self.items = tasks, target, out, items
        self.running: dict[str, tuple[int, int]] = {}  # output -> (frames done, frames total)
        self.started = time.monotonic()
        self.frames_finished = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stop_requested(self) -> bool:
        return self.state.cancelled()

    def on_started(self, output: str) -> None:
        self.manifest.set_state(output, "running")
        self.running[output] = (0, 0)
        self._report(VideoEvent(output, self.tasks[output].name, "running"))

    def on_progress(self, output: str, done: int, total: int, fps: float) -> None:
        if output in self.running:
            self.running[output] = (done, total)
            self._report(VideoEvent(output, self.tasks[output].name, "running", done, total))

    def on_outcome(self, outcome: VideoOutcome) -> None:
        self.running.pop(outcome.output, None)
        self.frames_finished += outcome.frames
        self.report.frames += outcome.frames
        if outcome.files:
            self._write_returned(outcome.files)
        name = self.tasks[outcome.output].name
        if outcome.status == "done":
            try:
                self.target.accept(self.items[outcome.output], outcome)
            except AffectStudioError as error:  # e.g. the project could not take the results
                outcome.status, outcome.reason, outcome.summary = "failed", str(error), []
        if outcome.status == "cancelled":
            self.report.cancelled += 1
            self.manifest.set_state(outcome.output, "pending", outcome.reason)
        elif outcome.status == "failed" and not outcome.summary:
            self.report.failed.append((name, outcome.reason))
            self.manifest.set_state(outcome.output, "failed", outcome.reason)
        else:
            if outcome.status == "failed":
                self.report.failed.append((name, outcome.reason))
            else:
                self.report.done += 1
                if outcome.reason:
                    self.report.warnings.append((name, outcome.reason))
            self.manifest.set_state(
                outcome.output,
                outcome.status,
                outcome.reason,
                outcome.output_digest,
                outcome.output_size,
                outcome.summary,
            )
        state = "pending" if outcome.status == "cancelled" else outcome.status
        entry = self.manifest.get(outcome.output)
        self._report(VideoEvent(outcome.output, name, state, outcome.frames, outcome.frames, entry.reason))

    def _write_returned(self, files: dict[str, bytes]) -> None:
        from affectstudio.core.paths import atomic_write

        for relative, data in files.items():
            with atomic_write(self.out / relative) as handle:
                handle.write(data)

    def detail(self, event: VideoEvent | None = None, planned=None) -> StudyProgress:
        finished = self.report.done + self.report.skipped + len(self.report.failed)
        frames = self.frames_finished + sum(done for done, _ in self.running.values())
        elapsed = max(self.elapsed(), 1e-9)
        partial = sum(done / total for done, total in self.running.values() if total)
        worked = self.report.done + len(self.report.failed) + partial
        remaining = self.total - finished - partial
        eta = elapsed * remaining / worked if worked > 0 else float("inf")
        current = [self.tasks[o].name for o in self.running]
        return StudyProgress(
            finished,
            self.total,
            len(self.report.failed),
            frames,
            frames / elapsed,
            max(eta, 0.0),
            current,
            event,
            planned,
        )

    def _report(self, event: VideoEvent | None = None) -> None:
        detail = self.detail(event)
        self.state.report(Progress(detail.videos_done, self.total, ", ".join(detail.current), detail))
