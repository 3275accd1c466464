"""The model registry: import, list, default, remove, load, and fetch from a local HTTP server."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from model_server import serving

from affectstudio.core.errors import CheckpointError, RegistryError
from affectstudio.core.model.checkpoint import FORMAT_NAME
from affectstudio.core.model.download import CatalogEntry, git_blob_id
from affectstudio.core.model.registry import ModelRegistry
from affectstudio.core.model.stock import import_stock_checkpoint
from affectstudio.core.paths import data_dir

FAST = {"backoff_s": 0.01, "timeout_s": 10.0, "attempts": 3}


@pytest.fixture(scope="module")
def stock_model(stock_file):
    return import_stock_checkpoint(stock_file)


@pytest.fixture(scope="module")
def server(stock_file):
    with serving({stock_file.name: stock_file.read_bytes()}) as running:
        yield running


@pytest.fixture(scope="module")
def catalog(stock_file):
    entry = CatalogEntry(
        "ddamfn-test", stock_file.name, git_blob_id(stock_file), "AffectNet-8", "test copy", {"acc": 0.5}
    )
    return [entry]


def test_empty_registry_defaults_to_the_untrained_model():
    registry = ModelRegistry()
    assert registry.root == data_dir() / "models"
    assert registry.list() == [] and registry.default_name() is None
    loaded = registry.load()
    assert loaded.is_untrained and loaded.config.untrained_tasks == ["va", "expr", "au"]
    assert registry.available() == ["ddamfn-affectnet8", "ddamfn-affectnet7", "ddamfn-rafdb"]


def test_import_converts_a_stock_file_and_makes_it_default(stock_file, stock_model):
    registry = ModelRegistry()
    entry = registry.import_file(stock_file)
    assert entry.name == "ddamfn_affectnet8_layout" and entry.default and entry.installed
    assert torch.load(entry.path, weights_only=True)["format"] == FORMAT_NAME
    assert entry.config.heads_trained == {"va": False, "expr": True, "au": False}
    loaded = registry.load()
    assert loaded.name == entry.name and loaded.digest == stock_model.digest
    assert [e.name for e in registry.list()] == [entry.name]


def test_names_defaults_and_removal(stock_file):
    registry = ModelRegistry()
    registry.import_file(stock_file, name="first")
    with pytest.raises(RegistryError, match="already installed"):
        registry.import_file(stock_file, name="first")
    registry.import_file(registry.path_of("first"), name="second")  # our own format imports too
    assert registry.default_name() == "first"
    registry.set_default("second")
    assert [(e.name, e.default) for e in registry.list()] == [("first", False), ("second", True)]
    registry.remove("second")
    assert registry.default_name() == "first"  # the next installed model takes over
    registry.remove("first")
    assert registry.default_name() is None and registry.load().is_untrained
    with pytest.raises(RegistryError, match="no installed model"):
        registry.remove("first")
    with pytest.raises(RegistryError, match="no installed model"):
        registry.set_default("ghost")
    with pytest.raises(RegistryError, match="invalid model name"):
        registry.import_file(stock_file, name="../escape")


def test_explicit_untrained_default(stock_file):
    registry = ModelRegistry()
    registry.import_file(stock_file, name="m")
    registry.set_default("untrained")
    assert registry.load().is_untrained
    assert registry.load("m").name == "m"


def test_load_by_path_and_unknown_name(stock_file, stock_model):
    registry = ModelRegistry()
    assert registry.load(str(stock_file)).digest == stock_model.digest
    with pytest.raises(RegistryError, match="no installed model or checkpoint file 'nothing'"):
        registry.load("nothing")


def test_bad_import_installs_nothing(tmp_path):
    registry = ModelRegistry()
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x80\x02not a checkpoint")
    with pytest.raises(CheckpointError) as info:
        registry.import_file(bad)
    assert str(bad) in str(info.value)
    assert os.listdir(registry.root) == []


def test_unreadable_model_file_is_reported_not_deleted(stock_file):
    registry = ModelRegistry()
    registry.import_file(stock_file, name="good")
    broken = registry.root / "broken.pt"
    broken.write_bytes(b"junk")
    entries, problems = registry.scan()
    assert [e.name for e in entries] == ["good"]
    assert len(problems) == 1 and str(broken) in str(problems[0])
    assert broken.exists()


def test_fetch_downloads_verifies_and_installs(server, catalog, stock_model):
    registry = ModelRegistry(base_url=server.url("good"), catalog=catalog)
    calls = []
    entry = registry.fetch("ddamfn-test", progress=lambda done, total: calls.append((done, total)), **FAST)
    assert calls[-1][0] == calls[-1][1] > 0
    assert entry.config.provenance["git_blob_id"] == catalog[0].blob_id
    assert entry.config.provenance["url"].startswith(server.url("good"))
    assert entry.config.metrics["acc"] == 0.5
    assert sorted(os.listdir(registry.root)) == ["ddamfn-test.pt", "settings.json"]
    loaded = registry.load("ddamfn-test")
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 3, 112, 112), dtype=np.float32))
    with torch.no_grad():
        assert torch.equal(loaded.model(x).expr_logits, stock_model.model(x).expr_logits)


@pytest.mark.parametrize(("mode", "message"), [("corrupt", "corrupted"), ("truncated", "truncated")])
def test_failed_fetch_leaves_nothing(server, catalog, mode, message):
    registry = ModelRegistry(base_url=server.url(mode), catalog=catalog)
    with pytest.raises(RegistryError, match=message):
        registry.fetch("ddamfn-test", **FAST)
    assert os.listdir(registry.root) == []


def test_fetch_retries_a_flaky_server(server, catalog, monkeypatch):
    monkeypatch.setenv("AFFECTSTUDIO_MODEL_BASE_URL", server.url("flaky"))
    registry = ModelRegistry(catalog=catalog)
    assert registry.fetch("ddamfn-test", **FAST).installed
    assert server.requests[f"/flaky/{catalog[0].file}"] == 3


def test_fetch_unknown_name():
    with pytest.raises(RegistryError, match="unknown model 'nope'; available: ddamfn-affectnet8"):
        ModelRegistry().fetch("nope")


def test_stale_partial_files_are_cleaned_up():
    root = ModelRegistry().root
    stale, fresh = root / ".download-old.partial", root / ".download-new.partial"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(stale, (0, 0))
    ModelRegistry()
    assert not stale.exists() and fresh.exists()


def test_a_default_model_deleted_outside_the_app_is_named_with_the_way_out(tmp_path):
    from affectstudio.core.model.checkpoint import save_checkpoint, untrained_model

    model = untrained_model(seed=2)
    registry = ModelRegistry()
    registry.import_file(save_checkpoint(tmp_path / "mine.pt", model.model, model.config), name="mine")
    registry.path_of("mine").unlink()  # the user deleted the file in a file manager
    with pytest.raises(RegistryError, match=r"default model 'mine' is no longer installed") as caught:
        registry.load()
    assert "affectstudio models default NAME" in str(caught.value) and "mine.pt" in str(caught.value)
    assert registry.list() == []
    registry.set_default("untrained")  # the way out the message names
    assert registry.load().is_untrained
