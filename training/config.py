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
SHUFFLES = ("once", "every_epoch")
CRITERIA = ("macro", "positive")
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
    # Random erasing after normalisation, always applied, erasing 5% of the image (the authors' scale).
    erasing_p: float = 1.0
    erasing_scale: tuple[float, float] = (0.05, 0.05)


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


def from_scratch_stages(epochs: int = 8, lr: float = 1e-3) -> list[StageConfig]:
    """No frozen-backbone stage: a random backbone frozen in eval mode gives near-constant features.
    One stage trains everything at a learning rate for random weights (1e-5 is for fine-tuning), without
    the attention loss: random heads agree (loss ~130, x0.1 = 13 against ~4 for all tasks), so it would
    spend the first epochs pulling heads apart (measured: P 0.30 vs 0.38 after 2 epochs of 192 frames).
    8 epochs: on 600 drawn faces the validation scores level off after 5-7 and 8 fit the issue's 15 minutes
    on the 2-core CPU (benchmarks/bench_from_scratch.py)."""
    return [StageConfig("scratch", epochs=epochs, lr=lr, trainable=list(GROUPS), attention_weight=0.0)]


def from_scratch_augmentation() -> Augmentation:
    """The paper's flip and random erasing without its random affine. The network reads its 7x7 feature
    map position by position (GDConv, the attention heads' full-width strips): it is made for aligned crops,
    which is what the app feeds it. A pretrained backbone brings features that survive the affine's jitter;
    a random one learns first from where things are, and a translation of up to 22 px swamps the few pixels
    by which valence moves the middle of the mouth against its corners. Measured on 600 drawn faces, 2
    epochs: validation CCC(V) -0.03 with the paper's augmentation, -0.04 with its translation alone, 0.35
    with its rotation alone, 0.66 without the affine (expression F1 0.88)."""
    return Augmentation(affine_p=0.0)


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
    # Batches of training images to re-estimate BatchNorm statistics on before each evaluation (0: off);
    # needed from scratch, where the running averages lag far behind fast-changing weights.
    recalibrate_batchnorm: int = 0
    # Batch order: "once" (the authors: one shuffle kept for every epoch) or "every_epoch"; drop_last drops
    # the last partial training batch (the authors). Validation always scores every frame.
    shuffle: str = "once"
    drop_last: bool = True
    # Per-AU threshold criterion: "macro" (the authors: two-class macro F1, first maximum of the grid) or
    # "positive" (positive-class F1, the challenge's AU metric; ties go to the threshold nearest 0.5).
    au_threshold_criterion: str = "macro"
    install: bool = True  # install the final model into the app's registry
    data: DataConfig = field(default_factory=DataConfig)
    augmentation: Augmentation = field(default_factory=Augmentation)
    stages: list[StageConfig] = field(default_factory=paper_stages)

    @classmethod
    def from_scratch(cls, root: str = "", tasks=TASKS, **fields) -> TrainConfig:
        """The from-scratch recipe: random init, one all-trainable stage, no random affine, BatchNorm
        recalibrated before each evaluation (training/batchnorm.py); the learning rate is measured by
        benchmarks/bench_from_scratch.py."""
        values = {
            "init": "none",
            "stages": from_scratch_stages(),
            "augmentation": from_scratch_augmentation(),
            "recalibrate_batchnorm": 4,
            "batch_size": 16,
        }
        config = cls(tasks=list(tasks), **(values | fields))
        config.data.root = root
        return config

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
        if self.shuffle not in SHUFFLES:
            fail(f"shuffle must be one of {list(SHUFFLES)}, got {self.shuffle!r}")
        if self.au_threshold_criterion not in CRITERIA:
            fail(
                f"au_threshold_criterion must be one of {list(CRITERIA)}, got {self.au_threshold_criterion!r}"
            )
        if self.num_workers < 0:
            fail(f"num_workers must be 0 or more, got {self.num_workers}")
        if self.recalibrate_batchnorm < 0 or self.checkpoint_every_steps < 0:
            fail("recalibrate_batchnorm and checkpoint_every_steps must be 0 or more")
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
        trained = {g for s in self.stages if s.epochs for g in s.trainable}
        never_trained = [g for g in self.random_groups() if g not in trained]
        if never_trained:
            fail(
                f"{', '.join(never_trained)} would stay randomly initialised and frozen in every stage "
                f"(init = {self.init!r}), so the run could learn nothing from the images: train them in a "
                "stage, load them from a checkpoint, or write a from-scratch recipe with "
                "`python -m training init-config PATH --from-scratch`"
            )
        return self

    def random_groups(self) -> list[str]:
        """Backbone groups (with BatchNorm) not loaded from `init`: they start from random weights."""
        loaded = [] if self.init in ("", "none") else self.init_parts
        return [g for g in GROUPS[:3] if g not in loaded]

    def recipe_warnings(self) -> list[str]:
        """Legal but wasteful recipes, said loudly at the start of a run."""
        warnings = []
        random = self.random_groups()
        for stage in self.stages:
            frozen = [g for g in random if g not in stage.trainable]
            if frozen and stage.epochs:
                warnings.append(
                    f"stage {stage.name!r} freezes {', '.join(frozen)}, which start from random weights: a "
                    "frozen random backbone gives near-constant features, so this stage's epochs are wasted "
                    "(use `init-config --from-scratch` for a recipe without it)"
                )
        if random and not self.recalibrate_batchnorm:
            warnings.append(
                "training random weights without recalibrate_batchnorm: BatchNorm statistics lag the "
                "weights and validation may score like a constant predictor"
            )
        return warnings


SECTIONS = {"data": "DataConfig", "augmentation": "Augmentation"}


def _typed(kind: str, value, name: str):
    """`value` checked (and, for floats and pairs, converted) against a field's annotation."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float":
        ok, value = number, float(value) if number else value
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "str":
        ok = isinstance(value, str)
    elif kind.startswith("list"):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif kind.startswith("dict"):
        ok = isinstance(value, dict) and all(isinstance(v, int | float) for v in value.values())
    elif kind.startswith("tuple"):
        ok = (
            isinstance(value, list | tuple)
            and len(value) == 2
            and all(isinstance(v, int | float) for v in value)
        )
        value = tuple(float(v) for v in value) if ok else value
    else:
        return value
    if not ok:
        wanted = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string"}
        shape = wanted.get(kind) or {"l": "a list of names", "d": "a table of numbers"}.get(
            kind[0], "two numbers"
        )
        raise AnnotationError(None, f"config: {name} must be {shape}, got {value!r}")
    return value


def _build(cls, values, where: str, prefix: str = ""):
    if not isinstance(values, dict):
        keys = ", ".join(f.name for f in dataclasses.fields(cls))
        raise AnnotationError(
            None, f"config: {where} must be a table ([{where}] with keys {keys}), got {values!r}"
        )
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(names)
    if unknown:
        raise AnnotationError(None, f"config: unknown key(s) in {where}: {', '.join(sorted(unknown))}")
    kwargs = {}
    for key, value in values.items():
        if key == "data":
            value = _build(DataConfig, value, "data", "data.")
        elif key == "augmentation":
            value = _build(Augmentation, value, "augmentation", "augmentation.")
        elif key == "stages":
            if not isinstance(value, list):
                raise AnnotationError(
                    None, f"config: stages must be a list of [[stages]] tables, got {value!r}"
                )
            value = [
                _build(StageConfig, stage, f"stages[{i}]", f"stages[{i}].") for i, stage in enumerate(value)
            ]
        else:
            value = _typed(str(names[key].type), value, prefix + key)
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
    recipe = (
        "the from-scratch recipe (random initialisation; see training/README.md)"
        if config.init == "none"
        else "the paper's recipe (see training/config.py)"
    )
    lines = [f"# AffectStudio training config: {recipe}."]
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
