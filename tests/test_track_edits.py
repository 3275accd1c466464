"""Track corrections on the real analysis of a two-person video: reject, split, merge; undo and redo; the
project remembers them; annotations follow their frames; the CLI does the same as the session."""

from __future__ import annotations

import numpy as np
import pytest

from affectstudio.cli import main
from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.annotations.track_commands import TrackError
from affectstudio.core.project import ProjectStore
from affectstudio.core.results import NO_FACE
from affectstudio.core.session import ReviewSession
from affectstudio.core.track_edits import TrackEdit, apply_edits

FRAMES = 60
ANALYSIS = "m"  # the results key the rows are shown under


def _left_right(rows) -> tuple[int, int]:
    faces = rows[rows["track_id"] != NO_FACE]
    x = faces.groupby("track_id")["x0"].mean().sort_values()
    return int(x.index[0]), int(x.index[-1])


@pytest.fixture
def session(two_faces, tmp_path):
    video, rows = two_faces
    store = ProjectStore(tmp_path / "study.affectproj")
    session = ReviewSession(store)
    session.open_video(video)
    session.use_analysis(ANALYSIS)
    session.add_rows(rows)
    yield session
    store.close()


def _reopened(session, rows) -> ReviewSession:
    """A new store and session on the same project file, as after quitting and starting again."""
    path, video = session.store.path, session.video.path
    session.store.close()
    again = ReviewSession(ProjectStore(path, create=False))
    again.open_video(video)
    again.use_analysis(ANALYSIS)
    again.add_rows(rows)
    return again


def test_the_analysis_has_two_people_in_every_frame(two_faces):
    _, rows = two_faces
    left, right = _left_right(rows)
    assert left != right
    for track in (left, right):
        assert sorted(rows.loc[rows["track_id"] == track, "frame"]) == list(range(FRAMES))


def test_reject_hides_a_track_until_undone_and_survives_reopening(session, two_faces):
    _, rows = two_faces
    left, right = _left_right(rows)
    assert session.data.summary().text() == "2 tracks, 2 people, faces in 100% of frames"
    seen = []
    session.tracks_changed.connect(lambda: seen.append(session.data.track_ids()))
    session.reject_track(right)
    assert session.data.track_ids() == [left] and seen[-1] == [left]
    assert session.data.summary().text() == "2 tracks, 1 person after rejects, faces in 100% of frames"
    edited = session.data.rows()
    assert set(edited["track_id"]) == {left} and len(edited) == FRAMES
    assert [track for track, _ in session.data.faces_at(10)] == [left]
    session.undo.undo()
    assert (
        session.data.track_ids() == [left, right]
        and session.store.track_edits(session.video.hash, ANALYSIS) == []
    )
    session.undo.redo()
    assert session.data.track_ids() == [left]
    again = _reopened(session, rows)
    assert again.data.track_ids() == [left]
    assert [e.kind for e in again.store.track_edits(again.video.hash, ANALYSIS)] == ["reject"]
    again.store.close()


def test_rejecting_every_face_leaves_one_no_face_row_per_frame(two_faces):
    _, rows = two_faces
    left, right = _left_right(rows)
    edited = apply_edits(rows, [TrackEdit("reject", left), TrackEdit("reject", right)])
    assert (edited["track_id"] == NO_FACE).all() and sorted(edited["frame"]) == list(range(FRAMES))
    assert edited["valence"].isna().all() and (edited["expression"] == "").all()
    assert len(rows) == 2 * FRAMES  # the raw rows are not changed


def test_split_at_the_playhead_carries_the_lanes_along(session, two_faces):
    _, rows = two_faces
    left, right = _left_right(rows)
    expression = LaneKey("expression", "me", left)
    session.add_segment(expression, Segment(20, 40, "Happiness", "smiles"))
    session.add_segment(LaneKey("AU12", "me", left), Segment(45, 50, 1))
    session.set_trace(LaneKey("valence", "me", left), 25, [[0.5, -0.25]] * 11)  # frames 25..35
    session.seek(30)
    new = session.split_track(left)
    assert new not in (left, right) and session.data.track_ids() == sorted([left, right, new])
    assert session.data.face_frames()[new].tolist() == list(range(30, FRAMES))
    assert session.data.face_frames()[left].tolist() == list(range(30))
    moved = LaneKey("expression", "me", new)
    assert [(s.start, s.stop, s.value, s.note) for s in session.lane(expression).segments] == [
        (20, 29, "Happiness", "smiles")
    ]
    assert [(s.start, s.stop, s.value, s.note) for s in session.lane(moved).segments] == [
        (30, 40, "Happiness", "smiles")
    ]
    assert [(s.start, s.stop) for s in session.lane(LaneKey("AU12", "me", new)).segments] == [(45, 50)]
    assert LaneKey("AU12", "me", left) not in session.lanes
    old_trace = session.lane(LaneKey("arousal", "me", left)).trace
    new_trace = session.lane(LaneKey("arousal", "me", new)).trace
    assert np.flatnonzero(np.isfinite(old_trace)).tolist() == list(range(25, 30))
    assert np.flatnonzero(np.isfinite(new_trace)).tolist() == list(range(30, 36))
    assert new_trace[30] == pytest.approx(-0.25)

    again = _reopened(session, rows)
    assert again.data.face_frames()[new].tolist() == list(range(30, FRAMES))
    assert [(s.start, s.stop) for s in again.lane(LaneKey("expression", "me", new)).segments] == [(30, 40)]
    again.store.close()


def test_undo_of_a_split_puts_frames_and_lanes_back(session, two_faces):
    _, rows = two_faces
    left, _ = _left_right(rows)
    key = LaneKey("expression", "me", left)
    segment = session.add_segment(key, Segment(20, 40, "Anger"))
    new = session.split_track(left, 30)
    session.undo.undo()
    assert new not in session.data.track_ids()
    assert session.data.face_frames()[left].tolist() == list(range(FRAMES))
    assert [(s.start, s.stop, s.id) for s in session.lane(key).segments] == [(20, 40, segment.id)]
    assert LaneKey("expression", "me", new) not in session.lanes
    session.undo.redo()
    assert [(s.start, s.stop) for s in session.lane(LaneKey("expression", "me", new)).segments] == [(30, 40)]


def test_merge_joins_a_split_track_and_its_lanes(session, two_faces):
    _, rows = two_faces
    left, right = _left_right(rows)
    new = session.split_track(left, 30)
    session.add_segment(LaneKey("expression", "me", new), Segment(35, 39, "Fear"))
    session.add_segment(LaneKey("expression", "me", left), Segment(5, 9, "Sadness"))
    session.select_track(new)
    session.merge_tracks(left, new)
    assert session.track == left and session.data.track_ids() == sorted([left, right])
    assert session.data.face_frames()[left].tolist() == list(range(FRAMES))
    assert [(s.start, s.stop, s.value) for s in session.lane(LaneKey("expression", "me", left)).segments] == [
        (5, 9, "Sadness"),
        (35, 39, "Fear"),
    ]
    assert LaneKey("expression", "me", new) not in session.lanes
    assert session.data.summary().text() == "2 tracks, 2 people, faces in 100% of frames"
    session.undo.undo()
    assert [(s.start, s.stop) for s in session.lane(LaneKey("expression", "me", new)).segments] == [(35, 39)]


def test_two_faces_in_one_frame_are_never_merged(session, two_faces):
    _, rows = two_faces
    left, right = _left_right(rows)
    with pytest.raises(TrackError, match="both in frame 0"):
        session.merge_tracks(left, right)
    assert session.store.track_edits(session.video.hash, ANALYSIS) == [] and not session.undo.can_undo


def test_a_merge_that_would_overlap_lanes_is_refused_and_changes_nothing(session, two_faces):
    _, rows = two_faces
    left, _ = _left_right(rows)
    new = session.split_track(left, 30)
    session.add_segment(LaneKey("expression", "me", left), Segment(0, 59, "Neutral"))
    session.add_segment(LaneKey("expression", "me", new), Segment(40, 45, "Fear"))
    with pytest.raises(TrackError, match="clear one first"):
        session.merge_tracks(left, new)
    assert len(session.store.track_edits(session.video.hash, ANALYSIS)) == 1
    assert [
        (s.start, s.stop)
        for s in session.store.segments(session.video.hash, LaneKey("expression", "me", new))
    ] == [(40, 45)]


def cli(capsys, *argv):
    code = main(["project", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_splits_rejects_and_refuses(two_faces, tmp_path, capsys):
    video, rows = two_faces
    left, right = _left_right(rows)
    project = tmp_path / "study.affectproj"
    assert cli(capsys, "new", project)[0] == 0
    assert cli(capsys, "add", project, video)[0] == 0
    code, _, err = cli(capsys, "tracks", project, video)
    assert code == 2 and "not analysed yet" in err
    with ProjectStore(project) as store:
        record = store.video(video)
        store.save_results(record.hash, "m", "untrained", rows)
        store.add_segment(record.hash, LaneKey("expression", "me", left), Segment(20, 40, "Happiness"))
    code, out, _ = cli(capsys, "tracks", project, video)
    assert code == 0 and f"track {left}: {FRAMES} frames" in out
    assert out.strip().endswith("2 tracks, 2 people, faces in 100% of frames")
    code, out, _ = cli(capsys, "tracks", project, video, "--split", left, 30)
    assert code == 0 and f"split track {left} at frame 30" in out
    new = max(left, right) + 1
    assert f"track {new}: 30 frames with a face, frames 30..59" in out
    code, out, _ = cli(capsys, "tracks", project, video, "--reject", right)
    assert out.strip().endswith("3 tracks, 2 people after rejects, faces in 100% of frames")
    code, _, err = cli(capsys, "tracks", project, video, "--merge", left, 7)
    assert code == 2 and "no face track 7" in err
    with ProjectStore(project) as store:
        record = store.video(video)
        assert [e.kind for e in store.track_edits(record.hash, ANALYSIS)] == ["split", "reject"]
        assert [(s.start, s.stop) for s in store.segments(record.hash, LaneKey("expression", "me", new))] == [
            (30, 40)
        ]


def test_nothing_to_correct_without_results(two_faces, tmp_path):
    video, _ = two_faces
    with ProjectStore(tmp_path / "empty.affectproj") as store:
        session = ReviewSession(store)
        with pytest.raises(TrackError, match="no face tracks"):
            session.reject_track(0)
        session.open_video(video)
        with pytest.raises(TrackError, match="analyse it first"):
            session.split_track(0, 10)
        assert store.track_edits(session.video.hash, ANALYSIS) == []


def test_edits_of_one_analysis_are_not_applied_to_another_of_the_same_video(session, two_faces):
    """Another model or other face options number other faces with the same ids: a track rejected in
    analysis m stays in analysis n, and comes back rejected when m is shown again."""
    _, rows = two_faces
    left, right = _left_right(rows)
    session.store.save_results(session.video.hash, ANALYSIS, "untrained", rows)
    session.store.save_results(session.video.hash, "n", "untrained", rows)
    session.reject_track(right)
    assert session.data.track_ids() == [left]
    session.reset_results()
    session.use_analysis("n")
    session.add_rows(rows)
    assert session.data.track_ids() == [left, right] and session.data.edits == []
    assert session.store.track_edits(session.video.hash, "n") == []
    session.split_track(left, 30)  # an edit of n: stored for n only
    assert [e.kind for e in session.store.track_edits(session.video.hash, "n")] == ["split"]
    session.reset_results()
    session.use_analysis(ANALYSIS)
    session.add_rows(rows)
    assert session.data.track_ids() == [left]
    assert [e.kind for e in session.data.edits] == ["reject"]


def test_results_shown_without_an_analysis_key_cannot_be_edited(two_faces, tmp_path):
    video, rows = two_faces
    with ProjectStore(tmp_path / "p.affectproj") as store:
        session = ReviewSession(store)
        session.open_video(video)
        session.add_rows(rows)
        with pytest.raises(TrackError, match="not from an analysis stored in the project"):
            session.reject_track(_left_right(rows)[1])


def test_cli_edits_the_latest_analysis_only(two_faces, tmp_path, capsys):
    video, rows = two_faces
    _, right = _left_right(rows)
    project = tmp_path / "study.affectproj"
    assert cli(capsys, "new", project)[0] == 0 and cli(capsys, "add", project, video)[0] == 0
    with ProjectStore(project) as store:
        store.save_results(store.video(video).hash, "old", "untrained", rows)
    assert cli(capsys, "tracks", project, video, "--reject", right)[0] == 0
    with ProjectStore(project) as store:
        store.save_results(store.video(video).hash, "new", "untrained", rows)  # a re-analysis
    code, out, _ = cli(capsys, "tracks", project, video)
    assert code == 0 and out.strip().endswith("2 tracks, 2 people, faces in 100% of frames")
    assert "edit" not in out


def test_a_schema_3_project_keeps_its_edits_on_the_latest_analysis(tmp_path):
    import sqlite3

    from affectstudio.core.project.codec import encode_frame
    from affectstudio.core.project.schema import _V2_TABLES
    from tests.gui_helpers import synthetic_rows

    path = tmp_path / "v3.affectproj"
    db = sqlite3.connect(path)
    for statement in _V2_TABLES:
        db.execute(statement)
    db.execute(  # the table as schema 3 made it, without the analysis it belongs to
        "CREATE TABLE track_edits (id INTEGER PRIMARY KEY AUTOINCREMENT, video_hash TEXT NOT NULL,"
        " kind TEXT NOT NULL, track INTEGER NOT NULL, other INTEGER, frame INTEGER, new_track INTEGER)"
    )
    blob = encode_frame(synthetic_rows(30, tracks=2))
    for video in ("v", "bare"):
        db.execute("INSERT INTO videos VALUES (?, ?, 30, 30.0, 0, 1.0, 0)", (video, f"/nowhere/{video}.mp4"))
    db.execute("INSERT INTO results VALUES ('v', 'older', 'm1', '', 1.0, ?)", (blob,))
    db.execute("INSERT INTO results VALUES ('v', 'latest', 'm2', '', 2.0, ?)", (blob,))
    db.execute(
        "INSERT INTO track_edits (video_hash, kind, track, frame, new_track) VALUES ('v','split',0,9,5)"
    )
    db.execute("INSERT INTO track_edits (video_hash, kind, track) VALUES ('v', 'reject', 1)")
    db.execute("INSERT INTO track_edits (video_hash, kind, track) VALUES ('bare', 'reject', 0)")
    db.execute("PRAGMA user_version=3")
    db.commit()
    db.close()
    with ProjectStore(path, create=False) as store:
        assert [(e.kind, e.track, e.frame, e.new_track) for e in store.track_edits("v", "latest")] == [
            ("split", 0, 9, 5),
            ("reject", 1, None, None),
        ]
        assert store.track_edits("v", "older") == [] and store.track_edits("bare", "latest") == []
        assert [e.kind for e in store.track_edits("bare", "")] == ["reject"]  # kept, on no analysis
        assert store.latest_results("v").key == "latest"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 4
