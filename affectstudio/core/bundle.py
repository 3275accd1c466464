"""What the desktop bundle (packaging/, PyInstaller) can and cannot do.

The bundle analyses and reviews video but does not train: training needs torchvision (its augmentations,
training/transforms.py), which is not bundled, and the Training page runs `python -m training` in a child
process, which needs a Python interpreter the bundle does not have. Both entry points say so in one line
instead of failing with an import error or a process that never starts.
"""

from __future__ import annotations

import sys

from affectstudio.core.errors import AffectStudioError

NO_TRAINING = (
    "training is not part of the desktop bundle (it needs torchvision and a Python interpreter): "
    "install AffectStudio with pip (see the README) and train there with `affectstudio train CONFIG`"
)


def frozen() -> bool:
    """True inside the PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def check_can_train() -> None:
    """Raise the one-line user error when training is asked of the desktop bundle."""
    if frozen():
        raise AffectStudioError(None, NO_TRAINING)
