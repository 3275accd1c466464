"""Result rows made up in numpy, for tests of the plots and exports that need no analysis run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from affectstudio.core.results import AU_PROB_COLUMNS, BOX_COLUMNS, COLUMNS, EXPR_COLUMNS, au_activations
from affectstudio.core.results import expression_labels as labels


def synthetic_rows(
    frames: int, fps: float = 30.0, tracks: int = 1, gap: tuple[int, int] | None = None, seed: int = 0
) -> pd.DataFrame:
    """Rows in the engine's layout: smooth VA waves, softmax expressions, AU probabilities.

    `gap` = (first, stop) frames without a face."""
    rng = np.random.default_rng(seed)
    parts = []
    index = np.arange(frames)
    for track in range(tracks):
        t = index / fps
        va = np.stack([np.sin(t / 3 + track), np.cos(t / 5 + track)], axis=1) * 0.8
        logits = rng.normal(size=(frames, 8)) + np.where(np.arange(8) == 4, 2.0, 0.0)
        expr = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        au = rng.uniform(0, 1, size=(frames, 12))
        data = {
            "frame": index,
            "time": t,
            "track_id": np.full(frames, track),
            "face_score": np.full(frames, 0.9),
        }
        box = np.array([20 + 60 * track, 20, 70 + 60 * track, 80], dtype=float)
        for i, name in enumerate(BOX_COLUMNS):
            data[name] = np.full(frames, box[i])
        data["valence"], data["arousal"] = va[:, 0], va[:, 1]
        for i, name in enumerate(EXPR_COLUMNS):
            data[name] = expr[:, i]
        data["expression"] = labels(expr)
        for i, name in enumerate(AU_PROB_COLUMNS):
            data[name] = au[:, i]
        active = au_activations(au, [0.5] * 12)
        for i, name in enumerate(AU_PROB_COLUMNS):
            data[name.replace("_prob", "_active")] = active[:, i]
        part = pd.DataFrame(data)
        if gap is not None:
            part = part[(part["frame"] < gap[0]) | (part["frame"] >= gap[1])]
        parts.append(part)
    rows = pd.concat(parts, ignore_index=True)
    if gap is not None and tracks == 1:
        empty = pd.DataFrame({"frame": np.arange(*gap), "time": np.arange(*gap) / fps, "track_id": -1})
        rows = pd.concat([rows, empty], ignore_index=True)
    rows = rows.reindex(columns=COLUMNS).sort_values(["frame", "track_id"]).reset_index(drop=True)
    rows["expression"] = rows["expression"].fillna("")
    return rows


# How long a GUI test waits for something that should happen soon. A bound, not a delay: waitUntil and
# waitSignal return as soon as the condition holds, so a generous bound costs nothing on a fast machine
# and stops a loaded one (CI, 2 cores shared) from failing tests that were only slow.
WAIT_MS = 60_000
