"""Annotations exported as a training set that the training package reads back."""

import numpy as np
import pytest

from affectstudio.core.dataset_export import export_training_set, frame_labels
from affectstudio.core.errors import AnnotationError
from affectstudio.core.project import Annotation
from training.data import load_split


def spans():
    return [
        Annotation(1, 0, 10, 29, "Happiness", 0.6, 0.2, "smiles"),
        Annotation(2, 0, 25, 34, None, -0.3, 0.5),  # overrides VA on 25-29, keeps the expression there
        Annotation(3, 0, 100, 109, "Surprise", None, None),
    ]


def test_overlapping_spans_merge_field_by_field():
    labels = frame_labels(spans())
    assert labels[12].expression == "Happiness" and labels[12].valence == 0.6
    assert labels[27].expression == "Happiness" and labels[27].valence == -0.3
    assert labels[32].expression is None and labels[105].valence is None
    assert len(labels) == 20 + 5 + 10


def test_export_reads_back_as_a_training_set(sample_video, tmp_path):
    boxes = np.full((120, 4), np.nan, np.float32)
    boxes[:, :] = (40, 20, 150, 130)
    boxes[100:105] = np.nan  # no face there: skipped
    summary = export_training_set(sample_video, spans(), {0: boxes}, tmp_path / "set")
    assert summary.skipped_no_face == 5
    assert summary.train_frames + summary.validation_frames == 30
    assert summary.validation_frames == 6  # the last 20% in time order

    train = load_split(tmp_path / "set", "train")
    validation = load_split(tmp_path / "set", "validation")
    assert len(train) == 24 and len(validation) == 6
    images = sorted((tmp_path / "set" / "images" / sample_video.stem).glob("*.jpg"))
    assert len(images) == 30 and images[0].name == "00011.jpg"
    assert not list(tmp_path.glob(".*partial"))


def test_refuses_a_non_empty_folder_and_frames_without_faces(sample_video, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    boxes = {0: np.full((120, 4), 50.0, np.float32)}
    with pytest.raises(AnnotationError, match="not empty"):
        export_training_set(sample_video, spans(), boxes, tmp_path / "taken")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
    with pytest.raises(AnnotationError, match="no annotated frame has a face box"):
        export_training_set(sample_video, spans(), {0: np.full((120, 4), np.nan)}, tmp_path / "none")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
