"""Predictions and scores of any checkpoint on a dataset, and the challenge's submission file.

The same `predict` serves the trainer's per-epoch validation, threshold tuning, `python -m training
evaluate` and `predict`, so a checkpoint scores the same wherever it is scored.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from affectstudio.core.errors import AnnotationError, CheckpointError
from affectstudio.core.labels import TASKS
from affectstudio.core.paths import write_text_atomic
from training.curation import CURATIONS, keep_mask, nothing_kept
from training.data import IMAGES_DIR, TEST_LIST_FILE, LabelTable, empty_labels, load_split, read_test_list
from training.dataset import FaceDataset
from training.metrics import score
from training.transforms import eval_transform


@dataclass
class Outputs:
    va: np.ndarray | None  # (N, 2)
    expr_logits: np.ndarray | None  # (N, 8)
    au_probs: np.ndarray | None  # (N, 12)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise CheckpointError(None, f"device {name!r} asked for, but no CUDA device is available")
    return torch.device(name)


@torch.no_grad()
def predict(
    model: nn.Module,
    table: LabelTable,
    preprocessing: dict,
    device: torch.device,
    batch_size: int = 64,
    num_workers: int = 0,
    mixed_precision: bool = False,
) -> Outputs:
    """Network outputs for every image of the table, in eval mode, in table order."""
    modes = [(module, module.training) for module in model.modules()]  # frozen parts stay in eval mode
    model.eval()
    loader = DataLoader(
        FaceDataset(table, eval_transform(preprocessing)),
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
    )
    va, expr, au = [], [], []
    amp = mixed_precision and device.type == "cuda"
    for images, *_ in loader:
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            out = model(images.to(device, non_blocking=True))
        if out.va is not None:
            va.append(out.va.float().cpu().numpy())
        if out.expr_logits is not None:
            expr.append(out.expr_logits.float().cpu().numpy())
        if out.au_logits is not None:
            au.append(torch.sigmoid(out.au_logits.float()).cpu().numpy())
    for module, training in modes:
        module.train(training)
    return Outputs(*(np.concatenate(x) if x else None for x in (va, expr, au)))


def score_outputs(outputs: Outputs, table: LabelTable, tasks: Sequence[str], thresholds=0.5) -> dict:
    return score(
        outputs.va, outputs.expr_logits, outputs.au_probs, table.va, table.expr, table.au, thresholds, tasks
    )


def _load(model_name_or_path: str):
    from affectstudio.core.model.registry import ModelRegistry

    return ModelRegistry().load(model_name_or_path)


def trained_curation(config) -> str | None:
    """The curation a checkpoint was trained with (its recipe, stored by the trainer), None if unknown."""
    return ((config.provenance or {}).get("recipe") or {}).get("curation")


def evaluate_checkpoint(
    model_name_or_path: str,
    dataset: str | Path,
    split: str = "validation",
    device: str = "auto",
    batch_size: int = 64,
    curation: str | None = None,
) -> dict:
    """P and its terms with 0.5 thresholds and with the checkpoint's own AU thresholds.

    The frames scored are those `curation` keeps (training/curation.py); by default the curation the
    model was trained with, so `evaluate` scores the frames its run's metrics.json scored. A model with no
    recorded recipe is scored with `masked` (every frame with a label of one of its tasks).
    """
    loaded = _load(model_name_or_path)
    if curation is None:
        curation = trained_curation(loaded.config)
        source = "the model's training recipe" if curation else "default for a model without a recipe"
        curation = curation or "masked"
    else:
        source = "asked for"
    if curation not in CURATIONS:
        raise AnnotationError(None, f"curation must be one of {', '.join(CURATIONS)}, got {curation!r}")
    table = load_split(dataset, split)
    tasks = [t for t in loaded.config.tasks if t in table.tasks]
    kept = table.subset(np.flatnonzero(keep_mask(table, curation, tasks)))
    if not len(kept):
        fix = "; score the labelled frames with `--curation masked`" if curation == "strict" else ""
        raise AnnotationError(table.source, nothing_kept(table, curation, tasks) + fix)
    torch_device = resolve_device(device)
    loaded.model.to(torch_device)
    outputs = predict(loaded.model, kept, loaded.config.preprocessing, torch_device, batch_size)
    return {
        "model": loaded.name,
        "dataset": str(dataset),
        "split": split,
        "curation": curation,
        "curation_source": source,
        "frames": len(kept),
        "frames_in_split": len(table),
        "threshold_0.5": score_outputs(outputs, kept, tasks, 0.5),
        "threshold_tuned": score_outputs(outputs, kept, tasks, loaded.config.au_thresholds),
    }


def write_submission(
    model_name_or_path: str,
    dataset: str | Path,
    output: str | Path,
    test_list: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 64,
) -> Path:
    """Test-set predictions in the challenge's format, AUs thresholded with the checkpoint's thresholds.

    Header `image,valence,arousal,expression,aus`; then `path,valence,arousal,expression,au1,...,au12`.
    """
    dataset = Path(dataset)
    if test_list is None and not (dataset / TEST_LIST_FILE).is_file():
        raise AnnotationError(
            dataset / TEST_LIST_FILE,
            "test list not found; pass one with --test-list FILE (a header line, then one image path per "
            f"line, relative to {dataset / IMAGES_DIR})",
        )
    loaded = _load(model_name_or_path)
    missing = [t for t in TASKS if t not in loaded.config.tasks]
    if missing:
        raise CheckpointError(loaded.path, f"a submission needs all three tasks; this model lacks {missing}")
    dataset = Path(dataset)
    test_list = Path(test_list) if test_list else dataset / TEST_LIST_FILE
    images = read_test_list(test_list)
    table = LabelTable(dataset / IMAGES_DIR, images, *empty_labels(len(images)), source=str(test_list))
    missing = next((image for image in images if not (table.root / image).is_file()), None)
    if missing is not None:
        raise AnnotationError(test_list, f"image {table.root / missing} does not exist")
    torch_device = resolve_device(device)
    loaded.model.to(torch_device)
    outputs = predict(loaded.model, table, loaded.config.preprocessing, torch_device, batch_size)
    active = (outputs.au_probs >= np.asarray(loaded.config.au_thresholds)).astype(int)
    expression = np.argmax(outputs.expr_logits, axis=1)
    text = io.StringIO()
    text.write("image,valence,arousal,expression,aus\n")
    for i, image in enumerate(images):
        aus = ",".join(str(v) for v in active[i])
        text.write(f"{image},{outputs.va[i, 0]:.6f},{outputs.va[i, 1]:.6f},{expression[i]},{aus}\n")
    return write_text_atomic(Path(output), text.getvalue())
