"""What Help > About and Help > Usage show: versions of the parts that matter for a bug report, and the
README's usage section (or a short built-in page where the README is not shipped, as in the bundle).

Versions come from the installed packages' metadata, so nothing heavy (torch) is imported to show them.
"""

from __future__ import annotations

import platform
import re
from importlib import metadata
from pathlib import Path

from affectstudio import __version__

PACKAGES = (("torch", "torch"), ("MediaPipe", "mediapipe"), ("OpenVINO", "openvino"), ("PySide6", "PySide6"))
README = Path(__file__).resolve().parents[2] / "README.md"
SHORT_USAGE = """\
## Using it

- **File > Open video…** (Ctrl+O) shows the video at once; the analysis runs in the background and the
  plots fill in as frames are done.
- **Models > Models…** installs trained weights (download or import a checkpoint); without them the plots
  are greyed out as not meaningful.
- Space plays, Left/Right step one frame, Shift+Left/Right one second; click or drag a timeline to seek,
  the wheel zooms time.
- **Annotate**: coding keys during playback, drag on a lane to create a segment; everything is undoable.
- **File > Export…** writes the per-frame CSV, figures and a PDF summary.
- The same is available on the command line: `affectstudio analyze VIDEO`, `affectstudio models list`,
  `affectstudio project ...` (`affectstudio --help`).
"""


def versions(qt: str | None = None) -> list[tuple[str, str]]:
    """(part, version) for AffectStudio, Python, Qt (given by the GUI) and the optional heavy parts."""
    rows = [("AffectStudio", __version__), ("Python", platform.python_version())]
    if qt:
        rows.append(("Qt", qt))
    for label, package in PACKAGES:
        try:
            rows.append((label, metadata.version(package)))
        except metadata.PackageNotFoundError:
            rows.append((label, "not installed"))
    return rows


def usage_markdown(readme: Path = README) -> str:
    """The README's "Using it" section (up to the next second-level heading), else SHORT_USAGE."""
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError:
        return SHORT_USAGE
    match = re.search(r"^## Using it\n.*?(?=^## )", text, flags=re.S | re.M)
    return match.group(0) if match else SHORT_USAGE
