"""File > Import overlay on the sample video: stored in the project, drawn dashed beside the model's."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from test_gui_analysis import close, make_window

from affectstudio.core.labels import ACTION_UNITS
from affectstudio.gui.windows.overlays import AU_MARK_Y
from tests.test_annotation_overlays import openface_csv


def _items(window, plot):
    return [item for p, item in window.overlay_traces.items if p is plot]


def test_import_draw_store_and_reload(qtbot, tmp_path, sample_video):
    window = make_window(qtbot, tmp_path / "p.affectproj", auto_analyse=False)
    assert window.open_video(sample_video)
    times = window.timestamps
    generic = tmp_path / "rater.csv"
    generic.write_text(
        "# exported by a tool\ntime\tvalence\tarousal\n"
        + "".join(f"{t:.4f}\t{np.sin(i / 10):.3f}\t{0.5:.1f}\n" for i, t in enumerate(times[:60]))
    )
    assert window.import_overlay(generic), window.errors
    valence, arousal = _items(window, window.timeline.va_plot)
    x, y = valence.getData()
    assert len(x) == len(times) and np.isnan(y[60:]).all()
    np.testing.assert_allclose(y[:60], np.round(np.sin(np.arange(60) / 10), 3), atol=1e-6)
    assert valence.opts["pen"].style() == Qt.PenStyle.DashLine  # read-only, apart from the solid model lines
    assert "rater" in window.status_label.text() and np.nanmax(arousal.getData()[1]) == 0.5

    openface = tmp_path / "openface.csv"
    openface_csv(openface, [{"frame": f, "AU12_c": int(f >= 30)} for f in range(120)], times=times)
    assert window.import_overlay(openface)
    [marks] = _items(window, window.timeline.au_plot)
    _, ys = marks.getData()
    row = ACTION_UNITS.index("AU12") + AU_MARK_Y
    assert np.sum(np.isclose(ys, row)) == 90  # frames 30..119 active
    assert {o.name for o in window.store.overlays(window.video_hash)} == {"rater", "openface"}

    window.session.close_video()
    assert window.overlay_traces.items == []
    assert window.open_video(sample_video)  # reopening draws them again from the project
    assert (
        len(_items(window, window.timeline.va_plot)) == 2
        and len(_items(window, window.timeline.au_plot)) == 1
    )

    bad = tmp_path / "bad.csv"
    bad.write_text("frame,valence\n0,0.1\n1,zero point two\n")
    assert not window.import_overlay(bad)
    title, message = window.errors[-1]
    assert title == "Cannot import the overlay" and "bad.csv" in message and "line 3" in message
    close(window)
