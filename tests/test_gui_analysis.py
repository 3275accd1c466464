"""The window with the real engine on the sample video: background analysis, cache, cancel, errors, tracks.

The first test runs the real analysis (a few seconds to tens of seconds on a busy 2-core machine) and leaves
its results in a project store shared by this module, so the later tests are served from the cache the way a
user reopening a video is.
"""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
from gui_helpers import WAIT_MS
from PySide6.QtCore import Qt
from test_gui_main_window import assert_no_threads_left

from affectstudio.core.project import ProjectStore
from affectstudio.core.settings import Settings
from affectstudio.gui.main_window import MainWindow

pytestmark = pytest.mark.slow
ANALYSIS_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A project store and a compiled-model cache that outlive one test."""
    root = tmp_path_factory.mktemp("gui-analysis")
    return {"project": root / "project.sqlite3", "cache": root / "cache"}


@pytest.fixture(autouse=True)
def _shared_cache(shared, monkeypatch):
    monkeypatch.setenv("AFFECTSTUDIO_CACHE_DIR", str(shared["cache"]))


def make_window(qtbot, project, auto_analyse=True, model="") -> MainWindow:
    settings = Settings.load()
    settings.auto_analyse, settings.analysis.model = auto_analyse, model or None
    window = MainWindow(settings, ProjectStore(project))
    qtbot.addWidget(window)
    window.resize(780, 560)
    window.show()
    return window


def close(window) -> None:
    window.close()
    assert_no_threads_left(window)


def wait_for_results(window, qtbot, path):
    with qtbot.waitSignal(window.analysis_finished, timeout=ANALYSIS_TIMEOUT_MS) as finished:
        assert window.open_video(path)
    return finished.args[0]


def test_a_first_run_shows_rows_at_once_says_what_it_prepares_and_closes_cleanly(
    qtbot, tmp_path, monkeypatch, sample_video
):
    """Nothing compiled yet (a fresh profile): rows are plotted while the fast path still compiles, the
    status says what is being prepared, and closing the window mid-build leaves no thread and no torn file."""
    monkeypatch.setenv("AFFECTSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    window = make_window(qtbot, tmp_path / "p.sqlite3")
    texts = []  # (frames with rows, status) at each progress report, after the window showed it
    window.controller.progress.connect(
        lambda _: texts.append((window.data.analysed_until, window.status_label.text()))
    )
    assert window.open_video(sample_video)
    assert window.status_label.text() == "Preparing: the network (loading PyTorch and the model)…"
    qtbot.waitUntil(lambda: window.data.analysed_until > 0, timeout=ANALYSIS_TIMEOUT_MS)
    assert window.controller.engine.preparing, "the first rows came only after the fast path was built"
    before_rows = [text for done, text in texts if done == 0]
    assert before_rows and "preparing: face detector, face landmarks; fast path" in before_rows[0]
    qtbot.waitUntil(lambda: any(done > 0 for done, _ in texts), timeout=ANALYSIS_TIMEOUT_MS)
    assert "preparing: fast path (OpenVINO compile, in the background)" in texts[-1][1]
    window.close()  # while the network is still being converted
    assert_no_threads_left(window)
    assert [t for t in threading.enumerate() if t.name == "fast-path-build"] == []
    assert [p.name for p in (tmp_path / "cache").rglob("*") if "partial" in p.name] == []


def test_analysis_runs_in_the_background_fills_plots_and_is_cached(qtbot, shared, sample_video):
    window = make_window(qtbot, shared["project"])
    seen = {"progress": [], "partial": False}
    window.controller.progress.connect(lambda p: seen["progress"].append(p))

    def rows_while_running():
        if window.controller.running and 0 < window.data.analysed_until < 120:
            seen["partial"] = True

    window.results_changed.connect(rows_while_running)
    result = wait_for_results(window, qtbot, sample_video)
    assert result is not None and not result.cancelled and result.frames == 120
    assert seen["partial"], "plots were not filled while the analysis ran"
    assert seen["progress"][-1].done == 120 and seen["progress"][-1].fps > 0
    assert "Analysed 120 frames" in window.status_label.text() and not window.progress.isVisible()
    assert window.track_box.count() >= 1 and window.track is not None
    x, y = window.timeline.smooth_curves[0].getData()
    assert len(x) == 120 and np.isfinite(y).sum() > 100
    assert window.timeline.au_image.image.shape[0] == 120
    assert window.data.untrained_tasks == ["va", "expr", "au"]  # no model installed: the untrained default
    assert "untrained" in window.timeline.notices["va"].text
    window.seek(60)
    qtbot.waitUntil(lambda: window.video.index == 60)
    assert window.video._faces and "valence" in window.va_plane.values.text()
    rows, va = len(window.data.rows()), window.data.tracks[window.track].va.copy()
    close(window)  # closing the window closes its session's video too

    again = make_window(qtbot, shared["project"])  # reopening: served from the cache, no analysis
    result = wait_for_results(again, qtbot, sample_video)
    assert result is None and "cache" in again.status_label.text()
    assert len(again.data.rows()) == rows
    np.testing.assert_array_equal(again.data.tracks[again.track].va, va)
    close(again)


def test_cancel_keeps_partial_results_and_caches_nothing(qtbot, tmp_path, sample_video):
    """The worker is held at its first rows until the cancel is in: on a fast machine the analysis used to
    finish before the test could cancel it (then nothing was cancelled and the result was cached)."""
    project = tmp_path / "fresh.sqlite3"
    window = make_window(qtbot, project)
    release, held = threading.Event(), []

    def hold(_rows) -> None:  # runs in the worker thread (direct connection), after the rows were queued
        held.append(threading.current_thread())
        release.wait(timeout=ANALYSIS_TIMEOUT_MS / 1000)

    def attach() -> None:  # `started` comes just before the thread starts, so no row is missed
        if window.controller._analysis is not None:
            window.controller._analysis.partial.connect(hold, Qt.ConnectionType.DirectConnection)

    window.controller.started.connect(attach)
    try:
        assert window.open_video(sample_video)
        qtbot.waitUntil(lambda: window.data.analysed_until > 0, timeout=ANALYSIS_TIMEOUT_MS)
        window.cancel_analysis()
    finally:
        release.set()
    assert held and held[0] is not threading.main_thread()  # the worker was held, in its own thread
    assert "cancelled" in window.status_label.text() and not window.cancel_button.isVisible()
    done = window.data.analysed_until
    assert 0 < done < 120
    close(window)
    with ProjectStore(project) as store:  # a partial result must never be served as if complete
        assert store._db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 0


def test_a_model_that_cannot_be_loaded_shows_an_error(qtbot, tmp_path, sample_video):
    window = make_window(qtbot, tmp_path / "p.sqlite3", model="no-such-model")
    qtbot.waitUntil(lambda: bool(window.errors), timeout=60_000)
    title, message = window.errors[0]
    assert title == "Cannot load the model" and "no-such-model" in message
    with qtbot.waitSignal(window.video.frame_shown, timeout=WAIT_MS):
        assert window.open_video(sample_video)  # the app keeps running
    close(window)


def test_a_failed_analysis_shows_an_error(qtbot, tmp_path, sample_video):
    copy = tmp_path / "going-away.mp4"
    shutil.copy(sample_video, copy)
    window = make_window(qtbot, tmp_path / "p.sqlite3", auto_analyse=False)
    qtbot.waitUntil(lambda: window.controller.loaded is not None, timeout=60_000)
    with qtbot.waitSignal(window.video.frame_shown, timeout=WAIT_MS):
        window.open_video(copy)
    copy.unlink()
    window.act_reanalyse.trigger()
    qtbot.waitUntil(lambda: bool(window.errors), timeout=60_000)
    assert window.errors[0][0] == "Analysis failed" and "going-away.mp4" in window.errors[0][1]
    assert "failed" in window.status_label.text()
    close(window)


def test_tracks_can_be_renamed_and_the_name_is_kept(qtbot, shared, sample_video):
    window = make_window(qtbot, shared["project"])
    wait_for_results(window, qtbot, sample_video)
    track = window.track
    window.rename_track("Driver")
    assert window.track_box.currentText() == "Driver" and window.track == track
    assert window.video._names == {track: "Driver"}
    video_hash = window.video_hash
    close(window)
    with ProjectStore(shared["project"]) as store:
        assert store.track_names(video_hash) == {track: "Driver"}
        store.rename_track(video_hash, track, "")


def test_a_default_model_installed_outside_the_app_is_the_one_loaded_next(qtbot, tmp_path):
    """Models loaded once are reused by the file they came from, not by name: `affectstudio models import`
    in a terminal makes a new default while the app runs (and the untrained network was loaded under the
    same name, "the default"); the app's next load must give the new model, not the one it kept."""
    from affectstudio.core.model.checkpoint import save_checkpoint, untrained_model
    from affectstudio.core.model.registry import ModelRegistry

    window = make_window(qtbot, tmp_path / "p.sqlite3", auto_analyse=False)
    with qtbot.waitSignal(window.controller.model_ready, timeout=120_000) as first:
        window.controller.load_model()
    assert first.args[0].is_untrained
    mine = untrained_model(seed=3)
    ModelRegistry().import_file(save_checkpoint(tmp_path / "mine.pt", mine.model, mine.config), name="mine")
    with qtbot.waitSignal(window.controller.model_ready, timeout=120_000) as second:
        window.controller.load_model()
    assert second.args[0].digest == mine.digest != first.args[0].digest
    close(window)
