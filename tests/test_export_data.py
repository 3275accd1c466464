"""What the Export dialog writes, as plain functions (no Qt, no analysis): ranges, tracks, smoothing, summary.

Smoothing is compared with a moving average computed by hand, frame by frame, so a smoother that does
nothing, shifts the window or averages across a track's absence fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import synthetic_rows

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.results import AU_PROB_COLUMNS, EXPR_COLUMNS
from affectstudio.gui.export_data import export_table, summarize


def test_export_table_ranges_and_tracks():
    rows = synthetic_rows(60, tracks=2)
    rows = rows[~((rows["track_id"] == 1) & rows["frame"].between(20, 29))]  # track 1 leaves for a while
    table = export_table(rows, [0.5] * 12, track=1, first=10, last=39)
    assert list(table.df["frame"]) == list(range(10, 40))  # every frame kept, even without the face
    gone = table.df[table.df["frame"].between(20, 29)]
    assert (gone["track_id"] == -1).all() and gone["valence"].isna().all()
    both = export_table(rows, [0.9] * 12)
    assert (
        len(both) == len(rows)
        and both.df[[f"{au}_active" for au in ACTION_UNITS]].sum().sum() < 0.2 * len(rows) * 12
    )


def _by_hand(values: dict[int, float], frame: int, window: int) -> float:
    """Mean of the track's values over frames [frame - window//2, frame + window - window//2 - 1]."""
    half = window // 2
    seen = [values[f] for f in range(frame - half, frame + window - half) if f in values]
    return sum(seen) / len(seen)


@pytest.mark.parametrize("window", [9, 4])
def test_smoothing_is_the_centred_moving_average_per_track(window):
    rows = synthetic_rows(60, tracks=2)
    rows = rows[~((rows["track_id"] == 1) & rows["frame"].between(20, 29))]  # track 1 leaves for a while
    raw = export_table(rows, [0.5] * 12, smoothing=1)
    smooth = export_table(rows, [0.5] * 12, smoothing=window)
    assert smooth.metadata["smoothing_frames"] == window
    for track in (0, 1):
        mine = rows[rows["track_id"] == track]
        out = smooth.df[smooth.df["track_id"] == track].set_index("frame")
        assert list(out.index) == list(mine["frame"])
        for column in ("valence", "arousal", EXPR_COLUMNS[4], AU_PROB_COLUMNS[7]):
            values = dict(zip(mine["frame"], mine[column].astype(float), strict=True))
            expected = [_by_hand(values, f, window) for f in out.index]
            np.testing.assert_allclose(out[column].to_numpy(float), expected, rtol=0, atol=1e-6)
    # The labels follow the smoothed values, not the raw ones.
    probs = smooth.df[EXPR_COLUMNS].to_numpy(float)
    assert list(smooth.df["expression"]) == [EXPRESSIONS[i] for i in probs.argmax(axis=1)]
    assert (smooth.df["expression"] != raw.df["expression"]).any()
    active = smooth.df[[f"{au}_active" for au in ACTION_UNITS]].to_numpy(int)
    assert (active == (smooth.df[AU_PROB_COLUMNS].to_numpy(float) >= 0.5)).all()
    # One track's selection smooths the same way.
    alone = export_table(rows, [0.5] * 12, track=0, smoothing=window)
    np.testing.assert_allclose(
        alone.df["valence"].to_numpy(float),
        smooth.df[smooth.df["track_id"] == 0]["valence"].to_numpy(float),
        atol=1e-9,
    )


def test_summary_figures():
    va = np.array([[0.5, -0.5], [0.1, 0.3], [np.nan, np.nan]])
    expr = np.zeros((3, 8))
    expr[0, 4] = expr[1, 4] = 1
    expr[2] = np.nan
    au = np.full((3, 12), 0.2)
    au[0, 0] = 0.9
    au[2] = np.nan
    summary = summarize(va, expr, au, [0.5] * 12, 0.1)
    assert summary.frames_with_face == 2 and summary.expression_share["Happiness"] == 1.0
    assert summary.mean_valence == pytest.approx(0.3) and summary.au_rate["AU1"] == 0.5
