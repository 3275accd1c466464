"""`analyze --save-crops DIR`: every face crop the network saw, as OpenFace's `-simalign` writes them.

    DIR/track_<id>/<frame:06d>.png     (0-based frame index, lossless PNG, the crop's RGB as an image)

So users can see what the network was fed (alignment, occlusions, a wrong face). The folder is built
under a temporary name beside DIR and renamed into place when the run ends (a cancelled run keeps the
crops done so far), so DIR is never half-written; an existing non-empty DIR is refused up front.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from affectstudio.core.errors import AffectStudioError


def crop_path(folder: str | Path, track_id: int, frame: int) -> Path:
    return Path(folder) / f"track_{track_id}" / f"{frame:06d}.png"


def read_crop(path: str | Path) -> np.ndarray:
    """A saved crop back as the RGB array the network saw."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise AffectStudioError(path, "not a readable PNG crop")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class CropSaver:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if self.folder.exists() and (not self.folder.is_dir() or any(self.folder.iterdir())):
            raise AffectStudioError(self.folder, "crops folder exists and is not empty; choose a new folder")
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        self._building = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.", dir=self.folder.parent))
        self._made: set[int] = set()
        self.count = 0

    def save(self, frames) -> None:
        """Write the crops of `FrameFaces` items (each face's crop, named by its track and frame)."""
        for item in frames:
            for face, crop in zip(item.faces, item.crops, strict=True):
                if face.track_id not in self._made:
                    (self._building / f"track_{face.track_id}").mkdir()
                    self._made.add(face.track_id)
                ok, png = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
                if not ok:
                    raise AffectStudioError(self.folder, "could not encode a crop as PNG")
                crop_path(self._building, face.track_id, item.index).write_bytes(png.tobytes())
                self.count += 1

    def close(self) -> Path:
        if self.folder.exists():
            self.folder.rmdir()  # empty, checked at the start
        self._building.rename(self.folder)
        return self.folder

    def abort(self) -> None:
        shutil.rmtree(self._building, ignore_errors=True)
