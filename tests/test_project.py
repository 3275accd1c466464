"""The project store: videos by content, cached results per model, lanes, overlays, migrations, faults."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.errors import AffectStudioError, AnnotationError
from affectstudio.core.project import (
    SCHEMA_VERSION,
    ProjectError,
    ProjectStore,
    decode_frame,
    encode_frame,
    video_fingerprint,
)


def result_rows(frames: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "frame": np.arange(frames),
            "time": np.arange(frames) / 25.0,
            "track_id": np.where(np.arange(frames) == 2, -1, 0),
            "valence": np.where(np.arange(frames) == 2, np.nan, rng.uniform(-1, 1, frames)),
            "expression": ["Happiness", "Neutral", "", "Anger", "Fear", "Other"][:frames],
            "AU1_active": pd.array([1, 0, None, 1, 0, 1][:frames], dtype="Int8"),
        }
    )


def test_encode_decode_round_trip_keeps_types_and_missing_values():
    rows = result_rows()
    pd.testing.assert_frame_equal(decode_frame(encode_frame(rows)), rows)


def test_fingerprint_follows_content_not_name(tmp_path, sample_video):
    copy = tmp_path / "renamed.mp4"
    shutil.copy(sample_video, copy)
    assert video_fingerprint(copy) == video_fingerprint(sample_video)
    with copy.open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02")
    assert video_fingerprint(copy) != video_fingerprint(sample_video)


def test_fingerprint_of_missing_file_names_it(tmp_path):
    with pytest.raises(AffectStudioError, match=r"missing\.mp4"):
        video_fingerprint(tmp_path / "missing.mp4")


def test_results_are_cached_per_video_and_model(tmp_path):
    path = tmp_path / "p.affectproj"
    with ProjectStore(path) as store:
        store.remember_video("v1", tmp_path / "a.mp4", 6, 25.0)
        store.save_results("v1", "model-a", "stock", result_rows(), ["va", "au"])
        assert store.load_results("v1", "model-b") is None
        assert store.load_results("v2", "model-a") is None
    with ProjectStore(path) as store:  # survives reopening
        cached = store.load_results("v1", "model-a")
        assert cached.model_name == "stock" and cached.untrained_tasks == ["va", "au"]
        pd.testing.assert_frame_equal(cached.frame, result_rows())
        assert store.video_path("v1") == tmp_path / "a.mp4"
        assert store.result_models("v1") == {"model-a": "stock"}
        store.forget_results("v1")
        assert store.load_results("v1", "model-a") is None


def test_track_names_and_annotators(tmp_path):
    with ProjectStore(tmp_path / "p.affectproj") as store:
        store.rename_track("v", 0, "  Interviewer ")
        store.rename_track("v", 3, "Child")
        assert store.track_names("v") == {0: "Interviewer", 3: "Child"}
        store.rename_track("v", 3, "")
        assert store.track_names("v") == {0: "Interviewer"}
        store.add_annotator("rater-b")
        store.add_segment("v", LaneKey("event", "rater-a"), Segment(3, 3, "door"))
        assert store.annotators() == ["rater-b", "rater-a"]
        with pytest.raises(AnnotationError):
            store.add_annotator("  ")


def test_every_lane_type_round_trips_through_a_reopen(tmp_path):
    path = tmp_path / "p.affectproj"
    expression, au = LaneKey("expression", "ann", 2), LaneKey("AU12", "ann", 2)
    event, exclusion = LaneKey("event", "ann"), LaneKey("exclusion", "bob", 0)
    va = np.full((3000, 2), np.nan, np.float32)
    va[5:2500] = np.stack([np.linspace(-1, 1, 2495), np.linspace(1, -0.5, 2495)], 1)
    with ProjectStore(path) as store:
        store.remember_video("v", tmp_path / "v.mp4", 3000, 30.0)
        happy = store.add_segment("v", expression, Segment(10, 40, "Happiness", "smiles"))
        store.add_segment("v", expression, Segment(41, 41, "Neutral"))
        store.add_segment("v", au, Segment(0, 99, 1))
        store.add_segment("v", au, Segment(100, 120, "0"))
        store.add_segment("v", event, Segment(7, 7, "door slams"))
        store.add_segment("v", exclusion, Segment(200, 300, "ignored"))
        store.write_va("v", "ann", 2, 0, va)
    with ProjectStore(path) as store:
        assert store.segments("v", expression) == [
            Segment(10, 40, "Happiness", "smiles", happy.id),
            Segment(41, 41, "Neutral", "", happy.id + 1),
        ]
        assert [(s.start, s.stop, s.value) for s in store.segments("v", au)] == [(0, 99, 1), (100, 120, 0)]
        assert [s.value for s in store.segments("v", event)] == ["door slams"]
        assert [s.value for s in store.segments("v", exclusion)] == [None]
        valence = store.lane("v", LaneKey("valence", "ann", 2)).trace
        arousal = store.trace("v", LaneKey("arousal", "ann", 2))
        assert valence.dtype == np.float32 and len(valence) == 3000
        np.testing.assert_array_equal(valence, va[:, 0])
        np.testing.assert_array_equal(arousal, va[:, 1])
        keys = set(store.lane_keys("v"))
        assert keys == {
            expression,
            au,
            event,
            exclusion,
            LaneKey("valence", "ann", 2),
            LaneKey("arousal", "ann", 2),
        }
        per_frame = store.lane("v", expression).per_frame(3000)
        assert per_frame[10] == 4 and per_frame[41] == 0 and per_frame[9] == -1
        # compact: three chunks of 1024 frames hold labels, nothing else is stored
        chunks = store._db.execute("SELECT COUNT(*) FROM trace_chunks").fetchone()[0]
        assert chunks == 2 * 3
        store.write_va("v", "ann", 2, 0, np.full((3000, 2), np.nan))
        assert store._db.execute("SELECT COUNT(*) FROM trace_chunks").fetchone()[0] == 0


@pytest.mark.parametrize(
    "write, message",
    [
        (
            lambda s: s.add_segment("v", LaneKey("expression"), Segment(0, 5, "Joy")),
            "unknown expression 'Joy'",
        ),
        (lambda s: s.add_segment("v", LaneKey("AU4"), Segment(0, 5, 2)), "on \\(1\\) or off \\(0\\)"),
        (lambda s: s.add_segment("v", LaneKey("event"), Segment(0, 5, "x")), "one frame"),
        (lambda s: s.add_segment("v", LaneKey("valence"), Segment(0, 5, 0.3)), "holds a trace"),
        (lambda s: s.add_segment("v", LaneKey("AU4"), Segment(0, 500, 1)), "ends past the video"),
        (lambda s: s.write_va("v", "me", 0, 10, [[0.5, np.nan]]), "frame 10: valence and arousal"),
        (lambda s: s.write_va("v", "me", 0, 10, [[0.5, 1.5]]), "must lie in \\[-1, 1\\]"),
        (lambda s: s.write_va("v", "me", 0, 99, [[0.5, 0.5], [0.1, 0.1]]), "outside the video"),
        (lambda s: s.add_annotation("v", 0, 0, 3, valence=0.2), "valence and arousal"),
        (lambda s: s.add_annotation("v", 0, 0, 3, expression="happy"), "unknown expression"),
        (lambda s: s.add_annotation("v", 0, 0, 3), "nothing to annotate"),
    ],
)
def test_the_store_refuses_invalid_labels(tmp_path, write, message):
    with ProjectStore(tmp_path / "p.affectproj") as store:
        store.remember_video("v", tmp_path / "v.mp4", 100, 25.0)
        with pytest.raises(AnnotationError, match=message) as error:
            write(store)
        assert "p.affectproj" in str(error.value)
        assert store.lane_keys("v") == []


def test_overlapping_segments_are_refused_at_the_store(tmp_path):
    with ProjectStore(tmp_path / "p.affectproj") as store:
        first = store.add_segment("v", LaneKey("expression"), Segment(10, 20, "Fear"))
        with pytest.raises(AnnotationError, match=f"overlaps segment {first.id}"):
            store.add_segment("v", LaneKey("expression"), Segment(20, 30, "Anger"))
        store.add_segment("v", LaneKey("expression", track_id=1), Segment(20, 30, "Anger"))  # other lane
        store.update_segment("v", LaneKey("expression"), first.with_(stop=25))  # itself is no overlap


def test_legacy_span_view_for_the_current_window(tmp_path):
    with ProjectStore(tmp_path / "p.affectproj") as store:
        late = store.add_annotation("v", 0, 50, 40, expression="Happiness")
        store.add_annotation("v", 0, 10, 20, valence=0.5, arousal=-0.2, note="laughs")
        store.add_annotation("v", 1, 5, 9, expression="Anger", valence=-0.4, arousal=0.7)
        spans = store.annotations("v")
        assert [
            (a.track_id, a.start_frame, a.stop_frame, a.expression, a.valence, a.arousal, a.note)
            for a in spans
        ] == [
            (1, 5, 9, "Anger", -0.4, 0.7, ""),
            (0, 10, 20, None, 0.5, -0.2, "laughs"),
            (0, 40, 50, "Happiness", None, None, ""),
        ]
        store.remove_annotation(late)
        store.remove_annotation(spans[1].id, "v")
        assert [a.expression for a in store.annotations("v")] == ["Anger"]
        assert store.lane_keys("v") == [LaneKey(n, "me", 1) for n in ("arousal", "expression", "valence")]


def test_videos_are_added_relinked_by_content_and_reported_missing(tmp_path, sample_video):
    clip = tmp_path / "clip.mp4"
    shutil.copy(sample_video, clip)
    with ProjectStore(tmp_path / "p.affectproj") as store:
        record = store.add_video(clip)
        assert (record.frame_count, record.hash) == (120, video_fingerprint(sample_video))
        assert record.fps > 0 and record.duration == pytest.approx(120 / record.fps, rel=0.05)
        store.save_results(record.hash, "m", "stock", result_rows())
        store.add_segment(record.hash, LaneKey("expression", "a", 0), Segment(0, 9, "Neutral"))
        store.write_va(record.hash, "a", 0, 5, np.full((20, 2), 0.25))
        moved = tmp_path / "moved" / "clip.mp4"
        moved.parent.mkdir()
        clip.rename(moved)
        assert [r.hash for r in store.missing_videos()] == [record.hash]
        other = tmp_path / "other.mp4"
        other.write_bytes(b"not the same video")
        with pytest.raises(ProjectError, match=r"is not the same video as clip\.mp4"):
            store.relink(clip, other)
        with pytest.raises(ProjectError, match="no video"):
            store.relink("nope", moved)
        assert store.relink(clip, moved).path == moved
        assert store.missing_videos() == []
        (status,) = store.video_status()
        assert status.exists and status.models == ["stock"]
        assert status.annotated == {
            LaneKey("expression", "a", 0): 10,
            LaneKey("valence", "a", 0): 20,
            LaneKey("arousal", "a", 0): 20,
        }


def test_overlays_round_trip(tmp_path):
    frame = pd.DataFrame(
        {"frame": np.arange(4), "AU12_r": [0.0, 1.5, np.nan, 2.0], "face": ["a", "b", "", "d"]}
    )
    with ProjectStore(tmp_path / "p.affectproj") as store:
        store.save_overlay("v", "openface", "openface", tmp_path / "of.csv", frame)
    with ProjectStore(tmp_path / "p.affectproj") as store:
        (listed,) = store.overlays("v")
        assert (listed.name, listed.fmt, listed.source, listed.frame) == (
            "openface",
            "openface",
            str(tmp_path / "of.csv"),
            None,
        )
        pd.testing.assert_frame_equal(store.load_overlay("v", "openface").frame, frame)
        store.remove_overlay("v", "openface")
        assert store.overlays("v") == [] and store.load_overlay("v", "openface") is None


class Unprintable:
    def __str__(self):
        raise ValueError("cannot encode this cell")


def test_save_results_failing_while_encoding_keeps_the_old_row(tmp_path):
    """The encode runs after the old row's DELETE inside the transaction: a failure there must roll back."""
    path = tmp_path / "p.affectproj"
    with ProjectStore(path) as store:
        store.save_results("v", "m", "first", result_rows())
        broken = result_rows().astype({"expression": object})
        broken.loc[3, "expression"] = Unprintable()
        with pytest.raises(ValueError, match="cannot encode"):
            store.save_results("v", "m", "second", broken)
        assert store.load_results("v", "m").model_name == "first"
    with ProjectStore(path) as store:
        pd.testing.assert_frame_equal(store.load_results("v", "m").frame, result_rows())


def test_save_results_on_a_full_disk_keeps_the_old_row_and_says_so(tmp_path):
    """SQLite's own 'disk full' on the INSERT (a page limit stands in for the disk) after the DELETE."""
    path = tmp_path / "p.affectproj"
    with ProjectStore(path) as store:
        store.save_results("v", "m", "first", result_rows())
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count={pages + 2}")
        noisy = pd.DataFrame({"x": np.random.default_rng(1).random(200_000)})
        with pytest.raises(ProjectError, match=r"cannot write the project .*full"):
            store.save_results("v", "m", "second", noisy)
        assert store.load_results("v", "m").model_name == "first"
    with ProjectStore(path) as store:
        assert store.load_results("v", "m").model_name == "first"


HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
"""


def test_a_project_busy_in_another_process_says_so(tmp_path):
    path = tmp_path / "p.affectproj"
    with ProjectStore(path) as store:
        store.remember_video("v", tmp_path / "v.mp4", 10, 25.0)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with ProjectStore(path, timeout=0.2) as store:  # reading works while the other one writes
            assert store.frame_count("v") == 10
            with pytest.raises(ProjectError, match="is open in another AffectStudio window or process"):
                store.add_segment("v", LaneKey("event"), Segment(1, 1, "x"))
    finally:
        holder.communicate("\n", timeout=10)
    with ProjectStore(path, timeout=0.2) as store:
        store.add_segment("v", LaneKey("event"), Segment(1, 1, "x"))


def test_a_v1_file_busy_in_another_process_is_not_called_unusable(tmp_path):
    path = tmp_path / "old.sqlite3"
    make_v1_file(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ProjectError, match="is open in another AffectStudio window or process"):
            ProjectStore(path, timeout=0.2)
    finally:
        holder.communicate("\n", timeout=10)


def test_files_that_are_not_projects_are_refused(tmp_path):
    bad = tmp_path / "bad.affectproj"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectError, match=r"bad\.affectproj: not a usable project file"):
        ProjectStore(bad)
    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("CREATE TABLE things (x)").connection.commit()
    with pytest.raises(ProjectError, match=r"not an AffectStudio project.*things"):
        ProjectStore(foreign)
    newer = tmp_path / "newer.affectproj"
    ProjectStore(newer).close()
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ProjectError, match="newer AffectStudio"):
        ProjectStore(newer)
    with pytest.raises(ProjectError, match="project not found"):
        ProjectStore(tmp_path / "missing.affectproj", create=False)
    with pytest.raises(ProjectError, match="already exists"):
        ProjectStore.create(newer)


# the v1 schema, exactly as version 1 of the app created it
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    hash TEXT PRIMARY KEY, path TEXT NOT NULL, frame_count INTEGER, fps REAL, last_opened REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    video_hash TEXT NOT NULL, model_digest TEXT NOT NULL, model_name TEXT NOT NULL,
    untrained_tasks TEXT NOT NULL, created REAL NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (video_hash, model_digest)
);
CREATE TABLE IF NOT EXISTS track_names (
    video_hash TEXT NOT NULL, track_id INTEGER NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (video_hash, track_id)
);
CREATE TABLE IF NOT EXISTS annotations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, video_hash TEXT NOT NULL, track_id INTEGER NOT NULL,
    start_frame INTEGER NOT NULL, stop_frame INTEGER NOT NULL, expression TEXT,
    valence REAL, arousal REAL, note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS annotations_by_video ON annotations (video_hash, start_frame);
"""

V1_SPANS = [  # (video, track, start, stop, expression, valence, arousal, note), in the order they were made
    ("v", 0, 10, 29, "Happiness", 0.6, 0.2, "smiles"),
    ("v", 0, 25, 34, None, -0.3, 0.5, ""),  # overrides VA on 25-29, keeps the expression
    ("v", 0, 30, 39, "Surprise", None, None, ""),
    ("v", 0, 35, 36, "Anger", None, None, "brief"),  # splits the Surprise run
    ("v", -1, 0, 4, "Contempt", 0.1, 0.1, "typo"),  # not an ABAW class: kept as an event
    ("v", 3, 50, 60, None, 0.4, None, ""),  # valence without arousal: kept as an event
    ("w", 1, 0, 0, None, None, None, "only a note"),
]


def make_v1_file(path):
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    db.execute("PRAGMA user_version=1")
    db.execute("INSERT INTO videos VALUES ('v', '/data/v.mp4', 100, 25.0, 1.0)")
    db.execute("INSERT INTO results VALUES ('v', 'm', 'stock', 'au', 2.0, ?)", (encode_frame(result_rows()),))
    db.execute("INSERT INTO track_names VALUES ('v', 0, 'Mother')")
    for span in V1_SPANS:
        db.execute(
            "INSERT INTO annotations (video_hash, track_id, start_frame, stop_frame, expression, valence,"
            " arousal, note) VALUES (?,?,?,?,?,?,?,?)",
            span,
        )
    db.commit()
    db.close()


def test_v1_file_migrates_its_spans_into_lanes(tmp_path):
    path = tmp_path / "project.sqlite3"
    make_v1_file(path)
    with ProjectStore(path) as store:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        pd.testing.assert_frame_equal(store.load_results("v", "m").frame, result_rows())
        assert store.track_names("v") == {0: "Mother"}
        (video,) = store.videos()
        assert (video.frame_count, video.duration) == (100, 4.0)
        expression = store.segments("v", LaneKey("expression", "me", 0))
        assert [(s.start, s.stop, s.value, s.note) for s in expression] == [
            (10, 29, "Happiness", "smiles"),
            (30, 34, "Surprise", ""),
            (35, 36, "Anger", "brief"),
            (37, 39, "Surprise", ""),
        ]
        valence = store.trace("v", LaneKey("valence", "me", 0))
        arousal = store.trace("v", LaneKey("arousal", "me", 0))
        assert len(valence) == 100
        np.testing.assert_allclose(valence[10:25], 0.6)
        np.testing.assert_allclose(arousal[25:35], 0.5)
        assert np.isnan(valence[:10]).all() and np.isnan(valence[35:]).all()
        events = store.segments("v", LaneKey("event", "me", -1))
        assert len(events) == 1 and "Contempt" in events[0].value and "typo" in events[0].value
        assert store.segments("v", LaneKey("expression", "me", -1)) == []
        np.testing.assert_allclose(store.trace("v", LaneKey("valence", "me", -1))[:5], 0.1)
        (lonely,) = store.segments("v", LaneKey("event", "me", 3))
        assert "valence 0.4, arousal None" in lonely.value
        assert np.isnan(store.trace("v", LaneKey("valence", "me", 3))).all()
        assert [s.value for s in store.segments("w", LaneKey("event", "me", 1))] == ["only a note"]
        tables = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "annotations" not in tables
    with ProjectStore(path) as store:  # migrating again is a no-op
        assert len(store.segments("v", LaneKey("expression", "me", 0))) == 4
