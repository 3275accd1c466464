"""Training for the DDAMFN multi-task network: the paper's s-Aff-Wild2 recipe, a library plus a thin CLI.

The app calls one function, `training.run(config, state) -> RunResult` (imports torch on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from affectstudio.core.jobs import JobState
    from training.config import TrainConfig
    from training.finish import RunResult


def run(config: TrainConfig, state: JobState | None = None, **options) -> RunResult:
    """Run or resume (`resume=True`) a training run, reporting typed events (training/events.py) through
    `state`; cancelling the state stops it resumably. See training/trainer.py."""
    from training.trainer import train

    return train(config, state, **options)
