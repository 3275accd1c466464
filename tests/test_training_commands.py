"""`python -m training` options users rely on: `--set`, `evaluate --split`, `predict --test-list`, and the
error when curation leaves no frame. Small real runs on the synthetic s-Aff-Wild2 layout; the expected
counts come from the generator (tests/synthetic_affwild.py), not from the code under test."""

from __future__ import annotations

import json

import pytest
import torch
from model_server import serving

from affectstudio.core.model.checkpoint import save_checkpoint, untrained_model
from tests.synthetic_affwild import write_synthetic_affwild
from training.cli import main
from training.config import STOCK_INIT


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("affwild")
    return write_synthetic_affwild(folder, train_videos=2, val_videos=1, frames=4, test_frames=1)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    model = untrained_model(seed=5)
    return save_checkpoint(tmp_path_factory.mktemp("model") / "untrained.pt", model.model, model.config)


def _config(tmp_path, root, **values):
    path = tmp_path / "run.json"
    base = {"data": {"root": str(root), "curation": "masked"}, "init": "none", "batch_size": 4,
            "num_workers": 0, "install": False, "output": "out"}  # fmt: skip
    path.write_text(json.dumps(base | values))
    return path


def test_set_overrides_reach_the_run(tmp_path, tiny, capsys):
    path = _config(tmp_path, tiny.root)
    overrides = ["batch_size=2", "output=other", "stages.1.epochs=3", 'data.curation="strict"']
    args = [str(path), "--progress", "json", "--max-steps", "1"]
    assert main([*args, *(part for o in overrides for part in ("--set", o))]) == 3
    start = json.loads(capsys.readouterr().out.splitlines()[0])
    assert start["run_dir"] == str(tmp_path / "other") and start["curation"]["curation"] == "strict"
    # strict keeps the generator's fully labelled training frames, less those held out for AU thresholds
    kept = tiny.expected["train"]["all_valid"]
    assert start["curation"]["kept"]["train"] == kept
    assert start["train_frames"] == kept - start["threshold_frames"]
    steps_per_epoch = start["train_frames"] // 2  # batch 2, the last partial batch dropped
    assert start["total_steps"] == (10 + 3) * steps_per_epoch  # the paper's 10 epochs, then the 3 set
    saved = torch.load(tmp_path / "other" / "state.pt", weights_only=False)["config"]
    assert (
        saved["batch_size"] == 2 and saved["stages"][1]["epochs"] == 3 and saved["stages"][0]["epochs"] == 10
    )
    assert main([str(path), "--set", "stages.5.epochs=1"]) == 2
    assert "override 'stages.5.epochs=1' names no config entry" in capsys.readouterr().err
    assert main([str(path), "--set", "batch_size"]) == 2
    assert "is not KEY=VALUE" in capsys.readouterr().err


def test_no_frame_left_after_curation_is_a_one_line_error(tmp_path, capsys, checkpoint):
    data = write_synthetic_affwild(tmp_path / "data", train_videos=1, val_videos=1, frames=3, test_frames=1)
    for name in ("training_set_annotations.txt", "validation_set_annotations.txt"):
        file = data.root / name
        lines = file.read_text().splitlines()
        rows = [line.split(",") for line in lines[1:]]
        for row in rows:
            row[3] = "-1"  # no frame has an expression label: strict keeps none
        file.write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n")
    path = _config(tmp_path, data.root, data={"root": str(data.root), "curation": "strict"})
    assert main([str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "training_set_annotations.txt" in line and "no frame is left after strict curation" in line
    assert not (tmp_path / "out" / "state.pt").exists()
    assert main(["evaluate", str(checkpoint), "--data", str(data.root), "--curation", "strict"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "validation_set_annotations.txt" in line and "no frame is left after strict curation" in line


def test_evaluate_scores_the_split_asked_for(tiny, checkpoint, capsys):
    reports = {}
    for split, curation in (("train", "strict"), ("validation", "strict"), ("train", "masked")):
        args = [
            "evaluate",
            str(checkpoint),
            "--data",
            str(tiny.root),
            "--split",
            split,
            "--curation",
            curation,
        ]
        assert main(args) == 0
        reports[split, curation] = report = json.loads(capsys.readouterr().out)
        assert report["split"] == split and report["frames_in_split"] == tiny.expected[split]["frames"]
        column = "all_valid" if curation == "strict" else "any_valid"
        assert report["frames"] == tiny.expected[split][column]
    assert reports["train", "strict"]["threshold_0.5"] != reports["validation", "strict"]["threshold_0.5"]


def test_predict_writes_the_images_of_the_test_list_in_its_order(tiny, checkpoint, tmp_path, capsys):
    default = tmp_path / "default.csv"
    assert main(["predict", str(checkpoint), "--data", str(tiny.root), "--output", str(default)]) == 0
    (test_image,) = tiny.test_images
    listed = tmp_path / "list.txt"
    listed.write_text(f"image\ntrain_00/00003.jpg\n{test_image}\ntrain_00/00001.jpg\n")
    mine = tmp_path / "mine.csv"
    args = ["predict", str(checkpoint), "--data", str(tiny.root), "--output", str(mine)]
    assert main([*args, "--test-list", str(listed)]) == 0
    assert f"wrote {mine}" in capsys.readouterr().out
    rows = mine.read_text().splitlines()
    assert rows[0] == "image,valence,arousal,expression,aus"
    assert [r.split(",")[0] for r in rows[1:]] == ["train_00/00003.jpg", test_image, "train_00/00001.jpg"]
    assert all(len(r.split(",")) == 1 + 2 + 1 + 12 for r in rows[1:])
    assert rows[2] == default.read_text().splitlines()[1]  # the same image, the same prediction
    assert rows[1] != rows[3]
    listed.write_text("image\ntrain_00/00009.jpg\n")
    assert main([*args, "--test-list", str(listed)]) == 2
    assert "00009.jpg does not exist" in capsys.readouterr().err


def test_a_finished_run_installs_under_the_next_free_name(checkpoint):
    from affectstudio.core.model.registry import ModelRegistry
    from training.finish import _free_name

    registry = ModelRegistry()
    assert _free_name(registry, "loop") == "loop"
    registry.import_file(checkpoint, name="loop")
    assert _free_name(registry, "loop") == "loop-2"
    registry.import_file(checkpoint, name="loop-2")
    registry.import_file(checkpoint, name="loop-4")  # the first free number, not one past the highest
    assert _free_name(registry, "loop") == "loop-3"
    registry.import_file(checkpoint, name="loop-3")
    assert _free_name(registry, "loop") == "loop-5"


@pytest.fixture
def stock_catalog(stock_file, monkeypatch):
    """The catalog's stock entry (the default `init`) pointing at the stock-layout file in ../shared."""
    from affectstudio.core.model import download

    entry = download.CatalogEntry(
        STOCK_INIT, stock_file.name, download.git_blob_id(stock_file), "AffectNet-8", "test"
    )
    monkeypatch.setattr(download, "CATALOG", (entry,))
    return download


def test_the_default_init_is_fetched_from_the_model_server(stock_file, stock_catalog, monkeypatch):
    from affectstudio.core.model.checkpoint import load_checkpoint
    from affectstudio.core.model.registry import ModelRegistry
    from training.config import TrainConfig
    from training.model_setup import build_model

    with serving({stock_file.name: stock_file.read_bytes()}) as server:
        monkeypatch.setenv(stock_catalog.BASE_URL_ENV, server.url("good"))
        model, _, source = build_model(TrainConfig(seed=1))  # init left at its default
        assert sum(server.requests.values()) == 1
        build_model(TrainConfig(seed=2))  # installed now: not fetched again
        assert sum(server.requests.values()) == 1
    assert ModelRegistry().is_installed(STOCK_INIT) and STOCK_INIT in source
    reference = load_checkpoint(stock_file).model.state_dict()
    for key, value in model.state_dict().items():
        if key.startswith("features."):
            assert torch.equal(value, reference[key]), key


def test_a_default_init_that_cannot_be_fetched_says_what_to_set(tmp_path, tiny, stock_file, stock_catalog,
                                                                  monkeypatch, capsys):  # fmt: skip
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"data": {"root": str(tiny.root), "curation": "masked"}, "num_workers": 0}))
    with serving({}) as server:  # the server answers 404: the file is not there
        monkeypatch.setenv(stock_catalog.BASE_URL_ENV, server.url("missing"))
        assert main([str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"cannot load the initial model '{STOCK_INIT}'" in line
    assert 'set `init` to a checkpoint file, an installed model name, or "none"' in line
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").rglob("state.pt"))
