"""`affectstudio models ...` run in-process: output, exit codes, one-line errors."""

from __future__ import annotations

import os

import pytest
from model_server import serving
from tqdm import tqdm

from affectstudio.cli import main
from affectstudio.core.model import download
from affectstudio.core.model.download import CatalogEntry, git_blob_id
from affectstudio.core.model.registry import ModelRegistry


def cli(capsys, *argv):
    code = main(["models", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("affectstudio: error: "), err
    assert "Traceback" not in err
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


def test_list_when_nothing_is_installed(capsys):
    code, out, _ = cli(capsys, "list")
    assert code == 0
    assert "no models installed" in out and "untrained" in out and "not meaningful" in out
    assert "ddamfn-affectnet8, ddamfn-affectnet7, ddamfn-rafdb" in out
    assert "ddamfn-rafdb                 17.4 MB, trained on RAF-DB" in out  # size and provenance
    assert "licence: " in out and "non-commercial research use only" in out


def test_import_list_default_remove(capsys, stock_file):
    code, out, _ = cli(capsys, "import", str(stock_file), "--name", "stock8")
    assert code == 0 and "installed 'stock8'" in out and "UNTRAINED" in out and "[default]" in out
    assert "'stock8' is now the default model (it is the first one installed)" in out
    code, out, _ = cli(capsys, "import", str(stock_file), "--name", "second")
    assert code == 0 and "installed 'second'" in out and "default" not in out  # the default stays
    code, out, _ = cli(capsys, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("  second") and lines[1].startswith("* stock8")
    assert "AffectNet-8" in out

    code, _, err = cli(capsys, "import", str(stock_file), "--name", "stock8")
    assert code == 2
    assert_one_line_error(err, "already installed")

    assert cli(capsys, "default", "untrained")[:2] == (0, "default model is now 'untrained'\n")
    assert ModelRegistry().load().is_untrained
    code, _, err = cli(capsys, "default", "ghost")
    assert code == 2
    assert_one_line_error(err, "no installed model named 'ghost'")

    code, out, _ = cli(capsys, "remove", "stock8")
    assert code == 0 and "removed 'stock8'" in out
    assert cli(capsys, "remove", "second")[0] == 0
    assert ModelRegistry().list() == []


def test_import_replace_swaps_the_weights_under_the_same_name(capsys, stock_file, tmp_path):
    import torch

    from affectstudio.core.model.checkpoint import save_checkpoint, untrained_model

    assert cli(capsys, "import", str(stock_file), "--name", "m")[0] == 0
    stock_weights = ModelRegistry().load("m").model.state_dict()["classifier.expr.weight"].clone()
    other = untrained_model(seed=2)
    path = save_checkpoint(tmp_path / "other.pt", other.model, other.config)
    code, _, err = cli(capsys, "import", str(path), "--name", "m")
    assert code == 2
    assert_one_line_error(err, "already installed", "--replace")
    assert torch.equal(ModelRegistry().load("m").model.state_dict()["classifier.expr.weight"], stock_weights)
    code, out, _ = cli(capsys, "import", str(path), "--name", "m", "--replace")
    assert code == 0 and "installed 'm'" in out
    replaced = ModelRegistry().load("m").model.state_dict()
    for key, value in other.model.state_dict().items():
        assert torch.equal(replaced[key], value), key
    assert [e.name for e in ModelRegistry().list()] == ["m"]


@pytest.mark.parametrize("content", [b"", b"hello, not a model\n", b"PK\x03\x04truncated zip"])
def test_bad_file_exits_2_with_one_clear_line(capsys, tmp_path, content):
    bad = tmp_path / "bad model.pth"
    bad.write_bytes(content)
    code, out, err = cli(capsys, "import", str(bad))
    assert code == 2 and out == ""
    assert_one_line_error(err, str(bad))
    assert os.listdir(ModelRegistry().root) == []


def test_missing_file(capsys, tmp_path):
    code, _, err = cli(capsys, "import", str(tmp_path / "absent.pt"))
    assert code == 2
    assert_one_line_error(err, "absent.pt", "not found")


def test_fetch_unknown_name(capsys):
    code, _, err = cli(capsys, "fetch", "nope")
    assert code == 2
    assert_one_line_error(err, "unknown model 'nope'")


def test_fetch_rejects_a_file_that_is_not_the_released_one(capsys, stock_file, monkeypatch):
    """The real catalog entry, served a different file: the blob id check refuses it."""
    entry = download.CATALOG[0]
    with serving({entry.file: stock_file.read_bytes()}) as server:
        monkeypatch.setenv(download.BASE_URL_ENV, server.url("good"))
        code, out, err = cli(capsys, "fetch", entry.name)
    assert code == 2 and out == ""
    assert_one_line_error(err.split("\r")[-1], "corrupted", entry.blob_id)
    assert os.listdir(ModelRegistry().root) == []


def test_fetch_installs_with_progress(capsys, stock_file, monkeypatch):
    entry = CatalogEntry("ddamfn-mirror", stock_file.name, git_blob_id(stock_file), "AffectNet-8", "test")
    monkeypatch.setattr(download, "CATALOG", (entry,))
    with serving({entry.file: stock_file.read_bytes()}) as server:
        code, out, err = cli(capsys, "fetch", entry.name, "--base-url", server.url("good"))
    assert code == 0 and "installed 'ddamfn-mirror'" in out
    # The tqdm bar counts the file's bytes (scaled by 1024) up to its full size.
    size = tqdm.format_sizeof(stock_file.stat().st_size, divisor=1024)
    assert "ddamfn-mirror: 100%" in err and f" {size}/{size} " in err, err[-300:]
    assert [e.name for e in ModelRegistry().list()] == ["ddamfn-mirror"]


def test_two_imports_under_one_name_at_once_install_one_and_refuse_the_other(stock_file, tmp_path):
    """Issue 9: both used to print 'installed' and one silently replaced the other."""
    import subprocess
    import sys

    env = {**os.environ, "AFFECTSTUDIO_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "affectstudio", "models", "import", str(stock_file), "--name", "same"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    runs.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outcomes = sorted((run.wait(120), *run.communicate()) for run in runs)
    (ok, ok_out, _), (refused, _, refused_err) = outcomes
    assert ok == 0 and "installed 'same'" in ok_out
    assert refused == 2 and "already installed" in refused_err and "Traceback" not in refused_err
    models = tmp_path / "data" / "models"
    assert sorted(p.name for p in models.iterdir() if p.suffix == ".pt") == ["same.pt"]
    assert not list(models.glob(".*.partial*"))
