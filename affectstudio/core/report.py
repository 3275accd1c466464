"""Static figures of one track's traces over time (matplotlib, no Qt): the CLI's PNG and the PDF's trace page.

`trace_figure` draws what the app's timelines show, explained for a reader without the app: valence and
arousal lines (legend beside the plot), the expression probabilities and the AU activation probabilities as
heat maps with labelled colour bars (0-1), and the most likely expression per frame as a band coloured by
class with its legend. Heads the model never learned stay readable but are drawn dashed/greyed and labelled
"not meaningful: untrained head". The figure is a plain `matplotlib.figure.Figure` (no pyplot state), so it
is safe in a GUI thread and inspectable by tests before it is saved.

`plot_traces` is the CLI's `analyze` plot: it reads the results file back (CSV or Parquet, any column style)
in our layout.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from affectstudio.core.figures import (
    AROUSAL_COLOUR,
    EXPRESSION_COLOURS,
    VALENCE_COLOUR,
    clock,
    figure_title,
)
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.paths import atomic_path
from affectstudio.core.plot_times import frame_columns, on_columns
from affectstudio.core.results import AU_PROB_COLUMNS, EXPR_COLUMNS, ResultTable, top_expression

UNTRAINED_NOTE = "not meaningful: untrained head"
EXPR_BAR_LABEL = "probability 0–1"
AU_BAR_LABEL = "AU activation 0–1"


def trace_figure(
    times: np.ndarray,
    va: np.ndarray,
    expr: np.ndarray,
    au: np.ndarray,
    title: str,
    untrained: list[str] | tuple[str, ...] = (),
    size: tuple[float, float] = (11.0, 7.5),
):
    """Figure of (F,) times with (F, 2) VA, (F, 8) expression and (F, 12) AU probabilities (NaN = no face)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    times = np.asarray(times, dtype=np.float64)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1 / 30
    start, stop = (float(times[0]), float(times[-1]) + step) if len(times) else (0.0, 1.0)
    fig = Figure(figsize=size)
    fig.suptitle(wrap_title(title, int(size[0] * 13)), fontsize=9)
    grid = fig.add_gridspec(
        4, 2, height_ratios=[3, 0.45, 2.4, 3], width_ratios=[60, 1], hspace=0.18, wspace=0.02
    )
    ax_va = fig.add_subplot(grid[0, 0])
    ax_top = fig.add_subplot(grid[1, 0], sharex=ax_va)
    ax_expr = fig.add_subplot(grid[2, 0], sharex=ax_va)
    ax_au = fig.add_subplot(grid[3, 0], sharex=ax_va)
    fig.subplots_adjust(left=0.09, right=0.78, top=0.93, bottom=0.08)

    va_untrained = "va" in untrained
    for column, (name, colour) in enumerate((("valence", VALENCE_COLOUR), ("arousal", AROUSAL_COLOUR))):
        ax_va.plot(
            times, va[:, column], color=colour, lw=1, label=name, linestyle="--" if va_untrained else "-"
        )
    ax_va.axhline(0, color="0.7", lw=0.5)
    ax_va.set_ylim(-1.05, 1.05)
    ax_va.set_ylabel("valence / arousal", fontsize=8)
    ax_va.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)

    columns, width = frame_columns(times - start, stop - start)
    extent_end = start + len(columns) * width
    top = top_expression(expr)
    band = _on_columns(np.where(top >= 0, top, np.nan)[:, None], columns).T
    palette = ListedColormap(EXPRESSION_COLOURS).with_extremes(bad="white")
    ax_top.imshow(
        band,
        aspect="auto",
        interpolation="nearest",
        cmap=palette,
        vmin=-0.5,
        vmax=len(EXPRESSIONS) - 0.5,
        extent=(start, extent_end, 1, 0),
        alpha=0.6 if "expr" in untrained else 1.0,
    )
    ax_top.set_yticks([0.5], ["most likely"], fontsize=7)
    handles = [Patch(color=c, label=n) for n, c in zip(EXPRESSIONS, EXPRESSION_COLOURS, strict=True)]
    ax_top.legend(
        handles=handles,
        title="most likely expression\n(argmax per frame)",
        title_fontsize=7,
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.1, 1.6),
        frameon=False,
    )

    for ax, values, names, label, task, bar_ax in (
        (ax_expr, expr, EXPRESSIONS, EXPR_BAR_LABEL, "expr", grid[2, 1]),
        (ax_au, au, ACTION_UNITS, AU_BAR_LABEL, "au", grid[3, 1]),
    ):
        image = ax.imshow(
            _on_columns(values, columns).T,
            aspect="auto",
            interpolation="nearest",
            cmap="viridis",
            vmin=0.0,
            vmax=1.0,
            extent=(start, extent_end, len(names), 0),
            alpha=0.6 if task in untrained else 1.0,
        )
        ax.set_yticks(np.arange(len(names)) + 0.5, names, fontsize=7)
        bar = fig.colorbar(image, cax=fig.add_subplot(bar_ax))
        bar.set_label(label, fontsize=7)
        bar.ax.tick_params(labelsize=7)
    ax_expr.set_ylabel("expression", fontsize=8)
    ax_au.set_ylabel("action unit", fontsize=8)
    ax_au.set_xlabel("time (m:ss)", fontsize=8)
    ax_au.xaxis.set_major_formatter(FuncFormatter(lambda value, _: clock(value)))
    ax_va.set_xlim(start, stop)
    for ax in (ax_va, ax_top, ax_expr, ax_au):
        ax.tick_params(labelsize=7, labelbottom=ax is ax_au)
    for ax, task in ((ax_va, "va"), (ax_expr, "expr"), (ax_au, "au")):
        if task in untrained:
            ax.text(
                0.5,
                0.5,
                UNTRAINED_NOTE,
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=12,
                color="#b00020",
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
            )
    return fig


def wrap_title(title: str, width: int) -> str:
    """Break a " · "-separated title between its parts so no line is longer than `width` characters."""
    lines: list[str] = []
    for part in title.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return "\n".join(lines)


def _on_columns(values: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Per-frame rows resampled onto the uniform heat-map grid; NaN (blank) before the first frame."""
    out = on_columns(np.asarray(values, dtype=np.float64), columns)
    out[columns < 0] = np.nan
    return out


def figure_png(fig, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (the PDF embeds them; tests read them)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_traces(csv_path: str | Path, png_path: str | Path) -> Path:
    """The CLI's PNG of an analysis results file (CSV or Parquet, any `--columns` style): the best-scored
    face per frame."""
    table = ResultTable.from_csv(csv_path)
    df = table.df.sort_values(["frame", "face_score"], ascending=[True, False]).drop_duplicates("frame")
    untrained = list(table.metadata.get("untrained_tasks") or [])
    times = df["time"].to_numpy(dtype=np.float64)

    def values(columns) -> np.ndarray:
        return df[columns].to_numpy(dtype=np.float64, na_value=np.nan)

    title = figure_title(
        table.metadata.get("video", csv_path),
        "best face per frame",
        table.metadata.get("model"),
        float(times[0]) if len(times) else 0.0,
        float(times[-1]) if len(times) else 0.0,
        untrained,
    )
    fig = trace_figure(
        times, values(["valence", "arousal"]), values(EXPR_COLUMNS), values(AU_PROB_COLUMNS), title, untrained
    )
    png_path = Path(png_path)
    with atomic_path(png_path) as partial:
        fig.savefig(partial, dpi=110, format="png")
    return png_path
