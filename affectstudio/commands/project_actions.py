"""The actions of `affectstudio project` (the parser and help are in `project.py`)."""

from __future__ import annotations

import json
from pathlib import Path

from affectstudio.commands.project import default_dataset_folder, say
from affectstudio.core.errors import AffectStudioError, AnnotationError
from affectstudio.core.wording import plural


def _open(args):
    from affectstudio.core.project import ProjectStore

    return ProjectStore(args.project, create=False)


def _video(store, name: str):
    record = store.video(name)
    if record is None:
        raise AnnotationError(Path(name), f"is not a video of the project {store.path}; add it first")
    return record


def _progress(every_s: float = 5.0):
    """Progress lines on stderr at most every `every_s` seconds (long analyses and exports say something)."""
    import sys
    import time

    last = [time.monotonic()]

    def report(progress) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            message = getattr(progress, "message", "")
            print(
                f"    {progress.done:.0f}/{progress.total or '?'} {message}".rstrip(),
                file=sys.stderr,
                flush=True,
            )

    return report


def _timestamps(record):
    from affectstudio.core.video import VideoReader

    with VideoReader(record.path) as reader:
        return reader.timestamps


def new_project(args) -> int:
    from affectstudio.core.project import ProjectStore

    ProjectStore.create(args.project).close()
    say(f"created {args.project}")
    return 0


def add(args) -> int:
    with _open(args) as store:
        for video in args.videos:
            known = store.same_content(video)
            record = store.add_video(video)
            if known is not None and known.path != record.path:
                moved = f"already in the project as {known.path} (missing); its path now points here"
                say(f"{record.path}: {moved}")
            frames = plural(record.frame_count, "frame")
            say(f"{record.path.name}: {frames}, {record.fps:.3g} fps ({record.hash[:12]})")
    return 0


def list_videos(args) -> int:
    from affectstudio.core.study.project import describe, video_states

    with _open(args) as store:
        statuses = store.video_status()
        jobs = video_states(store.path)
        annotators = ", ".join(store.annotators()) or "none"
        say(f"{store.path}: {plural(len(statuses), 'video')}, annotators: {annotators}")
        for status in statuses:
            video = status.video
            found = "" if status.exists else "  MISSING (affectstudio project relink)"
            say(f"{video.path}  {plural(video.frame_count, 'frame')}  {video.hash[:12]}{found}")
            say(f"    analysed by: {', '.join(status.models) or 'not analysed'}")
            if video.hash in jobs:
                say(f"    analysis job: {describe(jobs[video.hash], video.path)}")
            for key, frames in sorted(
                status.annotated.items(), key=lambda kv: (kv[0].annotator, kv[0].track_id, kv[0].name)
            ):
                track = "any face" if key.track_id < 0 else f"track {key.track_id}"
                say(f"    {key.name} by {key.annotator}, {track}: {plural(frames, 'frame')}")
    return 0


def relink(args) -> int:
    with _open(args) as store:
        record = store.relink(args.old, args.new)
        say(f"{record.hash[:12]} -> {record.path}")
    return 0


def import_file(args) -> int:
    from affectstudio.core.annotations.importing import import_file as run_import
    from affectstudio.core.annotations.lanes import DEFAULT_ANNOTATOR

    with _open(args) as store:
        record = _video(store, args.video)
        result = run_import(
            store,
            record.hash,
            args.file,
            _timestamps(record),
            annotator=args.annotator or DEFAULT_ANNOTATOR,
            track=args.track,
            name=args.name,
        )
        if result.kind == "lanes":
            names = ", ".join(f"{k.name}/{k.annotator}/{k.track_id}" for k in result.lanes)
            say(f"imported {plural(len(result.lanes), 'lane')} into {record.path.name}: {names}")
        else:
            say(f"imported overlay '{result.overlay}' into {record.path.name}")
        for note in result.notes:
            say(f"    {note}")
    return 0


def analyze(args) -> int:
    """The project's videos through the study runner (as the app's Analyse all): resumable, a failing
    video reported and the rest analysed, results into the project."""
    from affectstudio.commands.analyze import _StopOnInterrupt, untrained_warning
    from affectstudio.core.analysis import AnalysisOptions
    from affectstudio.core.jobs import JobState
    from affectstudio.core.study.project import ProjectJob, analyse_project

    options = AnalysisOptions(model=args.model, device=args.device, faces=args.faces, fast=not args.plain)
    job = ProjectJob(Path(args.project), options, args.jobs, args.executor, args.ray_address)
    progress = _progress()

    def report(p) -> None:
        detail = p.detail
        for event in detail.planned or []:
            if event.state == "done":
                say(f"{event.name}: already analysed")
            elif event.state == "failed":
                say(f"{event.name}: FAILED: {event.reason}")
        event = detail.event
        if event is not None and event.state == "done":
            say(f"{event.name}: {plural(event.done, 'frame')} analysed")
            if event.reason:  # done with a warning: no face
                say(f"warning: {event.name}: {event.reason}")
        elif event is not None and event.state == "failed":
            say(f"{event.name}: FAILED: {event.reason}")
        elif event is not None:
            progress(p)

    state = JobState(on_progress=report)
    with _StopOnInterrupt(on_stop=state.cancel):
        outcome = analyse_project(state, job)
    say(
        f"{plural(outcome.total, 'video')}: {outcome.done} analysed, {outcome.skipped} already done, "
        f"{len(outcome.failed)} failed (manifest: {outcome.manifest_path})"
    )
    if outcome.untrained_tasks and outcome.done + outcome.skipped:
        say(untrained_warning(outcome.model_name, outcome.untrained_tasks))
    if state.cancelled():
        say("stopped early: run the same command again to finish")
        return 130
    if outcome.failed:
        raise _Failed(f"{plural(len(outcome.failed), 'video')} could not be analysed")
    return 0


class _Failed(AffectStudioError):
    def __init__(self, problem: str):
        super().__init__(None, problem)


def export_dataset(args) -> int:
    from affectstudio.core.dataset_export import export_project
    from affectstudio.core.jobs import JobState

    with _open(args) as store:
        state = JobState(on_progress=_progress())
        summary = export_project(store, args.out, args.videos, args.format, args.annotators, state=state)
    _report_export(summary)
    return 0


def _report_export(summary) -> None:
    say(f"dataset in {summary.folder}: {summary.train_frames} train, {summary.validation_frames} validation")
    for name, (train, validation) in summary.videos.items():
        say(f"    {name}: {train} train, {validation} validation")
    for reason, frames in summary.skipped.items():
        say(f"    skipped {plural(frames, 'labelled frame')}: {reason}")


def lanes(args) -> int:
    from affectstudio.core.annotations.exchange import write_elan_tab, write_spans_csv

    with _open(args) as store:
        record = _video(store, args.video)
        found = store.lanes(record.hash)
        if not found:
            raise AnnotationError(record.path, "has no annotation lanes to export")
        times = _timestamps(record)
        path = (
            write_spans_csv(args.csv, found, times) if args.csv else write_elan_tab(args.elan, found, times)
        )
    say(f"wrote {plural(len(found), 'lane')} to {path}")
    return 0


def agreement(args) -> int:
    import pandas as pd

    from affectstudio.core.annotations.agreement import write_agreement_csv

    tables = []
    with _open(args) as store:
        for record in store.videos():
            tables += _video_agreement(store, record)
    if not tables:
        raise AnnotationError(
            Path(args.project), "nothing to compare: no lanes (two annotators, or one and an analysis)"
        )
    table = pd.concat(tables, ignore_index=True)
    with pd.option_context(
        "display.max_rows", None, "display.width", 160, "display.float_format", "{:.4f}".format
    ):
        say(table.to_string(index=False))
    if args.csv:
        say(f"wrote {write_agreement_csv(args.csv, table)}")
    return 0


def _video_agreement(store, record) -> list:
    from affectstudio.core.annotations.agreement import agreement as compare
    from affectstudio.core.annotations.framelabels import FrameLabels
    from affectstudio.core.results import ResultTable

    lanes = store.lanes(record.hash)
    cached = store.latest_results(record.hash)
    n = record.frame_count or 0
    groups: dict[int, dict[str, list]] = {}
    for lane in lanes:
        groups.setdefault(lane.key.track_id, {}).setdefault(lane.key.annotator, []).append(lane)
    out = []

    def add(table, a: str, b: str, track: int):
        if len(table):
            out.append(
                table.assign(video=record.path.name, track=track, a=a, b=b)[
                    ["video", "track", "a", "b", *table.columns]
                ]
            )

    for track, by_annotator in groups.items():
        names = sorted(by_annotator)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                add(compare(by_annotator[first], by_annotator[second], n), first, second, track)
            if cached is not None:
                results = ResultTable(cached.frame)
                tracks = results.tracks()
                model_track = track if track >= 0 else (tracks[0] if tracks else None)
                if model_track is not None:
                    model = FrameLabels.from_results(results, model_track, n, name=cached.model_name)
                    add(compare(by_annotator[first], model, n), first, f"model:{cached.model_name}", track)
    return out


def train(args) -> int:
    """Export the project's labelled frames into `<project>_dataset`, then train on them.

    The dataset decides what the run can do (training.propose, as in the Training window): only the tasks
    with labels, the curation that keeps them, and an AU threshold hold-out the data allows. The user's
    config and `--set` values come on top; the config is checked before the run starts.
    """
    from affectstudio.core.bundle import check_can_train

    check_can_train()  # before the export: the desktop bundle cannot train
    from affectstudio.core.dataset_export import export_project
    from affectstudio.core.jobs import JobState
    from training import run as run_training
    from training.cli import TextProgress
    from training.config import load_config
    from training.events import installed_note
    from training.propose import check_config, propose

    project = Path(args.project)
    folder = default_dataset_folder(project)
    with _open(args) as store:
        summary = export_project(store, folder, fmt=args.format)
    _report_export(summary)
    proposal = propose(folder)
    overrides = [
        f"data.root={folder}",
        f"tasks={json.dumps(proposal.tasks)}",
        f"data.curation={proposal.curation}",
        f"data.threshold_holdout={proposal.threshold_holdout}",
    ]
    if args.config is None:
        overrides.append(f"output={project.with_name(project.stem + '_runs')}")
    config = load_config(args.config, [*overrides, *args.set])  # the user's --set wins
    check_config(config)
    for note in proposal.notes:
        say(f"note: {note}")
    say(f"training on {', '.join(config.tasks)} from {folder}")
    result = run_training(config, JobState(on_progress=TextProgress()))
    installed = f", {installed_note(result.model_name, result.metrics)}" if result.model_name else ""
    say(f"run in {result.run_dir}{installed}")
    return 0


def tracks(args) -> int:
    """List the face tracks of a video's cached results; with --merge/--split/--reject, correct them first."""
    import numpy as np

    from affectstudio.core.annotations.edits import UndoStack
    from affectstudio.core.annotations.track_commands import MergeTracks, RejectTrack, SplitTrack
    from affectstudio.core.review_data import ReviewData
    from affectstudio.core.track_edits import next_track_id

    with _open(args) as store:
        record = _video(store, args.video)
        cached = store.latest_results(record.hash)
        if cached is None:
            raise AnnotationError(record.path, "not analysed yet (affectstudio project analyze)")
        raw = cached.frame
        frames = max(record.frame_count or 0, int(raw["frame"].max()) + 1 if len(raw) else 0)
        analysis = cached.key  # the edits of the latest analysis: the one the app shows by default
        data = ReviewData(np.zeros(frames), edits=store.track_edits(record.hash, analysis))
        data.add_rows(raw)
        faces = data.face_frames()
        command = None
        if args.merge:
            command = MergeTracks(record.hash, analysis, faces, *args.merge)
        elif args.split:
            new = next_track_id(raw["track_id"].unique(), data.edits)
            command = SplitTrack(record.hash, analysis, faces, args.split[0], args.split[1], new)
        elif args.reject is not None:
            command = RejectTrack(record.hash, analysis, faces, args.reject)
        if command is not None:
            UndoStack(store).push(command)
            say(command.edit.describe())
            data.set_edits(store.track_edits(record.hash, analysis))
        names = store.track_names(record.hash)
        times = dict(zip(raw["frame"].to_numpy(), raw["time"].to_numpy(), strict=False))
        for track, seen in data.face_frames().items():
            first, last = int(seen[0]), int(seen[-1])
            name = f" ({names[track]})" if track in names else ""
            say(
                f"track {track}{name}: {plural(len(seen), 'frame')} with a face, frames {first}..{last} "
                f"({times.get(first, 0):.2f}-{times.get(last, 0):.2f} s)"
            )
        for edit in data.edits:
            say(f"    edit {edit.id}: {edit.describe()}")
        say(data.summary().text())
    return 0
