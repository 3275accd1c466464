"""The project store: videos by content, cached results by video + model key, track names, annotations."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.project import (
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
    path = tmp_path / "project.sqlite3"
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
        store.forget_results("v1")
        assert store.load_results("v1", "model-a") is None


def test_track_names_rename_and_reset(tmp_path):
    with ProjectStore(tmp_path / "p.sqlite3") as store:
        store.rename_track("v", 0, "  Interviewer ")
        store.rename_track("v", 3, "Child")
        assert store.track_names("v") == {0: "Interviewer", 3: "Child"}
        store.rename_track("v", 3, "")
        assert store.track_names("v") == {0: "Interviewer"}
        assert store.track_names("other") == {}


def test_annotations_are_ordered_and_removable(tmp_path):
    with ProjectStore(tmp_path / "p.sqlite3") as store:
        late = store.add_annotation("v", 0, 50, 40, expression="Happiness")
        store.add_annotation("v", 0, 10, 20, valence=0.5, arousal=-0.2, note="laughs")
        spans = store.annotations("v")
        assert [(a.start_frame, a.stop_frame) for a in spans] == [(10, 20), (40, 50)]
        assert spans[0].valence == 0.5 and spans[0].note == "laughs"
        store.remove_annotation(late)
        assert len(store.annotations("v")) == 1


def test_a_write_interrupted_mid_transaction_leaves_the_old_state(tmp_path):
    path = tmp_path / "p.sqlite3"
    with ProjectStore(path) as store:
        store.save_results("v", "m", "first", result_rows())
    raw = sqlite3.connect(path)
    raw.execute("BEGIN")
    raw.execute("DELETE FROM results")
    raw.close()  # closing without commit: what a crash leaves behind
    with ProjectStore(path) as store:
        assert store.load_results("v", "m").model_name == "first"


def test_a_file_that_is_not_a_project_raises_project_error(tmp_path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectError, match=r"bad\.sqlite3"):
        ProjectStore(bad)
