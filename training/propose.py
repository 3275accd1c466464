"""What a dataset allows a run to train, and a fast check of a config before a run starts.

The Training window asks these questions in-process, in well under a second, with the trainer's own readers
and curation (so the answer cannot drift from what the run will do): which tasks have labels (never AU when
no frame has an AU label), which curation keeps the labelled frames, and how AU thresholds can be held out.
Whole training videos are held out when there are at least two; with one video a time-contiguous tail of
it is held out instead (neighbouring frames are near-duplicates, so a random sample would leak).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affectstudio.core.errors import AnnotationError
from affectstudio.core.labels import TASKS
from training.config import STOCK_INIT, TrainConfig
from training.curation import keep_mask
from training.data import LabelTable, is_affwild_folder, load_split

DEFAULT_HOLDOUT = 0.1
# Below this many labelled AU frames in the training split, a hold-out for thresholds is not worth it.
MIN_AU_FRAMES_FOR_HOLDOUT = 20
IMAGES_CHECKED_IN_FULL = 20_000


@dataclass
class Proposal:
    """The dataset's labelled frames per split and task, and the settings proposed for a run on it."""

    root: Path
    kind: str  # "s-Aff-Wild2" or "exported annotations"
    counts: dict[str, dict[str, int]]  # split -> {"frames", "va", "expr", "au"} labelled frames
    videos: dict[str, int]  # split -> number of videos
    tasks: list[str]
    curation: str
    threshold_holdout: float
    notes: list[str] = field(default_factory=list)
    strict_frames: int = 0  # training frames strict curation keeps (0: strict cannot train on this data)

    def apply(self, config: TrainConfig) -> TrainConfig:
        """`config` with this proposal's dataset, tasks, curation and hold-out (a copy)."""
        config = copy.deepcopy(config)
        config.data.root = str(self.root)
        config.tasks = list(self.tasks)
        config.data.curation = self.curation
        config.data.threshold_holdout = self.threshold_holdout
        return config


def labelled_counts(table: LabelTable) -> dict[str, int]:
    """Frames with a label per task: a VA pair, an expression, at least one AU."""
    return {
        "frames": len(table),
        "va": int(table.valid_va.sum()) if "va" in table.tasks else 0,
        "expr": int(table.valid_expr.sum()) if "expr" in table.tasks else 0,
        "au": int(np.any(table.valid_au, axis=1).sum()) if "au" in table.tasks else 0,
    }


def propose(root: str | Path) -> Proposal:
    """Read both splits of the dataset folder (labels only) and propose tasks, curation and hold-out."""
    root = Path(root)
    tables = {split: load_split(root, split, check_images=False) for split in ("train", "validation")}
    counts = {split: labelled_counts(table) for split, table in tables.items()}
    videos = {split: len(set(table.videos)) for split, table in tables.items()}
    notes = []
    tasks = [t for t in TASKS if counts["train"][t] > 0 and counts["validation"][t] > 0]
    for task in TASKS:
        if task not in tasks:
            where = [s for s in ("train", "validation") if counts[s][task] == 0]
            notes.append(f"{task}: no labels in the {' and '.join(where)} split, not proposed")
    if not tasks:
        raise AnnotationError(root, "no task has labels in both the train and the validation split")
    train = tables["train"]
    strict_kept = int(keep_mask(train, "strict").sum())
    masked_kept = int(keep_mask(train, "masked", tasks).sum())
    curation = "strict" if strict_kept == masked_kept else "masked"
    if curation == "masked":
        notes.append(
            f"curation masked: strict would keep {strict_kept} of the {masked_kept} labelled training frames"
        )
    holdout = 0.0
    if "au" in tasks and counts["train"]["au"] >= MIN_AU_FRAMES_FOR_HOLDOUT:
        holdout = DEFAULT_HOLDOUT
        if videos["train"] >= 2:
            notes.append(f"AU thresholds tuned on {holdout:.0%} of the training videos, held out")
        else:
            notes.append(f"AU thresholds tuned on the last {holdout:.0%} of the one training video, held out")
    elif "au" in tasks:
        notes.append("too few AU frames to hold some out for thresholds: thresholds stay at 0.5")
    kind = "s-Aff-Wild2" if is_affwild_folder(root) else "exported annotations"
    return Proposal(root, kind, counts, videos, tasks, curation, holdout, notes, strict_kept)


def contiguous_holdout(table: LabelTable, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, holdout) of one video: the last `fraction` of its frames in time (image) order."""
    order = np.array(sorted(range(len(table)), key=lambda i: table.images[i]), dtype=np.int64)
    count = min(max(1, math.ceil(fraction * len(table))), len(table) - 1) if len(table) > 1 else 0
    return np.sort(order[: len(order) - count]), np.sort(order[len(order) - count :])


def check_config(config: TrainConfig) -> None:
    """Everything a run would refuse at its start, in-process: raises `AnnotationError` naming the problem.

    Reads the labels (not the images) with the trainer's own preparation, then checks that the images
    exist (all of them up to IMAGES_CHECKED_IN_FULL, else an even sample) and that the initial model can be
    found.
    """
    from training.prepare import prepare_data

    config.validate()
    quick = copy.deepcopy(config)
    quick.data.check_images = False
    data = prepare_data(quick)
    for split, table in (("train", data.train), ("validation", data.validation)):
        if len(table) == 0:
            raise AnnotationError(table.source or config.data.root, f"no {split} frame left to use")
        if config.data.check_images:
            step = max(1, len(table) // IMAGES_CHECKED_IN_FULL)
            for image in table.images[::step]:
                if not (table.root / image).is_file():
                    raise AnnotationError(table.source, f"image {table.root / image} does not exist")
    if len(data.train) < 2:
        raise AnnotationError(data.train.source, "training needs at least two frames")
    _check_init(config.init)


def _check_init(init: str) -> None:
    if init in ("", "none") or Path(init).is_file():
        return
    from affectstudio.core.model.registry import ModelRegistry  # imports torch: only when needed

    registry = ModelRegistry()
    if registry.is_installed(init) or init in registry.available():
        return
    hint = " (install it with `affectstudio models fetch`)" if init == STOCK_INIT else ""
    raise AnnotationError(
        None, f"config: the initial model '{init}' is neither installed nor a checkpoint file{hint}"
    )
