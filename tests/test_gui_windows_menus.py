"""The review window's entries into the new windows: the Training menu opens the Training window."""

from __future__ import annotations

from test_gui_analysis import close, make_window

from affectstudio.gui.windows.training import TrainingWindow


def test_training_menu_opens_one_training_window(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path / "p.sqlite3", auto_analyse=False)
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles[-2:] == ["&Training", "&Help"]
    window.act_training.trigger()
    training = window.training_window
    assert isinstance(training, TrainingWindow) and training.isVisible()
    assert training.from_project.isEnabled()  # the project's annotations can be exported from it
    window.act_training.trigger()
    assert window.training_window is training
    close(window)
    assert not training.is_running()
