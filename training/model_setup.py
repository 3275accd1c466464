"""The network a run starts from: the paper's architecture, initialised from a checkpoint's parts.

The paper starts from the stock DDAMFN++ AffectNet-8 checkpoint and keeps its backbone, attention heads
and GDConv, with a new multi-task classifier; `init_parts` says which parts are copied. Preprocessing
comes from the initial checkpoint's config, so the run normalises images as that checkpoint expects.
"""

from __future__ import annotations

from pathlib import Path

import torch

from affectstudio.core.errors import AffectStudioError, CheckpointError
from affectstudio.core.model.network import DDAMFN
from training.config import TrainConfig
from training.transforms import DEFAULT_PREPROCESSING


def load_initial(name_or_path: str):
    """A LoadedModel from a checkpoint path or a registry name (fetched first when it is downloadable)."""
    from affectstudio.core.model.checkpoint import load_checkpoint
    from affectstudio.core.model.registry import ModelRegistry

    if Path(name_or_path).is_file():
        return load_checkpoint(name_or_path)
    registry = ModelRegistry()
    if name_or_path not in {entry.name for entry in registry.list()} and name_or_path in registry.available():
        registry.fetch(name_or_path)
    return registry.load(name_or_path)


def new_network(config: TrainConfig) -> DDAMFN:
    """The configured architecture at the run's seed (same seed, same initial weights)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return DDAMFN(num_heads=config.num_heads, tasks=config.tasks, hidden=config.hidden or None)


def build_model(config: TrainConfig) -> tuple[DDAMFN, dict, str]:
    """(network, preprocessing, description of where its weights came from)."""
    model = new_network(config)
    if config.init in ("", "none"):
        return model, dict(DEFAULT_PREPROCESSING), f"random initialisation (seed {config.seed})"
    try:
        initial = load_initial(config.init)
    except AffectStudioError as error:
        hint = 'set `init` to a checkpoint file, an installed model name, or "none" (random initialisation)'
        raise type(error)(
            error.path, f"cannot load the initial model '{config.init}': {error.problem}; {hint}"
        ) from None
    source = initial.model.state_dict()
    target = model.state_dict()
    for part in config.init_parts:
        keys = [k for k in target if k.startswith(part + ".")]
        fitting = [k for k in keys if k in source and source[k].shape == target[k].shape]
        if len(fitting) != len(keys):
            raise CheckpointError(
                initial.path,
                f"its '{part}' weights do not fit the configured network ({len(fitting)}/{len(keys)})",
            )
        target.update({k: source[k] for k in fitting})
    model.load_state_dict(target)
    description = f"{initial.name} ({', '.join(config.init_parts)} copied)"
    return model, dict(initial.config.preprocessing), description
