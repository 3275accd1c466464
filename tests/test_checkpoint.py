"""Our checkpoint format: atomic save, weights_only load, stable digests, clear errors for bad files."""

from __future__ import annotations

import pickle

import pytest
import torch

from affectstudio.core.errors import CheckpointError
from affectstudio.core.model import checkpoint as ckpt
from affectstudio.core.model.checkpoint import (
    FORMAT_NAME,
    CheckpointConfig,
    load_checkpoint,
    save_checkpoint,
    untrained_model,
)
from affectstudio.core.model.network import DDAMFN


@pytest.fixture(scope="module")
def small():
    """A trained-looking single-task model and its config (one head keeps the file small)."""
    torch.manual_seed(3)
    model = DDAMFN(num_heads=1, tasks=("va", "au"), hidden=64).eval()
    config = CheckpointConfig(
        architecture=model.architecture,
        heads_trained={"va": True, "au": True},
        au_thresholds=[0.3 + 0.01 * i for i in range(12)],
        provenance={"source": "test", "training_data": "synthetic", "recipe": "none"},
        metrics={"P": 1.25, "ccc_v": torch.tensor(0.5)},
    )
    return model, config


@pytest.fixture(scope="module")
def saved(small, tmp_path_factory):
    model, config = small
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "m.pt", model, config)


def test_round_trip_keeps_weights_config_and_digest(small, saved):
    model, config = small
    loaded = load_checkpoint(saved)
    x = torch.randn(2, 3, 112, 112)
    with torch.no_grad():
        a, b = model(x), loaded.model(x)
    assert torch.equal(a.va, b.va) and torch.equal(a.au_logits, b.au_logits) and b.expr_logits is None
    assert loaded.config.au_thresholds == pytest.approx(config.au_thresholds)
    assert loaded.config.metrics == {"P": 1.25, "ccc_v": 0.5}
    assert loaded.config.provenance["created"]  # stamped on save
    assert loaded.config.untrained_tasks == [] and not loaded.is_untrained
    assert loaded.digest == ckpt.weights_digest(model) == load_checkpoint(saved).digest
    assert not loaded.model.training


def test_file_is_a_plain_weights_only_dict(saved):
    obj = torch.load(saved, weights_only=True)
    assert obj["format"] == FORMAT_NAME and obj["format_version"] == ckpt.FORMAT_VERSION
    assert set(obj) >= {"state_dict", "architecture", "heads_trained", "labels", "au_thresholds"}
    assert set(obj) >= {"preprocessing", "provenance", "metrics"}
    assert obj["heads_trained"] == {"va": True, "expr": False, "au": True}
    assert obj["preprocessing"]["input_size"] == 112
    assert [p.name for p in saved.parent.iterdir()] == ["m.pt"]  # no temp file left behind


def test_failed_save_keeps_the_old_file(small, saved, monkeypatch):
    before = saved.read_bytes()

    def broken_save(obj, handle):
        handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        save_checkpoint(saved, *small)
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == ["m.pt"]


def test_digest_changes_with_any_weight(small):
    model, _ = small
    other = DDAMFN.from_architecture(model.architecture)
    other.load_state_dict(model.state_dict())
    assert ckpt.weights_digest(other) == ckpt.weights_digest(model)
    with torch.no_grad():
        other.gdconv.bn.running_var[0] += 1e-3
    assert ckpt.weights_digest(other) != ckpt.weights_digest(model)


def test_untrained_model_is_deterministic_and_says_so():
    first, second, other = untrained_model(0), untrained_model(0), untrained_model(1)
    assert first.digest == second.digest != other.digest
    assert first.is_untrained and first.config.untrained_tasks == ["va", "expr", "au"]
    assert "untrained" in first.name and "not meaningful" in first.config.provenance["source"]
    assert "valence/arousal" in first.config.describe_untrained()
    state = torch.random.get_rng_state()
    untrained_model(5)
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG untouched


def test_saved_untrained_model_stays_untrained(tmp_path):
    model = untrained_model()
    path = save_checkpoint(tmp_path / "u.pt", model.model, model.config)
    assert load_checkpoint(path).config.untrained_tasks == ["va", "expr", "au"]


def _corrupt(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    data[100:4000] = bytes(3900)
    path = tmp_path / "corrupt.pt"
    path.write_bytes(bytes(data))
    return path


def _truncated(saved, tmp_path):
    path = tmp_path / "truncated.pt"
    path.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    return path


def _random_bytes(saved, tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(bytes(range(256)) * 40)
    return path


def _foreign_dict(saved, tmp_path):
    path = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    return path


def _pickled_object(saved, tmp_path):
    path = tmp_path / "object.pt"
    path.write_bytes(pickle.dumps(ValueError("not weights"), protocol=2))
    return path


def _wrong_shape(saved, tmp_path):
    obj = torch.load(saved, weights_only=True)
    obj["state_dict"]["classifier.va.weight"] = torch.zeros(2, 32)
    path = tmp_path / "shape.pt"
    torch.save(obj, path)
    return path


def _newer_version(saved, tmp_path):
    obj = torch.load(saved, weights_only=True)
    obj["format_version"] = 99
    path = tmp_path / "future.pt"
    torch.save(obj, path)
    return path


def _missing_config(saved, tmp_path):
    obj = torch.load(saved, weights_only=True)
    del obj["labels"]
    path = tmp_path / "nolabels.pt"
    torch.save(obj, path)
    return path


@pytest.mark.parametrize(
    "make",
    [
        _corrupt,
        _truncated,
        _random_bytes,
        _foreign_dict,
        _pickled_object,
        _wrong_shape,
        _newer_version,
        _missing_config,
    ],
)
def test_bad_files_raise_checkpoint_error_naming_the_file(saved, tmp_path, make):
    path = make(saved, tmp_path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
