"""The static trace figure (PDF page, CLI PNG) and the title every exported figure carries (no Qt)."""

from __future__ import annotations

import numpy as np
from gui_helpers import synthetic_rows
from matplotlib.backends.backend_agg import FigureCanvasAgg

from affectstudio.core.figures import EXPRESSION_COLOURS, clock, figure_title
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.report import AU_BAR_LABEL, EXPR_BAR_LABEL, UNTRAINED_NOTE, trace_figure, wrap_title
from affectstudio.core.review_data import ReviewData


def track(frames=120, gap=(40, 50)):
    data = ReviewData(np.arange(frames) / 30.0)
    data.add_rows(synthetic_rows(frames, 30.0, gap=gap))
    return data.timestamps, data.tracks[0]


def test_title_names_video_track_model_range_and_untrained_heads():
    title = figure_title("/data/clips/interview.mp4", "Face #2", "ddamfn-affwild", 65.25, 3725.0, ["au"])
    assert title.startswith("interview.mp4 · Face #2 · model ddamfn-affwild · 1:05.3–1:02:05.0")
    assert title.endswith("untrained heads (not meaningful): action-unit")
    assert figure_title(None, None, None, 0, 1) == "no video · all tracks · model unknown · 0:00.0–0:01.0"
    assert clock(59.96) == "1:00.0"


def test_trace_figure_draws_the_traces_over_time_with_colour_bars():
    times, arrays = track()
    fig = trace_figure(times, arrays.va, arrays.expr, arrays.au, "clip.mp4 · Face #0")
    assert fig._suptitle.get_text() == "clip.mp4 · Face #0"
    long_title = "a-long-video-name.mp4 · Face #0 · model x · 0:00.0–0:04.0 · untrained heads: " + "x" * 40
    lines = wrap_title(long_title, 60).split("\n")
    assert " · ".join(lines) == long_title and max(len(line) for line in lines[:-1]) <= 60
    va_axes = fig.axes[0]
    lines = {line.get_label(): line for line in va_axes.get_lines() if not line.get_label().startswith("_")}
    np.testing.assert_array_equal(lines["valence"].get_ydata(), arrays.va[:, 0])
    np.testing.assert_array_equal(lines["arousal"].get_xdata(), times)
    assert lines["valence"].get_linestyle() == "-"
    FigureCanvasAgg(fig)  # a renderer to measure the layout with
    legend_box = va_axes.get_legend().get_window_extent(fig.canvas.get_renderer())
    assert legend_box.x0 >= va_axes.get_window_extent().x1  # beside the traces, not over them
    bars = {ax.get_ylabel(): ax for ax in fig.axes if ax.get_ylabel() in (EXPR_BAR_LABEL, AU_BAR_LABEL)}
    assert set(bars) == {EXPR_BAR_LABEL, AU_BAR_LABEL}
    images = [image for ax in fig.axes for image in ax.get_images()]
    heat = [image for image in images if image.get_cmap().name == "viridis"]
    assert [image.get_array().shape for image in heat] == [
        (len(EXPRESSIONS), len(times)),
        (len(ACTION_UNITS), len(times)),
    ]
    assert all(image.get_clim() == (0.0, 1.0) for image in heat)
    np.testing.assert_array_equal(heat[1].get_array()[:, 10], arrays.au[10])
    band = next(image for image in images if image not in heat).get_array()
    assert band.shape == (1, len(times)) and band.mask[0, 40:50].all()  # no face: blank
    assert band[0, 0] == np.argmax(arrays.expr[0])
    legend_names = [text.get_text() for ax in fig.axes if ax.get_legend() for text in ax.get_legend().texts]
    assert EXPRESSIONS[4] in legend_names and len(EXPRESSION_COLOURS) == len(EXPRESSIONS)


def test_untrained_heads_are_dashed_and_labelled_not_hidden():
    times, arrays = track(gap=(0, 0))
    fig = trace_figure(times, arrays.va, arrays.expr, arrays.au, "t", untrained=["va", "au"])
    notes = [text.get_text() for ax in fig.axes for text in ax.texts]
    assert notes.count(UNTRAINED_NOTE) == 2
    valence = fig.axes[0].get_lines()[0]
    assert valence.get_linestyle() == "--" and (valence.get_alpha() or 1.0) >= 0.5
    au_image = [image for ax in fig.axes for image in ax.get_images()][-1]
    assert au_image.get_alpha() >= 0.5
