"""Torch datasets over a `LabelTable`, and a per-epoch batch order that makes training resumable.

The batches of epoch e and the augmentation of each sample in them are functions of (seed, e, position)
only: each sample's transform runs under its own seed. A run resumed at step k of epoch e therefore sees
exactly the batches an uninterrupted run sees, whatever the number of loader workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset, Sampler

from affectstudio.core.errors import AnnotationError
from training.data import LabelTable


def load_image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except FileNotFoundError:
        raise AnnotationError(path, "image not found") from None
    except (UnidentifiedImageError, OSError) as error:
        raise AnnotationError(path, f"cannot read the image ({error})") from None


class FaceDataset(Dataset):
    """Items are (image tensor, va (2,), expr (), au (12,), index); labels keep their sentinels.

    A key is an index, or (index, seed) to run the (random) transform under that seed.
    """

    def __init__(self, table: LabelTable, transform: Callable[[Image.Image], torch.Tensor]):
        self.table = table
        self.transform = transform
        self.va = torch.from_numpy(table.va)
        self.expr = torch.from_numpy(table.expr)
        self.au = torch.from_numpy(table.au)

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, key: int | tuple[int, int]):
        index, seed = key if isinstance(key, tuple) else (key, None)
        image = load_image(self.table.root / self.table.images[index])
        if seed is None:
            tensor = self.transform(image)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                tensor = self.transform(image)
        return tensor, self.va[index], self.expr[index], self.au[index], index


class EpochBatches(Sampler):
    """Shuffled batches fixed by (seed, epoch), yielding lists of (index, sample seed) from batch `start`.

    `reshuffle=False` (the authors) keeps one order for every epoch; each sample's augmentation seed still
    changes with the epoch. `drop_last` drops a last partial batch (the authors); without it only a
    trailing batch of a single sample is dropped: the CCC loss and BatchNorm need two.
    """

    def __init__(self, size: int, batch_size: int, seed: int, epoch: int, start: int = 0,
                 reshuffle: bool = False, drop_last: bool = True):  # fmt: skip
        order = np.random.default_rng([seed, epoch if reshuffle else 0]).permutation(size)
        seeds = np.random.default_rng([seed, epoch, 1]).integers(0, 2**62, size=size)
        keys = [(int(i), int(s)) for i, s in zip(order, seeds, strict=True)]
        batches = [keys[i : i + batch_size] for i in range(0, size, batch_size)]
        if batches and len(batches[-1]) < (batch_size if drop_last else 2):
            batches.pop()
        self.batches = batches
        self.start = start

    @property
    def total(self) -> int:
        """Batches in the whole epoch, including those before `start`."""
        return len(self.batches)

    def __len__(self) -> int:
        return max(0, len(self.batches) - self.start)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        yield from self.batches[self.start :]
