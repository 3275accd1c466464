"""Faces: real MediaPipe detection on the sample clip, tracks with stable ids, crop geometry."""

from __future__ import annotations

import numpy as np
import pytest

from affectstudio.core.faces import Box, FaceDetector, crop_face
from affectstudio.core.tracking import FaceTracker
from affectstudio.core.video import VideoReader


@pytest.fixture(scope="module")
def sample_frames(sample_video) -> list[np.ndarray]:
    with VideoReader(sample_video) as reader:
        return [frame.image for frame in reader]


@pytest.fixture(scope="module")
def detector():
    with FaceDetector("full") as full_range:
        yield full_range


def _two_faces(left: np.ndarray, right: np.ndarray, shift: int) -> np.ndarray:
    """Two sample frames side by side on a grey canvas, both moved `shift` pixels right and down."""
    height, width = left.shape[:2]
    canvas = np.full((height + 20, 2 * width + 20, 3), 120, dtype=np.uint8)
    canvas[shift : shift + height, shift : shift + width] = left
    canvas[shift : shift + height, width + shift : 2 * width + shift] = right
    return canvas


def test_models_ship_in_the_wheel_and_nothing_is_downloaded(sample_frames, monkeypatch):
    import socket
    from pathlib import Path

    import mediapipe

    folder = Path(mediapipe.__file__).parent / "modules" / "face_detection"
    assert (folder / "face_detection_full_range_sparse.tflite").is_file()
    assert (folder / "face_detection_short_range.tflite").is_file()

    def no_network(*args, **kwargs):
        raise AssertionError("face detection tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    for model_range in ("full", "short"):
        with FaceDetector(model_range) as fresh:
            assert len(fresh.detect(sample_frames[0])) == 1


def test_sample_face_found_in_every_frame_with_one_track(sample_frames, detector):
    tracker = FaceTracker(detector)
    per_frame = [tracker.process(image) for image in sample_frames]
    found = [faces for faces in per_frame if faces]
    assert len(found) >= 118
    assert {face.track_id for faces in per_frame for face in faces} == {0}
    height, width = sample_frames[0].shape[:2]
    for faces in found:
        face = faces[0]
        assert face.detected and 0.5 <= face.score <= 1.0
        assert 0 <= face.box.x0 < face.box.x1 <= width and 0 <= face.box.y0 < face.box.y1 <= height
        # the talker's face fills roughly a third of this small frame
        assert 30 < face.box.width < 100 and 30 < face.box.height < 100


def test_short_range_model_also_finds_the_close_up_face(sample_frames):
    with FaceDetector("short", min_confidence=0.5) as short_range:
        hits = [short_range.detect(image) for image in sample_frames[::10]]
    assert all(len(found) == 1 for found in hits)


def test_detect_every_n_carries_boxes_between_detections(sample_frames, detector):
    tracker = FaceTracker(detector, detect_every=3)
    per_frame = [tracker.process(image) for image in sample_frames[:30]]
    for number, faces in enumerate(per_frame):
        assert len(faces) == 1 and faces[0].track_id == 0
        assert faces[0].detected == (number % 3 == 0)
        if number % 3:
            assert faces[0].box == per_frame[number - number % 3][0].box


def test_two_faces_keep_their_ids_while_moving(sample_frames, detector):
    tracker = FaceTracker(detector)
    lefts = {}
    for step in range(12):
        image = _two_faces(sample_frames[step * 5], sample_frames[60 + step * 5][:, ::-1], shift=step)
        faces = tracker.process(image)
        assert len(faces) == 2, f"step {step}: {faces}"
        for face in faces:
            is_left = (face.box.x0 + face.box.x1) / 2 < image.shape[1] / 2
            assert lefts.setdefault(face.track_id, is_left) == is_left
    assert sorted(lefts) == [0, 1] and sorted(lefts.values()) == [False, True]


def test_face_lost_briefly_keeps_its_id_and_lost_long_gets_a_new_one(sample_frames, detector):
    grey = np.full_like(sample_frames[0], 128)
    tracker = FaceTracker(detector, max_missed=5)
    ids = [
        face.track_id
        for image in [sample_frames[0], grey, grey, sample_frames[3]]
        for face in tracker.process(image)
    ]
    assert ids == [0, 0]
    for _ in range(6):
        assert tracker.process(grey) == []
    assert [face.track_id for face in tracker.process(sample_frames[10])] == [1]


def test_no_face_in_noise_or_flat_grey(detector):
    noise = np.random.default_rng(0).integers(0, 256, size=(240, 320, 3), dtype=np.uint8)
    assert detector.detect(noise) == []
    assert detector.detect(np.full((240, 320, 3), 128, dtype=np.uint8)) == []
    assert FaceTracker(detector).process(noise) == []


def test_detector_rejects_bad_settings_and_images(detector):
    with pytest.raises(ValueError):
        FaceDetector("medium")
    with pytest.raises(ValueError):
        FaceDetector(min_confidence=1.5)
    with pytest.raises(ValueError):
        detector.detect(np.zeros((10, 10), dtype=np.uint8))


# -- crops ----------------------------------------------------------------------------------------------


def _coordinate_image(height: int = 200, width: int = 240) -> np.ndarray:
    """Red = column, green = row, blue = 255: each pixel says where it came from."""
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([cols, rows, np.full_like(rows, 255)], axis=2).astype(np.uint8)


def test_crop_inside_the_frame_is_the_exact_square():
    image = _coordinate_image()
    box = Box(70, 60, 150, 130)  # 80 x 70, centre (110, 95); side 80 * 1.4 = 112, so no resizing
    crop = crop_face(image, box, size=112, margin=0.4)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, image[39:151, 54:166])


def test_crop_at_the_border_is_padded_black_and_stays_square():
    image = _coordinate_image()
    box = Box(-20, 150, 36, 206)  # 56 x 56 box hanging over the left and bottom edges, centre (8, 178)
    crop = crop_face(image, box, size=112, margin=1.0)  # square 112 px: columns -48..63, rows 122..233
    assert crop.shape == (112, 112, 3)
    assert (crop[:, :48] == 0).all() and (crop[78:] == 0).all()
    np.testing.assert_array_equal(crop[:78, 48:], image[122:200, 0:64])


def test_crop_of_a_wide_box_uses_its_longer_side_and_resizes():
    image = _coordinate_image()
    crop = crop_face(image, Box(20, 90, 220, 110), size=112, margin=0.0)  # 200 x 20 -> 200 x 200 square
    assert crop.shape == (112, 112, 3)
    # the square spans columns 20..219 and rows 0..199 (100 either side of row 100), no padding needed
    assert abs(int(crop[0, 0, 0]) - 20) <= 2 and abs(int(crop[-1, -1, 0]) - 219) <= 2
    assert abs(int(crop[0, 0, 1]) - 0) <= 2 and abs(int(crop[-1, -1, 1]) - 199) <= 2
    assert (crop[:, :, 2] == 255).all()


def test_crop_wholly_outside_is_black():
    crop = crop_face(_coordinate_image(), Box(500, 500, 540, 540))
    assert crop.shape == (112, 112, 3) and not crop.any()


def test_crop_of_a_real_detection(sample_frames, detector):
    box = detector.detect(sample_frames[0])[0].box
    crop = crop_face(sample_frames[0], box)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    # the face (skin) fills the crop's middle, so it is far from black or uniform
    centre = crop[30:82, 30:82].astype(float)
    assert centre.mean() > 60 and centre.std() > 10


def test_a_second_stream_reuses_the_first_ones_detector_and_landmarker_with_equal_results(sample_video):
    """A study's worker analyses video after video: the MediaPipe graph and the compiled face-mesh model of
    one stream serve the next (0.32 -> 0.15 s for a 2-frame video), and the faces come out the same."""
    from affectstudio.core import face_stream
    from affectstudio.core.face_stream import FaceStream

    def run():
        with (
            VideoReader(sample_video) as reader,
            FaceStream(reader, crop_method="aligned-5pt", workers=1) as s,
        ):
            faces = [(f.index, [face.box for face in f.faces], [c.copy() for c in f.crops]) for f in s]
            return faces, list(s._detectors), s._meshes.landmarker

    first, detectors, landmarker = run()
    second, detectors_again, landmarker_again = run()
    assert detectors_again == detectors and landmarker_again is landmarker
    assert [(i, boxes) for i, boxes, _ in first] == [(i, boxes) for i, boxes, _ in second]
    assert all(
        np.array_equal(a, b)
        for (_, _, x), (_, _, y) in zip(first, second, strict=True)
        for a, b in zip(x, y, strict=True)
    )
    assert face_stream.DETECTORS.take("full", 0.5, 0.0) is detectors[0]  # given back when the stream closed
    face_stream.DETECTORS.give(detectors[0], "full", 0.5, 0.0)
