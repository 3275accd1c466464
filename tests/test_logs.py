"""The rotating log file: user errors and uncaught bugs are kept for bug reports, in the data dir."""

from __future__ import annotations

import os
import subprocess
import sys

from affectstudio.cli import main
from affectstudio.core.logs import LOG_NAME, log_dir


def test_a_user_error_is_one_line_on_the_terminal_and_logged_in_the_data_dir(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "missing.mp4")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    for handler in __import__("logging").getLogger("affectstudio").handlers:
        handler.flush()
    text = (log_dir() / LOG_NAME).read_text()
    assert "affectstudio started:" in text and "user error:" in text and "missing.mp4: file not found" in text


def test_an_uncaught_bug_lands_in_the_log_with_its_traceback(tmp_path):
    data = tmp_path / "data"
    code = (
        "from affectstudio.core.logs import setup_logging\n"
        "setup_logging('probe')\n"
        "def broken():\n    raise ZeroDivisionError('bug in here')\n"
        "broken()\n"
    )
    env = {**os.environ, "AFFECTSTUDIO_DATA_DIR": str(data)}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "ZeroDivisionError" in run.stderr
    text = (data / "logs" / LOG_NAME).read_text()
    assert "CRITICAL affectstudio: uncaught exception" in text
    assert "in broken" in text and "ZeroDivisionError: bug in here" in text
