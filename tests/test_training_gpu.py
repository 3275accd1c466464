"""The CUDA path: mixed-precision steps through the real trainer (skipped where there is no GPU)."""

from __future__ import annotations

import pytest
import torch

from tests.synthetic_affwild import write_synthetic_affwild
from training.config import DataConfig, StageConfig, TrainConfig
from training.trainer import train

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
    result = train(config, progress=events.append)
    assert events[0]["device"].startswith("cuda") and events[0]["mixed_precision"] is True
    losses = [e["loss"] for e in events if e["event"] == "step"]
    assert losses and all(torch.isfinite(torch.tensor(losses)))
    assert 0 <= result.metrics["threshold_0.5"]["P"] <= 3
