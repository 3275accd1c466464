"""A tiny dataset in the exact s-Aff-Wild2 layout whose labels are a learnable function of the images.

Each 112x112 face image is three horizontal bands (so a horizontal flip keeps every label): the top band's
colour is the expression class (8 distinct colours), the middle band's grey level is the valence, the
bottom band's the arousal. The 12 AUs are a fixed function of the class. JPEG noise and random jitter
keep it from being trivially separable pixel for pixel. Sentinels (-5 / -1) are placed by fixed rules and
counted independently, so curation counts can be checked exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from affectstudio.core.labels import ACTION_UNITS

PALETTE = np.array(
    [[230, 30, 30], [30, 200, 30], [40, 40, 230], [230, 230, 30], [230, 30, 230], [30, 220, 220],
     [250, 140, 0], [120, 60, 20]],
    dtype=np.float32,
)  # fmt: skip
# AU k is active for class c when AU_TABLE[c, k] == 1 (about a third positive, every AU used).
AU_TABLE = (np.random.default_rng(1234).random((8, len(ACTION_UNITS))) < 0.35).astype(int)
AU_TABLE[np.arange(8), np.arange(8)] = 1
AU_TABLE[np.arange(4), np.arange(8, 12)] = 1


@dataclass
class SyntheticDataset:
    root: Path
    expected: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> counts (curation columns)
    test_images: list[str] = field(default_factory=list)


def make_image(expression: int, valence: float, arousal: float, rng: np.random.Generator) -> np.ndarray:
    image = np.empty((112, 112, 3), np.float32)
    image[:38] = PALETTE[expression]
    image[38:75] = (valence + 1) / 2 * 255
    image[75:] = (arousal + 1) / 2 * 255
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _labels(index: int, rng: np.random.Generator) -> tuple[float, float, int, list[int]]:
    expression = int(rng.integers(0, 8))
    valence, arousal = (float(v) for v in np.round(rng.uniform(-1, 1, 2), 3))
    aus = AU_TABLE[expression].tolist()
    if index % 10 == 3:
        valence = arousal = -5.0
    if index % 12 == 5:
        expression = -1
    if index % 15 == 7:
        aus = [-1] * len(ACTION_UNITS)
    elif index % 20 == 11:
        aus[index % len(ACTION_UNITS)] = -1
    return valence, arousal, expression, aus


def _count(rows: list[tuple[float, float, int, list[int]]]) -> dict[str, int]:
    va = sum(1 for v, a, _, _ in rows if v != -5 and a != -5)
    expr = sum(1 for _, _, e, _ in rows if e != -1)
    au = sum(1 for *_, aus in rows if -1 not in aus)
    all_valid = sum(1 for v, a, e, aus in rows if v != -5 and e != -1 and -1 not in aus)
    any_valid = sum(1 for v, a, e, aus in rows if v != -5 or e != -1 or any(x != -1 for x in aus))
    return {
        "frames": len(rows),
        "va": va,
        "expr": expr,
        "au": au,
        "all_valid": all_valid,
        "any_valid": any_valid,
    }


def write_synthetic_affwild(
    root: str | Path,
    train_videos: int = 6,
    val_videos: int = 2,
    frames: int = 16,
    test_frames: int = 6,
    seed: int = 0,
) -> SyntheticDataset:
    """Write cropped_aligned/<video>/<frame>.jpg, the two annotation files and MTL.txt under `root`."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    result = SyntheticDataset(root)
    header = "image,valence,arousal,expression," + ",".join(ACTION_UNITS)
    for split, file, count in (
        ("train", "training_set_annotations.txt", train_videos),
        ("validation", "validation_set_annotations.txt", val_videos),
    ):
        lines, rows = [header], []
        for v in range(count):
            video = f"{split}_{v:02d}"
            (root / "cropped_aligned" / video).mkdir(parents=True, exist_ok=True)
            for f in range(frames):
                labels = _labels(len(rows), rng)
                valence, arousal, expression, aus = labels
                # Images always show a face state; only the annotation may be missing.
                shown = expression if expression >= 0 else int(rng.integers(0, 8))
                shown_va = (valence, arousal) if valence != -5 else tuple(rng.uniform(-1, 1, 2))
                name = f"{video}/{f + 1:05d}.jpg"
                Image.fromarray(make_image(shown, *shown_va, rng)).save(
                    root / "cropped_aligned" / name, quality=90
                )
                lines.append(f"{name},{valence},{arousal},{expression}," + ",".join(str(a) for a in aus))
                rows.append(labels)
        (root / file).write_text("\n".join(lines) + "\n")
        result.expected[split] = _count(rows)
    video = "test_00"
    (root / "cropped_aligned" / video).mkdir(parents=True, exist_ok=True)
    for f in range(test_frames):
        name = f"{video}/{f + 1:05d}.jpg"
        image = make_image(int(rng.integers(0, 8)), *rng.uniform(-1, 1, 2), rng)
        Image.fromarray(image).save(root / "cropped_aligned" / name, quality=90)
        result.test_images.append(name)
    (root / "MTL.txt").write_text("image\n" + "\n".join(result.test_images) + "\n")
    return result


def calibrated_init_checkpoint(root: str | Path, path: str | Path, seed: int = 0, images: int = 32) -> Path:
    """A stand-in for the stock pretrained checkpoint: the network at `seed` with BatchNorm statistics
    measured on the dataset's training images (a random network's default statistics make its eval-mode
    features nearly constant, which no frozen-backbone stage could learn from)."""
    import torch

    from affectstudio.core.model.checkpoint import CheckpointConfig, save_checkpoint
    from training.data import load_split
    from training.dataset import FaceDataset
    from training.transforms import eval_transform

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        from affectstudio.core.model.network import DDAMFN

        model = DDAMFN()
    dataset = FaceDataset(load_split(root, "train"), eval_transform())
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for start in range(0, min(images, len(dataset)), 16):
            model(torch.stack([dataset[i][0] for i in range(start, min(start + 16, len(dataset)))]))
    for norm in norms:
        norm.momentum = 0.1
    untrained = dict.fromkeys(("va", "expr", "au"), False)
    config = CheckpointConfig(architecture=model.architecture, heads_trained=untrained)
    return save_checkpoint(path, model.eval(), config)
