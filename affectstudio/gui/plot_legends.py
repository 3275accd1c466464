"""What makes the timelines readable without the manual: colour bars, legends, the untrained-head look.

Kept apart from `timeline.py` (which is about data and speed) so the decorations can change without
touching the drawing path. Everything here sits in the timeline's second layout column, beside the plots,
never over the data:
- the valence/arousal legend (a `LegendItem` of its own, not the plot's overlay legend);
- a colour bar per heat map with its value range: the expression rows are probabilities 0-1, the AU rows
  the probability that the AU is active, 0-1. The bars use the same colour map and levels as `heat_rgba`,
  so a colour on the bar is the colour of that value in the map;
- a caption under the plots explaining the expression map's "most likely" band: per frame, the expression
  with the highest probability, coloured per class (the legend lists the colours).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

from affectstudio.core.figures import EXPRESSION_COLOURS
from affectstudio.core.labels import EXPRESSIONS

HEAT_LEVELS = (0.0, 1.0)  # the value range heat_rgba maps onto the colour map (clipped outside)
HEAT_COLOURMAP = "viridis"
EXPR_BAR_LABEL = "probability 0–1"
AU_BAR_LABEL = "AU activation 0–1"
TOP_BAND_TICK = "most likely"
TOP_BAND_HELP = (
    "“most likely” row: per frame, the expression with the highest probability (argmax of the rows "
    "below), coloured by class"
)
# One line under the plots (the tooltip says more): the band is an argmax, not a probability.
TOP_BAND_CAPTION = "“most likely” = the most probable expression per frame (argmax)"
UNTRAINED_OPACITY = 0.75  # still readable on the dark background; the dashed pen and notice mark it
UNTRAINED_IMAGE_OPACITY = 0.6
UNTRAINED_COLOUR = "#9e9e9e"

RIGHT_COLUMN_WIDTH = 90  # px: the VA legend and the colour bars, beside every view on the time axis


def colour_bar(label: str) -> pg.ColorBarItem:
    """A fixed (non-interactive) colour bar showing the heat maps' colour map over HEAT_LEVELS."""
    bar = pg.ColorBarItem(
        values=HEAT_LEVELS,
        colorMap=HEAT_COLOURMAP,
        interactive=False,
        width=10,
        colorMapMenu=False,
    )
    bar.layout.setContentsMargins(1, 7, 1, 7)  # tick labels of stacked bars must not collide
    axis = bar.getAxis("right")
    axis.setWidth(40)
    axis.setLabel(label, **{"font-size": "7pt", "color": "#bdbdbd"})
    axis.setTicks([[(HEAT_LEVELS[0], f"{HEAT_LEVELS[0]:g}"), (HEAT_LEVELS[1], f"{HEAT_LEVELS[1]:g}")]])
    bar.label_text = label
    return bar


def class_legend_html(colours: list[str]) -> str:
    """The expression classes as coloured squares with their names (rich text for a LabelItem)."""
    swatches = " ".join(
        f"<span style='color:{colour}'>■</span>&nbsp;{name}"
        for name, colour in zip(EXPRESSIONS, colours, strict=True)
    )
    return f"<span style='color:#bdbdbd'>{TOP_BAND_CAPTION}:</span>&nbsp; {swatches}"


def untrained_notice_html(head: str) -> str:
    """The notice drawn over an untrained head's plot, on a dark box so it stays readable over data."""
    return (
        "<span style='background-color:#202020; color:#ffcc80'>&nbsp;Not meaningful: "
        f"untrained {head} head&nbsp;</span>"
    )


def reserve_right_column(view: pg.GraphicsLayoutWidget) -> None:
    """Keep the timelines' legend column free beside another view's plot (lanes, track strip), so their plot
    areas, and with them each time's x position and the playheads, line up with the timelines'."""
    spacer = pg.GraphicsWidget()
    view.addItem(spacer, row=0, col=1)
    view.ci.layout.setColumnFixedWidth(1, RIGHT_COLUMN_WIDTH)


def decorate(panel) -> None:
    """Add the legend, colour bars and caption to a `TimelinePanel` (called once from its __init__)."""
    legend = pg.LegendItem(labelTextSize="8pt", labelTextColor="#e0e0e0")
    for curve in panel.smooth_curves:
        legend.addItem(curve, curve.name())
    legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    panel.addItem(legend, row=0, col=1)
    panel.ci.layout.setAlignment(legend, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    panel.ci.layout.setColumnFixedWidth(1, RIGHT_COLUMN_WIDTH)
    panel.va_legend = legend

    panel.expr_bar = colour_bar(EXPR_BAR_LABEL)
    panel.au_bar = colour_bar(AU_BAR_LABEL)
    panel.addItem(panel.expr_bar, row=1, col=1)
    panel.addItem(panel.au_bar, row=2, col=1)

    panel.top_band_caption = pg.LabelItem(class_legend_html(EXPRESSION_COLOURS), size="7pt", justify="left")
    panel.addItem(panel.top_band_caption, row=3, col=0, colspan=2)
    panel.top_band_caption.setMinimumWidth(0)  # clip on a narrow window rather than squeeze the plots
    panel.ci.layout.setRowStretchFactor(3, 0)
    panel.expr_plot.setToolTip(
        "Expression probabilities per frame (colour bar: 0–1).\n" + TOP_BAND_HELP + "."
    )
    panel.au_plot.setToolTip(
        "Probability that each action unit is active (colour bar: 0–1); the thin row under each AU is "
        "white where it reaches its threshold."
    )
    panel.top_band_caption.setToolTip(TOP_BAND_HELP)
    panel.top_band_caption.setCursor(Qt.CursorShape.WhatsThisCursor)
