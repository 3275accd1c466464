"""A run folder's training state: save and load it for `--resume`, and keep the best epoch's weights.

    state.pt          model, optimizer and scaler state, the position (stage, epoch, step) and the history
    best_weights.pt   a copy of the weights of the best epoch so far (never a reference to live tensors)

A folder holding a finished run (`model.pt`) is never reused, and one holding a started run is only
resumed when asked and when the config is the one it started with (runtime keys aside).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from affectstudio.core.errors import AnnotationError
from affectstudio.core.paths import atomic_write

STATE_FILE = "state.pt"
BEST_FILE = "best_weights.pt"
MODEL_FILE = "model.pt"
# Keys that may differ between a run and its resumption without changing what it computes.
RUNTIME_KEYS = ("device", "num_workers", "install", "name", "output", "checkpoint_every_steps")


def comparable(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in RUNTIME_KEYS}


@dataclass
class Position:
    """Where the loop is, and what it has measured so far (everything but tensors)."""

    stage: int = 0  # index into the config's stages
    epoch: int = 0  # epoch within the stage
    step: int = 0  # step within the epoch (the next to run)
    global_step: int = 0
    epoch_sums: dict = field(default_factory=dict)  # running loss sums of the current epoch
    best: dict = field(default_factory=lambda: {"P": None})  # {"P", "epoch", "stage"} of the best epoch
    history: list[dict] = field(default_factory=list)  # epochs.csv rows


@dataclass
class Loaded:
    position: Position
    model: dict
    optimizer: dict | None
    scaler: dict


class Checkpointer:
    def __init__(self, run_dir: Path, resolved_config: dict):
        self.run_dir = Path(run_dir)
        self.config = resolved_config

    def open(self, resume: bool) -> Loaded | None:
        """Check the folder may be used; the saved state when resuming, None for a fresh run."""
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
        if comparable(state["config"]) != comparable(self.config):
            raise AnnotationError(path, "the config differs from the one this run was started with")
        position = Position(
            state["stage"], state["epoch"], state["step"], state["global_step"], state["epoch_sums"],
            state["best"], state["history"],
        )  # fmt: skip
        return Loaded(position, state["model"], state["optimizer"], state["scaler"])

    def save(self, position: Position, model: nn.Module, optimizer, scaler) -> None:
        state = {
            "config": self.config,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "scaler": scaler.state_dict(),
            "stage": position.stage,
            "epoch": position.epoch,
            "step": position.step,
            "global_step": position.global_step,
            "epoch_sums": position.epoch_sums,
            "best": position.best,
            "history": position.history,
        }
        with atomic_write(self.run_dir / STATE_FILE) as handle:
            torch.save(state, handle)

    def save_best(self, model: nn.Module) -> None:
        """A copy of the weights now: later epochs training on must not change it."""
        weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        with atomic_write(self.run_dir / BEST_FILE) as handle:
            torch.save(weights, handle)

    def restore_best(self, model: nn.Module) -> bool:
        path = self.run_dir / BEST_FILE
        if not path.is_file():
            return False
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return True
