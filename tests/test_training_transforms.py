"""The training input pipeline: the app's preprocessing at eval time, and the paper's augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from affectstudio.core.engine import InferenceEngine
from affectstudio.core.model.checkpoint import untrained_model
from training.config import Augmentation
from training.transforms import eval_transform, train_transform


@pytest.fixture(scope="module")
def face():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (112, 112, 3), dtype=np.uint8)


def test_eval_pipeline_matches_the_apps_engine(face):
    loaded = untrained_model()
    engine = InferenceEngine(loaded, device="cpu", fast=False)
    expected = engine.preprocess(face[None])[0]
    actual = eval_transform(loaded.config.preprocessing)(Image.fromarray(face))
    assert torch.allclose(actual, expected, atol=1e-6)


def test_preprocessing_comes_from_the_checkpoint_config(face):
    custom = {"input_size": 112, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "color": "RGB"}
    out = eval_transform(custom)(Image.fromarray(face))
    assert torch.allclose(out, torch.from_numpy(face).permute(2, 0, 1).float() / 127.5 - 1, atol=1e-6)


def test_flip_alone_mirrors_the_image(face):
    only_flip = Augmentation(hflip=1.0, affine_p=0.0, erasing_p=0.0)
    out = train_transform(None, only_flip)(Image.fromarray(face))
    assert torch.equal(out, torch.flip(eval_transform()(Image.fromarray(face)), dims=[2]))


def test_random_erasing_after_normalisation_erases_five_percent(face):
    only_erase = Augmentation(hflip=0.0, affine_p=0.0)
    transform = train_transform(None, only_erase)
    reference = eval_transform()(Image.fromarray(face))
    for seed in range(5):
        torch.manual_seed(seed)
        out = transform(Image.fromarray(face))
        erased = (out != reference).all(dim=0)  # every channel changed: the erased box
        assert torch.all(out[:, erased] == 0)  # zeros in normalised space, i.e. after normalisation
        # The authors' scale (0.05, 0.05): 5% of the image every time (627 pixels, up to rounding of the box).
        assert 0.05 * 112 * 112 * 0.93 <= int(erased.sum()) <= 0.05 * 112 * 112 * 1.07


def test_full_augmentation_is_reproducible_under_a_seed(face):
    transform = train_transform()
    torch.manual_seed(7)
    first = transform(Image.fromarray(face))
    torch.manual_seed(7)
    again = transform(Image.fromarray(face))
    torch.manual_seed(8)
    other = transform(Image.fromarray(face))
    assert first.shape == (3, 112, 112) and torch.equal(first, again) and not torch.equal(first, other)
