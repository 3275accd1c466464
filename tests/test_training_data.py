"""Readers and curation on the synthetic s-Aff-Wild2 layout: exact counts, and clear errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest

from affectstudio.core.errors import AnnotationError
from tests.synthetic_affwild import write_synthetic_affwild
from training.curation import CurationReport, keep_mask
from training.data import load_split, read_affwild_annotations, read_csv_dataset, read_test_list
from training.prepare import split_holdout


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return write_synthetic_affwild(tmp_path_factory.mktemp("affwild"), train_videos=4, frames=10)


def test_affwild_reader_keeps_sentinels(synthetic):
    table = load_split(synthetic.root, "train")
    assert len(table) == 40 and table.tasks == ("va", "expr", "au")
    assert table.images[0] == "train_00/00001.jpg" and table.videos[0] == "train_00"
    assert table.va.shape == (40, 2) and table.au.shape == (40, 12)
    assert (table.va[3] == -5).all()  # index 3 is an invalid-VA frame by the generator's rule
    assert table.expr[5] == -1
    assert (table.au[7] == -1).all()


@pytest.mark.parametrize("split", ["train", "validation"])
def test_curation_counts_are_exact(synthetic, split):
    report = CurationReport("strict", ["va", "expr", "au"])
    report.add(split, load_split(synthetic.root, split))
    assert report.counts[split] == synthetic.expected[split]
    assert report.kept[split] == synthetic.expected[split]["all_valid"]
    masked = CurationReport("masked", ["va", "expr", "au"])
    masked.add(split, load_split(synthetic.root, split))
    assert masked.kept[split] == synthetic.expected[split]["any_valid"]


def test_curation_report_files(synthetic, tmp_path):
    report = CurationReport("strict", ["va", "expr", "au"])
    for split in ("train", "validation"):
        report.add(split, load_split(synthetic.root, split))
    report.write(tmp_path)
    text = (tmp_path / "curation.md").read_text()
    row = synthetic.expected["train"]
    assert (
        f"| train | {row['frames']} | {row['va']} | {row['expr']} | {row['au']} | {row['all_valid']} |"
        in text
    )
    assert '"all_valid"' in (tmp_path / "curation.json").read_text()


def test_masked_keeps_frames_with_any_label_of_the_trained_tasks(synthetic):
    table = load_split(synthetic.root, "train")
    only_expr = keep_mask(table, "masked", ["expr"])
    assert np.array_equal(only_expr, table.expr != -1)
    strict = keep_mask(table, "strict")
    assert not strict[3] and not strict[5] and not strict[7]


def test_holdout_takes_whole_videos(synthetic):
    table = load_split(synthetic.root, "train")
    train_idx, held_idx = split_holdout(table, 0.25, seed=0)
    held_videos = {table.videos[i] for i in held_idx}
    assert len(held_videos) == 1 and not held_videos & {table.videos[i] for i in train_idx}
    assert len(train_idx) + len(held_idx) == len(table)


def test_test_list(synthetic):
    assert read_test_list(synthetic.root / "MTL.txt") == synthetic.test_images


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


HEADER = "image,valence,arousal,expression,AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("train_00/00001.jpg,0.1,0.2,3,0,0,0,0,0,0,0,0,0,0,0", "line 3: expected 16"),
        ("train_00/00001.jpg,1.5,0.2,3,0,0,0,0,0,0,0,0,0,0,0,0", "line 3: valence 1.5 is outside"),
        ("train_00/00001.jpg,0.1,abc,3,0,0,0,0,0,0,0,0,0,0,0,0", "line 3: arousal 'abc' is not a number"),
        ("train_00/00001.jpg,0.1,0.2,9,0,0,0,0,0,0,0,0,0,0,0,0", "line 3: expression '9'"),
        ("train_00/00001.jpg,0.1,0.2,3,0,2,0,0,0,0,0,0,0,0,0,0", "line 3: AU2 is '2'"),
        ("train_00/99999.jpg,0.1,0.2,3,0,0,0,0,0,0,0,0,0,0,0,0", "line 3: image"),
    ],
)
def test_malformed_lines_name_file_and_line(synthetic, tmp_path, line, problem):
    good = "train_00/00002.jpg,0.1,0.2,3,0,0,0,0,0,0,0,0,0,0,0,0"
    path = _write(tmp_path / "bad.txt", [HEADER, good, line])
    with pytest.raises(AnnotationError, match=problem) as error:
        read_affwild_annotations(path, synthetic.root / "cropped_aligned")
    assert error.value.path == path


def test_missing_files_are_annotation_errors(tmp_path):
    with pytest.raises(AnnotationError, match="not found"):
        read_affwild_annotations(tmp_path / "nope.txt", tmp_path)
    with pytest.raises(AnnotationError, match="neither"):
        load_split(tmp_path, "train")


def test_generic_csv_with_a_subset_of_tasks(synthetic, tmp_path):
    images = synthetic.root / "cropped_aligned"
    path = _write(
        tmp_path / "train.csv",
        ["# exported by AffectStudio", "image,expression,AU12", "train_00/00001.jpg,Happiness,1",
         "train_00/00002.jpg,,0", "train_00/00003.jpg,2,"],
    )  # fmt: skip
    table = read_csv_dataset(path, images)
    assert table.tasks == ("expr", "au")
    assert table.expr.tolist() == [4, -1, 2]
    assert table.au[:, 6].tolist() == [1, 0, -1] and (table.au[:, 0] == -1).all()
    assert (table.va == -5).all()
    bad = _write(tmp_path / "bad.csv", ["image,expression", "train_00/00001.jpg,Joy"])
    with pytest.raises(AnnotationError, match="line 2: expression 'Joy'"):
        read_csv_dataset(bad, images)


@pytest.mark.parametrize(
    ("row", "found"), [("train_00/00002.jpg,Anger,1,0", 4), ("train_00/00002.jpg,Anger", 2)]
)
def test_generic_csv_rejects_rows_with_a_wrong_number_of_fields(tmp_path, row, found):
    path = _write(
        tmp_path / "train.csv",
        ["# exported", "image,expression,AU12", "train_00/00001.jpg,Happiness,1", "", row],
    )
    with pytest.raises(
        AnnotationError, match=f"line 5: expected 3 comma-separated fields like the header, found {found}"
    ):
        read_csv_dataset(path, check_images=False)
