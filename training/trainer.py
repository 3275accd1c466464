"""The training loop: any list of stages over one network, resumable, keeping the best epoch by validation P.

`train(config, progress=..., cancelled=...)` is the library entry (the CLI and the app's Training page are
thin shells over it). Everything a run writes lives in its output folder:

    config.resolved.json   the full config the run used
    curation.json / .md    frame counts per task and split (the paper's Table 2)
    epochs.csv             one row per epoch: losses, validation metrics, seconds
    state.pt               training state (model, optimizer, scaler, position, history) for --resume
    best_weights.pt        a copy of the weights of the best epoch by validation P
    model.pt               the final checkpoint (best weights + tuned AU thresholds + metrics)
    metrics.json           validation metrics with 0.5 and with tuned thresholds
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from affectstudio.core.errors import AnnotationError
from affectstudio.core.paths import atomic_write, write_text_atomic
from training.config import TrainConfig
from training.dataset import EpochBatches, FaceDataset
from training.evaluate import predict, resolve_device, score_outputs
from training.finish import MODEL_FILE, finish_run
from training.losses import MultiTaskLoss
from training.model_setup import build_model
from training.prepare import prepare_data
from training.stages import make_optimizer, set_train_mode
from training.summary import write_epochs_csv
from training.transforms import train_transform

STATE_FILE = "state.pt"
BEST_FILE = "best_weights.pt"
# Keys that may differ between a run and its resumption without changing what it computes.
RUNTIME_KEYS = ("device", "num_workers", "install", "name", "output", "checkpoint_every_steps")

Progress = Callable[[dict], None]


@dataclass
class RunResult:
    run_dir: Path
    cancelled: bool
    history: list[dict] = field(default_factory=list)
    checkpoint: Path | None = None
    model_name: str | None = None
    metrics: dict = field(default_factory=dict)


def _comparable(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in RUNTIME_KEYS}


class _Run:
    """One invocation of a run: fresh or resumed from state.pt."""

    def __init__(self, config: TrainConfig, progress: Progress | None, cancelled: Callable[[], bool] | None):
        self.config = config
        self.progress = progress or (lambda event: None)
        self.cancelled = cancelled or (lambda: False)
        self.run_dir = Path(config.output)
        self.device = resolve_device(config.device)
        self.amp = config.mixed_precision and self.device.type == "cuda"

    def emit(self, event: str, **fields) -> None:
        self.progress({"event": event, **fields})

    def save_state(self, stage: int, epoch: int, step: int) -> None:
        state = {
            "config": self.resolved,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None,
            "scaler": self.scaler.state_dict(),
            "stage": stage,
            "epoch": epoch,
            "step": step,
            "global_step": self.global_step,
            "epoch_sums": self.epoch_sums,
            "best": self.best,
            "history": self.history,
        }
        with atomic_write(self.run_dir / STATE_FILE) as handle:
            torch.save(state, handle)

    def load_state(self, resume: bool) -> dict | None:
        path = self.run_dir / STATE_FILE
        if (self.run_dir / MODEL_FILE).is_file():
            raise AnnotationError(
                self.run_dir,
                f"this run has finished (its model is {MODEL_FILE}); choose another output folder",
            )
        if not path.is_file():
            return None
        if not resume:
            raise AnnotationError(
                self.run_dir, "this folder holds a run already; resume it (--resume) or choose another output"
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
        if _comparable(state["config"]) != _comparable(self.resolved):
            raise AnnotationError(path, "the config differs from the one this run was started with")
        return state

    def run(self, resume: bool, max_steps: int | None) -> RunResult:
        config = self.config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.resolved = config.to_dict()
        state = self.load_state(resume)
        write_text_atomic(self.run_dir / "config.resolved.json", json.dumps(self.resolved, indent=2) + "\n")
        data = prepare_data(config)
        data.report.write(self.run_dir)
        self.model, self.preprocessing, self.init_source = build_model(config)
        self.model.to(self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        self.optimizer = None
        self.dataset = FaceDataset(data.train, train_transform(self.preprocessing, config.augmentation))
        self.loss_fn = MultiTaskLoss(config.tasks, config.loss_weights)
        stages = config.stages
        self.total_steps = len(EpochBatches(len(data.train), config.batch_size, 0, 0)) * sum(
            s.epochs for s in stages
        )
        position = (0, 0, 0)  # (stage, epoch within the stage, step within the epoch) to start at
        self.global_step, self.epoch_sums, self.best, self.history = 0, {}, {"P": None}, []
        if state is not None:
            self.model.load_state_dict(state["model"])
            self.scaler.load_state_dict(state["scaler"])
            position = (state["stage"], state["epoch"], state["step"])
            self.global_step, self.epoch_sums = state["global_step"], state["epoch_sums"]
            self.best, self.history = state["best"], state["history"]
        self.emit(
            "start",
            run_dir=str(self.run_dir),
            device=str(self.device),
            mixed_precision=self.amp,
            train_frames=len(data.train),
            threshold_frames=len(data.holdout),
            validation_frames=len(data.validation),
            total_steps=self.total_steps,
            resumed_at_step=self.global_step,
            curation=data.report.to_dict(),
        )
        self.timer = _Eta(
            self.total_steps - self.global_step, sum(s.epochs for s in stages) - len(self.history)
        )
        self.steps_left = max_steps
        for stage_index in range(position[0], len(stages)):
            stage = stages[stage_index]
            self.optimizer = make_optimizer(self.model, stage)
            if state is not None and stage_index == position[0] and state["optimizer"] is not None:
                self.optimizer.load_state_dict(state["optimizer"])
            self.loss_fn.attention_weight = stage.attention_weight
            offset = sum(s.epochs for s in stages[:stage_index])
            for epoch in range(position[1] if stage_index == position[0] else 0, stage.epochs):
                start_step = position[2] if (stage_index, epoch) == position[:2] else 0
                if not self.run_epoch(stage_index, epoch, offset + epoch, start_step):
                    self.emit("stopped", global_step=self.global_step, run_dir=str(self.run_dir))
                    return RunResult(self.run_dir, True, self.history)
                self.end_epoch(stage_index, epoch, offset + epoch, data)
        return finish_run(self, data)

    def run_epoch(self, stage_index: int, epoch: int, epoch_id: int, start_step: int) -> bool:
        """Train one epoch from `start_step`; False when stopped (state saved to resume at the next step)."""
        config, stage = self.config, self.config.stages[stage_index]
        if start_step == 0:
            self.epoch_sums = {}
        batches = EpochBatches(len(self.dataset), config.batch_size, config.seed, epoch_id, start_step)
        loader = DataLoader(
            self.dataset,
            batch_sampler=batches,
            num_workers=config.num_workers,
            pin_memory=self.device.type == "cuda",
        )
        set_train_mode(self.model, stage)
        self.epoch_started = last = time.perf_counter()
        for step, (images, va, expr, au, _) in enumerate(loader, start=start_step):
            parts = self.train_step(images, va, expr, au)
            for name, value in parts.items():
                self.epoch_sums[name] = self.epoch_sums.get(name, 0.0) + value
            self.epoch_sums["steps"] = self.epoch_sums.get("steps", 0) + 1
            self.global_step += 1
            now = time.perf_counter()
            seconds, last = now - last, now  # includes waiting for the data
            self.timer.step_done(seconds)
            self.emit(
                "step",
                stage=stage.name,
                epoch=epoch_id + 1,
                step=step + 1,
                steps=batches.total,
                global_step=self.global_step,
                total_steps=self.total_steps,
                images_per_s=round(len(images) / max(seconds, 1e-9), 2),
                eta_s=round(self.timer.eta(), 1),
                **{f"loss_{k}" if k != "total" else "loss": round(v, 6) for k, v in parts.items()},
            )
            if self.steps_left is not None:
                self.steps_left -= 1
            if self.cancelled() or (self.steps_left is not None and self.steps_left <= 0):
                self.save_state(stage_index, epoch, step + 1)
                return False
            if config.checkpoint_every_steps and (step + 1) % config.checkpoint_every_steps == 0:
                self.save_state(stage_index, epoch, step + 1)
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

    def end_epoch(self, stage_index: int, epoch: int, epoch_id: int, data) -> None:
        """Validate, keep a copy of the weights when P improved, write the summary row and the state."""
        stage_name = self.config.stages[stage_index].name
        train_seconds = time.perf_counter() - self.epoch_started
        tick = time.perf_counter()
        outputs = predict(
            self.model, data.validation, self.preprocessing, self.device, 2 * self.config.batch_size,
            self.config.num_workers, self.amp,
        )  # fmt: skip
        metrics = score_outputs(outputs, data.validation, self.config.tasks, 0.5)
        self.timer.validation_done(time.perf_counter() - tick)
        steps = max(self.epoch_sums.get("steps", 0), 1)
        row = {"stage": stage_name, "epoch": epoch_id + 1}
        row |= {("train_loss" if k == "total" else f"train_loss_{k}"): v / steps
                for k, v in self.epoch_sums.items() if k != "steps"}  # fmt: skip
        row |= {f"val_{k}": v for k, v in metrics.items() if not isinstance(v, dict)}
        row["seconds"] = round(train_seconds + time.perf_counter() - tick, 2)
        improved = self.best["P"] is None or metrics["P"] > self.best["P"]
        if improved:
            weights = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
            with atomic_write(
                self.run_dir / BEST_FILE
            ) as handle:  # a copy, never a reference to live weights
                torch.save(weights, handle)
            self.best = {"P": metrics["P"], "epoch": epoch_id + 1, "stage": stage_name}
        self.history.append(row)
        write_epochs_csv(self.run_dir / "epochs.csv", self.history)
        self.save_state(stage_index, epoch + 1, 0)
        self.emit("epoch", **row, best=improved, best_epoch=self.best["epoch"])


class _Eta:
    """Remaining time: steps left times the mean recent step time, plus validation passes left."""

    def __init__(self, remaining_steps: int, remaining_epochs: int):
        self.remaining_steps = remaining_steps
        self.remaining_epochs = remaining_epochs
        self.step_times: list[float] = []
        self.validation_seconds = 0.0

    def step_done(self, seconds: float) -> None:
        self.remaining_steps -= 1
        self.step_times = [*self.step_times[-49:], seconds]

    def validation_done(self, seconds: float) -> None:
        self.remaining_epochs -= 1
        self.validation_seconds = seconds

    def eta(self) -> float:
        step = sum(self.step_times) / max(len(self.step_times), 1)
        return self.remaining_steps * step + self.remaining_epochs * self.validation_seconds


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    max_steps: int | None = None,
) -> RunResult:
    """Run (or resume) a training run; returns when it finishes or stops (cancelled or max_steps)."""
    return _Run(config, progress, cancelled).run(resume, max_steps)
