"""What the desktop bundle relies on, checked in the source tree (packaging/smoke.sh checks the bundle).

`sys.frozen` and `sys._MEIPASS` are the two attributes PyInstaller's boot loader sets; setting them here
is how the code under test sees the bundle.
"""

from __future__ import annotations

import shutil
import sys

from affectstudio.cli import main
from affectstudio.core.bundle import NO_TRAINING
from affectstudio.core.sample import SAMPLE_DIR, SAMPLE_NAME, sample_video_path


def test_train_in_the_bundle_is_a_one_line_refusal(monkeypatch, capsys, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert main(["train", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"affectstudio: error: {NO_TRAINING}"


def test_train_outside_the_bundle_reaches_the_training_package(capsys, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("not = [valid")
    assert main(["train", str(config)]) == 2
    err = capsys.readouterr().err
    assert "desktop bundle" not in err and "config.toml" in err


def test_the_sample_is_found_at_its_place_in_the_bundle(monkeypatch, tmp_path):
    installed = sample_video_path()
    (tmp_path / SAMPLE_DIR).mkdir(parents=True)
    shutil.copy(installed, tmp_path / SAMPLE_DIR / SAMPLE_NAME)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert sample_video_path() == tmp_path / SAMPLE_DIR / SAMPLE_NAME
    assert sample_video_path().read_bytes() == installed.read_bytes()


def test_the_training_window_says_the_bundle_cannot_train(qtbot, monkeypatch):
    from affectstudio.gui.windows.training import TrainingWindow

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    window = TrainingWindow()
    qtbot.addWidget(window)
    assert not window.start_button.isEnabled()
    assert window.status.text() == NO_TRAINING
    assert window.start() is False
    assert not window.run.is_running()


def test_project_train_in_the_bundle_is_a_one_line_refusal(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert main(["project", "train", str(tmp_path / "study.affectproj")]) == 2
    assert capsys.readouterr().err.strip() == f"affectstudio: error: {NO_TRAINING}"


def test_smoke_mode_gives_up_with_status_1_when_no_frame_comes(monkeypatch, qapp, capsys):
    """No video opened: the smoke mode must fail (status 1) at its time limit, not wait forever."""
    from affectstudio.gui.app import run_app

    monkeypatch.setenv("AFFECTSTUDIO_SMOKE_TEST", "1.5")
    assert run_app(None) == 1
    err = capsys.readouterr().err
    assert "smoke: window shown" in err and "smoke: FAILED: no frame and results within 1.5 s" in err
    assert_later_event_loops_still_run()


def assert_later_event_loops_still_run():
    """`QApplication.exit()` would leave Qt's quit flag set: every later event loop (the next test's
    `waitSignal`) would then return -1 at once instead of waiting. The closed window's model loader reports
    its end after the smoke loop has returned; deliver that first."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    QCoreApplication.processEvents()
    loop = QEventLoop()
    QTimer.singleShot(30, lambda: loop.exit(7))
    assert loop.exec() == 7


def test_the_bundle_requirements_leave_out_what_the_app_never_imports():
    """build.sh installs exactly these lists; a second Qt (cv2's GUI build), Qt Addons, jax or a torch
    from PyPI (CUDA) would be bundled if one of them slipped in."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent.parent / "packaging" / "requirements.py"
    spec = importlib.util.spec_from_file_location("bundle_requirements", path)
    requirements = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(requirements)
    names = {
        requirements.name_of(r)
        for mode in ("", "--no-deps", "--mediapipe-deps")
        for r in requirements.main(mode)
    }
    assert "opencv-contrib-python-headless" in names and "pyside6-essentials" in names
    assert not names & {
        "opencv-contrib-python",
        "opencv-python",
        "pyside6",
        "jax",
        "jaxlib",
        "torch",
        "torchvision",
    }
