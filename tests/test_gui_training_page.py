"""The Training page: config from the widgets, a real tiny run in a child process, cancel, errors."""

from __future__ import annotations

import json

import pytest

from affectstudio.core.model.registry import ModelRegistry
from affectstudio.gui.training_page import TrainingPage
from tests.synthetic_affwild import write_synthetic_affwild
from training.config import load_config


@pytest.fixture
def page(qtbot):
    widget = TrainingPage()
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


@pytest.fixture
def tiny(tmp_path):
    return write_synthetic_affwild(tmp_path / "data", train_videos=2, val_videos=1, frames=4, test_frames=1)


def _set_tiny_recipe(page, data, epochs=(1, 1)) -> None:
    page.dataset_edit.setText(str(data.root))
    page.init_model.setCurrentText("none")
    page.curation.setCurrentText("masked")
    page.epochs[0].setValue(epochs[0])
    page.epochs[1].setValue(epochs[1])
    page.batch_size.setValue(4)
    page.device.setCurrentText("cpu")


def test_widgets_default_to_the_paper_recipe_and_build_a_loadable_config(page, tiny, tmp_path):
    config = page.build_config(tmp_path / "run")
    assert config["batch_size"] == 32 and config["data"]["curation"] == "strict"
    assert [(s["epochs"], s["lr"]) for s in config["stages"]] == [(10, 1e-5), (10, 1e-5)]
    assert config["stages"][0]["trainable"] == ["attention", "gdconv", "classifier"]
    page.dataset_edit.setText(str(tiny.root))
    assert "s-Aff-Wild2" in page.dataset_kind.text()
    page.stage1.setCurrentIndex(1)
    page.task_boxes["va"].setChecked(False)
    page.lrs[1].setValue(3e-5)
    page.attention_weight.setValue(0.2)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(page.build_config(tmp_path / "run")))
    loaded = load_config(path)
    assert loaded.tasks == ["expr", "au"] and loaded.data.root == str(tiny.root)
    assert loaded.stages[0].trainable == ["classifier"]
    assert loaded.stages[1].lr == pytest.approx(3e-5) and loaded.stages[1].attention_weight == pytest.approx(
        0.2
    )


@pytest.mark.slow
def test_page_runs_training_and_installs_the_model(page, tiny, qtbot):
    _set_tiny_recipe(page, tiny)
    page.model_name.setText("gui-tiny")
    events = []
    page.event_received.connect(events.append)
    with qtbot.waitSignal(page.model_installed, timeout=300_000) as installed:
        page.start({"num_workers": 0})
    assert installed.args == ["gui-tiny"]
    qtbot.waitUntil(lambda: not page.is_running(), timeout=300_000)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("epoch") == 2
    steps = [e for e in events if e["event"] == "step"]
    x, _ = page.loss_curve.getData()
    assert list(x) == [e["global_step"] for e in steps]
    epochs, p_values = page.p_curve.getData()
    assert list(epochs) == [1, 2] and all(0 <= p <= 3 for p in p_values)
    assert ModelRegistry().is_installed("gui-tiny")
    assert page.start_button.isEnabled() and "Installed as gui-tiny" in page.status.text()


@pytest.mark.slow
def test_cancel_stops_the_run_resumably(page, tiny, qtbot):
    _set_tiny_recipe(page, tiny, epochs=(0, 50))  # from init "none", a stage must train the backbone
    page.model_name.setText("gui-cancelled")
    with qtbot.waitSignal(
        page.event_received, timeout=300_000, check_params_cb=lambda e: e["event"] == "step"
    ):
        page.start({"num_workers": 0})
    with qtbot.waitSignal(page.run_finished, timeout=300_000) as finished:
        page.cancel()
    assert finished.args == ["stopped"]
    assert (page.run_dir / "state.pt").is_file() and "--resume" in page.status.text()
    assert not ModelRegistry().is_installed("gui-cancelled")


@pytest.mark.slow
def test_a_bad_dataset_is_reported(page, tmp_path, qtbot):
    page.dataset_edit.setText(str(tmp_path / "missing"))
    assert page.dataset_kind.text() == "folder not found"
    page.init_model.setCurrentText("none")
    with qtbot.waitSignal(page.run_finished, timeout=300_000) as finished:
        page.start()
    assert finished.args == ["failed"]
    assert "dataset folder not found" in page.status.text()
