"""Analyse the videos of a project with one model, as one job: what "re-analyse the project's videos with
the new model" runs after training, in a thread of the app (or a script).

Each video's results are cached in the project under `key` (the caller's cache key, so the review window
serves them when the video is opened); videos already cached under it, missing files and `skip` are left
out. A video that fails is reported and the others go on; cancelling stops between batches and keeps what
is saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.jobs import JobState, Progress


@dataclass
class ProjectAnalysis:
    analysed: list[str] = field(default_factory=list)  # video file names
    skipped: list[str] = field(default_factory=list)  # cached already, missing, or asked to skip
    failed: dict[str, str] = field(default_factory=dict)  # file name -> error


def analyse_project(
    store, options, loaded, key: str, state: JobState, skip: Iterable[str] = ()
) -> ProjectAnalysis:
    """Analyse the project's videos with `loaded` (a LoadedModel) and `options` (AnalysisOptions)."""
    from affectstudio.core.analysis import analyze

    outcome = ProjectAnalysis()
    skip = set(skip)
    records = store.videos()
    for done, record in enumerate(records):
        state.check()
        name = record.path.name
        if record.hash in skip or not record.path.is_file() or store.load_results(record.hash, key):
            outcome.skipped.append(name)
            continue
        state.report(Progress(done, len(records), f"analysing {name} with {loaded.name}"))
        try:
            result = analyze(record.path, None, options, cancelled=state.cancelled, loaded=loaded)
        except AffectStudioError as error:
            outcome.failed[name] = str(error)
            continue
        if result.cancelled:
            break
        store.save_results(record.hash, key, result.model_name, result.table.df, result.untrained_tasks)
        outcome.analysed.append(name)
    state.report(Progress(len(records), len(records), "done"))
    return outcome
