"""ReviewSession without Qt: the state a review holds and the signals views subscribe to."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import synthetic_rows

from affectstudio.core.annotations.lanes import ANY_TRACK
from affectstudio.core.errors import AffectStudioError
from affectstudio.core.project import ProjectStore
from affectstudio.core.session import AmbiguousTrack, ReviewSession


@pytest.fixture
def session(tmp_path, sample_video):
    store = ProjectStore(tmp_path / "project.sqlite3")
    s = ReviewSession(store)
    s.open_video(sample_video)
    yield s
    store.close()


class Recorder:
    """Every emission of the session's signals, in order."""

    def __init__(self, session):
        self.events = []
        for name in (
            "video_changed",
            "frame_changed",
            "track_changed",
            "tracks_changed",
            "results_changed",
            "thresholds_changed",
            "smoothing_changed",
        ):
            getattr(session, name).connect(lambda *args, n=name: self.events.append((n, *args)))


def test_open_seek_and_close_emit_in_order(tmp_path, sample_video):
    store = ProjectStore(tmp_path / "p.sqlite3")
    session = ReviewSession(store)
    seen = Recorder(session)
    assert session.seek(5) == 0 and seen.events == []  # no video: nothing moves
    video = session.open_video(sample_video)
    assert video.frame_count == 120 and len(video.hash) == 64 and video.fps > 0
    assert np.all(np.diff(session.timestamps) > 0)
    assert seen.events == [("video_changed",), ("frame_changed", 0)]
    assert session.seek(500) == 119 and session.seek(-3) == 0
    assert seen.events[-2:] == [("frame_changed", 119), ("frame_changed", 0)]
    assert store.video_path(video.hash) == sample_video
    session.close_video()
    assert session.video is None and session.frame_count == 0 and seen.events[-1] == ("video_changed",)
    with pytest.raises(AffectStudioError, match=r"missing\.mp4"):
        session.open_video(tmp_path / "missing.mp4")
    store.close()


def test_rows_select_the_first_track_and_signal_results(session):
    seen = Recorder(session)
    session.add_rows(synthetic_rows(120, tracks=2))
    assert session.track == 0 and session.data.track_ids() == [0, 1]
    assert seen.events == [("tracks_changed",), ("track_changed", 0), ("results_changed",)]
    assert session.track_arrays() is session.data.tracks[0]
    session.select_track(1)
    session.select_track(1)  # no change, no signal
    assert [e for e in seen.events if e[0] == "track_changed"] == [("track_changed", 0), ("track_changed", 1)]
    session.add_rows(synthetic_rows(120, tracks=2, seed=1))  # more rows keep the chosen track
    assert session.track == 1
    session.reset_results()
    assert session.track is None and session.data.track_ids() == []


def test_display_settings_signal_only_on_change(session):
    seen = Recorder(session)
    session.set_thresholds([0.3] * 12)
    session.set_thresholds([0.3] * 12)
    session.set_smoothing(5)
    session.set_smoothing(5)
    assert seen.events == [("thresholds_changed", [0.3] * 12), ("smoothing_changed", 5)]
    with pytest.raises(ValueError):
        session.set_thresholds([0.5] * 3)


def test_rename_track_goes_to_the_store(session):
    session.add_rows(synthetic_rows(120))
    session.rename_track(0, "Driver")
    assert session.track_names == {0: "Driver"}
    assert session.store.track_names(session.video.hash) == {0: "Driver"}


def test_label_track_is_the_face_present_never_a_guess(session):
    assert session.label_track(10) == ANY_TRACK  # nothing analysed: labels are not tied to a face
    rows = synthetic_rows(120, tracks=2)
    rows = rows[~((rows["track_id"] == 1) & (rows["frame"] >= 60))]  # face 1 leaves at frame 60
    rows = rows[~((rows["track_id"] == 0) & (rows["frame"] < 30))]  # face 0 arrives at frame 30
    session.add_rows(rows)
    session.select_track(None)
    assert session.label_track(10) == 1  # the only face there
    assert session.label_track(90) == 0
    with pytest.raises(AmbiguousTrack) as ambiguous:
        session.label_track(45)  # both there, none selected: ask
    assert ambiguous.value.tracks == [0, 1]
    session.select_track(1)
    assert session.label_track(45) == 1  # the selected face, present
    assert session.label_track(90) == 0  # selected face absent, one other present: that one
    assert session.label_track(10) == 1
