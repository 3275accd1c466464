"""Lanes of project videos -> a training set, read back through training/data.py, on the real sample video
analysed by the real detector and network: label values, sentinels, crops that hold the face, append."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from affectstudio.core.annotations.lanes import ANY_TRACK, LaneKey, Segment
from affectstudio.core.dataset_export import export_project, face_crop, manifest_of
from affectstudio.core.errors import AnnotationError
from affectstudio.core.faces import FaceDetector
from affectstudio.core.jobs import Cancelled, JobState
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS, INVALID_AU, INVALID_EXPR, INVALID_VA
from affectstudio.core.project import ProjectStore
from affectstudio.core.video import VideoReader
from tests.videos import write_frames
from training.data import load_split

pytestmark = pytest.mark.slow  # analyses real video with the real network on the CPU

ANN = "rater"


@pytest.fixture(scope="module")
def analysed(sample_video, tmp_path_factory):
    """The sample clip and a two-face clip (a full-size face left, a smaller copy right), both analysed."""
    from affectstudio.core.analysis import AnalysisOptions, analyze
    from affectstudio.core.model.checkpoint import untrained_model

    folder = tmp_path_factory.mktemp("videos")
    sample = shutil.copy(sample_video, folder / "talk.mp4")
    with VideoReader(sample) as reader:
        frames = [f.image for f in reader.frames(0, 16)]
    height, width = frames[0].shape[:2]
    pairs = []
    for image in frames:
        small = cv2.resize(image, (width * 3 // 4, height * 3 // 4), interpolation=cv2.INTER_AREA)
        right = np.zeros_like(image)
        right[height - small.shape[0] :, : small.shape[1]] = small
        pair = np.hstack([image, right])
        pairs.append(pair[:, : pair.shape[1] // 2 * 2])
    two = write_frames(folder / "two.mp4", pairs)
    loaded = untrained_model(seed=1)
    options = AnalysisOptions(batch_size=16, fast=False, faces="all")
    return {path: analyze(path, None, options, loaded=loaded).table.df for path in (sample, two)}


def project(tmp_path, analysed):
    store = ProjectStore(tmp_path / "study.affectproj")
    hashes = {}
    for path, rows in analysed.items():
        record = store.add_video(path)
        store.save_results(record.hash, "m", "untrained", rows)
        hashes[path.stem] = record.hash
    return store, hashes


def label_talk(store, video):
    expression, au12, au4 = (LaneKey(n, ANN, 0) for n in ("expression", "AU12", "AU4"))
    store.add_segment(video, expression, Segment(10, 29, "Happiness"))
    store.add_segment(video, expression, Segment(30, 34, "Surprise"))
    va = np.stack([np.linspace(-0.9, 0.9, 20), np.linspace(0.5, -0.5, 20)], 1)
    store.write_va(video, ANN, 0, 20, va)
    store.add_segment(video, au12, Segment(30, 49, 1))
    store.add_segment(video, au4, Segment(30, 49, 0))
    store.add_segment(video, LaneKey("exclusion", ANN, ANY_TRACK), Segment(45, 49))
    store.add_segment(video, LaneKey("event", ANN, 0), Segment(12, 12, "laughs"))
    return va


def by_image(table):
    return {image: i for i, image in enumerate(table.images)}


def test_affwild_export_reads_back_with_every_label_value(tmp_path, analysed):
    store, videos = project(tmp_path, analysed)
    va = label_talk(store, videos["talk"])
    summary = export_project(store, tmp_path / "set", [videos["talk"]])
    # frames 10..49 labelled, 45..49 excluded: 35; the last 20% in time order validate
    assert (summary.train_frames, summary.validation_frames) == (28, 7)
    assert summary.skipped_no_face == 0
    train, validation = load_split(tmp_path / "set", "train"), load_split(tmp_path / "set", "validation")
    assert train.images[0] == "talk/00011.jpg" and train.images[-1] == "talk/00038.jpg"
    assert validation.images == [f"talk/{f + 1:05d}.jpg" for f in range(38, 45)]
    rows = by_image(train)
    happy = rows["talk/00011.jpg"]
    assert train.expr[happy] == EXPRESSIONS.index("Happiness")
    assert (train.va[happy] == INVALID_VA).all() and (train.au[happy] == INVALID_AU).all()
    mixed = rows["talk/00026.jpg"]  # frame 25: Happiness and VA
    np.testing.assert_allclose(train.va[mixed], va[5], atol=1e-5)
    surprised = rows["talk/00032.jpg"]  # frame 31: Surprise, VA, AU12 on, AU4 off, other AUs blank
    assert train.expr[surprised] == EXPRESSIONS.index("Surprise")
    assert (
        train.au[surprised][ACTION_UNITS.index("AU12")] == 1
        and train.au[surprised][ACTION_UNITS.index("AU4")] == 0
    )
    assert (
        np.delete(train.au[surprised], [ACTION_UNITS.index("AU12"), ACTION_UNITS.index("AU4")]) == -1
    ).all()
    late = by_image(validation)["talk/00045.jpg"]  # frame 44: AUs only
    assert validation.expr[late] == INVALID_EXPR and (validation.va[late] == INVALID_VA).all()
    assert validation.au[late][ACTION_UNITS.index("AU12")] == 1
    lines = (tmp_path / "set" / "training_set_annotations.txt").read_text().splitlines()
    assert lines[0].split(",") == ["image", "valence", "arousal", "expression", *ACTION_UNITS]
    assert lines[1] == "talk/00011.jpg,-5,-5,4," + ",".join(["-1"] * 12)


def test_each_crop_holds_the_analysed_face(tmp_path, analysed):
    store, videos = project(tmp_path, analysed)
    label_talk(store, videos["talk"])
    export_project(store, tmp_path / "set", [videos["talk"]])
    rows = analysed[next(p for p in analysed if p.stem == "talk")]
    crops = sorted((tmp_path / "set" / "cropped_aligned" / "talk").glob("*.jpg"))
    assert len(crops) == 35
    with FaceDetector("short") as detector, VideoReader(store.videos()[0].path) as reader:
        for crop_path in crops:
            crop = cv2.cvtColor(cv2.imread(str(crop_path)), cv2.COLOR_BGR2RGB)
            faces = detector.detect(crop)
            assert faces, f"no face found in {crop_path.name}"
            box = max(faces, key=lambda f: f.box.area).box
            assert box.area > 0.3 * 112 * 112  # the face fills the crop
            assert abs((box.x0 + box.x1) / 2 - 56) < 20 and abs((box.y0 + box.y1) / 2 - 56) < 25
            frame = int(crop_path.stem) - 1
            analysed_box = rows[rows["frame"] == frame][["x0", "y0", "x1", "y1"]].to_numpy()[0]
            expected = face_crop(reader.read(frame).image, analysed_box)
            assert np.abs(crop.astype(int) - expected).mean() < 4  # the same crop, up to JPEG


def test_labels_follow_their_track_and_any_track_takes_the_largest_face(tmp_path, analysed):
    store, videos = project(tmp_path, analysed)
    two = videos["two"]
    rows = analysed[next(p for p in analysed if p.stem == "two")]
    tracks = sorted(rows.loc[rows["track_id"] >= 0, "track_id"].unique())
    assert len(tracks) == 2, "both faces of the two-face clip are tracked"
    width = rows.groupby("track_id").apply(lambda g: (g["x1"] - g["x0"]).mean(), include_groups=False)
    big, small = int(width.idxmax()), int(width.idxmin())
    store.add_segment(two, LaneKey("expression", ANN, small), Segment(0, 7, "Fear"))
    store.add_segment(two, LaneKey("expression", ANN, ANY_TRACK), Segment(8, 15, "Anger"))
    summary = export_project(store, tmp_path / "set", [two], fmt="csv")
    assert set(summary.videos) == {f"two_track{small}", f"two_track{big}"}
    table = load_split(tmp_path / "set", "train")
    for image, expr in zip(table.images, table.expr, strict=True):
        track = small if expr == EXPRESSIONS.index("Fear") else big
        assert image.startswith(f"images/two_track{track}/")
        frame = int(image.rsplit("/", 1)[1][:5]) - 1
        box = rows[(rows["frame"] == frame) & (rows["track_id"] == track)][["x0", "y0", "x1", "y1"]]
        with VideoReader(store.video(two).path) as reader:
            expected = face_crop(reader.read(frame).image, box.to_numpy()[0])
        crop = cv2.cvtColor(cv2.imread(str(tmp_path / "set" / image)), cv2.COLOR_BGR2RGB)
        assert np.abs(crop.astype(int) - expected).mean() < 4
    header = (tmp_path / "set" / "train.csv").read_text().splitlines()[0]
    assert header == "image,expression"  # only the task that has labels


def test_append_replaces_one_videos_rows_and_a_cancel_leaves_the_old_dataset(tmp_path, analysed):
    store, videos = project(tmp_path, analysed)
    label_talk(store, videos["talk"])
    store.add_segment(videos["two"], LaneKey("AU1", ANN, ANY_TRACK), Segment(0, 9, 1))
    folder = tmp_path / "set"
    export_project(store, folder, [videos["talk"]])
    export_project(store, folder, [videos["two"]])
    train = load_split(folder, "train")
    assert {image.split("/")[0] for image in train.images} == {"talk", "two"}
    talk_rows = [i for i in train.images if i.startswith("talk/")]
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    # relabel 'talk' and export it again: its rows are replaced, 'two' stays byte for byte
    store.add_segment(videos["talk"], LaneKey("expression", ANN, 0), Segment(60, 69, "Sadness"))
    summary = export_project(store, folder, [videos["talk"]])
    assert summary.videos == {"talk": (36, 9)}
    train = load_split(folder, "train")
    assert len([i for i in train.images if i.startswith("talk/")]) == 36 != len(talk_rows)
    assert len(set(train.images)) == len(train.images)
    for path, data in before.items():
        if "/two/" in str(path):
            assert path.read_bytes() == data
    # a cancelled (or crashed) export leaves the dataset exactly as it was
    now = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    store.add_segment(videos["talk"], LaneKey("expression", ANN, 0), Segment(80, 99, "Fear"))
    state = JobState(on_progress=lambda p: state.cancel() if p.done >= 5 else None)
    with pytest.raises(Cancelled):
        export_project(store, folder, [videos["talk"]], state=state)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == now
    assert not [p for p in folder.rglob(".*")]
    assert set(manifest_of(folder)) == {videos["talk"], videos["two"]}


def test_bad_exports_are_refused(tmp_path, analysed):
    store, videos = project(tmp_path, analysed)
    with pytest.raises(AnnotationError, match="no labelled frame"):
        export_project(store, tmp_path / "empty", [videos["talk"]])
    assert not (tmp_path / "empty").exists()  # a refused export leaves nothing behind
    label_talk(store, videos["talk"])
    export_project(store, tmp_path / "set", [videos["talk"]], fmt="csv")
    with pytest.raises(AnnotationError, match="holds a csv dataset"):
        export_project(store, tmp_path / "set", [videos["talk"]], fmt="affwild")
    with pytest.raises(AnnotationError, match="no video nope"):
        export_project(store, tmp_path / "set", ["nope"])
    store.forget_results(videos["talk"])
    with pytest.raises(AnnotationError, match="talk: not analysed: 35"):
        export_project(store, tmp_path / "other", [videos["talk"]])
