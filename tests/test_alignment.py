"""Aligned crops against the original DDAMFN++ alignment (../shared/conformance/alignment), and the maths."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from affectstudio.core import alignment
from affectstudio.core.faces import FaceDetector
from affectstudio.core.transforms import crop_for
from affectstudio.core.transforms import default_preprocessing as prep_dict
from tests.conftest import SHARED


@pytest.fixture(scope="module")
def reference():
    folder = SHARED / "conformance" / "alignment"
    if not (folder / "reference.json").is_file():
        pytest.skip(f"alignment conformance set not found in {folder}")
    return folder, json.loads((folder / "reference.json").read_text())


def _image(folder, name):
    return cv2.cvtColor(cv2.imread(str(folder / "images" / name)), cv2.COLOR_BGR2RGB)


def test_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(3)
    points = rng.uniform(0, 300, (5, 2))
    angle, scale, shift = 0.4, 0.37, np.array([-20.0, 13.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = alignment.similarity_transform(points, points @ rotation.T + shift)
    np.testing.assert_allclose(matrix[:, :2], rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-7)


def test_reference_landmarks_give_the_reference_matrix(reference):
    """Our template choice and least squares on RetinaFace's own landmarks reproduce the original M."""
    _, ref = reference
    for name, entry in ref.items():
        matrix, template = alignment.align_matrix(np.array(entry["landmarks"], float))
        assert template == entry["template"], name
        np.testing.assert_allclose(matrix, np.array(entry["M"]), atol=2e-4, err_msg=name)


def test_landmark_error_on_the_shared_images_is_within_2px(reference):
    """The README's measure: mean over the 5 reference points of |A.p - M.p| in crop pixels."""
    folder, ref = reference
    landmarker = alignment.Landmarker()
    errors = {}
    with FaceDetector("full") as detector:
        for name, entry in ref.items():
            image = _image(folder, name)
            found = detector.detect(image)
            assert found, f"no face found in {name}"
            points = landmarker.five_points(image, found[0].box, found[0].keypoints)
            ours = alignment.align_matrix(points)[0]
            truth = np.array(entry["landmarks"], float)
            gap = alignment.apply(ours, truth) - alignment.apply(np.array(entry["M"]), truth)
            errors[name] = float(np.linalg.norm(gap, axis=1).mean())
    mean = float(np.mean(list(errors.values())))
    assert mean <= 2.0, errors
    assert max(errors.values()) < 4.0, errors  # no face badly off (a box crop is 11 px off on average)


def test_aligned_crops_look_like_the_reference_crops(reference):
    """The reference matrix through our warp gives the reference crop exactly (same conventions: RGB,
    bilinear, black border); our own crops are much closer to it than box crops are."""
    folder, ref = reference
    landmarker = alignment.Landmarker()
    aligned_config = prep_dict("aligned-5pt")
    with FaceDetector("full") as detector:
        for name in ("single_face.jpg", "45-m7-di-ph.jpg", "carphone_pristine.mp4@000050.png"):
            image = _image(folder, name)
            expected = cv2.imread(str(folder / "reference_crops" / (name.rsplit(".", 1)[0] + ".png")))
            expected = cv2.cvtColor(expected, cv2.COLOR_BGR2RGB).astype(float)
            assert np.abs(alignment.warp(image, np.array(ref[name]["M"])) - expected).mean() < 0.5
            face = detector.detect(image)[0]
            aligned = crop_for(aligned_config, image, face, landmarker).astype(float)
            box = crop_for(prep_dict("box"), image, face).astype(float)
            assert aligned.shape == box.shape == (112, 112, 3)
            assert np.abs(aligned - expected).mean() < 0.5 * np.abs(box - expected).mean(), name
