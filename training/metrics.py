"""The 7th ABAW multi-task metric: P = (CCC_V + CCC_A)/2 + macro F1 over 8 expressions + mean AU F1.

Each term is computed over the frames whose label for that task is valid. For a model trained on fewer
tasks, P is the sum of the terms it has (the paper's single-task comparison adds three models' terms).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS, INVALID_AU, INVALID_EXPR, INVALID_VA, TASKS


def ccc(pred: np.ndarray, target: np.ndarray) -> float:
    """Concordance correlation coefficient, population moments; 0 when both series are constant."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if pred.size == 0:
        return float("nan")
    denominator = pred.var() + target.var() + (pred.mean() - target.mean()) ** 2
    if denominator == 0:
        return 0.0
    covariance = np.mean((pred - pred.mean()) * (target - target.mean()))
    return float(2 * covariance / denominator)


def binary_f1(true: np.ndarray, pred: np.ndarray) -> float:
    """F1 of the positive class; 0 when there is no positive in either (scikit-learn's zero_division=0)."""
    true, pred = np.asarray(true).astype(bool), np.asarray(pred).astype(bool)
    tp = np.sum(true & pred)
    denominator = true.sum() + pred.sum()
    return float(2 * tp / denominator) if denominator else 0.0


def expr_f1(true: np.ndarray, pred: np.ndarray, num_classes: int = len(EXPRESSIONS)) -> float:
    """Macro F1 over all expression classes (a class absent from both counts as 0)."""
    true, pred = np.asarray(true), np.asarray(pred)
    return float(np.mean([binary_f1(true == c, pred == c) for c in range(num_classes)]))


def au_f1(true: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None) -> list[float]:
    """Positive-class F1 of each AU over its valid entries."""
    true, pred = np.asarray(true), np.asarray(pred)
    valid = np.ones(true.shape, bool) if valid is None else valid
    return [binary_f1(true[valid[:, k], k], pred[valid[:, k], k]) for k in range(true.shape[1])]


def score(
    va: np.ndarray | None,
    expr_logits: np.ndarray | None,
    au_probs: np.ndarray | None,
    labels_va: np.ndarray,
    labels_expr: np.ndarray,
    labels_au: np.ndarray,
    thresholds: Sequence[float] | float = 0.5,
    tasks: Sequence[str] = TASKS,
) -> dict:
    """All metric terms and P for predictions against labels that carry the challenge's sentinels."""
    result: dict = {}
    total = 0.0
    if "va" in tasks and va is not None:
        valid = np.all(labels_va != INVALID_VA, axis=1)
        result["ccc_v"] = ccc(va[valid, 0], labels_va[valid, 0])
        result["ccc_a"] = ccc(va[valid, 1], labels_va[valid, 1])
        result["ccc_va"] = (result["ccc_v"] + result["ccc_a"]) / 2
        total += result["ccc_va"]
    if "expr" in tasks and expr_logits is not None:
        valid = labels_expr != INVALID_EXPR
        result["f1_expr"] = expr_f1(labels_expr[valid], np.argmax(expr_logits[valid], axis=1))
        total += result["f1_expr"]
    if "au" in tasks and au_probs is not None:
        thresholds = np.broadcast_to(np.asarray(thresholds, np.float64), (len(ACTION_UNITS),))
        per_au = au_f1(labels_au, au_probs >= thresholds, labels_au != INVALID_AU)
        result["f1_au_per_au"] = dict(zip(ACTION_UNITS, per_au, strict=True))
        result["f1_au"] = float(np.mean(per_au))
        total += result["f1_au"]
    result["P"] = float(total)
    return result
