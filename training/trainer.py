"""The training loop: any list of stages over one network, resumable, keeping the best epoch by validation P.

`train(config, state)` is the library entry (`training.run`; the CLI and the app are thin shells over it).
It reports typed events (training/events.py) through the `JobState` and stops, resumably, when the state
is cancelled. Everything a run writes lives in its output folder:

    config.resolved.json   the full config the run used
    curation.json / .md    frame counts per task and split (the paper's Table 2)
    epochs.csv             one row per epoch: losses, validation metrics, seconds
    state.pt               training state for --resume        } training/checkpointer.py
    best_weights.pt        the weights of the best epoch      }
    model.pt               the final checkpoint (best weights + tuned AU thresholds + metrics)
    metrics.json           validation metrics with 0.5 and with tuned thresholds
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from affectstudio.core.errors import AnnotationError
from affectstudio.core.jobs import JobState, Progress
from affectstudio.core.paths import write_text_atomic
from training.batchnorm import constant_outputs, recalibrate_batchnorm
from training.checkpointer import Checkpointer, Position
from training.config import TrainConfig
from training.dataset import EpochBatches, FaceDataset
from training.evaluate import predict, resolve_device, score_outputs
from training.events import EpochEnd, RateMeter, Started, Step, Stopped
from training.finish import RunResult, finish_run
from training.losses import MultiTaskLoss
from training.model_setup import build_model
from training.prepare import RunData, prepare_data
from training.stages import make_optimizer, set_train_mode
from training.summary import write_epochs_csv
from training.transforms import train_transform


def _batches(config: TrainConfig, size: int, epoch_id: int, start: int = 0) -> EpochBatches:
    return EpochBatches(size, config.batch_size, config.seed, epoch_id, start,
                        reshuffle=config.shuffle == "every_epoch", drop_last=config.drop_last)  # fmt: skip


@dataclass
class _Loop:
    """What the epochs share: the network and its optimizer, the data, the position, the reporting."""

    config: TrainConfig
    state: JobState
    data: RunData
    model: torch.nn.Module
    preprocessing: dict
    device: torch.device
    amp: bool
    checkpointer: Checkpointer
    position: Position
    total_steps: int
    steps_left: int | None
    optimizer: torch.optim.Optimizer | None = None

    def __post_init__(self):
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        self.dataset = FaceDataset(
            self.data.train, train_transform(self.preprocessing, self.config.augmentation)
        )
        self.loss_fn = MultiTaskLoss(self.config.tasks, self.config.loss_weights)
        epochs_left = sum(s.epochs for s in self.config.stages) - len(self.position.history)
        self.meter = RateMeter(self.total_steps - self.position.global_step, epochs_left)

    def report(self, event) -> None:
        self.state.report(Progress(self.position.global_step, self.total_steps, event.to_text(), event))

    def save(self) -> None:
        self.checkpointer.save(self.position, self.model, self.optimizer, self.scaler)

    def train_epoch(self, epoch_id: int) -> bool:
        """Train one epoch from the position's step; False when stopped (state saved to resume there)."""
        config, position = self.config, self.position
        stage = config.stages[position.stage]
        if position.step == 0:
            position.epoch_sums = {}
        batches = _batches(config, len(self.dataset), epoch_id, position.step)
        loader = DataLoader(
            self.dataset,
            batch_sampler=batches,
            num_workers=config.num_workers,
            pin_memory=self.device.type == "cuda",
        )
        set_train_mode(self.model, stage)
        self.epoch_started = time.perf_counter()
        self.meter.restart()
        for images, va, expr, au, _ in loader:
            losses = self.train_step(images, va, expr, au)
            for name, value in losses.items():
                position.epoch_sums[name] = position.epoch_sums.get(name, 0.0) + value
            position.epoch_sums["steps"] = position.epoch_sums.get("steps", 0) + 1
            position.step += 1
            position.global_step += 1
            self.meter.step_done(len(images))  # includes waiting for the data
            self.report(
                Step(stage.name, epoch_id + 1, position.step, batches.total, position.global_step,
                     self.total_steps, round(self.meter.images_per_s, 2), round(self.meter.eta_s, 1),
                     {k: round(v, 6) for k, v in losses.items()})
            )  # fmt: skip
            if self.steps_left is not None:
                self.steps_left -= 1
            if self.state.cancelled() or (self.steps_left is not None and self.steps_left <= 0):
                self.save()
                return False
            if config.checkpoint_every_steps and position.step % config.checkpoint_every_steps == 0:
                self.save()
        return True

    def train_step(self, images, va, expr, au) -> dict[str, float]:
        device = self.device
        with torch.autocast(device.type, dtype=torch.float16, enabled=self.amp):
            output = self.model(images.to(device, non_blocking=True))
        loss, parts = self.loss_fn(output, va.to(device), expr.to(device), au.to(device))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {"total": float(loss.detach()), **parts}

    def end_epoch(self, epoch_id: int) -> None:
        """Validate, keep a copy of the weights when P improved, write the summary row and the state."""
        config, position = self.config, self.position
        train_seconds = time.perf_counter() - self.epoch_started
        tick = time.perf_counter()
        if config.recalibrate_batchnorm:
            recalibrate_batchnorm(
                self.model,
                self.data.train,
                self.preprocessing,
                self.device,
                config.recalibrate_batchnorm,
                2 * config.batch_size,
                config.num_workers,
            )
        outputs = predict(
            self.model, self.data.validation, self.preprocessing, self.device, 2 * config.batch_size,
            config.num_workers, self.amp,
        )  # fmt: skip
        metrics = score_outputs(outputs, self.data.validation, config.tasks, 0.5)
        self.meter.validation_done(time.perf_counter() - tick)
        steps = max(position.epoch_sums.get("steps", 0), 1)
        improved = position.best["P"] is None or metrics["P"] > position.best["P"]
        stage_name = config.stages[position.stage].name
        if improved:
            self.checkpointer.save_best(self.model)
            position.best = {"P": metrics["P"], "epoch": epoch_id + 1, "stage": stage_name}
        event = EpochEnd(
            stage_name,
            epoch_id + 1,
            {k: v / steps for k, v in position.epoch_sums.items() if k != "steps"},
            {k: v for k, v in metrics.items() if not isinstance(v, dict)},
            round(train_seconds + time.perf_counter() - tick, 2),
            improved,
            position.best["epoch"],
            sorted(constant_outputs(outputs, config.tasks)),
        )
        position.history.append(event.row())
        write_epochs_csv(self.checkpointer.run_dir / "epochs.csv", position.history)
        position.epoch, position.step = position.epoch + 1, 0
        self.save()
        self.report(event)


def train(
    config: TrainConfig,
    state: JobState | None = None,
    *,
    resume: bool = False,
    max_steps: int | None = None,
) -> RunResult:
    """Run (or resume) a training run; returns when it finishes or stops (cancelled or max_steps).

    Progress goes to `state.report` as `Progress(detail=event)` with the events of training/events.py.
    """
    state = state or JobState()
    run_dir = Path(config.output)
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = config.to_dict()
    checkpointer = Checkpointer(run_dir, resolved)
    loaded = checkpointer.open(resume)
    write_text_atomic(run_dir / "config.resolved.json", json.dumps(resolved, indent=2) + "\n")
    data = prepare_data(config)
    data.report.write(run_dir)
    model, preprocessing, init_source = build_model(config)
    device = resolve_device(config.device)
    model.to(device)
    stages = config.stages
    total_steps = len(_batches(config, len(data.train), 0)) * sum(s.epochs for s in stages)
    if not total_steps and any(s.epochs for s in stages):
        raise AnnotationError(
            config.data.root,
            f"{len(data.train)} training frames make no full batch of batch_size {config.batch_size}",
        )
    loop = _Loop(
        config, state, data, model, preprocessing, device, config.mixed_precision and device.type == "cuda",
        checkpointer, loaded.position if loaded else Position(), total_steps, max_steps,
    )  # fmt: skip
    if loaded is not None:
        model.load_state_dict(loaded.model)
        loop.scaler.load_state_dict(loaded.scaler)
    position = loop.position
    loop.report(
        Started(str(run_dir), str(device), loop.amp, len(data.train), len(data.holdout), len(data.validation),
                total_steps, position.global_step, data.report.to_dict(), config.recipe_warnings())
    )  # fmt: skip
    start_stage = position.stage
    for stage_index in range(start_stage, len(stages)):
        stage = stages[stage_index]
        if stage_index != position.stage:
            position.stage, position.epoch, position.step = stage_index, 0, 0
        loop.optimizer = make_optimizer(model, stage)
        if loaded is not None and stage_index == start_stage and loaded.optimizer is not None:
            loop.optimizer.load_state_dict(loaded.optimizer)
        loop.loss_fn.attention_weight = stage.attention_weight
        offset = sum(s.epochs for s in stages[:stage_index])
        while position.epoch < stage.epochs:
            if not loop.train_epoch(offset + position.epoch):
                loop.report(Stopped(position.global_step, str(run_dir)))
                return RunResult(run_dir, True, position.history)
            loop.end_epoch(offset + position.epoch)
    result = finish_run(config, model, data, checkpointer, position.best, preprocessing, device, loop.amp,
                        init_source)  # fmt: skip
    result.history = position.history
    loop.report(result.done_event())
    return result
