"""A project's videos analysed through the study runner (`core/study/project.py`), on the real pipeline:
results land in the project store, a cancelled run resumes where it stopped, a failing video is reported
with its reason while the others go on, and another model or other options mean analysing again.

Videos are cut from the bundled sample so each run stays short; every run spawns one worker process.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from affectstudio.core.jobs import JobState
from affectstudio.core.model.checkpoint import untrained_model
from affectstudio.core.options import AnalysisOptions
from affectstudio.core.project import ProjectStore, results_key
from affectstudio.core.study.project import ProjectJob, analyse_project, analyses_folder, video_states
from affectstudio.core.video import VideoReader
from tests.videos import write_frames

pytestmark = pytest.mark.slow
OPTIONS = AnalysisOptions(device="cpu", fast=False, batch_size=8)


@pytest.fixture(scope="module")
def sample_frames(sample_video):
    with VideoReader(sample_video) as reader:
        return [f.image[:, :176] for f in reader]


def make_project(tmp_path, sample_frames, clips: dict[str, tuple[int, int]]):
    path = tmp_path / "study.affectproj"
    with ProjectStore.create(path) as store:
        for name, (start, stop) in clips.items():
            store.add_video(write_frames(tmp_path / name, sample_frames[start:stop]))
    return path


def run(path, loaded, options=OPTIONS, cancel_after_done: int | None = None):
    events = []

    def report(progress):
        detail = progress.detail
        events.extend(detail.planned or [])
        if detail.event is not None:
            events.append(detail.event)
            finished = sum(e.state == "done" for e in events if e.done)
            if cancel_after_done is not None and finished >= cancel_after_done:
                state.cancel()

    state = JobState(on_progress=report)
    return analyse_project(state, ProjectJob(path, options), loaded=loaded), events


def stored(path, key):
    with ProjectStore(path, create=False) as store:
        return {r.path.name: store.load_results(r.hash, key) for r in store.videos()}


def test_a_cancelled_project_analysis_resumes_where_it_stopped(tmp_path, sample_frames):
    path = make_project(tmp_path, sample_frames, {"a.mp4": (0, 40), "b.mp4": (40, 80), "c.mp4": (80, 120)})
    loaded = untrained_model(seed=1)
    key = results_key(loaded.digest, OPTIONS)
    first, events = run(path, loaded, cancel_after_done=1)
    assert 1 <= first.done < 3 and first.failed == []
    assert [e.state for e in events[:3]] == ["pending"] * 3  # the planned states, then live ones
    assert any(e.state == "running" and e.total == 40 for e in events)
    cached = stored(path, key)
    done = {name for name, result in cached.items() if result is not None}
    assert len(done) == first.done
    states = {state.name: state.state for state in video_states(path).values()}
    assert {name for name, s in states.items() if s == "done"} == done
    assert set(states.values()) == {"done", "pending"}
    created = {name: cached[name].created for name in done}

    second, events = run(path, loaded)
    assert (second.skipped, second.done, second.failed) == (first.done, 3 - first.done, [])
    again = stored(path, key)
    assert all(len(result.frame) == 40 and result.model_name == loaded.name for result in again.values())
    assert {name: again[name].created for name in done} == created  # the done ones were not redone
    assert {s.state for s in video_states(path).values()} == {"done"}
    assert not list(analyses_folder(path).rglob("*.parquet"))  # the workers' files moved into the store


def test_a_failing_video_is_reported_the_rest_go_on_and_another_model_redoes(tmp_path, sample_frames):
    path = make_project(tmp_path, sample_frames, {"good.mp4": (0, 24), "broken.mp4": (30, 50)})
    (tmp_path / "broken.mp4").write_bytes(b"\0" * 64)  # damaged after it was added
    loaded = untrained_model(seed=1)
    key = results_key(loaded.digest, OPTIONS)
    report, _ = run(path, loaded)
    assert report.done == 1 and [name for name, _ in report.failed] == ["broken.mp4"]
    [(_, reason)] = report.failed
    assert "broken.mp4" in reason and "\n" not in reason
    assert len(stored(path, key)["good.mp4"].frame) == 24 and stored(path, key)["broken.mp4"] is None
    states = {state.name: state for state in video_states(path).values()}
    assert states["broken.mp4"].state == "failed" and states["broken.mp4"].reason == reason

    again, _ = run(path, loaded)  # done is skipped, failed is retried
    assert (again.skipped, again.done, len(again.failed)) == (1, 0, 1)

    other = untrained_model(seed=2)
    assert other.digest != loaded.digest
    redo, _ = run(path, other)
    assert (redo.skipped, redo.done, len(redo.failed)) == (0, 1, 1)
    assert stored(path, results_key(other.digest, OPTIONS))["good.mp4"].model_name == other.name
    assert stored(path, key)["good.mp4"] is not None  # the first model's results are still there
    back, _ = run(path, loaded)  # back to the first model: nothing to redo
    assert (back.skipped, back.done) == (1, 0)
    every2 = replace(OPTIONS, detect_every=2)  # options that change the rows: analysed again
    changed, _ = run(path, loaded, every2)
    assert (changed.skipped, changed.done) == (0, 1)
    assert stored(path, results_key(loaded.digest, every2))["good.mp4"] is not None


def test_a_video_without_a_face_is_done_with_a_warning_and_not_redone(tmp_path, capsys):
    """As `analyze VIDEO` says it and exits 0: no face is a result (every row empty), not a failure."""
    import numpy as np

    from affectstudio.cli import main
    from affectstudio.core.results import NO_FACE

    path = tmp_path / "study.affectproj"
    with ProjectStore.create(path) as store:
        store.add_video(write_frames(tmp_path / "noface.mp4", [np.zeros((64, 64, 3), np.uint8)] * 6))
    assert main(["project", "analyze", str(path), "--plain"]) == 0
    out = capsys.readouterr().out
    assert "warning: noface.mp4: no face found in any frame; every row is empty" in out
    assert "1 analysed, 0 already done, 0 failed" in out
    with ProjectStore(path, create=False) as store:
        [record] = store.videos()
        rows = store.latest_results(record.hash).frame
    assert len(rows) == 6 and (rows["track_id"] == NO_FACE).all()
    assert main(["project", "analyze", str(path), "--plain"]) == 0
    assert "0 analysed, 1 already done, 0 failed" in capsys.readouterr().out
    assert main(["project", "list", str(path)]) == 0
    assert "analysis job: done: no face found in any frame" in capsys.readouterr().out
