"""Drawn cartoon faces whose labels live in facial geometry and texture, in the generic CSV layout.

An independent check of the training package (tests/synthetic_affwild.py is shaped like the s-Aff-Wild2
parser; this one is not): every video is one "person" (skin tone, face shape, background, lighting), and
within it each frame draws the expression as brow shape, mouth shape and a class mark (furrows, nose
wrinkles, blush, a tear, glasses), valence as the mouth's curvature and arousal as eye and brow opening.
AUs follow the class, with AU12/AU15 (lip corners up/down) following valence. Identity and lighting
dominate the pixel means, so a linear model of the mean colour cannot read the labels
(`pixel_mean_baseline` measures that); a network has to find the parts of the face.
Written as `train.csv` / `validation.csv` with expression names, the layout the app's export writes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS

S = 2  # drawn at 2x, downsampled with antialiasing
# AU1 AU2 AU4 AU6 AU7 AU10 AU12 AU15 AU23 AU24 AU25 AU26 per class (AU12/AU15 then follow valence).
AU_BY_CLASS = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # Neutral
        [0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0],  # Anger
        [0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0],  # Disgust
        [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1],  # Fear
        [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0],  # Happiness
        [1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0],  # Sadness
        [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1],  # Surprise
        [0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0],  # Other
    ]
)


@dataclass
class Person:
    skin: np.ndarray
    background: np.ndarray
    width: float
    height: float


def _person(rng: np.random.Generator) -> Person:
    tone = rng.uniform(0.35, 1.0)
    skin = np.array([235, 190, 160]) * tone + rng.uniform(-20, 20, 3)
    return Person(np.clip(skin, 30, 255), rng.uniform(20, 235, 3), rng.uniform(30, 38), rng.uniform(40, 48))


def _c(colour) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.clip(colour, 0, 255))


def draw_face(person: Person, expression: int, valence: float, arousal: float, rng) -> Image.Image:
    size = 112 * S
    image = Image.new("RGB", (size, size), _c(person.background))
    draw = ImageDraw.Draw(image)
    for _ in range(6):  # background clutter
        x, y, r = *rng.uniform(0, size, 2).tolist(), rng.uniform(5, 25) * S
        draw.ellipse([x - r, y - r, x + r, y + r], fill=_c(person.background + rng.uniform(-60, 60, 3)))
    cx, cy = 56 + rng.uniform(-3, 3), 58 + rng.uniform(-3, 3)
    w, h = person.width, person.height
    skin = person.skin * rng.uniform(0.85, 1.15)  # lighting varies from frame to frame
    dark = _c(skin * 0.25)
    draw.ellipse([(cx - w) * S, (cy - h) * S, (cx + w) * S, (cy + h) * S], fill=_c(skin))

    def line(points, width=2.5, fill=dark):
        draw.line([(x * S, y * S) for x, y in points], fill=fill, width=int(width * S))

    # Eyes: openness is arousal.
    eye_y, eye_dx = cy - 12, w * 0.42
    openness = 1.0 + 5.0 * (arousal + 1) / 2
    for side in (-1, 1):
        ex = cx + side * eye_dx
        draw.ellipse(
            [(ex - 6) * S, (eye_y - openness) * S, (ex + 6) * S, (eye_y + openness) * S], fill="white"
        )
        draw.ellipse([(ex - 2.5) * S, (eye_y - 2.5) * S, (ex + 2.5) * S, (eye_y + 2.5) * S], fill=dark)
    # Brows: height follows arousal; the inner end's offset is the class's brow shape.
    inner = {1: 5.0, 2: 3.0, 3: -5.0, 5: -6.0, 6: -2.0}.get(expression, 0.0)
    lift = 2.0 * arousal + (5.0 if expression in (3, 6) else 0.0)
    brow_y = eye_y - 10 - lift
    for side in (-1, 1):
        outer_x, inner_x = cx + side * (eye_dx + 8), cx + side * (eye_dx - 8)
        if expression == 6:  # surprise: round arcs
            draw.arc([(cx + side * eye_dx - 9) * S, (brow_y - 4) * S, (cx + side * eye_dx + 9) * S,
                      (brow_y + 8) * S], 200, 340, fill=dark, width=int(3 * S))  # fmt: skip
        else:
            line([(outer_x, brow_y), (inner_x, brow_y + inner)], 3)
    # Mouth: curvature is valence; its shape is the class's.
    my, half = cy + 22, {4: 15.0, 3: 13.0, 2: 9.0}.get(expression, 11.0)
    bend = 8.0 * valence  # positive valence: the middle lower, corners up (a smile)
    if expression in (3, 6):  # fear: wide open; surprise: round open
        rx, ry = (half, 5.0) if expression == 3 else (6.0, 8.0)
        draw.ellipse([(cx - rx) * S, (my - ry) * S, (cx + rx) * S, (my + ry + max(bend, 0)) * S], fill=dark)
    else:
        tilt = 4.0 if expression == 2 else 0.0  # disgust: one corner raised
        points = [(cx - half + 2 * half * t, my + bend * (1 - (2 * t - 1) ** 2) - tilt * t)
                  for t in np.linspace(0, 1, 9)]  # fmt: skip
        line([(x, y - bend / 2) for x, y in points], 3)
    # Class marks.
    if expression == 1:  # furrows between the brows
        for dx in (-2.5, 2.5):
            line([(cx + dx, brow_y - 2), (cx + dx, brow_y + 8)], 1.5)
    elif expression == 2:  # nose wrinkles
        for dy in (0, 3, 6):
            line([(cx - 5, cy - 4 + dy), (cx + 5, cy - 4 + dy)], 1.2)
    elif expression == 4:  # blush
        for side in (-1, 1):
            bx, by = cx + side * (eye_dx + 4), cy + 8
            draw.ellipse([(bx - 6) * S, (by - 4) * S, (bx + 6) * S, (by + 4) * S], fill=(230, 90, 110))
    elif expression == 5:  # a tear
        tx, ty = cx + eye_dx, eye_y + 9
        draw.ellipse([(tx - 2.5) * S, ty * S, (tx + 2.5) * S, (ty + 7) * S], fill=(90, 150, 255))
    elif expression == 7:  # glasses
        for side in (-1, 1):
            ex = cx + side * eye_dx
            draw.rectangle([(ex - 10) * S, (eye_y - 8) * S, (ex + 10) * S, (eye_y + 8) * S],
                           outline=(20, 20, 20), width=int(2 * S))  # fmt: skip
        line([(cx - eye_dx + 10, eye_y), (cx + eye_dx - 10, eye_y)], 2, (20, 20, 20))
    image = image.resize((112, 112), Image.LANCZOS)
    pixels = np.asarray(image, np.float32) + rng.normal(0, 5, (112, 112, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def aus_for(expression: int, valence: float) -> list[int]:
    aus = AU_BY_CLASS[expression].copy()
    aus[ACTION_UNITS.index("AU12")] = int(valence > 0.25)
    aus[ACTION_UNITS.index("AU15")] = int(valence < -0.25)
    return aus.tolist()


def write_synthetic_faces(
    root: str | Path,
    train_frames: int = 600,
    validation_frames: int = 150,
    per_video: int = 20,
    seed: int = 0,
) -> Path:
    """Write `<split>/<video>/<frame>.jpg` and `train.csv` / `validation.csv` under `root`; return root.

    Validation videos are other "people" than training videos, so scores measure generalisation.
    """
    root = Path(root)
    rng = np.random.default_rng([seed, 7])
    for split, frames in (("train", train_frames), ("validation", validation_frames)):
        rows = []
        for index in range(frames):
            video, frame = divmod(index, per_video)
            if frame == 0:
                person = _person(rng)
                (root / split / f"p{video:03d}").mkdir(parents=True, exist_ok=True)
            expression = int(rng.integers(0, len(EXPRESSIONS)))
            valence, arousal = (float(v) for v in np.round(rng.uniform(-1, 1, 2), 3))
            name = f"{split}/p{video:03d}/{frame:04d}.jpg"
            draw_face(person, expression, valence, arousal, rng).save(root / name, quality=92)
            rows.append([name, valence, arousal, EXPRESSIONS[expression], *aus_for(expression, valence)])
        with (root / f"{split}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["image", "valence", "arousal", "expression", *ACTION_UNITS])
            writer.writerows(rows)
    return root


def pixel_mean_baseline(root: str | Path) -> dict[str, float]:
    """What a linear model of each image's mean colour scores (least squares for VA, nearest class mean
    for the expression), fitted on train and scored on validation: the dataset must not be that easy."""
    from training.data import load_split
    from training.metrics import ccc, expr_f1

    def features(table):
        means = [
            np.asarray(Image.open(table.root / image), np.float32).mean(axis=(0, 1)) for image in table.images
        ]
        return np.column_stack([np.array(means), np.ones(len(means))])

    train, validation = load_split(root, "train"), load_split(root, "validation")
    x_train, x_val = features(train), features(validation)
    coef, *_ = np.linalg.lstsq(x_train, train.va, rcond=None)
    va = x_val @ coef
    centroids = np.array([x_train[train.expr == c].mean(axis=0) for c in range(len(EXPRESSIONS))])
    nearest = np.argmin(((x_val[:, None, :3] - centroids[None, :, :3]) ** 2).sum(axis=2), axis=1)
    return {
        "ccc_va": (ccc(va[:, 0], validation.va[:, 0]) + ccc(va[:, 1], validation.va[:, 1])) / 2,
        "f1_expr": expr_f1(validation.expr, nearest),
    }
