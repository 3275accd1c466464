"""After the last epoch: restore the best epoch's weights, tune AU thresholds, score, save and install.

Thresholds are tuned on the held-out training videos and P is reported on validation both with 0.5 and
with the tuned thresholds, so the gain from tuning is measured on data it was not tuned on.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD, TASKS
from affectstudio.core.paths import write_text_atomic
from training.batchnorm import CONSTANT_STD, constant_outputs
from training.checkpointer import MODEL_FILE, Checkpointer
from training.config import TrainConfig, registry_name
from training.evaluate import predict, score_outputs
from training.events import Done
from training.prepare import RunData
from training.thresholds import tune_au_thresholds


@dataclass
class RunResult:
    run_dir: Path
    cancelled: bool
    history: list[dict] = field(default_factory=list)
    checkpoint: Path | None = None
    model_name: str | None = None
    metrics: dict = field(default_factory=dict)

    def done_event(self) -> Done:
        return Done(str(self.checkpoint), self.model_name, self.metrics, str(self.run_dir))


def _recipe(config) -> dict:
    return {
        "curation": config.data.curation,
        "batch_size": config.batch_size,
        "loss_weights": dict(config.loss_weights),
        "seed": config.seed,
        "init": config.init,
        "recalibrate_batchnorm": config.recalibrate_batchnorm,
        "shuffle": config.shuffle,
        "drop_last": config.drop_last,
        "au_threshold_criterion": config.au_threshold_criterion,
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


def finish_run(
    config: TrainConfig,
    model: torch.nn.Module,
    data: RunData,
    checkpointer: Checkpointer,
    best: dict,
    preprocessing: dict,
    device: torch.device,
    amp: bool,
    init_source: str,
) -> RunResult:
    from affectstudio.core.model.checkpoint import CheckpointConfig, save_checkpoint
    from affectstudio.core.model.registry import ModelRegistry

    run_dir = checkpointer.run_dir
    checkpointer.restore_best(model)
    args = (preprocessing, device, 2 * config.batch_size, config.num_workers, amp)
    thresholds = [DEFAULT_AU_THRESHOLD] * len(ACTION_UNITS)
    notes = {}
    if "au" in config.tasks and len(data.holdout):
        held_out = predict(model, data.holdout, *args)
        constant = constant_outputs(held_out, ["au"])
        if constant:
            notes["au_thresholds_note"] = (
                f"AU thresholds not tuned (kept at {DEFAULT_AU_THRESHOLD}): the model's AU outputs on the "
                f"held-out frames are (near-)constant (largest spread {constant['au']:.2g} "
                f"< {CONSTANT_STD}), "
                "and thresholds tuned on a constant only turn every AU on or off"
            )
        else:
            thresholds = tune_au_thresholds(held_out.au_probs, data.holdout.au, config.au_threshold_criterion)
            notes["au_thresholds_tuned_on"] = f"{len(data.holdout)} held-out training frames"
            notes["au_threshold_criterion"] = config.au_threshold_criterion
    outputs = predict(model, data.validation, *args)
    at_half = score_outputs(outputs, data.validation, config.tasks, DEFAULT_AU_THRESHOLD)
    tuned = score_outputs(outputs, data.validation, config.tasks, thresholds)
    metrics = {
        "split": "validation",
        "curation": config.data.curation,
        "frames": len(data.validation),
        "best_epoch": best.get("epoch"),
        "threshold_0.5": at_half,
        "threshold_tuned": tuned,
        "P": tuned["P"],
        **notes,
        "constant_outputs": sorted(constant_outputs(outputs, config.tasks)),
    }
    write_text_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    name = registry_name(config.name or run_dir.name)
    checkpoint_config = CheckpointConfig(
        architecture=model.architecture,
        heads_trained={task: task in config.tasks for task in TASKS},
        au_thresholds=thresholds,
        preprocessing=preprocessing,
        provenance={
            "name": name,
            "source": f"affectstudio training from {init_source}",
            "training_data": str(config.data.root),
            "recipe": _recipe(config),
            "run_dir": str(run_dir),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
        metrics=metrics,
    )
    model.cpu()
    checkpoint = save_checkpoint(run_dir / MODEL_FILE, model, checkpoint_config)
    installed = None
    if config.install:
        registry = ModelRegistry()
        installed = _free_name(registry, name)
        registry.import_file(checkpoint, name=installed, make_default=False)  # the user chooses
    return RunResult(run_dir, False, [], checkpoint, installed, metrics)
