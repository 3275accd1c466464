"""Agreement between two sides: an annotator and the model, or two annotators, over the frames both label.

Measures, each over the frames both sides label for that lane, minus exclusion ranges (the `exclusions`
given and either side's own exclusion lanes):

- CCC for valence and arousal, the ABAW formula with population moments:
  2 cov(x, y) / (var x + var y + (mean x - mean y)^2);
- F1 per expression class and their macro mean over the classes either side uses (scikit-learn's
  `f1_score(average="macro")`), positive-class F1 per AU;
- Cohen's kappa for expression and each AU, when both sides are annotators.

F1 is symmetric, so which side is "truth" does not matter. A measure that is undefined (no common
frames, a class neither side uses, a constant trace, one label everywhere) is NaN with the reason in
`note`, never an exception: a panel shows it, a CSV keeps it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from affectstudio.core.annotations.framelabels import Ranges, as_labels, exclusion_mask
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS, VA_NAMES
from affectstudio.core.paths import write_text_atomic

COLUMNS = ["measure", "lane", "class", "value", "frames", "note"]
NO_COMMON = "no frames labelled by both"


def ccc(x: np.ndarray, y: np.ndarray) -> tuple[float, str]:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.size < 2:
        return np.nan, NO_COMMON if x.size == 0 else "fewer than two common frames"
    denominator = x.var() + y.var() + (x.mean() - y.mean()) ** 2
    if denominator == 0:
        return np.nan, "both traces are one and the same constant"
    return float(2 * np.mean((x - x.mean()) * (y - y.mean())) / denominator), ""


def f1(x: np.ndarray, y: np.ndarray) -> tuple[float, str]:
    """Positive-class F1 of two boolean arrays; NaN when neither side is ever positive."""
    denominator = int(x.sum() + y.sum())
    if denominator == 0:
        return np.nan, "absent on both sides"
    return 2 * int(np.sum(x & y)) / denominator, ""


def kappa(x: np.ndarray, y: np.ndarray) -> tuple[float, str]:
    """Cohen's kappa of two label arrays (scikit-learn's `cohen_kappa_score`, unweighted)."""
    if x.size == 0:
        return np.nan, NO_COMMON
    labels = np.union1d(x, y)
    px = np.array([np.mean(x == k) for k in labels])
    py = np.array([np.mean(y == k) for k in labels])
    expected = float(px @ py)
    if expected >= 1.0:
        return np.nan, "both sides give one and the same label on every frame"
    return (float(np.mean(x == y)) - expected) / (1.0 - expected), ""


def _fit(values: np.ndarray, n: int, fill) -> np.ndarray:
    out = np.full(n, fill, dtype=values.dtype)
    out[: min(n, len(values))] = values[:n]
    return out


def agreement(a, b, frame_count: int, exclusions: Ranges = ()) -> pd.DataFrame:
    """Rows (measure, lane, class, value, frames, note) comparing `a` with `b`.

    Each side is FrameLabels (e.g. `FrameLabels.from_results(table, track_id)` for the model) or the lanes
    of one annotator (an iterable or mapping of Lane). Only lanes both sides have are compared.
    """
    a, b = as_labels(a, frame_count), as_labels(b, frame_count)
    keep = ~exclusion_mask(exclusions, frame_count)
    for side in (a, b):
        if side.excluded is not None:
            keep &= ~_fit(side.excluded, frame_count, False)
    annotators = a.source == "lanes" and b.source == "lanes"
    rows: list[tuple] = []
    for name in VA_NAMES:
        if name in a.va and name in b.va:
            x, y = _fit(a.va[name], frame_count, np.nan), _fit(b.va[name], frame_count, np.nan)
            both = keep & np.isfinite(x) & np.isfinite(y)
            rows.append(("CCC", name, "", *ccc(x[both], y[both]), int(both.sum())))
    if a.expression is not None and b.expression is not None:
        rows += _categorical("expression", a.expression, b.expression, keep, EXPRESSIONS, annotators)
    per_au = []
    for au in ACTION_UNITS:
        if au in a.aus and au in b.aus:
            au_rows = _categorical(au, a.aus[au], b.aus[au], keep, None, annotators)
            per_au.append(au_rows[0][3])
            rows += au_rows
    if per_au:
        defined = [v for v in per_au if not np.isnan(v)]
        mean = float(np.mean(defined)) if defined else np.nan
        note = f"mean over the {len(defined)} AUs where F1 is defined" if defined else "no AU F1 is defined"
        rows.append(("F1 mean", "AU", "", mean, note, 0))
    table = pd.DataFrame(
        [(m, lane, cls, value, frames, note) for m, lane, cls, value, note, frames in rows], columns=COLUMNS
    )
    table["frames"] = table["frames"].astype(np.int64)
    return table


def _categorical(lane, x, y, keep, classes, annotators) -> list[tuple]:
    """F1 (per class and macro for expression, positive class for an AU) and, for annotators, kappa."""
    n = len(keep)
    x, y = _fit(x, n, -1), _fit(y, n, -1)
    both = keep & (x >= 0) & (y >= 0)
    x, y, count = x[both], y[both], int(both.sum())
    rows = []
    if classes is None:
        value, note = f1(x == 1, y == 1) if count else (np.nan, NO_COMMON)
        rows.append(("F1", lane, "", value, note, count))
    else:
        scores = []
        for k, name in enumerate(classes):
            value, note = f1(x == k, y == k) if count else (np.nan, NO_COMMON)
            rows.append(("F1", lane, name, value, note, count))
            scores.append(value)
        defined = [s for s in scores if not np.isnan(s)]
        macro = (float(np.mean(defined)), "") if defined else (np.nan, NO_COMMON)
        rows.append(("F1 macro", lane, "", *macro, count))
    if annotators:
        rows.append(("kappa", lane, "", *kappa(x, y), count))
    return rows


def write_agreement_csv(path: str | Path, table: pd.DataFrame) -> Path:
    """The agreement table as CSV (NaN as an empty cell, its reason in `note`), written atomically."""
    return write_text_atomic(path, table.to_csv(index=False, float_format="%.6g", na_rep=""))
