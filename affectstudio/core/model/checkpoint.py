"""Our checkpoint format: one plain dict per `.pt` file, readable with `torch.load(weights_only=True)`.

    {"format": "affectstudio-ddamfn", "format_version": 1, "state_dict": {...},
     "architecture": {...}, "heads_trained": {...}, "labels": {...}, "au_thresholds": [...],
     "preprocessing": {...}, "provenance": {...}, "metrics": {...}}

The config travels inside the file, so training and the app read the same label names, thresholds and
preprocessing. `load_checkpoint` also accepts a stock DDAMFN file and imports it on the fly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import torch

from affectstudio.core.errors import CheckpointError
from affectstudio.core.labels import TASKS
from affectstudio.core.model.config import (
    CheckpointConfig,
    LoadedModel,
    check_config,
    file_identity,
    loaded,
    read_torch_file,
    untrained_identity,
    weights_digest,
)
from affectstudio.core.model.network import DDAMFN
from affectstudio.core.model.stock import import_stock_checkpoint, is_stock_checkpoint
from affectstudio.core.paths import atomic_write

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "CheckpointConfig",
    "LoadedModel",
    "load_checkpoint",
    "read_config",
    "save_checkpoint",
    "untrained_model",
    "weights_digest",
]

FORMAT_NAME = "affectstudio-ddamfn"
FORMAT_VERSION = 1


def save_checkpoint(
    path: str | Path, model: DDAMFN, config: CheckpointConfig, overwrite: bool = True
) -> Path:
    """Write model + config atomically (temp file in the same folder, fsync, rename); with
    `overwrite=False` an existing file is never replaced (FileExistsError, also against a concurrent writer).
    """
    path = Path(path)
    check_config(config, path)
    if dict(config.architecture) != model.architecture:
        raise ValueError(
            f"config architecture {config.architecture} does not match model {model.architecture}"
        )
    provenance = dict(config.provenance)
    provenance.setdefault("created", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    payload = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "state_dict": {key: value.detach().cpu().clone() for key, value in model.state_dict().items()},
        "architecture": _plain(config.architecture),
        "heads_trained": {task: bool(config.heads_trained.get(task, False)) for task in TASKS},
        "labels": {
            "expressions": list(config.expressions),
            "action_units": list(config.action_units),
            "untrained_expressions": list(config.untrained_expressions),
        },
        "au_thresholds": [float(t) for t in config.au_thresholds],
        "preprocessing": _plain(config.preprocessing),
        "provenance": _plain(provenance),
        "metrics": _plain(config.metrics),
    }
    with atomic_write(path, overwrite) as handle:
        torch.save(payload, handle)
    return path


def load_checkpoint(path: str | Path, name: str | None = None) -> LoadedModel:
    """Load our format, or import a stock DDAMFN file; any problem is a CheckpointError naming the file."""
    path = Path(path)
    source = file_identity(path) if path.is_file() else None  # before reading: see file_identity
    obj = read_torch_file(path)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
        if not is_stock_checkpoint(obj):
            raise CheckpointError(path, "not an AffectStudio or DDAMFN model checkpoint")
        result = import_stock_checkpoint(path, obj)
        result.name = name or result.name
        result.source = source
        return result
    _check_version(obj, path)
    config = _config_from(obj, path)
    try:
        model = DDAMFN.from_architecture(config.architecture)
        model.load_state_dict(obj["state_dict"], strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(path, f"weights do not fit the stored architecture: {first[:300]}") from None
    return loaded(model, config, name or config.provenance.get("name") or path.stem, path, source)


def read_config(path: str | Path) -> CheckpointConfig:
    """The config of a checkpoint file (ours, or stock via import) without keeping the network."""
    path = Path(path)
    obj = read_torch_file(path)
    if isinstance(obj, dict) and obj.get("format") == FORMAT_NAME:
        _check_version(obj, path)
        return _config_from(obj, path)
    if is_stock_checkpoint(obj):
        return import_stock_checkpoint(path, obj).config
    raise CheckpointError(path, "not an AffectStudio or DDAMFN model checkpoint")


def untrained_model(seed: int = 0) -> LoadedModel:
    """The default when nothing is installed: the full multi-task network at a fixed random seed.

    Its config marks every head as untrained, so every output (CLI, CSV metadata, GUI) can say so.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DDAMFN()
    config = CheckpointConfig(
        architecture=model.architecture,
        heads_trained=dict.fromkeys(TASKS, False),
        provenance={
            "name": f"untrained-seed{seed}",
            "source": f"random initialisation at seed {seed}; no training, predictions are not meaningful",
            "training_data": None,
            "recipe": None,
        },
    )
    return loaded(model, config, f"untrained (seed {seed})", None, untrained_identity(seed))


def _check_version(obj: dict, path: Path) -> None:
    version = obj.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(path, f"checkpoint format version {version} is not one this app can read")


def _config_from(obj: dict, path: Path) -> CheckpointConfig:
    try:
        labels = obj["labels"]
        config = CheckpointConfig(
            architecture=dict(obj["architecture"]),
            heads_trained={task: bool(v) for task, v in dict(obj["heads_trained"]).items()},
            expressions=list(labels["expressions"]),
            action_units=list(labels["action_units"]),
            untrained_expressions=list(labels.get("untrained_expressions", [])),
            au_thresholds=[float(t) for t in obj["au_thresholds"]],
            preprocessing=dict(obj["preprocessing"]),
            provenance=dict(obj.get("provenance") or {}),
            metrics=dict(obj.get("metrics") or {}),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(path, f"checkpoint config is incomplete or malformed ({error!r})") from None
    check_config(config, path)
    return config


def _plain(value):
    """Copy a config value as the plain types weights_only loading accepts (numpy scalars unwrapped)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    raise TypeError(f"checkpoint config values must be plain types, got {type(value).__name__}")
