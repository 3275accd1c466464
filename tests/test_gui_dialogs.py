"""Settings and Export dialogs on the real window (results from the real engine, cached per module)."""

from __future__ import annotations

import pytest
from test_gui_analysis import close, make_window, wait_for_results

from affectstudio.core.results import ResultTable
from affectstudio.core.settings import Settings
from affectstudio.gui.export_dialog import ExportDialog

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    root = tmp_path_factory.mktemp("gui-dialogs")
    return {"project": root / "project.sqlite3", "cache": root / "cache"}


@pytest.fixture(autouse=True)
def _shared_cache(shared, monkeypatch):
    monkeypatch.setenv("AFFECTSTUDIO_CACHE_DIR", str(shared["cache"]))


@pytest.fixture
def analysed(qtbot, shared, sample_video):
    window = make_window(qtbot, shared["project"])
    wait_for_results(window, qtbot, sample_video)
    yield window
    close(window)


def test_export_dialog_writes_csv_plots_and_summary(qtbot, analysed, tmp_path):
    dialog = ExportDialog(analysed.session, analysed.timeline, analysed.controller.loaded)
    qtbot.addWidget(dialog)
    everything = ResultTable.from_csv(dialog.export_csv(tmp_path / "all.csv"))
    assert len(everything) == len(analysed.data.rows()) and everything.metadata["track"] == "all"
    dialog.selected_track.setChecked(True)
    dialog.smoothed.setChecked(True)
    dialog.by_time.setChecked(True)
    dialog.first_time.setValue(1.0)
    dialog.last_time.setValue(2.0)
    part = ResultTable.from_csv(dialog.export_csv(tmp_path / "part.csv"))
    first, last = dialog.frame_range()
    assert list(part.df["frame"]) == list(range(first, last + 1))
    assert part.metadata["smoothing_frames"] == analysed.settings.display.smoothing
    assert set(part.df["track_id"]) <= {analysed.track, -1}
    png = dialog.export_plots(tmp_path / "plots.png")
    svg = dialog.export_plots(tmp_path / "plots.svg")
    assert png.read_bytes()[:4] == b"\x89PNG" and b"<svg" in svg.read_bytes()[:2000]
    from affectstudio.gui.timeline import PLAYHEAD_COLOUR

    title = dialog.plot_title(*dialog.time_range())
    assert title.startswith(f"{analysed.session.video.path.name} · {dialog._track_name()} · model ")
    assert title in svg.read_text(encoding="utf-8") and PLAYHEAD_COLOUR not in svg.read_text(encoding="utf-8")
    pdf = dialog.export_summary(tmp_path / "summary.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000
    assert not list(tmp_path.glob("*partial*"))
    assert_trace_page(pdf, analysed.session.video.path.name)


def test_png_and_svg_cover_the_dialogs_range_not_the_timelines_view(qtbot, analysed, tmp_path):
    """Issue 12: they covered the time range the timelines showed, where the PDF and CSV use the dialog's."""
    from PySide6.QtGui import QImage

    from affectstudio.core.figures import clock
    from affectstudio.gui import figure_export

    timeline = analysed.timeline
    dialog = ExportDialog(analysed.session, timeline, analysed.controller.loaded)
    qtbot.addWidget(dialog)
    dialog.by_time.setChecked(True)
    dialog.first_time.setValue(1.0)
    dialog.last_time.setValue(3.0)
    first, last = dialog.frame_range()
    stamps = analysed.session.timestamps
    start, stop = float(stamps[first]), float(stamps[last + 1])  # the first frame's start, the last's end
    assert start <= 1.0 < 3.0 < stop
    timeline.va_plot.setXRange(0.2, 0.9, padding=0)  # the user looks at another part
    viewed = timeline.view_range()
    png = dialog.export_plots(tmp_path / "range.png")
    svg = dialog.export_plots(tmp_path / "range.svg")
    assert timeline.view_range() == pytest.approx(viewed)  # the view is put back
    title = dialog.plot_title(start, stop)
    assert f" · {clock(start)}–{clock(stop)}" in title and title in svg.read_text(encoding="utf-8")
    timeline.va_plot.setXRange(start, stop, padding=0)  # what the PNG must show: the timelines over the range
    expected = figure_export.timeline_image(timeline, title).convertToFormat(QImage.Format.Format_ARGB32)
    assert QImage(str(png)).convertToFormat(QImage.Format.Format_ARGB32) == expected


def assert_trace_page(pdf, video_name):
    """Page 1: the figures under the title; page 2: the traces over time (a colourful figure)."""
    import numpy as np
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QImage
    from PySide6.QtPdf import QPdfDocument

    from affectstudio.gui.export_data import TRACE_PAGE_HEADING

    document = QPdfDocument()
    assert document.load(str(pdf)) == QPdfDocument.Error.None_
    assert document.pageCount() == 2
    first_page = document.getAllText(0).text()
    assert video_name in first_page and "AU activation rate" in first_page
    assert TRACE_PAGE_HEADING in document.getAllText(1).text()
    page = document.render(1, QSize(600, 850)).convertToFormat(QImage.Format.Format_RGB888)
    rgb = np.frombuffer(page.constBits(), np.uint8).reshape(page.height(), page.bytesPerLine())
    rgb = rgb[:, : page.width() * 3].reshape(page.height(), page.width(), 3).astype(int)
    coloured = (rgb.max(axis=2) - rgb.min(axis=2)) > 60  # the heat maps and traces, not black-on-white text
    assert coloured.mean() > 0.05
    document.close()


def test_settings_dialog_rederives_thresholds_and_smoothing_without_reanalysis(qtbot, analysed):
    dialog = analysed.settings_dialog()
    qtbot.addWidget(dialog)
    assert dialog.models.count() >= 1 and "untrained" in dialog.model_info.text().lower()
    dialog.smoothing.setValue(5)
    assert dialog.scrub_proxy.isChecked()
    dialog.scrub_proxy.setChecked(False)
    for box in dialog.threshold_boxes:
        box.setValue(0.99)
    dialog.apply()
    assert not analysed.controller.running
    assert analysed.thresholds == [0.99] * 12 and analysed.settings.display.smoothing == 5
    marker = analysed.timeline.au_image.image[:, 3::4, :3]
    assert not (marker == 255).any()  # nothing reaches 0.99
    dialog.reset_thresholds()
    assert [b.value() for b in dialog.threshold_boxes] == list(
        analysed.controller.loaded.config.au_thresholds
    )
    dialog.accept()
    stored = Settings.load()
    assert stored.display.smoothing == 5 and stored.display.scrub_proxy is False
    assert stored.thresholds_for(analysed.controller.loaded.digest) is None  # back to the checkpoint's


def test_settings_dialog_imports_a_model_and_switches_to_it(qtbot, analysed, tmp_path):
    from affectstudio.core.model.checkpoint import save_checkpoint, untrained_model

    other = untrained_model(seed=3)
    path = save_checkpoint(tmp_path / "mine.pt", other.model, other.config)
    analysed.settings.auto_analyse = False
    dialog = analysed.settings_dialog()
    qtbot.addWidget(dialog)
    dialog.import_model(str(path))
    names = [dialog.models.item(i).text() for i in range(dialog.models.count())]
    assert "mine" in names and dialog.models.currentItem().text() == "mine"
    with qtbot.waitSignal(analysed.controller.model_ready, timeout=60_000) as ready:
        dialog.accept()
    assert ready.args[0].digest == other.digest and analysed.settings.analysis.model == "mine"
    dialog = analysed.settings_dialog()
    qtbot.addWidget(dialog)
    dialog.import_model(str(tmp_path / "missing.pt"))
    assert analysed.errors[-1][0] == "Cannot import the model"


def test_export_is_refused_without_results(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path / "p.sqlite3", auto_analyse=False)
    window.show_export()
    assert window.errors[-1][0] == "Nothing to export"
    close(window)


def test_training_is_no_longer_a_settings_page(qtbot, analysed):
    dialog = analysed.settings_dialog()
    qtbot.addWidget(dialog)
    titles = [dialog.pages.item(i).text() for i in range(dialog.pages.count())]
    assert "Training" not in titles and titles[0] == "Model"
