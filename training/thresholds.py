"""Per-AU decision thresholds, grid-searched for each AU's F1 as in the paper (0.10..0.89, step 0.01).

They must be tuned on data the model is not scored on: the trainer holds out whole training videos for
this (the authors tuned and scored on the same validation set, which inflates the reported gain).
"""

from __future__ import annotations

import numpy as np

from affectstudio.core.labels import DEFAULT_AU_THRESHOLD, INVALID_AU

GRID = np.round(np.arange(0.10, 0.895, 0.01), 2)


def tune_au_thresholds(probs: np.ndarray, labels: np.ndarray, grid: np.ndarray = GRID) -> list[float]:
    """For each AU, the grid threshold with the best positive-class F1 over its valid entries.

    Ties go to the threshold closest to 0.5; an AU with no valid entry or no positive keeps 0.5.
    """
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
        tp = (predicted & truth[None, :]).sum(axis=1)
        f1 = 2 * tp / (predicted.sum(axis=1) + truth.sum())
        best = preference[np.argmax(f1[preference])]
        thresholds.append(float(grid[best]))
    return thresholds
