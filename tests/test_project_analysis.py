"""analyse_project: every video of a project analysed with one model and cached under the caller's key."""

from __future__ import annotations

import pytest

from affectstudio.core.jobs import Cancelled, JobState
from affectstudio.core.model.registry import ModelRegistry
from affectstudio.core.options import AnalysisOptions
from affectstudio.core.project import ProjectStore
from affectstudio.core.project_analysis import analyse_project
from tests.videos import write_indexed_video


@pytest.mark.slow
def test_analyses_uncached_videos_skips_the_rest_and_reports_failures(tmp_path, sample_video):
    a = tmp_path / "a.mp4"
    write_indexed_video(a, 6)
    broken = tmp_path / "broken.mp4"
    write_indexed_video(broken, 7)  # other content: a copy would be the same video to the project
    store = ProjectStore.create(tmp_path / "p.affectproj")
    for path in (a, broken, sample_video):
        store.add_video(path)
    broken.write_bytes(b"\0" * 64)  # damaged after it was added
    loaded = ModelRegistry().load(None)
    options = AnalysisOptions(device="cpu", fast=False)
    skip = [store.video(sample_video).hash]
    outcome = analyse_project(store, options, loaded, "key-1", JobState(), skip=skip)
    assert outcome.analysed == ["a.mp4"] and sample_video.name in outcome.skipped
    assert list(outcome.failed) == ["broken.mp4"] and "broken.mp4" in outcome.failed["broken.mp4"]
    cached = store.load_results(store.video(a).hash, "key-1")
    assert cached is not None and cached.model_name == loaded.name and len(cached.frame) == 6
    again = analyse_project(store, options, loaded, "key-1", JobState(), skip=skip)
    assert again.analysed == [] and "a.mp4" in again.skipped
    state = JobState()
    state.cancel()
    with pytest.raises(Cancelled):
        analyse_project(store, options, loaded, "key-2", state)
    store.close()
