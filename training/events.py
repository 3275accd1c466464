"""Typed training progress: what a run reports, one serializer for the CLI's JSON lines and the app.

A run reports each event as `Progress(done, total, message, detail=event)` through a `JobState`. The CLI
prints `event.to_text()` or `event.to_json()`; the app's Training window parses the JSON lines of its child
process with `from_json`. The JSON field names are the ones the Training page has always read (`event`,
`global_step`, `loss`, `eta_s`, `val_P`, ...), so old and new readers agree.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import deque
from dataclasses import dataclass, field

from affectstudio.core.wording import plural


def format_eta(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class _Event:
    """The one serializer: `event.to_json()` and `from_json(line)` (also `Started.from_json(...)` etc.)."""

    kind = ""

    def _fields(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def _parse(cls, data: dict):
        return cls(**{k: data[k] for k in _names(cls) if k in data})

    def to_dict(self) -> dict:
        return {"event": self.kind, **self._fields()}

    def to_json(self) -> str:
        """One line of JSON (the CLI's `--progress json` line)."""
        return json.dumps(self.to_dict())

    @staticmethod
    def from_json(data: str | dict) -> Event:
        return from_json(data)


@dataclass(frozen=True)
class Started(_Event):
    run_dir: str
    device: str
    mixed_precision: bool
    train_frames: int
    threshold_frames: int
    validation_frames: int
    total_steps: int
    resumed_at_step: int
    curation: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    kind = "start"

    def to_text(self) -> str:
        lines = [f"warning: {w}" for w in self.warnings]
        held = f" ({self.threshold_frames} held out for AU thresholds)" if self.threshold_frames else ""
        lines.append(
            f"training on {self.device}: {plural(self.train_frames, 'frame')}{held}, "
            f"{plural(self.validation_frames, 'validation frame')} ({self.curation.get('curation', '?')} "
            f"curation), {plural(self.total_steps, 'step')}; "
            f"run folder {self.run_dir}"
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class Step(_Event):
    """One optimizer step. `images_per_s` is smoothed over the last steps; `eta_s` includes validations."""

    stage: str
    epoch: int
    step: int
    steps: int
    global_step: int
    total_steps: int
    images_per_s: float
    eta_s: float
    losses: dict[str, float]  # "total" and each task's loss (+ "attention")
    kind = "step"

    @property
    def loss(self) -> float:
        return self.losses["total"]

    def to_text(self) -> str:
        return (
            f"[{self.stage}] epoch {self.epoch} step {self.step}/{self.steps} loss {self.loss:.4f} "
            f"({self.images_per_s:.1f} img/s) ETA {format_eta(self.eta_s)}"
        )

    def _fields(self) -> dict:
        fields = {k: getattr(self, k) for k in ("stage", "epoch", "step", "steps", "global_step",
                                                 "total_steps", "images_per_s", "eta_s")}  # fmt: skip
        return fields | {("loss" if k == "total" else f"loss_{k}"): v for k, v in self.losses.items()}

    @classmethod
    def _parse(cls, data: dict) -> Step:
        losses = {("total" if k == "loss" else k[5:]): v for k, v in data.items() if k.startswith("loss")}
        return cls(**{k: data[k] for k in _names(cls) if k != "losses"}, losses=losses)


@dataclass(frozen=True)
class EpochEnd(_Event):
    """An epoch's summary row: mean training losses, validation metrics (0.5 thresholds), best so far."""

    stage: str
    epoch: int
    train_losses: dict[str, float]
    metrics: dict[str, float]
    seconds: float
    best: bool
    best_epoch: int
    constant_outputs: list[str] = field(default_factory=list)  # tasks whose outputs hardly vary
    kind = "epoch"

    def row(self) -> dict:
        """The epochs.csv row."""
        row: dict = {"stage": self.stage, "epoch": self.epoch}
        row |= {
            ("train_loss" if k == "total" else f"train_loss_{k}"): v for k, v in self.train_losses.items()
        }
        row |= {f"val_{k}": v for k, v in self.metrics.items()}
        return row | {"seconds": self.seconds}

    def to_text(self) -> str:
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items())
        mark = " (best)" if self.best else ""
        text = (
            f"epoch {self.epoch} [{self.stage}]: train loss {self.train_losses.get('total', 0.0):.4f}; "
            f"{metrics}{mark}"
        )
        if self.constant_outputs:
            text += f"\nwarning: near-constant outputs for {', '.join(self.constant_outputs)}"
        return text

    def _fields(self) -> dict:
        row = self.row()
        return row | {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "constant_outputs": self.constant_outputs,
        }

    @classmethod
    def _parse(cls, data: dict) -> EpochEnd:
        losses = {("total" if k == "train_loss" else k[11:]): v for k, v in data.items()
                  if k == "train_loss" or k.startswith("train_loss_")}  # fmt: skip
        metrics = {k[4:]: v for k, v in data.items() if k.startswith("val_")}
        return cls(data["stage"], data["epoch"], losses, metrics, data["seconds"], data["best"],
                   data["best_epoch"], list(data.get("constant_outputs", [])))  # fmt: skip


@dataclass(frozen=True)
class Stopped(_Event):
    global_step: int
    run_dir: str
    kind = "stopped"

    def to_text(self) -> str:
        return f"stopped at step {self.global_step}; continue with --resume ({self.run_dir})"


@dataclass(frozen=True)
class Done(_Event):
    checkpoint: str
    model_name: str | None
    metrics: dict
    run_dir: str
    kind = "done"

    def to_text(self) -> str:
        half, tuned = self.metrics["threshold_0.5"], self.metrics["threshold_tuned"]
        lines = [f"done: validation P {half['P']:.4f} (AU thresholds 0.5), {tuned['P']:.4f} (tuned)"]
        if self.metrics.get("au_thresholds_note"):
            lines.append(f"note: {self.metrics['au_thresholds_note']}")
        installed = f", {installed_note(self.model_name, self.metrics)}" if self.model_name else ""
        return "\n".join([*lines, f"checkpoint {self.checkpoint}{installed}"])


def installed_note(name: str, metrics: dict) -> str:
    """How a trained model was installed: never as the default, so say how to make it one."""
    return (
        f"installed as '{name}' (validation P {metrics['P']:.4f}); it is not the default: "
        f"make it the default with `affectstudio models default {name}`"
    )


@dataclass(frozen=True)
class Error(_Event):
    message: str
    kind = "error"

    def to_text(self) -> str:
        return f"error: {self.message}"


Event = Started | Step | EpochEnd | Stopped | Done | Error
KINDS: dict[str, type] = {cls.kind: cls for cls in (Started, Step, EpochEnd, Stopped, Done, Error)}


def _names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def from_json(data: str | dict) -> Event:
    """The event of a JSON line (or its parsed dict); ValueError when it is not one."""
    if isinstance(data, str):
        data = json.loads(data)
    cls = KINDS.get(data.get("event")) if isinstance(data, dict) else None
    if cls is None:
        raise ValueError(f"not a training event: {str(data)[:80]}")
    try:
        return cls._parse(data)
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed {cls.kind} event: {error}") from None


class RateMeter:
    """Images/s over the last `window` steps and an ETA that does not jump with one slow step.

    The ETA is the steps left times the window's mean step time, plus one validation pass (as long as
    the last one) per epoch left.
    """

    def __init__(self, remaining_steps: int, remaining_epochs: int, window: int = 20):
        self.remaining_steps = remaining_steps
        self.remaining_epochs = remaining_epochs
        self.steps: deque[tuple[float, int]] = deque(maxlen=window)  # (seconds, images)
        self.validation_seconds = 0.0
        self.last = time.perf_counter()

    def restart(self) -> None:
        """Call before a step whose time should not include what ran since the last one (a validation)."""
        self.last = time.perf_counter()

    def step_done(self, images: int) -> None:
        now = time.perf_counter()
        self.steps.append((now - self.last, images))
        self.last = now
        self.remaining_steps -= 1

    def validation_done(self, seconds: float) -> None:
        self.remaining_epochs -= 1
        self.validation_seconds = seconds

    @property
    def images_per_s(self) -> float:
        seconds = sum(s for s, _ in self.steps)
        return sum(n for _, n in self.steps) / seconds if seconds > 0 else 0.0

    @property
    def eta_s(self) -> float:
        step = sum(s for s, _ in self.steps) / max(len(self.steps), 1)
        return max(0.0, self.remaining_steps * step + self.remaining_epochs * self.validation_seconds)
