"""Which annotated frames training uses: the paper's `strict` rule or per-task `masked` losses.

`strict` (the paper): a frame is kept only when every label the dataset provides is valid; on s-Aff-Wild2
that leaves 52,154 of 142,382 training frames. `masked`: every frame with at least one valid label for a
trained task is kept, and each task's loss is masked where its label is the sentinel (see losses.py).
The report counts frames per task and split, in the form of the paper's Table 2.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affectstudio.core.labels import ACTION_UNITS, TASKS
from affectstudio.core.paths import write_text_atomic
from training.data import LabelTable

CURATIONS = ("strict", "masked")
COUNT_COLUMNS = ("frames", "va", "expr", "au", "all_valid", "any_valid")


def task_validity(table: LabelTable) -> dict[str, np.ndarray]:
    """(N,) masks: frame has a valid VA pair / expression / all 12 AUs."""
    return {"va": table.valid_va, "expr": table.valid_expr, "au": np.all(table.valid_au, axis=1)}


def keep_mask(table: LabelTable, curation: str, tasks: Sequence[str] = TASKS) -> np.ndarray:
    """(N,) frames a curation keeps for training the given tasks."""
    valid = task_validity(table)
    if curation == "strict":
        return np.logical_and.reduce([valid[t] for t in table.tasks])
    if curation == "masked":
        any_label = {"va": table.valid_va, "expr": table.valid_expr, "au": np.any(table.valid_au, axis=1)}
        return np.logical_or.reduce([any_label[t] for t in tasks])
    raise ValueError(f"unknown curation {curation!r}; choose one of {', '.join(CURATIONS)}")


def nothing_kept(table: LabelTable, curation: str, tasks: Sequence[str]) -> str:
    """Why a curation kept no frame of `table` (the caller adds how to choose another curation)."""
    if curation == "strict":
        needs = {"va": "valence and arousal", "expr": "an expression", "au": f"all {len(ACTION_UNITS)} AUs"}
        return (
            "no frame is left after strict curation: strict keeps only frames labelled for every task of "
            f"the dataset ({', '.join(needs[t] for t in table.tasks)}), and no frame has all of those labels"
        )
    return f"no frame is left after masked curation: no frame has a label for {', '.join(tasks)}"


def count_frames(table: LabelTable, tasks: Sequence[str] = TASKS) -> dict[str, int]:
    valid = task_validity(table)
    return {
        "frames": len(table),
        "va": int(valid["va"].sum()),
        "expr": int(valid["expr"].sum()),
        "au": int(valid["au"].sum()),
        "all_valid": int(keep_mask(table, "strict").sum()),
        "any_valid": int(keep_mask(table, "masked", tasks).sum()),
    }


@dataclass
class CurationReport:
    """Frame counts per split before curation, and how many frames the chosen curation keeps."""

    curation: str
    tasks: list[str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> COUNT_COLUMNS
    kept: dict[str, int] = field(default_factory=dict)  # split -> frames used
    holdout: int = 0  # kept training frames held out of training, for the AU thresholds

    def add(self, split: str, table: LabelTable) -> np.ndarray:
        """Count a split and return the mask of frames the curation keeps."""
        self.counts[split] = count_frames(table, self.tasks)
        mask = keep_mask(table, self.curation, self.tasks)
        self.kept[split] = int(mask.sum())
        return mask

    def to_dict(self) -> dict:
        return {
            "curation": self.curation,
            "tasks": self.tasks,
            "counts": self.counts,
            "kept": self.kept,
            "threshold_holdout": self.holdout,
        }

    def to_markdown(self) -> str:
        """Table 2 of the paper: frames per split with a valid label for each task, and after curation."""
        lines = [
            f"Curation: {self.curation} (tasks: {', '.join(self.tasks)})",
            "",
            "| split | frames | valid VA | valid EXPR | valid AU | all valid (strict) | any valid (masked) "
            "| used |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for split, c in self.counts.items():
            values = [c[k] for k in COUNT_COLUMNS] + [self.kept[split]]
            lines.append(f"| {split} | " + " | ".join(str(v) for v in values) + " |")
        if self.holdout:
            lines += [
                "",
                f"Of the training frames used, {self.holdout} (whole videos) are held out for AU thresholds.",
            ]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> None:
        write_text_atomic(folder / "curation.json", json.dumps(self.to_dict(), indent=2) + "\n")
        write_text_atomic(folder / "curation.md", self.to_markdown())
