"""A static PNG of an analysis: valence/arousal, expression probabilities and AU activations over time.

Used by `affectstudio analyze` (the GUI draws its own live plots). Reads the CSV back with only the
columns it draws, so it stays light for hour-long videos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.results import AU_PROB_COLUMNS, EXPR_COLUMNS, ResultTable


def plot_traces(csv_path: str | Path, png_path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = ResultTable.from_csv(csv_path)
    df = table.df.sort_values(["frame", "face_score"], ascending=[True, False]).drop_duplicates("frame")
    t = df["time"].to_numpy()
    untrained = set(table.metadata.get("untrained_tasks") or [])

    fig, axes = plt.subplots(
        3, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [1.2, 1, 1.2]}
    )
    model = table.metadata.get("model", "?")
    title = f"{Path(str(table.metadata.get('video', csv_path))).name} - model: {model}"
    if untrained:
        title += f"  (UNTRAINED heads: {', '.join(sorted(untrained))})"
    fig.suptitle(title, fontsize=10)

    ax = axes[0]
    for name, color in (("valence", "tab:blue"), ("arousal", "tab:red")):
        ax.plot(t, df[name].to_numpy(), color=color, lw=1, label=name)
    ax.set_ylim(-1.05, 1.05)
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set_ylabel("valence / arousal")
    ax.legend(loc="upper right", fontsize=8)
    _mark_untrained(ax, "va" in untrained)

    ax = axes[1]
    probs = np.nan_to_num(df[EXPR_COLUMNS].to_numpy(dtype=float, na_value=np.nan))
    ax.stackplot(t, probs.T, labels=EXPRESSIONS, colors=plt.cm.tab10.colors[: len(EXPRESSIONS)])
    ax.set_ylim(0, 1)
    ax.set_ylabel("expression")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    _mark_untrained(ax, "expr" in untrained)

    ax = axes[2]
    au = df[AU_PROB_COLUMNS].to_numpy(dtype=float, na_value=np.nan).T
    extent = (t[0], t[-1] if len(t) > 1 else t[0] + 1, len(ACTION_UNITS) - 0.5, -0.5)
    ax.imshow(au, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0, vmax=1, extent=extent)
    ax.set_yticks(range(len(ACTION_UNITS)), ACTION_UNITS, fontsize=7)
    ax.set_ylabel("AU probability")
    ax.set_xlabel("time (s)")
    _mark_untrained(ax, "au" in untrained)

    fig.tight_layout()
    png_path = Path(png_path)
    partial = png_path.with_name(png_path.stem + ".partial.png")
    fig.savefig(partial, dpi=110)
    plt.close(fig)
    partial.replace(png_path)
    return png_path


def _mark_untrained(ax, untrained: bool) -> None:
    if untrained:
        ax.text(
            0.5,
            0.5,
            "untrained head",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=16,
            color="0.4",
            alpha=0.6,
        )
