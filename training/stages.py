"""Applying a stage (data: which parameter groups train, at which learning rate) to the network.

A frozen group gets `requires_grad=False` AND is kept in eval mode while the rest trains, so its
BatchNorm running statistics do not drift (the authors' "frozen" backbone kept updating them).
"""

from __future__ import annotations

import torch
from torch import nn

from training.config import GROUPS, StageConfig


def parameter_groups(model: nn.Module) -> dict[str, nn.Module]:
    """The network's four parts, as named in the API contract."""
    groups = {name: getattr(model, name) for name in GROUPS}
    covered = {id(p) for module in groups.values() for p in module.parameters()}
    stray = [name for name, p in model.named_parameters() if id(p) not in covered]
    if stray:  # a parameter no stage could freeze or train would silently escape the recipe
        raise RuntimeError(f"parameters outside the groups {GROUPS}: {stray[:5]}")
    return groups


def apply_stage(model: nn.Module, stage: StageConfig) -> list[nn.Parameter]:
    """Set requires_grad per group; return the trainable parameters."""
    trainable = []
    for name, module in parameter_groups(model).items():
        train = name in stage.trainable
        for parameter in module.parameters():
            parameter.requires_grad_(train)
            if train:
                trainable.append(parameter)
    return trainable


def set_train_mode(model: nn.Module, stage: StageConfig) -> None:
    """model.train(), then eval() on each frozen group so its BatchNorm statistics stay put."""
    model.train()
    for name, module in parameter_groups(model).items():
        if name not in stage.trainable:
            module.eval()


def make_optimizer(model: nn.Module, stage: StageConfig) -> torch.optim.Optimizer:
    """Adam over the stage's trainable parameters (the paper: lr 1e-5, no weight decay)."""
    return torch.optim.Adam(apply_stage(model, stage), lr=stage.lr, weight_decay=stage.weight_decay)
