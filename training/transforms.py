"""The paper's input pipeline: 112x112 RGB, ImageNet mean/std, and its training augmentation.

Preprocessing (size, mean, std) is read from the checkpoint's config, the same dict the app's engine
uses, so training and inference cannot drift apart (DESIGN.md convention 4).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image
from torchvision import transforms

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.transforms import default_preprocessing, resolve
from training.config import Augmentation

DEFAULT_PREPROCESSING = default_preprocessing()


def _base(preprocessing: dict) -> tuple[int, transforms.Normalize]:
    try:
        prep = resolve(preprocessing)  # the app's contract: same size, colour order and mean/std
    except AffectStudioError as error:
        raise ValueError(error.problem) from None
    return prep.input_size, transforms.Normalize(prep.mean, prep.std)


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
