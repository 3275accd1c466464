"""A project's analysis: every video of a project analysed by the study runner, results into the project.

One path for many videos: `analyse_project` hands the project's videos to `runner.run_items`, the same
driver `affectstudio analyze` uses for a study (manifest, local worker processes or Ray, failure isolation,
typed progress, cancellation through the `JobState`). What differs is where a finished video goes: each
worker writes a Parquet file, which the driver moves into the project store under the video's fingerprint
and the results key (`project.results_key`: the model digest and the options that change the rows, the key
the review window serves from), then deletes.

Where the manifest lives: beside the project, in `<project file>.analyses/` (`study.affectproj` ->
`study.affectproj.analyses/.affectstudio-study.sqlite`), with the workers' files while they are written and
the last run's `study_summary.csv`. Beside, not inside: it is bookkeeping of runs on this machine (paths,
workers' files, which Ray may write from other nodes), not part of the study a user shares; deleting the
folder loses nothing, since the store is what says a video is analysed.

Manifest semantics as in a study, per video and analysis (a row per fingerprint and results key, so going
back to an earlier model finds its rows): a video whose results are in the store under the key is done
(also when the review window analysed it); a failed one is retried; a change of model or options is a new
key, so the video is analysed again. A file whose content is no longer the project's video (replaced at
its path) or that is missing fails with that reason: the project names a video by its content.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.jobs import JobState
from affectstudio.core.options import AnalysisOptions
from affectstudio.core.study.inputs import StudyItem
from affectstudio.core.study.manifest import MANIFEST_NAME, Manifest
from affectstudio.core.study.runner import (
    SUMMARY_NAME,
    StudyReport,
    StudySpec,
    VideoEvent,
    _executor,
    _write_summary,
    result_options,
    run_items,
)
from affectstudio.core.wording import plural

ANALYSES_SUFFIX = ".analyses"
STYLE = "affectstudio"


@dataclass
class ProjectJob:
    project: Path
    options: AnalysisOptions = field(default_factory=AnalysisOptions)
    jobs: int = 1
    executor: str = "local"  # or "ray"
    ray_address: str | None = None
    skip: tuple[str, ...] = ()  # video fingerprints left out (the review window's open video)


def analyses_folder(project: str | Path) -> Path:
    project = Path(project).resolve()
    return project.with_name(project.name + ANALYSES_SUFFIX)


def output_for(video_hash: str, key: str) -> str:
    """The manifest key (and the worker's file) of one video analysed under one results key."""
    return f"{video_hash}/{hashlib.sha256(key.encode()).hexdigest()[:16]}.parquet"


def video_of(output: str) -> str:
    """The video fingerprint an `output_for` name belongs to."""
    return output.split("/", 1)[0]


def analyse_project(state: JobState, job: ProjectJob, loaded=None) -> StudyReport:
    """Analyse the project's videos not yet analysed with `job.options` (model loaded unless given)."""
    from affectstudio.core.model.registry import ModelRegistry
    from affectstudio.core.project import ProjectStore, results_key

    loaded = loaded if loaded is not None else ModelRegistry().load(job.options.model)
    key = results_key(loaded.digest, job.options)
    spec = StudySpec(
        [],
        analyses_folder(job.project),
        job.options,
        STYLE,
        "parquet",
        job.jobs,
        job.executor,
        job.ray_address,
    )
    with ProjectStore(job.project, create=False) as store:
        out = analyses_folder(store.path)
        records = [
            record
            for record in store.videos()
            if record.hash not in set(job.skip)
            and (record.path.is_file() or key not in store.result_models(record.hash))  # moved, done
        ]
        items = [StudyItem(r.path, r.path.name, Path(output_for(r.hash, key))) for r in records]
        options_key = result_options(spec)
        _adopt_cached(store, out, items, key, loaded.digest, options_key)
        target = _ProjectTarget(store, key, loaded.name, out)
        return run_items(state, items, out, loaded, options_key, _executor(spec, loaded), STYLE, target)


def _adopt_cached(store, out: Path, items, key: str, digest: str, options_key: str) -> None:
    """Videos the review window analysed under this key are done in the manifest too."""
    with Manifest(out) as manifest:
        for item in items:
            video_hash = video_of(item.output.as_posix())
            entry = manifest.get(item.output.as_posix())
            if (entry is None or entry.state != "done") and key in store.result_models(video_hash):
                manifest.set_pending(
                    item.output.as_posix(), str(item.video), item.name, video_hash, digest, options_key
                )
                manifest.set_state(item.output.as_posix(), "done")


class _ProjectTarget:
    """A done video's rows go into the project store; the worker's file is deleted."""

    def __init__(self, store, key: str, model_name: str, out: Path):
        self.store, self.key, self.model_name, self.out = store, key, model_name, out

    def check(self, item: StudyItem, fingerprint: str) -> str | None:
        if not item.video.is_file():
            return f"{item.video}: not found (moved? relink it in the project)"
        if fingerprint.startswith("unreadable: "):
            return fingerprint.removeprefix("unreadable: ")
        if fingerprint != video_of(item.output.as_posix()):
            return f"{item.video}: not the video added to the project (its content changed); relink or add it"
        return None

    def present(self, item: StudyItem) -> bool:
        return self.key in self.store.result_models(video_of(item.output.as_posix()))

    def accept(self, item: StudyItem, outcome) -> None:
        from affectstudio.core.layouts import read_results

        path = self.out / outcome.output
        df = read_results(path)
        metadata = df.attrs.pop("metadata", {})
        df.attrs.clear()
        video_hash = video_of(outcome.output)
        self.store.save_results(
            video_hash, self.key, self.model_name, df, list(metadata.get("untrained_tasks") or [])
        )
        for done in (path, path.with_suffix(".json")):
            done.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # another analysis of the video may be written there
            path.parent.rmdir()

    def finish(self, summary) -> None:
        _write_summary(summary, self.out / f"{SUMMARY_NAME}.csv")


def video_states(project: str | Path) -> dict[str, VideoEvent]:
    """Each video's latest state in the project's manifest (fingerprint -> event), for a browser that was
    not watching the run; a video left running by a run that is gone is pending (it is redone)."""
    path = analyses_folder(project) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        with Manifest(path.parent) as manifest:
            rows = manifest.states()
    except AffectStudioError:
        return {}
    states: dict[str, VideoEvent] = {}
    for output, name, state, reason in rows:  # oldest first: the latest wins
        state = "pending" if state == "running" else state
        states[video_of(output)] = VideoEvent(output, name, state, reason=reason)
    return states


def describe(event: VideoEvent, video: Path | None = None) -> str:
    """What a list of the project's videos shows for one video's state (a row that names the `video`
    drops its path from the reason)."""
    if event.state == "running" and event.total:
        return f"running {event.done / event.total:.0%} ({event.done}/{plural(event.total, 'frame')})"
    if event.state in ("failed", "done") and event.reason:  # a done video's reason is a warning: no face
        reason = event.reason
        if video is not None and reason.startswith(f"{video}: "):
            reason = reason[len(f"{video}: ") :]
        return f"{event.state}: {reason}"
    return event.state
