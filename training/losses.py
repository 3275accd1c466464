"""The paper's losses, each masked where its label is the challenge's sentinel.

(1 - mean CCC over valence and arousal) + cross-entropy on the expression logits + binary cross-entropy on
the AU logits, plus, in full fine-tuning, the DDAMFN attention loss. Cross-entropy takes raw logits (the
authors' notebooks applied it to softmaxed outputs, which flattens its gradient); BCE takes logits too,
which is the numerically stable form of BCE after a sigmoid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from affectstudio.core.labels import INVALID_AU, INVALID_EXPR, INVALID_VA

EPS = 1e-8


def ccc(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Concordance correlation coefficient of two 1-D tensors (population moments, as the challenge)."""
    pred_mean, target_mean = pred.mean(), target.mean()
    pred_var = ((pred - pred_mean) ** 2).mean()
    target_var = ((target - target_mean) ** 2).mean()
    covariance = ((pred - pred_mean) * (target - target_mean)).mean()
    return 2 * covariance / (pred_var + target_var + (pred_mean - target_mean) ** 2 + EPS)


def _zero(like: torch.Tensor) -> torch.Tensor:
    """A zero that keeps the graph connected, for a batch with no valid label of a task."""
    return like.sum() * 0.0


def va_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - (CCC_V + CCC_A)/2 over the rows whose valence and arousal are both valid."""
    valid = torch.all(target != INVALID_VA, dim=1)
    if int(valid.sum()) < 2:  # CCC needs at least two samples
        return _zero(pred)
    pred, target = pred[valid], target[valid]
    return 1 - (ccc(pred[:, 0], target[:, 0]) + ccc(pred[:, 1], target[:, 1])) / 2


def expr_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on logits over the rows with a valid expression."""
    valid = target != INVALID_EXPR
    if not bool(valid.any()):
        return _zero(logits)
    return F.cross_entropy(logits[valid], target[valid])


def au_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy with logits, averaged over the valid (frame, AU) entries."""
    valid = target != INVALID_AU
    if not bool(valid.any()):
        return _zero(logits)
    return F.binary_cross_entropy_with_logits(logits[valid], target[valid])


def attention_loss(heads: Sequence[torch.Tensor]) -> torch.Tensor:
    """DDAMFN's head-diversity loss: number of head pairs / (sum of their pairwise MSE + eps).

    Large when the heads' attention maps agree, so minimising it pushes the heads apart (the paper's text
    says the opposite; the code, here followed, does this). Zero for a single head.
    """
    if len(heads) < 2:
        return _zero(heads[0]) if heads else torch.zeros(())
    total, pairs = 0.0, 0
    for i in range(len(heads) - 1):
        for j in range(i + 1, len(heads)):
            total = total + F.mse_loss(heads[i], heads[j])
            pairs += 1
    return pairs / (total + EPS)


@dataclass
class MultiTaskLoss:
    """Weighted sum of the trained tasks' losses (+ attention loss when its weight is non-zero)."""

    tasks: Sequence[str]
    weights: Mapping[str, float] = field(default_factory=lambda: {"va": 1.0, "expr": 1.0, "au": 1.0})
    attention_weight: float = 0.0

    def __call__(self, output, va, expr, au) -> tuple[torch.Tensor, dict[str, float]]:
        parts: dict[str, torch.Tensor] = {}
        if "va" in self.tasks:
            parts["va"] = va_loss(output.va.float(), va)
        if "expr" in self.tasks:
            parts["expr"] = expr_loss(output.expr_logits.float(), expr)
        if "au" in self.tasks:
            parts["au"] = au_loss(output.au_logits.float(), au)
        total = sum(self.weights.get(task, 1.0) * loss for task, loss in parts.items())
        if self.attention_weight:
            parts["attention"] = attention_loss([h.float() for h in output.heads])
            total = total + self.attention_weight * parts["attention"]
        return total, {name: float(loss.detach()) for name, loss in parts.items()}
