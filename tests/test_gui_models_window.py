"""The Models window against a local HTTP server: download with progress, cancel, a failed verification,
offline (a port nothing listens on), set default, remove after a confirmation, import; and the review
window's ways into it (the Models menu, "Get trained weights…" beside every untrained notice)."""

from __future__ import annotations

import pytest
from model_server import serving
from PySide6.QtWidgets import QMessageBox

from affectstudio.core.model import download
from affectstudio.core.model.download import CatalogEntry, git_blob_id
from affectstudio.core.model.registry import ModelRegistry
from affectstudio.gui.windows.models import ModelsWindow

FAST = 30000


@pytest.fixture
def catalog(stock_file, monkeypatch):
    """One catalog entry whose checksum is the stock-layout file's, so a good download verifies."""
    entry = CatalogEntry(
        "ddamfn-test", stock_file.name, git_blob_id(stock_file), "AffectNet-8", "a test copy", {}, 17, "terms"
    )
    monkeypatch.setattr(download, "CATALOG", (entry,))
    return entry


@pytest.fixture(scope="module")
def server(stock_file):
    with serving({stock_file.name: stock_file.read_bytes()}) as running:
        yield running


@pytest.fixture
def window(qtbot):
    win = ModelsWindow()
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def partials() -> list:
    return sorted(p.name for p in ModelRegistry().root.iterdir() if p.name != "settings.json")


def wait_idle(window, qtbot) -> None:
    qtbot.waitUntil(lambda: not window.busy, timeout=FAST)


def test_lists_the_catalog_with_size_and_licence_when_nothing_is_installed(qtbot):
    win = ModelsWindow()
    qtbot.addWidget(win)
    names = [row.name for row in win.rows]
    assert names == ["ddamfn-affectnet8", "ddamfn-affectnet7", "ddamfn-rafdb"]
    item = win.table.topLevelItem(0)
    assert item.text(1) == "available" and item.text(3) == "17.4 MB"
    assert "UNTRAINED" in item.text(2) and "AffectNet-8" in item.text(4)
    assert "non-commercial" in win.details.text() and "17.4 MB" in win.details.text()
    assert win.download_button.isEnabled() and not win.remove_button.isEnabled()
    win.close()


def test_download_shows_progress_installs_and_becomes_default(window, qtbot, server, catalog, monkeypatch):
    monkeypatch.setenv(download.BASE_URL_ENV, server.url("good"))
    window.refresh()
    fractions = []
    window.select(catalog.name)
    with qtbot.waitSignal(window.models_changed, timeout=FAST):
        window.download_button.click()
        window.thread.progress.connect(lambda p: fractions.append(p.fraction))
    assert fractions and fractions[-1] == 1.0
    assert window.status.text() == "Installed 'ddamfn-test' (now the default model)"
    row = window.selected
    assert row.name == "ddamfn-test" and row.installed and row.default
    assert window.table.currentItem().text(1) == "default"
    assert "downloaded from " + server.url("good") in row.provenance
    assert ModelRegistry().default_name() == "ddamfn-test" and partials() == ["ddamfn-test.pt"]


def test_cancel_stops_the_download_and_leaves_nothing(window, qtbot, server, catalog, monkeypatch):
    monkeypatch.setenv(download.BASE_URL_ENV, server.url("slow"))
    window.refresh()
    window.select(catalog.name)
    window.download_button.click()
    assert window.busy and window.cancel_button.isEnabled() and not window.download_button.isEnabled()
    qtbot.waitUntil(lambda: window.progress.value() > 0, timeout=FAST)
    window.cancel_button.click()
    wait_idle(window, qtbot)
    assert window.status.text() == "Download cancelled; nothing was installed."
    assert not window.progress.isVisible() and window.errors == []
    assert partials() == [] and ModelRegistry().default_name() is None


def test_cancel_while_the_server_never_answers_takes_effect_within_half_a_second(
    window, qtbot, server, catalog, monkeypatch
):
    """Issue 12: the server accepts the request and never answers; Cancel used to take effect only once
    the attempt gave up (15 s)."""
    import time

    monkeypatch.setenv(download.BASE_URL_ENV, server.url("silent"))
    window.refresh()
    window.download(catalog.name)
    qtbot.waitUntil(lambda: "connecting to 127.0.0.1" in window.status.text(), timeout=FAST)
    qtbot.wait(300)  # well into the wait for an answer
    start = time.monotonic()
    window.cancel_button.click()
    qtbot.waitUntil(lambda: not window.busy, timeout=3000)
    assert time.monotonic() - start < 0.5
    assert window.status.text() == "Download cancelled; nothing was installed." and window.errors == []
    assert partials() == [] and not window.selected.installed


def test_a_file_that_fails_verification_is_refused_with_the_import_hint(
    window, qtbot, server, catalog, monkeypatch
):
    monkeypatch.setenv(download.BASE_URL_ENV, server.url("corrupt"))
    window.refresh()
    window.download(catalog.name)
    wait_idle(window, qtbot)
    ((title, message),) = window.errors
    assert title == "Cannot download the model"
    assert "downloaded file is corrupted" in message and catalog.blob_id in message
    assert "Import checkpoint" in message and "\n" not in message
    box = window.error_box
    assert box.text() == message and "Log file: " in box.detailedText()
    assert "corrupted" in window.status.text()
    assert partials() == [] and not window.selected.installed
    box.close()


def test_offline_download_fails_clearly_and_says_to_import_a_file(window, qtbot, catalog, monkeypatch):
    monkeypatch.setenv(download.BASE_URL_ENV, "http://127.0.0.1:9/")  # nothing listens on port 9
    window.refresh()
    window.download(catalog.name)
    wait_idle(window, qtbot)
    ((_, message),) = window.errors
    assert "download failed after 3 attempts" in message and "Connection refused" in message
    assert f"if this computer is offline, download {catalog.file}" in message
    assert "Models > Import checkpoint…" in message
    assert partials() == []
    window.error_box.close()


def test_import_set_default_and_remove_after_confirmation(window, qtbot, stock_file, tmp_path):
    copy = tmp_path / "second.pth"
    copy.write_bytes(stock_file.read_bytes())
    for path in (stock_file, copy):
        with qtbot.waitSignal(window.models_changed, timeout=FAST):
            window.import_checkpoint(str(path))
    installed = [row.name for row in window.rows if row.installed]
    assert installed == ["ddamfn_affectnet8_layout", "second"]
    assert ModelRegistry().default_name() == "ddamfn_affectnet8_layout"  # the first one installed
    window.select("second")
    assert window.default_button.isEnabled()
    with qtbot.waitSignal(window.models_changed):
        window.default_button.click()
    assert ModelRegistry().default_name() == "second" and not window.default_button.isEnabled()

    box = window.remove()  # asks first; "No" keeps the model
    box.button(QMessageBox.StandardButton.No).click()
    assert ModelRegistry().is_installed("second")
    box = window.remove()
    with qtbot.waitSignal(window.models_changed):
        box.button(QMessageBox.StandardButton.Yes).click()
    assert not ModelRegistry().is_installed("second")
    assert ModelRegistry().default_name() == "ddamfn_affectnet8_layout"
    assert "default model is now 'ddamfn_affectnet8_layout'" in window.status.text()


def test_a_bad_checkpoint_import_shows_the_file_and_the_problem(window, qtbot, tmp_path):
    bad = tmp_path / "not a model.pth"
    bad.write_bytes(b"hello")
    window.import_checkpoint(str(bad))
    wait_idle(window, qtbot)
    ((title, message),) = window.errors
    assert title == "Cannot import the model" and str(bad) in message
    window.error_box.close()


def test_the_review_window_offers_trained_weights_beside_every_untrained_notice(
    qtbot, sample_video, stock_file
):
    from PySide6.QtCore import Qt
    from test_gui_main_window import no_auto_analysis, open_and_wait

    from affectstudio.gui.main_window import MainWindow

    window = MainWindow(no_auto_analysis())
    qtbot.addWidget(window)
    window.resize(1100, 760)
    window.show()
    qtbot.waitUntil(lambda: window.controller.loaded is not None, timeout=120_000)
    open_and_wait(window, qtbot, sample_video)
    assert "&Models" in [a.text() for a in window.menuBar().actions()]
    assert window.get_weights_button.isVisible() and window.model_label.text().endswith("(untrained)")
    for task in ("va", "expr", "au"):
        assert "untrained" in window.timeline.notices[task].text
        assert "Get trained weights…" in window.timeline.weights_links[task].text
    link = window.timeline.weights_links["au"]
    where = window.timeline.mapFromScene(link.sceneBoundingRect().center())
    qtbot.mouseClick(window.timeline.viewport(), Qt.MouseButton.LeftButton, pos=where)
    models = window.models_window
    assert isinstance(models, ModelsWindow) and models.isVisible()
    models.close()
    window.get_weights_button.click()
    assert window.models_window is models and models.isVisible()

    with qtbot.waitSignal(window.controller.model_ready, timeout=120_000):  # installing re-loads the default
        models.import_checkpoint(str(stock_file))
    assert window.controller.loaded.name == "ddamfn_affectnet8_layout"
    qtbot.waitUntil(lambda: window.timeline.weights_links["expr"].text == "", timeout=5000)
    assert "Get trained weights…" in window.timeline.weights_links["va"].text  # stock weights: VA untrained
    window.close()
    assert not models.isVisible()
