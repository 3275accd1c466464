"""ReviewSession without Qt: the state a review holds and the signals views subscribe to."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import synthetic_rows

from affectstudio.core.annotations.lanes import ANY_TRACK, LaneKey, Segment
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


# lanes --------------------------------------------------------------------------------------------------
def lane_view(session, name, track=ANY_TRACK):
    return [(s.start, s.stop, s.value) for s in session.lane(LaneKey(name, "me", track)).segments]


def test_key_coding_tiles_the_timeline_and_undo_restores_exactly(session):
    seen = []
    session.lanes_changed.connect(seen.append)
    session.seek(10)
    session.code_expression("Happiness")
    session.seek(25)
    session.code_expression("Surprise")  # closes Happiness at 24, opens Surprise at 25
    assert lane_view(session, "expression") == [(10, 24, "Happiness")]
    session.toggle_au("AU12")
    session.seek(40)
    session.code_expression("Surprise")  # the same key again: closes only
    session.toggle_au("AU12")
    assert lane_view(session, "expression") == [(10, 24, "Happiness"), (25, 39, "Surprise")]
    assert lane_view(session, "AU12") == [(25, 39, 1)] and session.coding == {}
    session.seek(50)
    session.code_expression("Anger")
    session.code_expression("Fear")  # a correction at the same frame: Anger is dropped
    session.seek(60)
    session.finish_coding()  # closes at the playhead, inclusive
    assert lane_view(session, "expression")[-1] == (50, 60, "Fear")
    assert LaneKey("expression", "me", ANY_TRACK) in seen
    full = lane_view(session, "expression")
    while session.undo.can_undo:
        session.undo.undo()
    assert lane_view(session, "expression") == [] and lane_view(session, "AU12") == []
    while session.undo.can_redo:
        session.undo.redo()
    assert lane_view(session, "expression") == full
    with ProjectStore(session.store.path) as again:  # every edit is in the store at once
        stored = again.segments(session.video.hash, LaneKey("expression", "me", ANY_TRACK))
        assert [(s.start, s.stop, s.value) for s in stored] == full


def test_segment_edits_split_merge_resize_delete(session):
    key = LaneKey("expression", "me", ANY_TRACK)
    first = session.add_segment(key, Segment(10, 40, "Sadness"))
    session.split_segment(key, 20)
    assert lane_view(session, "expression") == [(10, 19, "Sadness"), (20, 40, "Sadness")]
    session.merge_with_next(key, first.id)
    assert lane_view(session, "expression") == [(10, 40, "Sadness")]
    session.change_segment(key, first.id, stop=50, note="slow")
    assert session.lane(key).segments[0].note == "slow"
    session.add_segment(key, Segment(45, 60, "Anger"))  # the new one wins the overlap
    assert lane_view(session, "expression") == [(10, 44, "Sadness"), (45, 60, "Anger")]
    with pytest.raises(AffectStudioError):
        session.merge_with_next(key, first.id)  # different values
    session.remove_segment(key, first.id)
    assert lane_view(session, "expression") == [(45, 60, "Anger")]
    session.undo.undo()
    assert lane_view(session, "expression") == [(10, 44, "Sadness"), (45, 60, "Anger")]


def test_va_recording_is_one_undoable_trace_write(session):
    session.start_va_recording()
    for frame, (v, a) in {30: (0.5, -0.5), 32: (0.7, -0.1), 33: (1.4, 0.0)}.items():
        session.seek(frame)
        session.record_va(v, a)
    command = session.stop_va_recording()
    valence = session.lane(LaneKey("valence", "me", ANY_TRACK)).trace
    arousal = session.lane(LaneKey("arousal", "me", ANY_TRACK)).trace
    np.testing.assert_allclose(valence[30:34], [0.5, 0.6, 0.7, 1.0], atol=1e-6)  # 31 interpolated, clipped
    np.testing.assert_allclose(arousal[30:34], [-0.5, -0.3, -0.1, 0.0], atol=1e-6)
    assert np.isnan(valence[:30]).all() and np.isnan(valence[34:]).all()
    assert command is not None and session.undo.undo_label() == "set trace"
    session.undo.undo()
    assert LaneKey("valence", "me", ANY_TRACK) not in session.lanes


def test_any_face_lanes_are_shown_for_every_face_and_edits_on_them_stay_any_face(session, tmp_path):
    """Spans imported without a track (the README's `project import ... --annotator me`) are any-face
    lanes: a face's review shows them beside its own, and editing them never moves them to that face."""
    from affectstudio.core.annotations.importing import import_file

    spans = tmp_path / "spans.csv"
    spans.write_text("lane,start,end,value\nexpression,0.0,1.5,Happiness\nAU12,0.5,2.0,1\n")
    import_file(session.store, session.video.hash, spans, session.timestamps, "me")
    session.load_lanes()
    session.add_rows(synthetic_rows(120, tracks=2))
    assert session.track == 0
    anyface, own = LaneKey("expression", "me", ANY_TRACK), LaneKey("expression", "me", 0)
    for track in (0, 1, ANY_TRACK):
        shown = session.shown_lanes("me", track)
        assert anyface in shown and LaneKey("AU12", "me", ANY_TRACK) in shown
        assert LaneKey("AU1", "me", track) in shown and len(shown) == 17  # one row per lane name
    assert session.shown_lane_at("expression", 0, 10) == anyface  # a split at the playhead splits it
    assert session.shown_lane_at("expression", 0, 100) == own  # nothing any-face there: the face's own
    session.split_segment(session.shown_lane_at("expression", 0, 20), 20)
    session.change_segment(anyface, session.lane(anyface).segments[0].id, value="Anger")
    assert lane_view(session, "expression") == [(0, 19, "Anger"), (20, 44, "Happiness")]
    assert lane_view(session, "expression", 0) == []
    session.seek(60)
    session.code_expression("Fear")  # key coding labels the face shown: its own row appears, first
    shown = session.shown_lanes("me", 0)
    assert shown.index(own) + 1 == shown.index(anyface) and len(shown) == 18
    session.seek(70)
    session.finish_coding()
    assert lane_view(session, "expression", 0) == [(60, 70, "Fear")]
    session.undo.undo()
    session.undo.undo()
    session.undo.undo()
    assert lane_view(session, "expression") == [(0, 44, "Happiness")] and own not in session.lanes
    assert session.shown_lanes("me", 0).count(anyface) == 1 and own not in session.shown_lanes("me", 0)
