"""`python -m training` / `affectstudio train`: config files, curation report, JSON progress, errors; init."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from affectstudio.cli import main as app_main
from tests.synthetic_affwild import write_synthetic_affwild
from training.cli import main
from training.config import STOCK_INIT, TrainConfig, load_config
from training.model_setup import build_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("affwild")
    return write_synthetic_affwild(folder, train_videos=2, val_videos=1, frames=4, test_frames=1)


def test_init_config_writes_the_paper_recipe_as_toml(tmp_path, tiny):
    path = tmp_path / "run.toml"
    assert main(["init-config", str(path), "--data", str(tiny.root), "--tasks", "expr"]) == 0
    config = load_config(path)
    assert config.tasks == ["expr"] and config.data.root == str(tiny.root)
    assert config.init == STOCK_INIT and config.batch_size == 32 and config.data.curation == "strict"
    assert [(s.epochs, s.lr, s.weight_decay, s.attention_weight) for s in config.stages] == [
        (10, 1e-5, 0.0, 0.0),
        (10, 1e-5, 0.0, 0.1),
    ]
    assert config.to_dict() | {"output": ""} == TrainConfig(
        tasks=["expr"], output="", data=config.data
    ).to_dict() | {"output": ""}


def test_curate_prints_table_two(tiny, capsys):
    assert main(["curate", str(tiny.root)]) == 0
    out = capsys.readouterr().out
    row = tiny.expected["validation"]
    assert f"| validation | {row['frames']} | {row['va']} | {row['expr']} | {row['au']} |" in out


def test_bad_config_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('tasks = ["va"]\nbatchsize = 3\n')
    assert main([str(path)]) == 2
    assert "unknown key(s) in the config: batchsize" in capsys.readouterr().err
    path.write_text('[data]\ncuration = "loose"\n')
    assert app_main(["train", str(path)]) == 2  # the app's `affectstudio train` is this CLI
    assert "data.curation must be one of" in capsys.readouterr().err


def test_json_progress_and_resumable_stop(tmp_path, tiny, capsys):
    path = tmp_path / "run.json"
    overrides = {"data": {"root": str(tiny.root), "curation": "masked"}, "init": "none", "batch_size": 4,
                 "num_workers": 0, "install": False, "output": "out"}  # fmt: skip
    path.write_text(json.dumps(overrides))
    assert main([str(path), "--progress", "json", "--max-steps", "1"]) == 3
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events] == ["start", "step", "stopped"]
    assert events[0]["run_dir"] == str(tmp_path / "out")  # relative to the config file
    assert (tmp_path / "out" / "state.pt").is_file() and (tmp_path / "out" / "curation.md").is_file()
    assert main([str(path)]) == 2  # a second start must not overwrite the run
    assert "--resume" in capsys.readouterr().err


def test_module_entry_point_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "training", "curate", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "neither" in result.stderr


def test_init_from_a_stock_checkpoint_copies_backbone_heads_and_gdconv(conformance_dir):
    stock = conformance_dir / "ddamfn_affectnet8_layout.pth"
    config = TrainConfig(init=str(stock), seed=1)
    model, preprocessing, source = build_model(config)
    from affectstudio.core.model.checkpoint import load_checkpoint

    reference = load_checkpoint(stock).model.state_dict()
    state = model.state_dict()
    for key, value in state.items():
        if key.split(".")[0] in ("features", "attention", "gdconv"):
            assert torch.equal(value, reference[key]), key
    assert state["classifier.expr.weight"].shape == (8, 512)  # a new head, not the stock fc
    assert preprocessing["mean"] == pytest.approx([0.485, 0.456, 0.406]) and "copied" in source


@pytest.mark.slow
def test_text_progress_of_a_whole_tiny_run(tmp_path, tiny, capsys):
    path = tmp_path / "run.toml"
    path.write_text(
        f'init = "none"\nbatch_size = 4\nnum_workers = 0\noutput = "out"\nname = "cli-tiny"\n'
        f'[data]\nroot = "{tiny.root}"\ncuration = "masked"\n'
        '[[stages]]\nname = "classifier"\nepochs = 1\nlr = 1e-3\ntrainable = ["classifier"]\n'
    )
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "training on cpu" in out and "ETA 0:00:00" in out
    assert "epoch 1 [classifier]: train loss" in out and "P " in out
    assert "installed as 'cli-tiny'" in out
    assert main(["evaluate", "cli-tiny", "--data", str(tiny.root)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "cli-tiny" and report["frames"] == 4
