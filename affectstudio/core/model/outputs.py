"""What a network's raw outputs become for users, without PyTorch: used by the engine, the fast path's
check and the warm start from the fast-path cache (`core/compiled.py`), which never imports torch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EAGER = "eager"  # the backend name of plain PyTorch


@dataclass
class Predictions:
    """Per-crop outputs; a head the model does not have is None."""

    va: np.ndarray | None  # (N, 2) in [-1, 1]
    expr_probs: np.ndarray | None  # (N, 8), rows sum to 1
    au_probs: np.ndarray | None  # (N, 12) in [0, 1]
    backend: str = EAGER  # what computed them: "eager" (plain PyTorch) or the fast path's name

    def __len__(self) -> int:
        for array in (self.va, self.expr_probs, self.au_probs):
            if array is not None:
                return len(array)
        return 0


def probabilities(va, expr_logits, au_logits) -> tuple[np.ndarray | None, ...]:
    """The network's outputs as users get them: VA (tanh in the network), expression probabilities
    (softmax), AU probabilities (sigmoid); absent heads stay None. Numpy, not torch: on the CPU a torch op
    here costs the fast path ~15% (see `core/engine.py`)."""
    expr = None
    if expr_logits is not None:
        shifted = np.exp(expr_logits - expr_logits.max(axis=1, keepdims=True))
        expr = shifted / shifted.sum(axis=1, keepdims=True)
    au = None if au_logits is None else 0.5 * (1.0 + np.tanh(0.5 * au_logits))  # sigmoid; no overflow
    return va, expr, au
