"""The one preprocessing contract: resolved once from a config, the same for the engine and training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from affectstudio.core.engine import InferenceEngine
from affectstudio.core.errors import AffectStudioError
from affectstudio.core.model.checkpoint import untrained_model
from affectstudio.core.model.config import CheckpointConfig
from affectstudio.core.transforms import ALIGNED, BOX, default_preprocessing, resolve
from training.transforms import eval_transform


def _config(preprocessing: dict, source: str = "") -> CheckpointConfig:
    return CheckpointConfig(
        architecture={}, heads_trained={}, preprocessing=preprocessing, provenance={"source": source}
    )


def test_crop_method_defaults_by_where_the_weights_came_from():
    legacy = {k: v for k, v in default_preprocessing().items() if k != "crop_method"}
    assert resolve(_config(legacy, "DDAMFN++ release (Zhang et al.)")).crop_method == ALIGNED
    assert resolve(_config(legacy, "trained by affectstudio")).crop_method == BOX
    assert resolve(legacy).crop_method == BOX  # a bare dict of an old config: ours, box crops
    assert resolve(_config(default_preprocessing(BOX), "DDAMFN++ release")).crop_method == BOX  # stated wins
    assert CheckpointConfig(architecture={}, heads_trained={}).crop_method == ALIGNED  # new configs


@pytest.mark.parametrize(
    "bad", [{"crop_method": "warp"}, {"color": "BGR"}, {"std": [0.2, 0.0, 0.2]}, {"mean": [0.5]}]
)
def test_bad_preprocessing_is_a_user_error(bad):
    with pytest.raises(AffectStudioError):
        resolve(default_preprocessing() | bad)


def test_engine_and_training_normalise_alike():
    """The app's numpy path and training's torchvision path give the same tensor for the same crop."""
    prep = default_preprocessing() | {"mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]}
    crops = np.random.default_rng(1).integers(0, 256, (2, 112, 112, 3), dtype=np.uint8)
    ours = resolve(prep).normalise(crops)
    theirs = torch.stack([eval_transform(prep)(Image.fromarray(c)) for c in crops]).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)

    loaded = untrained_model()
    loaded.config.preprocessing = prep
    engine = InferenceEngine(loaded, "cpu", fast=False)
    np.testing.assert_allclose(engine.preprocess(crops).numpy(), theirs, atol=1e-5)


def test_the_fast_paths_in_graph_preprocessing_is_the_contracts_normalise():
    """The OpenVINO path normalises inside its graph (uint8 NHWC in); it must feed the network exactly what
    `Preprocessing.normalise` feeds PyTorch. A random network's outputs barely move with the picture, so
    comparing outputs cannot catch a swapped channel or layout here: the graph's input side is compared
    directly, through an identity network."""
    from affectstudio.core.compiled import _with_preprocessing, openvino_or_none

    ov = openvino_or_none()
    if ov is None:
        pytest.skip("OpenVINO is not installed")

    class Identity(torch.nn.Module):
        def forward(self, x):
            return x * 1.0

    prep = resolve(
        {"crop_method": ALIGNED, "input_size": 16, "mean": [0.2, 0.5, 0.7], "std": [0.1, 0.2, 0.3]}
    )
    graph = ov.convert_model(Identity(), example_input=torch.zeros(1, 3, 16, 16), input=[(-1, 3, 16, 16)])
    compiled = ov.Core().compile_model(_with_preprocessing(ov, graph, prep), "CPU")
    crops = np.random.default_rng(3).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    fed = compiled(crops)[0]
    np.testing.assert_allclose(fed, prep.normalise(crops), atol=1e-5)
