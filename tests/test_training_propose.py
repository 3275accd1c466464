"""training/propose.py: the tasks a dataset has labels for, the hold-out it allows, the in-process check."""

from __future__ import annotations

import time

import numpy as np
import pytest

from affectstudio.core.errors import AnnotationError
from tests.synthetic_affwild import write_synthetic_affwild
from tests.synthetic_exported import write_exported_dataset
from training.config import TrainConfig
from training.data import load_split
from training.prepare import prepare_data, split_holdout
from training.propose import check_config, contiguous_holdout, propose


@pytest.fixture
def one_video(tmp_path):
    return write_exported_dataset(tmp_path / "one", videos=1, frames=24)


def test_no_au_labels_means_no_au_task_and_no_holdout(one_video):
    proposal = propose(one_video)
    assert proposal.kind == "exported annotations"
    assert proposal.tasks == ["va", "expr"]
    assert proposal.counts["train"] == {"frames": 18, "va": 18, "expr": 18, "au": 0}
    assert proposal.counts["validation"]["frames"] == 6 and proposal.videos == {"train": 1, "validation": 1}
    assert proposal.threshold_holdout == 0.0
    assert any(note.startswith("au: no labels") for note in proposal.notes)


def test_the_paper_defaults_fail_fast_on_it_and_the_proposal_passes(one_video):
    config = TrainConfig(init="none")
    config.data.root = str(one_video)
    started = time.perf_counter()
    with pytest.raises(AnnotationError, match=r"no labels for the configured task\(s\) \['au'\]"):
        check_config(config)
    proposed = propose(one_video).apply(config)
    check_config(proposed)
    assert time.perf_counter() - started < 1.0
    assert proposed.tasks == ["va", "expr"] and config.tasks == ["va", "expr", "au"]  # a copy


def test_one_video_with_aus_holds_out_its_last_frames(tmp_path):
    root = write_exported_dataset(tmp_path / "au", videos=1, frames=40, with_au=True)
    proposal = propose(root)
    assert proposal.tasks == ["va", "expr", "au"] and proposal.threshold_holdout == pytest.approx(0.1)
    config = proposal.apply(TrainConfig(init="none"))
    check_config(config)  # the trainer's preparation no longer refuses one video
    data = prepare_data(config)
    assert len(data.holdout) == 3 and len(data.train) == 27
    assert max(data.train.images) < min(data.holdout.images)  # a time-contiguous tail


def test_contiguous_holdout_is_a_tail_in_image_order(one_video):
    table = load_split(one_video, "train", check_images=False)
    shuffled = table.subset(np.random.default_rng(0).permutation(len(table)))
    train, held = contiguous_holdout(shuffled, 0.25)
    assert len(held) == 5 and len(train) + len(held) == len(table)
    assert sorted(shuffled.images[i] for i in held) == sorted(table.images)[-5:]
    assert split_holdout(shuffled, 0.0, 0)[1].size == 0


def test_several_videos_hold_out_whole_videos(tmp_path):
    data = write_synthetic_affwild(tmp_path / "aw", train_videos=3, val_videos=1, frames=4, test_frames=1)
    proposal = propose(data.root)
    assert proposal.kind == "s-Aff-Wild2" and proposal.tasks == ["va", "expr", "au"]
    assert proposal.curation == "masked"  # strict would drop frames with a missing label
    assert proposal.counts["train"]["va"] == data.expected["train"]["va"]
    assert proposal.counts["train"]["expr"] == data.expected["train"]["expr"]
    assert proposal.videos["train"] == 3


def test_check_names_a_missing_image_and_an_unknown_init(one_video):
    config = propose(one_video).apply(TrainConfig(init="none"))
    (one_video / "images" / "video0" / "00003.jpg").unlink()
    with pytest.raises(AnnotationError, match=r"00003\.jpg does not exist"):
        check_config(config)
    config = propose(one_video).apply(TrainConfig(init="no-such-model"))
    (one_video / "train.csv").write_text(
        "\n".join(line for line in (one_video / "train.csv").read_text().splitlines() if "00003" not in line)
    )
    with pytest.raises(AnnotationError, match="'no-such-model' is neither installed"):
        check_config(config)


def test_a_folder_without_a_dataset_is_an_error(tmp_path):
    with pytest.raises(AnnotationError, match="dataset folder not found"):
        propose(tmp_path / "missing")
