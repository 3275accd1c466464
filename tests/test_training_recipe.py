"""The from-scratch recipe and its guards, batch order, config type errors (fast: no training run)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from affectstudio.core.errors import AnnotationError
from tests.synthetic_faces import pixel_mean_baseline, write_synthetic_faces
from training.batchnorm import CONSTANT_STD, constant_outputs, recalibrate_batchnorm
from training.cli import main
from training.config import StageConfig, TrainConfig, load_config, paper_stages
from training.data import load_split
from training.dataset import EpochBatches
from training.evaluate import predict
from training.model_setup import new_network
from training.transforms import DEFAULT_PREPROCESSING


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    return write_synthetic_faces(tmp_path_factory.mktemp("faces"), 96, 48, per_video=12)


def test_init_config_from_scratch(tmp_path, faces):
    path = tmp_path / "run.toml"
    assert main(["init-config", str(path), "--data", str(faces), "--from-scratch"]) == 0
    config = load_config(path)
    assert config.init == "none" and config.recalibrate_batchnorm == 4 and config.batch_size == 16
    assert [(s.name, s.epochs, s.lr, s.trainable, s.attention_weight) for s in config.stages] == [
        ("scratch", 8, 1e-3, ["features", "attention", "gdconv", "classifier"], 0.0)
    ]
    assert config.recipe_warnings() == []


def test_a_random_backbone_frozen_in_every_stage_is_refused_and_frozen_in_one_is_warned():
    only_classifier = [StageConfig("s", trainable=["classifier"])]
    with pytest.raises(AnnotationError, match="features, attention, gdconv would stay randomly initialised"):
        TrainConfig(init="none", stages=only_classifier).validate()
    zero_epochs = [StageConfig("s", trainable=["classifier"]), StageConfig("t", epochs=0)]
    with pytest.raises(AnnotationError, match="features, attention, gdconv would stay"):
        TrainConfig(init="none", stages=zero_epochs).validate()
    with pytest.raises(AnnotationError, match="gdconv would stay randomly"):  # not copied from init
        TrainConfig(init_parts=["features", "attention"], stages=only_classifier).validate()
    warnings = TrainConfig(init="none", stages=paper_stages()).validate().recipe_warnings()
    assert len(warnings) == 2 and "stage 'classifier' freezes features" in warnings[0]
    assert "recalibrate_batchnorm" in warnings[1]
    assert TrainConfig().validate().recipe_warnings() == []  # the paper's recipe from the stock checkpoint


def test_random_network_scores_like_a_constant_until_batchnorm_is_recalibrated(faces):
    table = load_split(faces, "train")
    model = new_network(TrainConfig(init="none", stages=[StageConfig("s")]))
    cpu = torch.device("cpu")
    before = predict(model, table.subset(np.arange(24)), DEFAULT_PREPROCESSING, cpu, 24)
    assert set(constant_outputs(before, ["va", "expr", "au"])) == {"va", "expr", "au"}
    model.train()
    assert recalibrate_batchnorm(model, table, DEFAULT_PREPROCESSING, cpu, batches=2, batch_size=16) == 32
    after = predict(model, table.subset(np.arange(24)), DEFAULT_PREPROCESSING, cpu, 24)
    assert constant_outputs(after, ["va", "expr", "au"]) == {}
    assert float(np.std(after.va, axis=0).max()) > 10 * CONSTANT_STD
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(m.momentum == 0.1 for m in norms)  # restored after the cumulative pass
    model.eval()  # frozen (eval-mode) modules keep their statistics
    assert recalibrate_batchnorm(model, table, DEFAULT_PREPROCESSING, cpu, batches=2, batch_size=16) == 0


def test_synthetic_faces_are_not_readable_from_pixel_means(faces):
    baseline = pixel_mean_baseline(faces)
    assert abs(baseline["ccc_va"]) < 0.2 and baseline["f1_expr"] < 0.3, baseline


def test_batch_order_is_the_authors_shuffled_once_last_partial_dropped():
    first, second = EpochBatches(10, 4, 0, 0), EpochBatches(10, 4, 0, 1)
    assert [len(b) for b in first] == [4, 4] and first.total == 2
    assert [[i for i, _ in b] for b in first] == [[i for i, _ in b] for b in second]  # one order
    assert [s for b in first for _, s in b] != [s for b in second for _, s in b]  # new augmentation
    reshuffled = EpochBatches(10, 4, 0, 1, reshuffle=True, drop_last=False)
    assert [len(b) for b in reshuffled] == [4, 4, 2]
    assert [i for b in reshuffled for i, _ in b][:8] != [i for b in second for i, _ in b]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('batch_size = "four"', "batch_size must be an integer, got 'four'"),
        ("num_workers = -3", "num_workers must be 0 or more, got -3"),
        ('data = "data"', "data must be a table ([data] with keys root, "),
        ("[augmentation]\nerasing_scale = [0.1]", "augmentation.erasing_scale must be two numbers"),
        ('[[stages]]\nname = "s"\nepochs = "ten"', "stages[0].epochs must be an integer"),
        ('shuffle = "sometimes"', "shuffle must be one of"),
    ],
)
def test_config_values_of_the_wrong_type_are_one_line_errors(tmp_path, capsys, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and message in err
    with pytest.raises(AnnotationError) as error:
        load_config(path)
    assert message in str(error.value) and error.value.path == path


def test_constant_outputs_keep_thresholds_at_half_and_metrics_say_why(tmp_path):
    """A random network with untouched BatchNorm statistics (what a from-scratch run without recalibration
    evaluates) answers the same for every face: thresholds tuned on that would only switch AUs on or off."""
    from tests.synthetic_affwild import write_synthetic_affwild
    from training.checkpointer import Checkpointer
    from training.finish import finish_run
    from training.prepare import prepare_data

    data = write_synthetic_affwild(tmp_path / "data", train_videos=2, val_videos=1, frames=4, test_frames=1)
    config = TrainConfig(init="none", stages=[StageConfig("s", epochs=1)], output=str(tmp_path / "run"),
                         install=False, num_workers=0, batch_size=4)  # fmt: skip
    config.data.root, config.data.curation, config.data.threshold_holdout = str(data.root), "masked", 0.5
    run_data = prepare_data(config.validate())
    assert len(run_data.holdout) == 4
    (tmp_path / "run").mkdir()
    model = new_network(config)
    result = finish_run(config, model, run_data, Checkpointer(tmp_path / "run", config.to_dict()), {},
                        DEFAULT_PREPROCESSING, torch.device("cpu"), False, "random")  # fmt: skip
    assert "(near-)constant" in result.metrics["au_thresholds_note"]
    assert "au_thresholds_tuned_on" not in result.metrics
    assert result.metrics["constant_outputs"] == ["au", "expr", "va"]
    saved = torch.load(result.checkpoint, weights_only=True)
    assert saved["au_thresholds"] == [0.5] * 12
    assert result.metrics["threshold_tuned"] == result.metrics["threshold_0.5"]


@pytest.fixture(scope="module")
def some_aus_labelled(tmp_path_factory):
    """An exported project where only two AUs were annotated: no frame has every label strict needs."""
    import pandas as pd

    from affectstudio.core.labels import ACTION_UNITS
    from tests.synthetic_exported import write_exported_dataset

    root = write_exported_dataset(tmp_path_factory.mktemp("partial"), frames=8, with_au=True)
    for split in ("train", "validation"):
        table = pd.read_csv(root / f"{split}.csv")
        table.drop(columns=list(ACTION_UNITS[2:])).to_csv(root / f"{split}.csv", index=False)
    return root


def test_strict_curation_that_keeps_nothing_says_why_and_init_config_writes_masked(
    tmp_path, some_aus_labelled, capsys
):
    from training.config import DataConfig
    from training.prepare import prepare_data

    config = TrainConfig(init="none", data=DataConfig(root=str(some_aus_labelled), curation="strict"))
    with pytest.raises(AnnotationError) as caught:
        prepare_data(config.validate())
    message = str(caught.value)
    assert "train.csv" in message and "no frame is left after strict curation" in message
    assert "(valence and arousal, an expression, all 12 AUs)" in message
    assert "--set data.curation=masked" in message
    path = tmp_path / "run.toml"
    assert main(["init-config", str(path), "--data", str(some_aus_labelled), "--from-scratch"]) == 0
    assert load_config(path).data.curation == "masked"
    assert "note: curation masked: strict would keep none of the 6 training frames" in capsys.readouterr().out
    assert prepare_data(load_config(path)).report.kept == {"train": 6, "validation": 2}
