"""A tiny dataset in the layout the app's annotation export writes: images/<video>/<frame>.jpg plus
train.csv / validation.csv with valence, arousal and expression columns (and AU columns only when asked).

The images follow `synthetic_affwild.make_image`, so the labels are learnable; the last `validation_share`
of each video's frames, in time order, is the validation split, as the export does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from tests.synthetic_affwild import AU_TABLE, make_image


def write_exported_dataset(
    root: str | Path, videos: int = 1, frames: int = 20, with_au: bool = False, validation_share=0.25, seed=0
) -> Path:
    root = Path(root)
    rng = np.random.default_rng(seed)
    header = ["image", "valence", "arousal", "expression", *(ACTION_UNITS if with_au else [])]
    splits: dict[str, list[str]] = {"train": [], "validation": []}
    for v in range(videos):
        stem = f"video{v}"
        (root / "images" / stem).mkdir(parents=True, exist_ok=True)
        cut = frames - round(frames * validation_share)
        for f in range(frames):
            expression = int(rng.integers(0, len(EXPRESSIONS)))
            valence, arousal = (round(float(x), 3) for x in rng.uniform(-1, 1, 2))
            name = f"images/{stem}/{f + 1:05d}.jpg"
            Image.fromarray(make_image(expression, valence, arousal, rng)).save(root / name, quality=90)
            cells = [name, str(valence), str(arousal), EXPRESSIONS[expression]]
            if with_au:
                cells += [str(a) for a in AU_TABLE[expression]]
            splits["train" if f < cut else "validation"].append(",".join(cells))
    for split, rows in splits.items():
        (root / f"{split}.csv").write_text("\n".join([",".join(header), *rows]) + "\n")
    return root
