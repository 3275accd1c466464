"""After the last epoch: restore the best epoch's weights, tune AU thresholds, score, save and install.

Thresholds are tuned on the held-out training videos and P is reported on validation both with 0.5 and
with the tuned thresholds, so the gain from tuning is measured on data it was not tuned on.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

import torch

from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD, TASKS
from affectstudio.core.paths import write_text_atomic
from training.config import registry_name
from training.evaluate import predict, score_outputs
from training.thresholds import tune_au_thresholds

if TYPE_CHECKING:
    from training.prepare import RunData
    from training.trainer import RunResult, _Run

MODEL_FILE = "model.pt"


def _recipe(config) -> dict:
    return {
        "curation": config.data.curation,
        "batch_size": config.batch_size,
        "loss_weights": dict(config.loss_weights),
        "seed": config.seed,
        "stages": [
            {"name": s.name, "epochs": s.epochs, "lr": s.lr, "trainable": list(s.trainable),
             "attention_weight": s.attention_weight}
            for s in config.stages
        ],
    }  # fmt: skip


def _free_name(registry, name: str) -> str:
    """`name`, or `name-2`, `name-3`, ... when taken: a finished run never fails on an installed name."""
    candidate, number = name, 1
    while registry.is_installed(candidate):
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def finish_run(run: _Run, data: RunData) -> RunResult:
    from affectstudio.core.model.checkpoint import CheckpointConfig, save_checkpoint
    from affectstudio.core.model.registry import ModelRegistry
    from training.trainer import BEST_FILE, RunResult

    config, model = run.config, run.model
    best_path = run.run_dir / BEST_FILE
    if best_path.is_file():
        model.load_state_dict(torch.load(best_path, map_location="cpu", weights_only=True))
    args = (run.preprocessing, run.device, 2 * config.batch_size, config.num_workers, run.amp)
    thresholds = [DEFAULT_AU_THRESHOLD] * len(ACTION_UNITS)
    if "au" in config.tasks and len(data.holdout):
        thresholds = tune_au_thresholds(predict(model, data.holdout, *args).au_probs, data.holdout.au)
    outputs = predict(model, data.validation, *args)
    at_half = score_outputs(outputs, data.validation, config.tasks, DEFAULT_AU_THRESHOLD)
    tuned = score_outputs(outputs, data.validation, config.tasks, thresholds)
    metrics = {
        "split": "validation",
        "best_epoch": run.best.get("epoch"),
        "threshold_0.5": at_half,
        "threshold_tuned": tuned,
        "P": tuned["P"],
        "au_thresholds_tuned_on": f"{len(data.holdout)} held-out training frames",
    }
    write_text_atomic(run.run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    name = registry_name(config.name or run.run_dir.name)
    checkpoint_config = CheckpointConfig(
        architecture=model.architecture,
        heads_trained={task: task in config.tasks for task in TASKS},
        au_thresholds=thresholds,
        preprocessing=run.preprocessing,
        provenance={
            "name": name,
            "source": f"affectstudio training from {run.init_source}",
            "training_data": str(config.data.root),
            "recipe": _recipe(config),
            "run_dir": str(run.run_dir),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
        metrics=metrics,
    )
    model.cpu()
    checkpoint = save_checkpoint(run.run_dir / MODEL_FILE, model, checkpoint_config)
    installed = None
    if config.install:
        registry = ModelRegistry()
        installed = _free_name(registry, name)
        registry.import_file(checkpoint, name=installed)
    run.emit(
        "done", checkpoint=str(checkpoint), model_name=installed, metrics=metrics, run_dir=str(run.run_dir)
    )
    return RunResult(run.run_dir, False, run.history, checkpoint, installed, metrics)
