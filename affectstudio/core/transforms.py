"""One preprocessing contract: how a face becomes the network's input, resolved once from the checkpoint.

timm's idea (`resolve_data_config` -> `create_transform`): the checkpoint's config names the crop method,
input size, colour order and mean/std; `resolve` reads them (filling the defaults once, here) into a
`Preprocessing`, and everything that feeds the network uses it: the engine and the fast path
(`normalise`, `scale_offset`), the training-set export and the GUI (`crop_for`), training's evaluation
transform (`mean`/`std`). So training and the app cannot drift apart.

Crop methods:
  - `aligned-5pt`: a similarity transform of 5 landmarks onto the DDAMFN templates (`alignment.py`), as the
    released DDAMFN++ checkpoints were trained; what stock imports and new configs use.
  - `box`: the square box crop with 20% margin (`faces.crop_face`), what our checkpoints trained before
    alignment existed saw.
A config without a crop method is one written before the method was recorded: a stock import then means
`aligned-5pt` (that is how its weights were trained), anything else `box` (every checkpoint of ours was
trained on box crops exported by the app until then).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from affectstudio.core.errors import AffectStudioError

CROP_SIZE = 112  # the side of every face crop (the alignment templates are in 112x112 crop pixels)
ALIGNED, BOX = "aligned-5pt", "box"
CROP_METHODS = (ALIGNED, BOX)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
STOCK_SOURCE_PREFIX = "DDAMFN"  # provenance["source"] of a stock import starts with this


def default_preprocessing(crop_method: str = ALIGNED) -> dict:
    """The plain dict a new checkpoint config stores (RGB, 112 px, ImageNet statistics)."""
    return {
        "crop_method": crop_method,
        "input_size": CROP_SIZE,
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "color": "RGB",
    }


@dataclass(frozen=True)
class Preprocessing:
    crop_method: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def scale_offset(self) -> tuple[np.ndarray, np.ndarray]:
        """(x / 255 - mean) / std == x * scale - offset, per channel, shaped (1, 3, 1, 1) float32."""
        mean, std = np.array(self.mean), np.array(self.std)
        scale = (1.0 / (255.0 * std)).astype(np.float32).reshape(1, 3, 1, 1)
        offset = (mean / std).astype(np.float32).reshape(1, 3, 1, 1)
        return scale, offset

    def resized(self, crops: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 crops at the network's input size (bilinear when they differ)."""
        import cv2

        size = self.input_size
        if crops.shape[1:3] == (size, size):
            return crops
        return np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_LINEAR) for c in crops])

    def normalise(self, crops: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB crops -> (N, 3, S, S) float32 network input."""
        x = self.resized(crops).transpose(0, 3, 1, 2).astype(np.float32)
        scale, offset = self.scale_offset()
        x *= scale
        x -= offset
        return x


def resolve(config) -> Preprocessing:
    """A checkpoint config (or its `preprocessing` dict) -> the `Preprocessing` it means, validated."""
    prep = dict(getattr(config, "preprocessing", config) or {})
    method = prep.get("crop_method") or _legacy_method(getattr(config, "provenance", None))
    if method not in CROP_METHODS:
        raise AffectStudioError(None, f"unknown crop method {method!r} in the model config ({CROP_METHODS})")
    color = str(prep.get("color", "RGB")).upper()
    if color != "RGB":
        raise AffectStudioError(None, f"unsupported colour order {color!r} in the model config (only RGB)")
    mean = tuple(float(v) for v in prep.get("mean", IMAGENET_MEAN))
    std = tuple(float(v) for v in prep.get("std", IMAGENET_STD))
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise AffectStudioError(None, f"model config has a bad mean/std: {mean} / {std}")
    return Preprocessing(method, int(prep.get("input_size", CROP_SIZE)), mean, std)


def _legacy_method(provenance: dict | None) -> str:
    source = str((provenance or {}).get("source", ""))
    return ALIGNED if source.startswith(STOCK_SOURCE_PREFIX) else BOX


def crop_for(config, image: np.ndarray, face, landmarker=None) -> np.ndarray:
    """The 112x112 RGB crop of `face` in the RGB `image` that a model with this config expects.

    `face` is a `faces.Face` (its 5 landmarks are used when it has them) or a `faces.Box`. An aligned
    crop of a face without landmarks finds them first (`alignment.Landmarker`, made here unless given:
    pass one when cropping many faces).
    """
    from affectstudio.core import alignment, faces

    box = face if isinstance(face, faces.Box) else face.box
    if resolve(config).crop_method == BOX:
        return faces.crop_face(image, box, CROP_SIZE)
    points = getattr(face, "landmarks", None)
    if points is None:
        landmarker = landmarker or alignment.Landmarker()
        points = landmarker.five_points(image, box, getattr(face, "keypoints", None))
    return alignment.warp(image, alignment.align_matrix(points)[0], CROP_SIZE)
