"""Learning from the starting points users really have: from scratch, and from a checkpoint in the stock
DDAMFN layout, with the default `strict` curation. Slow: each trains the real network on this CPU.

The full from-scratch target (600 frames, < 15 min) is benchmarks/bench_from_scratch.py.
"""

from __future__ import annotations

import json

import pytest
import torch

from affectstudio.core.jobs import JobState
from tests.synthetic_affwild import write_synthetic_affwild
from tests.synthetic_faces import write_synthetic_faces
from training import run
from training.config import DataConfig, StageConfig, TrainConfig, from_scratch_stages
from training.evaluate import predict, score_outputs
from training.events import EpochEnd
from training.model_setup import build_model
from training.prepare import prepare_data

pytestmark = pytest.mark.slow


def _before(config) -> dict:
    model, preprocessing, _ = build_model(config)
    validation = prepare_data(config).validation
    return score_outputs(
        predict(model, validation, preprocessing, torch.device("cpu")), validation, config.tasks
    )


def test_from_scratch_recipe_learns_drawn_faces(tmp_path):
    """Valence (the mouth's curvature), arousal (eyes and brows) and expressions must each be learned:
    with the paper's random affine the network learned arousal and expressions but never valence."""
    root = write_synthetic_faces(tmp_path / "faces", train_frames=192, validation_frames=64, per_video=16)
    config = TrainConfig.from_scratch(str(root), output=str(tmp_path / "run"), install=False, num_workers=0)
    config.stages = from_scratch_stages(epochs=4)
    events = []
    result = run(config.validate(), JobState(lambda p: events.append(p.detail)))
    half = result.metrics["threshold_0.5"]
    print(
        "from scratch, 192 frames, 4 epochs:",
        {k: round(v, 3) for k, v in half.items() if k != "f1_au_per_au"},
    )
    # A constant predictor scores CCC 0 and expression F1 about 0.03; chance (uniform guessing) about 0.12.
    # Measured (2-core CPU, 1 thread, 130-160 s): CCC(V) 0.53, CCC(A) 0.71, F1 0.69 at epoch 4; the paper's
    # augmentation instead (the recipe before): CCC(V) 0.001, CCC(A) 0.54, F1 0.34.
    assert half["ccc_v"] > 0.35 and half["ccc_a"] > 0.35 and half["f1_expr"] > 0.35, half
    assert result.metrics["constant_outputs"] == []
    assert not any(e.constant_outputs for e in events if isinstance(e, EpochEnd) and e.epoch == 4)


def test_from_the_stock_layout_checkpoint_with_strict_curation(tmp_path, stock_file):
    data = write_synthetic_affwild(tmp_path / "data", train_videos=5, val_videos=2, frames=12, seed=4)
    stages = [StageConfig("finetune", epochs=3, lr=1e-3, attention_weight=0.1)]
    config = TrainConfig(
        data=DataConfig(root=str(data.root)), stages=stages, init=str(stock_file), batch_size=16,
        num_workers=0, install=False, output=str(tmp_path / "run"), recalibrate_batchnorm=2,
    ).validate()  # fmt: skip
    assert config.data.curation == "strict"  # the default, the paper's
    before = _before(config)
    result = run(config)
    after = result.metrics["threshold_0.5"]
    print(f"stock layout, strict: P {before['P']:.3f} -> {after['P']:.3f}")
    assert (
        json.loads((result.run_dir / "curation.json").read_text())["kept"]["train"]
        == data.expected["train"]["all_valid"]
    )
    assert result.metrics["curation"] == "strict"
    assert result.metrics["frames"] == data.expected["validation"]["all_valid"]
    # Measured under load: P 0.339 -> 0.865 (3 epochs); the untrained heads' VA is near-constant (CCC ~0).
    assert after["P"] > before["P"] + 0.3, (before, after)
    assert result.metrics["constant_outputs"] == []
