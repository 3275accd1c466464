"""Fill lanes from the model over the marked range, statistics of the selection and the agreement panel,
on the analysed sample video with the real store (one analysis for the module)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_gui_analysis import close, make_window

from affectstudio.core.annotations.lanes import DEFAULT_ANNOTATOR, LaneKey, Segment
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS

pytestmark = pytest.mark.slow


# The first analysis of a test session compiles the fast path; on a loaded 2-core machine that alone has
# taken minutes.
ANALYSIS_TIMEOUT_MS = 900_000


def analyse(window, qtbot, video):
    with qtbot.waitSignal(window.analysis_finished, timeout=ANALYSIS_TIMEOUT_MS) as finished:
        assert window.open_video(video)
    return finished.args[0]


@pytest.fixture
def analysed(qtbot, tmp_path, sample_video):
    window = make_window(qtbot, tmp_path / "p.affectproj")
    analyse(window, qtbot, sample_video)
    yield window
    close(window)


def _mark(window, first, last):
    window.seek(first)
    window.mark_in()
    window.seek(last)
    window.mark_out()


def test_fill_statistics_and_agreement(analysed, tmp_path):
    window, session = analysed, analysed.session
    track = window.track
    _mark(window, 20, 59)
    assert window.marked_range() == (20, 59)
    assert window.fill_from_model(["expression", *ACTION_UNITS, "valence"])
    key = LaneKey("expression", DEFAULT_ANNOTATOR, track)
    segments = window.store.segments(window.video_hash, key)
    assert segments[0].start == 20 and segments[-1].stop == 59
    arrays = session.track_arrays()
    top = np.nanargmax(arrays.expr[20:60], axis=1)
    per_frame = [next(s.value for s in segments if s.start <= f <= s.stop) for f in range(20, 60)]
    assert per_frame == [EXPRESSIONS[k] for k in top]
    session.undo.undo()
    assert window.store.segments(window.video_hash, key) == []
    session.undo.redo()
    assert len(window.store.segments(window.video_hash, key)) == len(segments)

    window.statistics_panel.show()
    window._refresh_panels()
    stats = window.statistics_panel.result
    assert set(stats.source) == {"model", DEFAULT_ANNOTATOR}
    mine = stats[
        (stats.source == DEFAULT_ANNOTATOR) & (stats.statistic == "time share") & (stats.unit == "%")
    ]
    shares = dict(zip(mine.name, mine.value, strict=True))
    counts = pd.Series([EXPRESSIONS[k] for k in top]).value_counts()
    for name, frames in counts.items():
        assert shares[name] == pytest.approx(100 * frames / 40, abs=0.5)  # frame durations are near equal
    assert "frames 20–59" in window.statistics_panel.title.text()

    other = LaneKey("expression", "rater2", track)
    session.add_segment(other, Segment(20, 39, EXPRESSIONS[int(top[0])]))
    window.agreement_panel.show()
    window._refresh_panels()
    panel = window.agreement_panel
    names = [panel.first.itemText(i) for i in range(panel.first.count())]
    assert names[:3] == ["model", DEFAULT_ANNOTATOR, "rater2"]
    table = panel.choose("model", DEFAULT_ANNOTATOR)
    valence = table[(table.measure == "CCC") & (table.lane == "valence")].iloc[0]
    assert valence.value == pytest.approx(1.0, abs=1e-5) and valence.frames == 40
    macro = table[(table.measure == "F1 macro") & (table.lane == "expression")].iloc[0]
    assert macro.value == pytest.approx(1.0) and macro.frames == 40
    table = panel.choose(DEFAULT_ANNOTATOR, "rater2")
    kappa = table[(table.measure == "kappa") & (table.lane == "expression")]
    assert len(kappa) == 1 and kappa.iloc[0].frames == 20
    written = panel.export_csv(tmp_path / "agreement.csv")
    assert pd.read_csv(written).shape[0] == len(table)
