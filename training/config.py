"""Run configuration: a TOML or JSON file whose defaults are the paper's recipe.

Stages are data: each names the parameter groups it trains (the rest are frozen, BatchNorm included), its
learning rate, epochs and attention-loss weight. The loop in trainer.py runs any list of them. Relative
paths are resolved against the config file's folder, and the fully resolved config is written beside the
run (`config.resolved.json`), so every checkpoint says exactly how it was made.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from affectstudio.core.errors import AnnotationError
from affectstudio.core.labels import TASKS
from training.curation import CURATIONS

GROUPS = ("features", "attention", "gdconv", "classifier")
# The registry name of the stock DDAMFN++ AffectNet-8 checkpoint the paper starts from.
STOCK_INIT = "ddamfn-affectnet8"


def registry_name(text: str) -> str:
    """A valid registry name (letters, digits, '.', '_', '-'; at most 64) from a run name or folder."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")[:56]
    return name or "trained-model"


@dataclass
class Augmentation:
    """The paper's augmentation; every field is a config entry (`[augmentation]`)."""

    hflip: float = 0.5  # probability of a horizontal flip
    affine_p: float = 0.7  # probability of applying the random affine
    affine_degrees: float = 20.0
    affine_translate: float = 0.2
    affine_scale: tuple[float, float] = (0.8, 1.0)
    # Random erasing after normalisation, always applied; the paper gives its scale as 0.05: here that is
    # the largest erased fraction of the image (torchvision's smallest fraction, 0.02, kept as the floor).
    erasing_p: float = 1.0
    erasing_scale: tuple[float, float] = (0.02, 0.05)


@dataclass
class StageConfig:
    name: str
    epochs: int = 10
    lr: float = 1e-5
    weight_decay: float = 0.0
    trainable: list[str] = field(default_factory=lambda: list(GROUPS))
    attention_weight: float = 0.0


def paper_stages(stage1_trainable: str = "authors") -> list[StageConfig]:
    """Stage 1: backbone frozen; `authors` also trains heads + GDConv, `classifier` only the classifier."""
    first = ["attention", "gdconv", "classifier"] if stage1_trainable == "authors" else ["classifier"]
    return [
        StageConfig("classifier", trainable=first),
        StageConfig("finetune", trainable=list(GROUPS), attention_weight=0.1),
    ]


@dataclass
class DataConfig:
    root: str = ""  # s-Aff-Wild2 folder or a folder with train.csv / validation.csv
    curation: str = "strict"
    threshold_holdout: float = 0.1  # fraction of training videos kept out of training, for AU thresholds
    check_images: bool = True


@dataclass
class TrainConfig:
    name: str = ""  # registry name of the installed model; empty: derived from the run folder
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    seed: int = 0
    batch_size: int = 32
    loss_weights: dict[str, float] = field(default_factory=lambda: {"va": 1.0, "expr": 1.0, "au": 1.0})
    device: str = "auto"  # auto, cpu, cuda
    mixed_precision: bool = True  # used on CUDA only
    num_workers: int = 2
    output: str = "runs/ddamfn-mtl"
    init: str = STOCK_INIT  # registry name or checkpoint path; "none": random initialisation
    init_parts: list[str] = field(default_factory=lambda: ["features", "attention", "gdconv"])
    num_heads: int = 2
    hidden: int = 512  # width of the shared classifier layer; 0: none (heads on the 512 features)
    checkpoint_every_steps: int = 0  # 0: a training-state checkpoint at each epoch end only
    install: bool = True  # install the final model into the app's registry
    data: DataConfig = field(default_factory=DataConfig)
    augmentation: Augmentation = field(default_factory=Augmentation)
    stages: list[StageConfig] = field(default_factory=paper_stages)

    def to_dict(self) -> dict:
        """Plain JSON types (tuples become lists), so configs compare equal whatever file they came from."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def validate(self, source: str | Path | None = None) -> TrainConfig:
        def fail(problem: str):
            raise AnnotationError(source, f"config: {problem}")

        if not self.tasks or any(t not in TASKS for t in self.tasks):
            fail(f"tasks must be a non-empty subset of {list(TASKS)}, got {self.tasks}")
        if self.data.curation not in CURATIONS:
            fail(f"data.curation must be one of {list(CURATIONS)}, got {self.data.curation!r}")
        if not 0 <= self.data.threshold_holdout < 1:
            fail("data.threshold_holdout must be in [0, 1)")
        if self.batch_size < 2:
            fail("batch_size must be at least 2 (the CCC loss needs two samples)")
        if not self.stages:
            fail("at least one stage is needed")
        for stage in self.stages:
            unknown = set(stage.trainable) - set(GROUPS)
            if unknown or not stage.trainable:
                fail(f"stage {stage.name!r}: trainable must be a non-empty subset of {list(GROUPS)}")
            if stage.epochs < 0 or stage.lr <= 0:
                fail(f"stage {stage.name!r}: epochs must be >= 0 and lr > 0")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            fail(f"device must be auto, cpu or cuda, got {self.device!r}")
        return self


def _build(cls, values: dict, where: str):
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(names)
    if unknown:
        raise AnnotationError(None, f"config: unknown key(s) in {where}: {', '.join(sorted(unknown))}")
    kwargs = {}
    for key, value in values.items():
        if key == "data":
            value = _build(DataConfig, value, "data")
        elif key == "augmentation":
            value = _build(Augmentation, value, "augmentation")
        elif key == "stages":
            value = [_build(StageConfig, stage, f"stages[{i}]") for i, stage in enumerate(value)]
        kwargs[key] = value
    return cls(**kwargs)


def _set_dotted(values: dict, dotted: str, value) -> None:
    """`stages.0.epochs=1` style override into nested dicts and lists."""
    keys = dotted.split(".")
    target = values
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
    last = keys[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


def parse_override(text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise AnnotationError(None, f"override {text!r} is not KEY=VALUE")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare string
    return key.strip(), value


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> TrainConfig:
    """Read a .toml or .json config (or the paper defaults when `path` is None) and apply overrides."""
    values = TrainConfig().to_dict()
    base = Path.cwd()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise AnnotationError(path, "config file not found")
        try:
            text = path.read_text(encoding="utf-8")
            loaded = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise AnnotationError(path, f"config is not valid {path.suffix[1:].upper()}: {error}") from None
        base = path.resolve().parent
        if "stages" in loaded:
            values["stages"] = []
        for key, value in loaded.items():
            if isinstance(value, dict) and isinstance(values.get(key), dict) and key != "loss_weights":
                values[key].update(value)
            else:
                values[key] = value
    for text in overrides:
        key, value = parse_override(text)
        try:
            _set_dotted(values, key, value)
        except (IndexError, ValueError, TypeError):
            raise AnnotationError(path, f"override {text!r} names no config entry") from None
    try:
        config = _build(TrainConfig, values, "the config")
    except AnnotationError as error:
        raise AnnotationError(path, error.problem) from None
    except TypeError as error:
        raise AnnotationError(path, f"config: {error}") from None
    for attr, owner in (("output", config), ("root", config.data)):
        value = getattr(owner, attr)
        if value and not Path(value).is_absolute():
            setattr(owner, attr, str((base / value).resolve()))
    if config.init not in ("", "none", STOCK_INIT) and not Path(config.init).is_absolute():
        candidate = base / config.init
        if candidate.exists():
            config.init = str(candidate.resolve())
    return config.validate(path)


def write_toml(config: TrainConfig, path: Path) -> None:
    """A commented starting config (the resolved values) in TOML, the format `init-config` hands out."""
    from affectstudio.core.paths import write_text_atomic

    def value(v) -> str:
        return json.dumps(list(v) if isinstance(v, tuple) else v)

    d = config.to_dict()
    lines = ["# AffectStudio training config; defaults are the paper's recipe (see training/config.py)."]
    sections = {k: v for k, v in d.items() if isinstance(v, dict) and k != "loss_weights"}
    for key, v in d.items():
        if key in sections or key == "stages":
            continue
        lines.append(f"{key} = {value(v) if not isinstance(v, dict) else _inline(v)}")
    for section, entries in sections.items():
        lines += ["", f"[{section}]", *(f"{k} = {value(v)}" for k, v in entries.items())]
    for stage in d["stages"]:
        lines += ["", "[[stages]]", *(f"{k} = {value(v)}" for k, v in stage.items())]
    write_text_atomic(path, "\n".join(lines) + "\n")


def _inline(mapping: dict) -> str:
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in mapping.items()) + " }"
