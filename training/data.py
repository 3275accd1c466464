"""Dataset readers: the s-Aff-Wild2 layout, the challenge's test list, and a generic CSV of labelled images.

Every reader returns a `LabelTable`: image paths plus the three tasks' labels as arrays, with the
challenge's sentinels (-5 for valence/arousal, -1 for expression and AUs) wherever a label is missing.
Curation and the loss masks work from those sentinels, so all sources look the same past this module.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affectstudio.core.errors import AnnotationError
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS, INVALID_AU, INVALID_EXPR, INVALID_VA, TASKS

AFFWILD_HEADER = ("image", "valence", "arousal", "expression", *ACTION_UNITS)
TRAIN_FILE = "training_set_annotations.txt"
VALIDATION_FILE = "validation_set_annotations.txt"
TEST_LIST_FILE = "MTL.txt"
IMAGES_DIR = "cropped_aligned"


@dataclass
class LabelTable:
    """Images (relative to `root`) and their labels; missing labels hold the challenge's sentinels."""

    root: Path
    images: list[str]
    va: np.ndarray  # (N, 2) float32
    expr: np.ndarray  # (N,) int64
    au: np.ndarray  # (N, 12) float32
    tasks: tuple[str, ...] = TASKS  # the tasks the source provides labels for
    source: str = ""
    videos: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.videos = [str(Path(image).parent) for image in self.images]

    def __len__(self) -> int:
        return len(self.images)

    @property
    def valid_va(self) -> np.ndarray:
        """(N,) True where both valence and arousal are labelled."""
        return np.all(self.va != INVALID_VA, axis=1)

    @property
    def valid_expr(self) -> np.ndarray:
        return self.expr != INVALID_EXPR

    @property
    def valid_au(self) -> np.ndarray:
        """(N, 12) True for each labelled AU."""
        return self.au != INVALID_AU

    def subset(self, indices: Sequence[int] | np.ndarray) -> LabelTable:
        indices = np.asarray(indices, dtype=np.int64)
        return LabelTable(
            root=self.root,
            images=[self.images[i] for i in indices],
            va=self.va[indices],
            expr=self.expr[indices],
            au=self.au[indices],
            tasks=self.tasks,
            source=self.source,
        )


def empty_labels(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(va, expr, au) arrays for n frames, every label the "missing" sentinel."""
    va = np.full((n, 2), INVALID_VA, dtype=np.float32)
    expr = np.full(n, INVALID_EXPR, dtype=np.int64)
    au = np.full((n, len(ACTION_UNITS)), INVALID_AU, dtype=np.float32)
    return va, expr, au


def _parse_va(text: str, path: Path, line: int, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AnnotationError(path, f"line {line}: {name} {text!r} is not a number") from None
    if value != INVALID_VA and not -1.0 <= value <= 1.0:
        raise AnnotationError(
            path, f"line {line}: {name} {value} is outside [-1, 1] (and not {INVALID_VA:g})"
        )
    return value


def _parse_expr(text: str, path: Path, line: int) -> int:
    text = text.strip()
    if text in EXPRESSIONS:
        return EXPRESSIONS.index(text)
    try:
        value = float(text)
    except ValueError:
        raise AnnotationError(
            path, f"line {line}: expression {text!r} is not a class index or name"
        ) from None
    if value != int(value) or not (value == INVALID_EXPR or 0 <= value < len(EXPRESSIONS)):
        raise AnnotationError(
            path,
            f"line {line}: expression {text!r} is not one of 0..{len(EXPRESSIONS) - 1} or {INVALID_EXPR}",
        )
    return int(value)


def _parse_au(text: str, path: Path, line: int, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AnnotationError(path, f"line {line}: {name} {text!r} is not a number") from None
    if value not in (0.0, 1.0, float(INVALID_AU)):
        raise AnnotationError(path, f"line {line}: {name} is {text!r}; it must be 0, 1 or {INVALID_AU}")
    return value


def _check_images(table: LabelTable, lines: list[int], path: Path) -> None:
    for image, line in zip(table.images, lines, strict=True):
        if not (table.root / image).is_file():
            raise AnnotationError(path, f"line {line}: image {table.root / image} does not exist")


def read_affwild_annotations(
    path: str | Path, images_root: str | Path, check_images: bool = True
) -> LabelTable:
    """Read an s-Aff-Wild2 annotation file: a header, then 16 comma-separated fields per line."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, "annotation file not found")
    images: list[str] = []
    rows: list[tuple[float, float, int, list[float]]] = []
    lines: list[int] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, fields in enumerate(csv.reader(handle), start=1):
            if not fields or all(not f.strip() for f in fields):
                continue
            if number == 1 and fields[0].strip().lower() == "image":
                continue  # the header
            if len(fields) != len(AFFWILD_HEADER):
                raise AnnotationError(
                    path,
                    f"line {number}: expected {len(AFFWILD_HEADER)} comma-separated fields, "
                    f"found {len(fields)}",
                )
            image = fields[0].strip()
            valence = _parse_va(fields[1], path, number, "valence")
            arousal = _parse_va(fields[2], path, number, "arousal")
            expression = _parse_expr(fields[3], path, number)
            aus = [_parse_au(f, path, number, au) for f, au in zip(fields[4:], ACTION_UNITS, strict=True)]
            images.append(image)
            rows.append((valence, arousal, expression, aus))
            lines.append(number)
    if not images:
        raise AnnotationError(path, "no annotated images in the file")
    va, expr, au = empty_labels(len(images))
    for i, (valence, arousal, expression, aus) in enumerate(rows):
        va[i] = (valence, arousal)
        expr[i] = expression
        au[i] = aus
    table = LabelTable(Path(images_root), images, va, expr, au, TASKS, str(path))
    if check_images:
        _check_images(table, lines, path)
    return table


def read_test_list(path: str | Path) -> list[str]:
    """The challenge's test list (`MTL.txt`): a header line, then one image path per line."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, "test list not found")
    images = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, fields in enumerate(csv.reader(handle), start=1):
            if not fields or not fields[0].strip():
                continue
            if number == 1 and not fields[0].strip().lower().endswith((".jpg", ".jpeg", ".png")):
                continue  # the header
            images.append(fields[0].strip())
    if not images:
        raise AnnotationError(path, "the test list names no images")
    return images


def read_csv_dataset(
    path: str | Path, images_root: str | Path | None = None, check_images: bool = True
) -> LabelTable:
    """A CSV with an `image` column and any subset of the tasks' columns.

    Columns: `valence` and `arousal` (together), `expression` (index in ABAW order or class name), and any
    of the AU names. An empty cell or a sentinel means "not labelled". Image paths are relative to
    `images_root`, by default the CSV's folder.
    """
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, "dataset CSV not found")
    root = Path(images_root) if images_root is not None else path.parent
    columns: list[str] | None = None
    records: list[tuple[dict[str, str], int]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        for fields in reader:
            if not fields or fields[0].lstrip().startswith("#"):
                continue  # blank lines and comments
            if columns is None:
                columns = [c.strip() for c in fields]
                continue
            if len(fields) != len(columns):
                raise AnnotationError(
                    path,
                    f"line {reader.line_num}: expected {len(columns)} comma-separated fields "
                    f"like the header, found {len(fields)}",
                )
            records.append((dict(zip(columns, (f.strip() for f in fields), strict=True)), reader.line_num))
    columns = columns or []
    if "image" not in columns:
        raise AnnotationError(path, f"no 'image' column (columns: {', '.join(columns) or 'none'})")
    if ("valence" in columns) != ("arousal" in columns):
        raise AnnotationError(path, "valence and arousal columns must come together")
    aus_present = [au for au in ACTION_UNITS if au in columns]
    tasks = tuple(
        task
        for task, present in zip(
            TASKS, ("valence" in columns, "expression" in columns, bool(aus_present)), strict=True
        )
        if present
    )
    if not tasks:
        raise AnnotationError(path, "no label columns (valence/arousal, expression or AU names)")
    if not records:
        raise AnnotationError(path, "no labelled images in the file")
    images = []
    va, expr, au = empty_labels(len(records))
    for i, (row, number) in enumerate(records):
        if not row.get("image"):
            raise AnnotationError(path, f"line {number}: empty image path")
        images.append(row["image"])
        if "va" in tasks and row["valence"] and row["arousal"]:
            va[i] = (
                _parse_va(row["valence"], path, number, "valence"),
                _parse_va(row["arousal"], path, number, "arousal"),
            )
        if "expr" in tasks and row["expression"]:
            expr[i] = _parse_expr(row["expression"], path, number)
        for name in aus_present:
            if row[name]:
                au[i, ACTION_UNITS.index(name)] = _parse_au(row[name], path, number, name)
    table = LabelTable(root, images, va, expr, au, tasks, str(path))
    if check_images:
        _check_images(table, [n for _, n in records], path)
    return table


def is_affwild_folder(folder: str | Path) -> bool:
    folder = Path(folder)
    return (folder / TRAIN_FILE).is_file() or (folder / VALIDATION_FILE).is_file()


def load_split(folder: str | Path, split: str, check_images: bool = True) -> LabelTable:
    """One split ("train" or "validation") of a dataset folder: s-Aff-Wild2 layout or `<split>.csv`.

    A folder holding `training_set_annotations.txt` / `validation_set_annotations.txt` is read as
    s-Aff-Wild2 (images under `cropped_aligned/`); otherwise `train.csv` / `validation.csv` are read as
    generic CSVs (the layout the app's annotation export writes).
    """
    folder = Path(folder)
    if split not in ("train", "validation"):
        raise ValueError(f"unknown split {split!r}")
    if not folder.is_dir():
        raise AnnotationError(folder, "dataset folder not found")
    if is_affwild_folder(folder):
        name = TRAIN_FILE if split == "train" else VALIDATION_FILE
        return read_affwild_annotations(folder / name, folder / IMAGES_DIR, check_images)
    csv_path = folder / f"{split}.csv"
    if csv_path.is_file():
        return read_csv_dataset(csv_path, None, check_images)
    raise AnnotationError(
        folder, f"neither {TRAIN_FILE}/{VALIDATION_FILE} (s-Aff-Wild2) nor {split}.csv found in the folder"
    )
