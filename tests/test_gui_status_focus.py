"""Issue 12 item 3 on the real window and the sample video: the status bar after Cancel, the keyboard
focus after the segment dialog, and the final status reporting the whole wait since Open."""

from __future__ import annotations

import re
import time

import pytest
from PySide6.QtCore import Qt, QThread
from PySide6.QtWidgets import QApplication
from test_gui_analysis import ANALYSIS_TIMEOUT_MS, close, make_window
from test_gui_main_window import no_auto_analysis, open_and_wait

from affectstudio.core.annotations.lanes import ANY_TRACK, LaneKey, Segment
from affectstudio.gui.main_window import MainWindow


def test_focus_returns_to_the_video_after_the_segment_dialog(qtbot, sample_video):
    window = MainWindow(no_auto_analysis())
    qtbot.addWidget(window)
    window.show()
    open_and_wait(window, qtbot, sample_video)
    window.seek(30)
    window.video.clearFocus()  # as after a click on a lane, which takes no focus
    window.edit_segment(LaneKey("expression", "me", ANY_TRACK), Segment(10, 20, ""))
    dialog = window._dialogs[-1]
    dialog.value.setCurrentText("Surprise")
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    focus = QApplication.focusWidget()
    assert focus is window.video, focus
    for key, expected in ((Qt.Key.Key_Right, 31), (Qt.Key.Key_Right, 32), (Qt.Key.Key_Left, 31)):
        qtbot.keyClick(QApplication.focusWidget(), key)
        assert window.current_frame == expected
    assert window.playback.jump.value() == 10  # the Jump box did not take the arrows
    window.close()


@pytest.mark.slow
def test_cancel_leaves_no_progress_text_and_the_final_status_counts_the_whole_wait(
    qtbot, tmp_path, sample_video
):
    window = make_window(qtbot, tmp_path / "p.sqlite3")
    started = time.monotonic()
    with qtbot.waitSignal(window.analysis_finished, timeout=ANALYSIS_TIMEOUT_MS) as finished:
        assert window.open_video(sample_video)
    waited = time.monotonic() - started
    result = finished.args[0]
    text = window.status_label.text()
    total = float(re.search(r"in ([0-9.]+) s", text).group(1))
    assert f"Analysed {result.frames} frames" in text
    assert abs(total - waited) < 1.0 and total >= result.seconds  # the wait since Open, not the analysis
    assert f"analysis {result.seconds:.1f} s" in text

    progress = []
    window.controller.progress.connect(lambda report: progress.append(report))
    window.act_reanalyse.trigger()
    qtbot.waitUntil(lambda: len(progress) >= 1 and progress[-1].done > 0, timeout=ANALYSIS_TIMEOUT_MS)
    window.cancel_analysis()
    analysis_threads = window.controller.findChildren(QThread)  # the grabber's thread keeps running
    qtbot.waitUntil(lambda: not [t for t in analysis_threads if t.isRunning()], timeout=ANALYSIS_TIMEOUT_MS)
    qtbot.wait(300)  # let every queued report of the cancelled run arrive
    assert window.status_label.text().startswith("Analysis cancelled"), window.status_label.text()
    assert not window.progress.isVisible() and not window.cancel_button.isVisible()
    close(window)
