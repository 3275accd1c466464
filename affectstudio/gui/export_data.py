"""What the Export dialog writes, as plain functions on DataFrames and arrays (no Qt, tested directly).

- `export_table`: the per-frame rows for a track choice, a frame range and raw or smoothed values, in the
  CSV layout of DESIGN.md. Frames of the range where the chosen track has no face stay as empty rows (never
  dropped silently); smoothing re-derives the argmax label and the AU activations from the smoothed values.
- `summarize`: the figures of the one-page summary (expression time share, mean VA, AU activation rates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from affectstudio.core.figures import TASK_NAMES
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.results import (
    AU_PROB_COLUMNS,
    COLUMNS,
    EXPR_COLUMNS,
    NO_FACE,
    ResultTable,
    au_activations,
    expression_labels,
    smooth,
)


def export_table(
    rows: pd.DataFrame,
    thresholds: list[float],
    track: int | None = None,
    first: int = 0,
    last: int | None = None,
    smoothing: int = 1,
    metadata: dict | None = None,
) -> ResultTable:
    """Rows of frames [first, last] for one track (or all with track=None), raw or smoothed."""
    frames = rows["frame"].to_numpy()
    last = int(frames.max()) if last is None else last
    inside = rows[(frames >= first) & (frames <= last)]
    if smoothing > 1:
        inside = _smoothed(inside, smoothing)
    if track is not None:
        mine = inside[inside["track_id"] == track]
        missing = np.setdiff1d(inside["frame"].unique(), mine["frame"].to_numpy())
        blanks = inside[inside["frame"].isin(missing)].drop_duplicates("frame")[["frame", "time"]].copy()
        blanks["track_id"] = NO_FACE
        blanks = blanks.reindex(columns=COLUMNS)
        blanks["expression"] = ""
        inside = pd.concat([mine, blanks]).sort_values("frame", kind="stable")
    table = ResultTable(inside[COLUMNS].reset_index(drop=True), metadata)
    table = table.with_thresholds(thresholds)
    table.df["expression"] = expression_labels(
        table.df[EXPR_COLUMNS].to_numpy(dtype=np.float64, na_value=np.nan)
    )
    table.metadata.update(
        {
            "frames": [int(first), int(last)],
            "track": "all" if track is None else int(track),
            "smoothing_frames": int(smoothing),
        }
    )
    return table


def _smoothed(rows: pd.DataFrame, window: int) -> pd.DataFrame:
    """Per track, a moving average over frames of VA and all probabilities."""
    out = rows.copy()
    value_columns = ["valence", "arousal", *EXPR_COLUMNS, *AU_PROB_COLUMNS]
    out[value_columns] = out[value_columns].astype(np.float64)
    for track in out["track_id"].unique():
        if track == NO_FACE:
            continue
        pick = (out["track_id"] == track).to_numpy()
        part = out.loc[pick].sort_values("frame")
        dense_index = part["frame"].to_numpy() - part["frame"].min()
        dense = np.full((dense_index.max() + 1, len(value_columns)), np.nan)
        dense[dense_index] = part[value_columns].to_numpy(dtype=np.float64, na_value=np.nan)
        out.loc[part.index, value_columns] = smooth(dense, window)[dense_index]
    return out


@dataclass
class Summary:
    frames: int
    frames_with_face: int
    seconds: float
    expression_share: dict[str, float]  # fraction of face frames where the expression is the top one
    mean_valence: float
    mean_arousal: float
    au_rate: dict[str, float]  # fraction of face frames where the AU is active


def summarize(va: np.ndarray, expr: np.ndarray, au: np.ndarray, thresholds, seconds: float) -> Summary:
    """Figures over one track's dense arrays (NaN = no face)."""
    face = ~np.isnan(expr).any(axis=1) | ~np.isnan(va).any(axis=1)
    with_face = int(face.sum())
    share, rate = dict.fromkeys(EXPRESSIONS, 0.0), dict.fromkeys(ACTION_UNITS, 0.0)
    valid_expr = ~np.isnan(expr).any(axis=1)
    if valid_expr.any():
        counts = np.bincount(np.argmax(expr[valid_expr], axis=1), minlength=len(EXPRESSIONS))
        share = {name: float(c) / valid_expr.sum() for name, c in zip(EXPRESSIONS, counts, strict=True)}
    valid_au = ~np.isnan(au).any(axis=1)
    if valid_au.any():
        active = np.asarray(au_activations(au[valid_au], thresholds), dtype=np.float64)
        rate = {name: float(r) for name, r in zip(ACTION_UNITS, active.mean(axis=0), strict=True)}
    valid_va = ~np.isnan(va).any(axis=1)
    mean = va[valid_va].mean(axis=0) if valid_va.any() else np.array([np.nan, np.nan])
    return Summary(len(va), with_face, seconds, share, float(mean[0]), float(mean[1]), rate)


def summary_html(summary: Summary, title: str, untrained: list[str], tracks: str = "") -> str:
    """The one-page summary as simple HTML (QTextDocument renders it to PDF). `tracks`: the counts over
    all face tracks of the video (`TrackSummary.text()`); the figures are the exported track's."""

    def rows(values: dict[str, float], colour: str) -> str:
        out = []
        for name, fraction in values.items():
            width = max(1, round(fraction * 300))
            cell = f'<td bgcolor="{colour}" width={width} height=10></td>'
            bar = f"<table cellspacing=0 cellpadding=0><tr>{cell}</tr></table>"
            out.append(
                f"<tr><td width=110>{name}</td><td width=60 align=right>{fraction * 100:.1f}%</td>"
                f"<td width=320>{bar}</td></tr>"
            )
        return "".join(out)

    notes = "".join(
        f"<p style='color:#b00020'>The {TASK_NAMES[task]} head of this model is untrained: "
        "its figures are not meaningful.</p>"
        for task in untrained
    )
    share = summary.frames_with_face / max(1, summary.frames) * 100
    return f"""<h2>{title}</h2>
<p>{summary.frames} frames ({summary.seconds:.1f} s),
{summary.frames_with_face} with a face ({share:.1f}%).</p>
{f"<p>Face tracks in the whole video: {tracks}.</p>" if tracks else ""}
{notes}
<h3>Mean valence / arousal</h3>
<p>valence <b>{summary.mean_valence:+.3f}</b> &nbsp;&nbsp; arousal <b>{summary.mean_arousal:+.3f}</b></p>
<h3>Expression time share (most probable expression per frame)</h3>
<table cellspacing=2>{rows(summary.expression_share, "#1e88e5")}</table>
<h3>AU activation rate (share of face frames at or over the AU's threshold)</h3>
<table cellspacing=2>{rows(summary.au_rate, "#43a047")}</table>"""


TRACE_PAGE_HEADING = "Traces over time"


def trace_page_html(image: str, note: str = "", width: int = 640) -> str:
    """The summary's second page: the trace figure (a document image resource named `image`)."""
    detail = f"<p>{note}</p>" if note else ""
    return (
        f"<div style='page-break-before: always'><h3>{TRACE_PAGE_HEADING}</h3>{detail}"
        f"<p>Valence and arousal (−1 to 1), the most likely expression per frame, expression "
        f"probabilities and AU activation probabilities (0 to 1) over the exported range.</p>"
        f"<img src='{image}' width={width}></div>"
    )
