"""BatchNorm statistics that match the weights, and a check that a model's outputs vary at all.

Training a network from random weights changes them fast; BatchNorm's running statistics (an exponential
average with momentum 0.1) then lag far behind the statistics the current weights produce (variance off by
~15x after a few dozen steps), so the eval-mode network scores like a constant. Re-estimating them just
before each evaluation ("precise BN": a cumulative average over a few training batches through the current
weights, no gradient, eval-time transform) removes the lag; trained weights are untouched.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from training.data import LabelTable
from training.dataset import FaceDataset
from training.transforms import eval_transform

CONSTANT_STD = 1e-3  # an output whose spread over the evaluated frames is below this is "constant"


@torch.no_grad()
def recalibrate_batchnorm(
    model: nn.Module,
    table: LabelTable,
    preprocessing: dict,
    device: torch.device,
    batches: int,
    batch_size: int,
    num_workers: int = 0,
) -> int:
    """Re-estimate the running statistics of every trainable-mode BatchNorm on the first `batches` batches
    of `table` (a fixed set, so a resumed run gets the same statistics); frozen modules (eval mode) keep
    theirs. Returns the number of images used."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training]
    if not norms or batches <= 0:
        return 0
    count = min(len(table), batches * batch_size)
    subset = table.subset(np.arange(count))
    loader = DataLoader(FaceDataset(subset, eval_transform(preprocessing)), batch_size=batch_size,
                        num_workers=num_workers)  # fmt: skip
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches
    for images, *_ in loader:
        if len(images) > 1:
            model(images.to(device))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    return count


def constant_outputs(outputs, tasks) -> dict[str, float]:
    """{task: largest standard deviation over frames of its outputs} for each task whose outputs are
    (near-)constant: tanh VA, softmax expression probabilities, sigmoid AU probabilities."""
    spreads = {}
    if "va" in tasks and outputs.va is not None:
        spreads["va"] = outputs.va
    if "expr" in tasks and outputs.expr_logits is not None:
        logits = outputs.expr_logits - outputs.expr_logits.max(axis=1, keepdims=True)
        spreads["expr"] = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if "au" in tasks and outputs.au_probs is not None:
        spreads["au"] = outputs.au_probs
    result = {}
    for task, values in spreads.items():
        std = float(np.max(np.std(values, axis=0))) if len(values) > 1 else 0.0
        if std < CONSTANT_STD:
            result[task] = std
    return result
