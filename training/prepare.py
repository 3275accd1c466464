"""From a config to the three tables a run uses: training, threshold hold-out, validation.

Curation is applied to both splits (the paper curated validation too: 15,440 of 26,876 frames). The
AU thresholds are tuned on whole training videos held out from training, never on the scored split;
frames of one video are near-duplicates, so holding out frames instead would leak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from affectstudio.core.errors import AnnotationError
from training.config import TrainConfig
from training.curation import CurationReport, nothing_kept
from training.data import LabelTable, load_split


@dataclass
class RunData:
    train: LabelTable
    holdout: LabelTable
    validation: LabelTable
    report: CurationReport


def split_holdout(table: LabelTable, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, holdout): a random `fraction` of the videos (at least one when fraction > 0); with
    one video, the last `fraction` of its frames."""
    if fraction <= 0 or len(table) == 0:
        return np.arange(len(table)), np.array([], dtype=np.int64)
    videos = np.array(sorted(set(table.videos)))
    if len(videos) < 2:  # one video: a time-contiguous tail of it (see training/propose.py)
        from training.propose import contiguous_holdout

        return contiguous_holdout(table, fraction)
    count = min(max(1, math.ceil(fraction * len(videos))), len(videos) - 1)
    held = set(np.random.default_rng([seed, 1]).choice(videos, size=count, replace=False).tolist())
    is_held = np.array([video in held for video in table.videos])
    return np.flatnonzero(~is_held), np.flatnonzero(is_held)


def prepare_data(config: TrainConfig) -> RunData:
    if not config.data.root:
        raise AnnotationError(None, "config: data.root (the dataset folder) is not set")
    report = CurationReport(config.data.curation, list(config.tasks))
    tables = {}
    for split in ("train", "validation"):
        table = load_split(config.data.root, split, config.data.check_images)
        missing = [t for t in config.tasks if t not in table.tasks]
        if missing:
            raise AnnotationError(table.source, f"no labels for the configured task(s) {missing}")
        keep = report.add(split, table)
        if not keep.any():
            problem = nothing_kept(table, config.data.curation, config.tasks)
            if config.data.curation == "strict":
                problem += "; train on the labelled frames with `--set data.curation=masked`"
            raise AnnotationError(table.source, problem)
        tables[split] = table.subset(np.flatnonzero(keep))
    # Videos are held out only to tune AU thresholds: a model without an AU head keeps them all.
    holdout = config.data.threshold_holdout if "au" in config.tasks else 0.0
    train_idx, holdout_idx = split_holdout(tables["train"], holdout, config.seed)
    report.holdout = len(holdout_idx)
    return RunData(
        tables["train"].subset(train_idx), tables["train"].subset(holdout_idx), tables["validation"], report
    )
