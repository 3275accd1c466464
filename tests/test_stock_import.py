"""Stock DDAMFN checkpoints import key for key and reproduce the conformance golden outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from affectstudio.core.errors import CheckpointError
from affectstudio.core.labels import AFFECTNET_TO_ABAW, EXPRESSIONS
from affectstudio.core.model.checkpoint import load_checkpoint
from affectstudio.core.model.stock import UNUSED_STOCK_KEYS, import_stock_checkpoint

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def golden(conformance_dir):
    return dict(np.load(conformance_dir / "ddamfn_affectnet8_io.npz"))


@pytest.fixture(scope="module")
def stock_obj(stock_file):
    return torch.load(stock_file, map_location="cpu", weights_only=True)


def to_abaw(stock_logits: np.ndarray) -> np.ndarray:
    out = np.full((stock_logits.shape[0], len(EXPRESSIONS)), np.nan, dtype=stock_logits.dtype)
    for stock_index in range(stock_logits.shape[1]):
        out[:, AFFECTNET_TO_ABAW[stock_index]] = stock_logits[:, stock_index]
    return out


def run(loaded, images: np.ndarray):
    with torch.no_grad():
        return loaded.model(torch.from_numpy(images))


def max_abs(a: torch.Tensor, b: np.ndarray) -> float:
    return float(np.abs(a.numpy() - b).max())


def test_reproduces_golden_outputs(stock_file, golden):
    loaded = import_stock_checkpoint(stock_file)
    assert not loaded.model.training
    out = run(loaded, golden["input"])
    errors = {
        "features": max_abs(out.features, golden["features"]),
        "head0": max_abs(out.heads[0], golden["head0"]),
        "head1": max_abs(out.heads[1], golden["head1"]),
        "logits": max_abs(out.expr_logits, to_abaw(golden["logits"])),
    }
    print("max abs differences to golden:", errors)
    assert all(error < TOLERANCE for error in errors.values()), errors


def test_config_records_what_is_trained(stock_file):
    config = import_stock_checkpoint(stock_file).config
    assert config.architecture["hidden"] is None
    assert config.heads_trained == {"va": False, "expr": True, "au": False}
    assert config.untrained_tasks == ["va", "au"]
    assert config.untrained_expressions == []
    assert config.expressions == list(EXPRESSIONS)
    assert config.provenance["training_data"] == "AffectNet-8"


def test_every_key_is_accounted_for(stock_obj):
    state = stock_obj["model_state_dict"]
    unused = [key for key in state if any(p.fullmatch(key) for p in UNUSED_STOCK_KEYS)]
    # 34 mixed depthwise convs x (5 BN + 1 PReLU) + 2 heads x 7x7 block (1 conv + 5 BN) + class-wise bn (5)
    assert len(unused) == 34 * 6 + 2 * 6 + 5
    assert len(state) == 1190


def test_parameter_count(stock_obj, stock_file):
    """4,187,936 stock parameters = ours (minus the new va/au heads) + the never-applied modules."""
    state = stock_obj["model_state_dict"]
    is_param = [k for k in state if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert sum(state[k].numel() for k in is_param) == 4_187_936
    model = import_stock_checkpoint(stock_file).model
    ours = sum(p.numel() for p in model.parameters())
    new_heads = sum(p.numel() for h in (model.classifier.va, model.classifier.au) for p in h.parameters())
    dead = sum(state[k].numel() for k in is_param if any(p.fullmatch(k) for p in UNUSED_STOCK_KEYS))
    assert ours - new_heads + dead == 4_187_936


def test_module_prefix_is_accepted(stock_obj, stock_file, tmp_path):
    prefixed = {f"module.{k}": v for k, v in stock_obj["model_state_dict"].items()}
    path = tmp_path / "dp.pth"
    torch.save({"iter": 3, "model_state_dict": prefixed}, path)
    assert load_checkpoint(path).digest == import_stock_checkpoint(stock_file).digest


def test_seven_way_head_gives_other_zero_probability(stock_obj, golden, tmp_path):
    state = dict(stock_obj["model_state_dict"])
    state["fc.weight"], state["fc.bias"] = state["fc.weight"][:7], state["fc.bias"][:7]
    for key in ("bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"):
        state[key] = state[key][:7]
    path = tmp_path / "rafdb_epoch20.pth"
    torch.save({"iter": 1, "model_state_dict": state}, path)
    loaded = load_checkpoint(path)
    other = EXPRESSIONS.index("Other")
    assert loaded.config.untrained_expressions == ["Other"]
    assert loaded.config.provenance["training_data"].startswith("RAF-DB")
    out = run(loaded, golden["input"])
    assert float(out.expr_probs[:, other].max()) < 1e-6
    expected = to_abaw(golden["logits"][:, :7])
    keep = [i for i in range(8) if i != other]
    assert max_abs(out.expr_logits[:, keep], expected[:, keep]) < TOLERANCE


@pytest.mark.parametrize("change", ["unknown", "missing", "shape", "fc"])
def test_foreign_layouts_are_rejected(stock_obj, tmp_path, change):
    state = dict(stock_obj["model_state_dict"])
    if change == "unknown":
        state["extra.weight"] = torch.zeros(3)
    elif change == "missing":
        del state["features.5.model.3.project.conv.weight"]
    elif change == "shape":
        state["Linear.conv.weight"] = torch.zeros(512, 1, 5, 5)
    else:
        state["fc.weight"], state["fc.bias"] = torch.zeros(5, 512), torch.zeros(5)
    path = tmp_path / f"{change}.pth"
    torch.save({"iter": 0, "model_state_dict": state}, path)
    with pytest.raises(CheckpointError) as info:
        import_stock_checkpoint(path)
    assert str(path) in str(info.value)
