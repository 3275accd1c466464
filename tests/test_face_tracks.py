"""Face tracks in whole videos: one track through an occlusion, no track for a face that never moves, and
`--save-crops` writing exactly the crops the network was given."""

from __future__ import annotations

import numpy as np
import pytest

from affectstudio.core.analysis import AnalysisOptions, analyze
from affectstudio.core.crops_folder import crop_path, read_crop
from affectstudio.core.engine import InferenceEngine
from affectstudio.core.model.checkpoint import untrained_model
from affectstudio.core.results import NO_FACE, ResultTable
from affectstudio.core.tracking import main_track
from affectstudio.core.video import VideoReader
from tests.videos import write_frames

GAP = range(50, 70)  # 20 frames


@pytest.fixture(scope="module")
def loaded():
    return untrained_model(seed=2)


@pytest.fixture(scope="module")
def frames(sample_video):
    with VideoReader(sample_video) as reader:
        return [np.ascontiguousarray(frame.image[:, :192]) for frame in reader]  # H.264: even width


def _run(path, loaded, tmp_path, **options):
    options = AnalysisOptions(batch_size=16, fast=False, **options)
    result = analyze(path, tmp_path / "out.csv", options, loaded=loaded)
    return ResultTable.from_csv(result.csv_path).df


def test_a_face_hidden_for_20_frames_stays_one_track(frames, loaded, tmp_path):
    """A hand over the face: the frames of the gap are rows without a face, and the face comes back with
    its old id (the old tracker forgot a face after 10 missed frames and gave it a new one)."""
    covered = [image.copy() for image in frames]
    for index in GAP:
        covered[index][:] = (120, 110, 100)  # the whole picture covered
    video = write_frames(tmp_path / "occluded.mp4", covered, fps=25)
    df = _run(video, loaded, tmp_path, faces="all", crop_method="box")
    gap_rows = df[df["frame"].isin(GAP)]
    assert (gap_rows["track_id"] == NO_FACE).all() and gap_rows["valence"].isna().all()
    seen = df[~df["frame"].isin(GAP)]
    assert set(seen["track_id"]) == {0}, "one person, one track"
    assert len(seen) == len(frames) - len(GAP)


def test_a_face_that_never_moves_is_dropped(frames, loaded, tmp_path):
    """Beside the moving face, a frozen copy of it (a poster, a title card): after about a second its
    track is rejected, while the real face is kept to the end."""
    still = frames[0]
    frames = frames[:60]
    video = write_frames(tmp_path / "poster.mp4", [np.hstack([image, still]) for image in frames], fps=25)
    df = _run(video, loaded, tmp_path, faces="all", crop_method="box")
    real = df[(df["x0"] < 192)]
    poster = df[(df["x0"] >= 192)]
    assert set(real["frame"]) == set(range(len(frames)))
    assert len(set(real["track_id"])) == 1 and len(set(poster["track_id"])) == 1
    assert 0 < poster["frame"].max() <= 30, "rejected after about a second (25 frames at 25 fps)"


@pytest.mark.parametrize("method", ["aligned-5pt", "box"])
def test_saved_crops_are_the_crops_the_network_saw(sample_video, loaded, tmp_path, monkeypatch, method):
    given = []
    real_predict = InferenceEngine.predict

    def recording(self, crops):
        given.extend(np.array(crop) for crop in crops)
        return real_predict(self, crops)

    monkeypatch.setattr(InferenceEngine, "predict", recording)
    folder = tmp_path / "crops"
    df = _run(sample_video, loaded, tmp_path, crop_method=method, save_crops=str(folder))
    faces = df[df["track_id"] != NO_FACE]
    assert len(given) == len(faces) == 120
    for (_, row), crop in zip(faces.iterrows(), given, strict=True):
        saved = read_crop(crop_path(folder, int(row.track_id), int(row.frame)))
        assert saved.dtype == crop.dtype and saved.shape == crop.shape == (112, 112, 3)
        assert saved.tobytes() == crop.tobytes()
    assert sorted(p.name for p in (folder / "track_0").iterdir())[:2] == ["000000.png", "000001.png"]


def test_the_main_track_is_the_one_with_most_frames():
    assert main_track({0: 40, 1: 300, 2: 300}) == 1  # a title card's letter was track 0
    assert main_track({}) is None
