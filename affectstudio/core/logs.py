"""The log file: what the app and the CLI did, for bug reports, kept small and rotating.

Everything logged under the `affectstudio` and `training` loggers, and every uncaught exception, goes to
`<data dir>/logs/affectstudio.log` (1 MB, 5 old files kept). The terminal and the GUI show users one-line
messages; the log keeps the details (tracebacks included) that a one-line message leaves out.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from affectstudio.core.paths import data_dir

LOG_NAME = "affectstudio.log"
MAX_BYTES = 1 << 20
BACKUPS = 5
_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


def log_dir() -> Path:
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def setup_logging(program: str) -> Path | None:
    """Send our loggers to the rotating log file of the current data directory; returns its path, or
    None when that directory is not writable (logging must never stop the program). Calling it again is
    cheap, and moves the log if the data directory changed (tests, portable installs)."""
    try:
        path = log_dir() / LOG_NAME
    except OSError:
        return None
    loggers = [logging.getLogger(name) for name in ("affectstudio", "training")]
    for logger in loggers:
        for handler in list(logger.handlers):
            if isinstance(handler, logging.handlers.RotatingFileHandler):
                if Path(handler.baseFilename) == path:
                    return path
                logger.removeHandler(handler)
                handler.close()
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
    )
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(logging.INFO)
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(min(logger.level or logging.INFO, logging.INFO))
        # The file only: OpenVINO's converter puts a handler on the root logger while it runs (in the
        # background while analysis goes on), which printed our INFO lines on the terminal unformatted.
        logger.propagate = False
    loggers[0].info("%s started: %s", program, " ".join(sys.argv))
    if not getattr(sys.excepthook, "affectstudio", False):
        _log_uncaught()
    return path


def _log_uncaught() -> None:
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if not issubclass(kind, KeyboardInterrupt):
            logging.getLogger("affectstudio").critical(
                "uncaught exception", exc_info=(kind, value, traceback)
            )
        previous(kind, value, traceback)

    hook.affectstudio = True
    sys.excepthook = hook


def log_tail(lines: int = 20) -> tuple[Path | None, str]:
    """The log file's path and its last `lines` lines, for the details of an error dialog ("" if none)."""
    try:
        path = log_dir() / LOG_NAME
    except OSError:
        return None, ""
    for logger in (logging.getLogger("affectstudio"),):
        for handler in logger.handlers:
            handler.flush()
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return path, ""
    return path, "\n".join(text.splitlines()[-lines:])
