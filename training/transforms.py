"""The paper's input pipeline: 112x112 RGB, ImageNet mean/std, and its training augmentation.

Preprocessing (size, mean, std) is read from the checkpoint's config, the same dict the app's engine
uses, so training and inference cannot drift apart (DESIGN.md convention 4).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image
from torchvision import transforms

from training.config import Augmentation

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_PREPROCESSING = {
    "input_size": 112,
    "mean": list(IMAGENET_MEAN),
    "std": list(IMAGENET_STD),
    "color": "RGB",
}


def _base(preprocessing: dict) -> tuple[int, transforms.Normalize]:
    if preprocessing.get("color", "RGB").upper() != "RGB":
        raise ValueError(f"unsupported colour order {preprocessing['color']!r}; only RGB is produced here")
    size = int(preprocessing.get("input_size", 112))
    normalize = transforms.Normalize(
        preprocessing.get("mean", IMAGENET_MEAN), preprocessing.get("std", IMAGENET_STD)
    )
    return size, normalize


def eval_transform(preprocessing: dict | None = None) -> Callable[[Image.Image], torch.Tensor]:
    """Resize, to tensor in [0, 1], normalise: what the app does to every face crop."""
    size, normalize = _base(preprocessing or DEFAULT_PREPROCESSING)
    return transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor(), normalize])


def train_transform(
    preprocessing: dict | None = None, augmentation: Augmentation | None = None
) -> Callable[[Image.Image], torch.Tensor]:
    """The paper's training pipeline. Randomness comes from torch's global generator (seeded per sample)."""
    size, normalize = _base(preprocessing or DEFAULT_PREPROCESSING)
    aug = augmentation or Augmentation()
    affine = transforms.RandomAffine(
        aug.affine_degrees,
        translate=(aug.affine_translate, aug.affine_translate),
        scale=tuple(aug.affine_scale),
    )
    return transforms.Compose(
        [
            transforms.Resize((size, size)),
            transforms.RandomHorizontalFlip(aug.hflip),
            transforms.RandomApply([affine], p=aug.affine_p),
            transforms.ToTensor(),
            normalize,
            transforms.RandomErasing(p=aug.erasing_p, scale=tuple(aug.erasing_scale)),
        ]
    )
