"""The CUDA path: mixed-precision steps through the real trainer (skipped where there is no GPU)."""

from __future__ import annotations

import pytest
import torch

from affectstudio.core.jobs import JobState
from tests.synthetic_affwild import write_synthetic_affwild
from training import run
from training.config import DataConfig, StageConfig, TrainConfig

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_mixed_precision_run_on_cuda(tmp_path):
    data = write_synthetic_affwild(tmp_path / "data", train_videos=3, val_videos=1, frames=8)
    config = TrainConfig(
        data=DataConfig(root=str(data.root), curation="masked"),
        stages=[StageConfig("s1", epochs=1, lr=1e-3, trainable=["classifier"]), StageConfig("s2", epochs=1)],
        batch_size=8, init="none", install=False, num_workers=0, device="cuda", output=str(tmp_path / "run"),
    ).validate()  # fmt: skip
    events = []
    result = run(config, JobState(on_progress=lambda p: events.append(p.detail.to_dict())))
    assert events[0]["device"].startswith("cuda") and events[0]["mixed_precision"] is True
    losses = [e["loss"] for e in events if e["event"] == "step"]
    assert losses and all(torch.isfinite(torch.tensor(losses)))
    # A constant predictor scores CCC 0 and an expression F1 near 1/8 of one class: the run must beat it.
    half = result.metrics["threshold_0.5"]
    assert half["ccc_va"] > 0.1 and half["f1_expr"] > 0.2, half
