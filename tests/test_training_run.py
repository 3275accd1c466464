"""The training loop on the synthetic s-Aff-Wild2 layout: freezing, learning, model selection, install.

Image count and steps are kept tiny (the network runs about 50 images/s on this CPU).
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from affectstudio.core.errors import AnnotationError
from affectstudio.core.jobs import JobState
from tests.synthetic_affwild import calibrated_init_checkpoint, write_synthetic_affwild
from training import run
from training.checkpointer import STATE_FILE
from training.config import DataConfig, StageConfig, TrainConfig
from training.evaluate import predict, score_outputs
from training.events import Done, EpochEnd, Started, Step
from training.model_setup import build_model
from training.prepare import prepare_data
from training.trainer import train


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("affwild")
    data = write_synthetic_affwild(folder, train_videos=5, val_videos=2, frames=12, seed=3)
    init = calibrated_init_checkpoint(folder, folder / "init.pt", seed=0)
    return data, init


def small_config(root, output, init, stages, **fields) -> TrainConfig:
    values = {"batch_size": 16, "num_workers": 0, "init": str(init), "install": False, "output": str(output)}
    values.update(fields)
    return TrainConfig(
        data=DataConfig(root=str(root), curation="masked", threshold_holdout=0.2), stages=stages, **values
    ).validate()


def _state(run_dir):
    return torch.load(run_dir / STATE_FILE, map_location="cpu", weights_only=True)


@pytest.mark.parametrize(
    ("trainable", "frozen"),
    [
        (["attention", "gdconv", "classifier"], ["features"]),
        (["classifier"], ["features", "attention", "gdconv"]),
    ],
)
def test_stage_one_freezes_parameters_and_batchnorm_statistics(dataset, tmp_path, trainable, frozen):
    data, init = dataset
    stage = StageConfig("classifier", epochs=2, lr=1e-3, trainable=trainable)
    config = small_config(data.root, tmp_path / "run", init, [stage])
    result = train(config, max_steps=4)  # 3 steps per epoch: crosses a validation pass
    assert result.cancelled and len(result.history) == 1
    before = torch.load(init, map_location="cpu", weights_only=True)["state_dict"]
    after = _state(tmp_path / "run")["model"]
    for key, value in before.items():
        group = key.split(".")[0]
        if group in frozen:  # parameters and running_mean/var/num_batches_tracked alike
            assert torch.equal(value, after[key]), key
    assert any("running_mean" in k for k in before if k.split(".")[0] in frozen)
    for group in trainable:
        assert any(not torch.equal(v, after[k]) for k, v in before.items() if k.startswith(group + ".")), (
            group
        )


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    """A short run, installed into the (test-local) model registry: two epochs that learn, then one at a
    learning rate that wrecks the classifier, so the best epoch is not the last and must be restored."""
    data, init = dataset
    output = tmp_path_factory.mktemp("runs") / "short"
    stages = [
        StageConfig("classifier", epochs=2, lr=1e-3, trainable=["attention", "gdconv", "classifier"]),
        StageConfig("wreck", epochs=1, lr=0.5, trainable=["classifier"]),
    ]
    config = small_config(data.root, output, init, stages, install=True, name="synthetic-test")
    model, preprocessing, _ = build_model(config)
    validation = prepare_data(config).validation
    before = score_outputs(
        predict(model, validation, preprocessing, torch.device("cpu")), validation, config.tasks
    )
    events = []
    # A module-scoped fixture runs before the per-test data-dir fixture: point the registry somewhere safe.
    data_dir = str(tmp_path_factory.mktemp("affectstudio-data"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AFFECTSTUDIO_DATA_DIR", data_dir)
        result = run(config, JobState(lambda progress: events.append(progress.detail)))
    return config, result, before, events, data_dir


@pytest.mark.slow
def test_short_run_learns_and_keeps_best_epoch(trained):
    _, result, before, events, _ = trained
    after = result.metrics["threshold_0.5"]
    print(f"validation P before {before['P']:.3f}, after {after['P']:.3f}, tuned {result.metrics['P']:.3f}")
    assert after["P"] > before["P"] + 0.5
    assert after["ccc_va"] > before["ccc_va"] + 0.2 and after["f1_expr"] > before["f1_expr"] + 0.2
    with (result.run_dir / "epochs.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    best = max(rows, key=lambda r: float(r["val_P"]))
    # The wrecked last epoch scores far worse; the final model holds the best epoch's weights (a copy).
    assert int(best["epoch"]) in (1, 2) and float(rows[2]["val_P"]) < float(best["val_P"]) - 0.3
    assert result.metrics["best_epoch"] == int(best["epoch"])
    assert after["P"] == pytest.approx(float(best["val_P"]), abs=1e-4)
    assert isinstance(events[0], Started) and isinstance(events[-1], Done)
    assert [e.best for e in events if isinstance(e, EpochEnd)] == [True, int(best["epoch"]) == 2, False]
    steps = [e for e in events if isinstance(e, Step)]
    assert all(e.eta_s >= 0 and e.images_per_s > 0 for e in steps)
    last_epoch = [e for e in events if isinstance(e, EpochEnd)][-1]
    assert steps[-1].eta_s <= last_epoch.seconds  # only the last validation pass was left
    for name in ("config.resolved.json", "curation.json", "curation.md", "metrics.json", "model.pt"):
        assert (result.run_dir / name).is_file(), name
    assert json.loads((result.run_dir / "config.resolved.json").read_text())["data"]["curation"] == "masked"


@pytest.mark.slow
def test_thresholds_are_stored_and_model_is_installed(trained, monkeypatch):
    from sklearn.metrics import f1_score

    from affectstudio.core.model.registry import ModelRegistry
    from training.thresholds import GRID

    config, result, _, _, data_dir = trained
    monkeypatch.setenv("AFFECTSTUDIO_DATA_DIR", data_dir)
    assert result.model_name == "synthetic-test"
    loaded = ModelRegistry().load("synthetic-test")
    thresholds = loaded.config.au_thresholds
    # Re-derive each AU's threshold independently: scikit-learn's two-class macro F1 on the held-out
    # training videos' predictions, the first grid maximum (the authors' criterion, the default).
    holdout = prepare_data(config).holdout
    probs = predict(loaded.model, holdout, loaded.config.preprocessing, torch.device("cpu")).au_probs
    assert len(holdout) and len(thresholds) == 12
    for k, threshold in enumerate(thresholds):
        valid = holdout.au[:, k] != -1
        if not (holdout.au[valid, k] == 1).any():
            assert threshold == 0.5
            continue
        scores = [f1_score(holdout.au[valid, k], probs[valid, k] >= t, average="macro") for t in GRID]
        assert threshold == pytest.approx(GRID[int(np.argmax(scores))]), k
    assert result.metrics["au_threshold_criterion"] == "macro"
    assert loaded.config.metrics["threshold_0.5"]["P"] == pytest.approx(result.metrics["threshold_0.5"]["P"])
    assert loaded.config.heads_trained == {"va": True, "expr": True, "au": True}
    recipe = loaded.config.provenance["recipe"]
    assert recipe["stages"][0]["trainable"] == ["attention", "gdconv", "classifier"]
    assert recipe["curation"] == "masked"
    assert result.metrics["au_thresholds_tuned_on"] == f"{len(holdout)} held-out training frames"


@pytest.mark.slow
def test_evaluate_scores_the_frames_the_run_scored_and_says_so(
    trained, dataset, tmp_path, monkeypatch, capsys
):
    from training.cli import main

    data, _ = dataset
    _, result, _, _, data_dir = trained
    monkeypatch.setenv("AFFECTSTUDIO_DATA_DIR", data_dir)
    output = tmp_path / "submission.txt"
    assert main(["predict", str(result.checkpoint), "--data", str(data.root), "--output", str(output)]) == 0
    lines = output.read_text().splitlines()
    assert lines[0] == "image,valence,arousal,expression,aus"
    assert len(lines) == 1 + len(data.test_images)
    fields = lines[1].split(",")
    assert fields[0] == data.test_images[0] and len(fields) == 16
    assert -1 <= float(fields[1]) <= 1 and 0 <= int(fields[3]) <= 7 and set(fields[4:]) <= {"0", "1"}
    capsys.readouterr()
    run_metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert (
        run_metrics["curation"] == "masked"
        and run_metrics["frames"] == data.expected["validation"]["any_valid"]
    )
    assert main(["evaluate", "synthetic-test", "--data", str(data.root)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["curation"] == "masked" and report["curation_source"] == "the model's training recipe"
    assert report["frames"] == run_metrics["frames"]
    assert report["threshold_0.5"]["P"] == pytest.approx(run_metrics["threshold_0.5"]["P"], abs=1e-6)
    assert report["threshold_tuned"]["P"] == pytest.approx(run_metrics["threshold_tuned"]["P"], abs=1e-6)
    assert main(["evaluate", "synthetic-test", "--data", str(data.root), "--curation", "strict"]) == 0
    strict = json.loads(capsys.readouterr().out)
    assert strict["curation"] == "strict" and strict["frames"] == data.expected["validation"]["all_valid"]
    assert strict["frames"] < report["frames"]


def test_a_run_folder_is_never_overwritten_and_resume_checks_the_config(dataset, tmp_path):
    data, init = dataset
    stage = StageConfig("classifier", epochs=1, lr=1e-3, trainable=["classifier"])
    config = small_config(data.root, tmp_path / "run", init, [stage], batch_size=4)
    train(config, max_steps=1)
    with pytest.raises(AnnotationError, match="holds a run already"):
        train(config)
    changed = small_config(data.root, tmp_path / "run", init, [stage], batch_size=8)
    with pytest.raises(AnnotationError, match="config differs"):
        train(changed, resume=True)


def test_label_free_task_is_refused(tmp_path, dataset):
    _, init = dataset
    (tmp_path / "ds").mkdir()
    for split in ("train", "validation"):
        (tmp_path / "ds" / f"{split}.csv").write_text(
            "image,expression\ntrain_00/00001.jpg,1\ntrain_00/00002.jpg,2\n"
        )
    config = small_config(tmp_path / "ds", tmp_path / "run", init, [StageConfig("s")])
    config.data.root = str(tmp_path / "ds")
    config.data.check_images = False
    with pytest.raises(AnnotationError, match=r"no labels for the configured task\(s\) \['va', 'au'\]"):
        prepare_data(config)


def test_single_task_variant(dataset, tmp_path):
    data, init = dataset
    stage = StageConfig("classifier", epochs=1, lr=1e-3, trainable=["classifier"])
    config = small_config(data.root, tmp_path / "run", init, [stage], tasks=["expr"], batch_size=8)
    events = []
    result = train(config, JobState(lambda progress: events.append(progress.detail)))
    checkpoint = torch.load(result.checkpoint, weights_only=True)
    assert checkpoint["architecture"]["tasks"] == ["expr"]
    assert checkpoint["heads_trained"] == {"va": False, "expr": True, "au": False}
    metrics = result.metrics["threshold_0.5"]
    assert set(metrics) == {"f1_expr", "P"} and metrics["P"] == metrics["f1_expr"]
    # No AU head: no training video is held out for thresholds, and nothing claims they were tuned.
    assert events[0].threshold_frames == 0 and events[0].train_frames == data.expected["train"]["expr"]
    assert "au_thresholds_tuned_on" not in result.metrics and "au_thresholds_note" not in result.metrics
    assert json.loads((result.run_dir / "curation.json").read_text())["threshold_holdout"] == 0
    with pytest.raises(AnnotationError, match="this run has finished"):
        train(config, resume=True)


def test_predict_without_a_test_list_says_how_to_pass_one(dataset, tmp_path, capsys):
    from training.cli import main

    (tmp_path / "ds").mkdir()
    assert (
        main(["predict", "any-model", "--data", str(tmp_path / "ds"), "--output", str(tmp_path / "o")]) == 2
    )
    err = capsys.readouterr().err
    assert "MTL.txt: test list not found; pass one with --test-list FILE" in err and err.count("\n") == 1
