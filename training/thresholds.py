"""Per-AU decision thresholds, grid-searched for each AU's F1 as in the paper (0.10..0.89, step 0.01).

Two criteria: `macro` (the authors' code: scikit-learn's two-class macro F1 of the AU, the first maximum
of the ascending grid wins) and `positive` (the positive-class F1 the challenge's AU term scores, ties
going to the threshold nearest 0.5, which keeps the default wherever it is as good).

They must be tuned on data the model is not scored on: the trainer holds out whole training videos for
this (the authors tuned and scored on the same validation set, which inflates the reported gain).
"""

from __future__ import annotations

import numpy as np

from affectstudio.core.labels import DEFAULT_AU_THRESHOLD, INVALID_AU

GRID = np.round(np.arange(0.10, 0.895, 0.01), 2)


def _f1(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Positive-class F1 of each row of `predicted` (grid, n) against `truth` (n,); 0 when undefined."""
    tp = (predicted & truth[None, :]).sum(axis=1)
    denominator = predicted.sum(axis=1) + truth.sum()
    return np.divide(2 * tp, denominator, out=np.zeros(len(predicted)), where=denominator > 0)


def tune_au_thresholds(
    probs: np.ndarray, labels: np.ndarray, criterion: str = "macro", grid: np.ndarray = GRID
) -> list[float]:
    """For each AU, the grid threshold with the best F1 (`criterion`) over its valid entries.

    An AU with no valid entry or no positive keeps 0.5 (there is nothing to tune it on).
    """
    if criterion not in ("macro", "positive"):
        raise ValueError(f"unknown threshold criterion {criterion!r}")
    probs, labels = np.asarray(probs, np.float64), np.asarray(labels)
    preference = np.argsort(np.abs(grid - DEFAULT_AU_THRESHOLD), kind="stable")
    thresholds = []
    for k in range(labels.shape[1]):
        valid = labels[:, k] != INVALID_AU
        truth = labels[valid, k] == 1
        if not truth.any():
            thresholds.append(DEFAULT_AU_THRESHOLD)
            continue
        predicted = probs[valid, k][None, :] >= grid[:, None]  # (grid, n)
        if criterion == "macro":
            f1 = (_f1(predicted, truth) + _f1(~predicted, ~truth)) / 2
            best = int(np.argmax(f1))  # the first maximum, as the authors' strict `>` scan
        else:
            f1 = _f1(predicted, truth)
            best = preference[np.argmax(f1[preference])]
        thresholds.append(float(grid[best]))
    return thresholds
