"""A run stopped mid-epoch (cleanly, or by a crash) and resumed ends where an uninterrupted run ends."""

from __future__ import annotations

import csv

import pytest
import torch

from affectstudio.core.jobs import JobState
from tests.synthetic_affwild import calibrated_init_checkpoint, write_synthetic_affwild
from training.config import DataConfig, StageConfig, TrainConfig
from training.events import Started, Step
from training.trainer import train


class Crash(Exception):
    pass


def _config(root, init, output, **fields) -> TrainConfig:
    stages = [
        StageConfig("classifier", epochs=1, lr=1e-3, trainable=["attention", "gdconv", "classifier"]),
        StageConfig("finetune", epochs=1, lr=1e-4, attention_weight=0.1),
    ]
    return TrainConfig(
        data=DataConfig(root=str(root), curation="masked", threshold_holdout=0.3),
        stages=stages,
        batch_size=4,
        num_workers=0,
        init=str(init),
        install=False,
        output=str(output),
        **fields,
    ).validate()


def _rows(run_dir):
    with (run_dir / "epochs.csv").open() as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


@pytest.mark.slow
def test_interrupted_and_resumed_run_matches_uninterrupted(tmp_path):
    data = write_synthetic_affwild(tmp_path / "data", train_videos=3, val_videos=1, frames=6, seed=5)
    init = calibrated_init_checkpoint(data.root, tmp_path / "init.pt", images=18)

    reference = train(_config(data.root, init, tmp_path / "a"))
    assert not reference.cancelled and len(reference.history) == 2

    config = _config(data.root, init, tmp_path / "b", checkpoint_every_steps=1)
    stopped = train(config, max_steps=2)  # a clean stop in the middle of the first epoch
    assert stopped.cancelled

    def crash_in_second_stage(progress):
        if isinstance(progress.detail, Step) and progress.detail.global_step == 5:
            raise Crash  # like a kill: the last saved state is from step 4

    with pytest.raises(Crash):
        train(config, JobState(crash_in_second_stage), resume=True)
    events = []
    resumed = train(config, JobState(lambda p: events.append(p.detail)), resume=True)
    assert isinstance(events[0], Started) and events[0].resumed_at_step == 4
    assert [e.global_step for e in events if isinstance(e, Step)] == [5, 6]

    expected = torch.load(reference.checkpoint, weights_only=True)
    actual = torch.load(resumed.checkpoint, weights_only=True)
    for key, value in expected["state_dict"].items():
        assert torch.equal(value, actual["state_dict"][key]), key
    assert actual["au_thresholds"] == expected["au_thresholds"]
    assert _rows(tmp_path / "b") == _rows(tmp_path / "a")
    assert resumed.metrics["threshold_tuned"] == reference.metrics["threshold_tuned"]
