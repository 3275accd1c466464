"""The Training window: proposal from the dataset, the in-process check, a real tiny run, cancel."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

from affectstudio.core.model.registry import ModelRegistry
from affectstudio.gui.windows.training import TrainingWindow
from affectstudio.gui.windows.training_run import parse_event
from tests.synthetic_affwild import write_synthetic_affwild
from tests.synthetic_exported import write_exported_dataset
from training.config import STOCK_INIT, Augmentation, TrainConfig, load_config
from training.events import EpochEnd, Error, Stopped

TIMEOUT_MS = 1_200_000  # a tiny run has taken minutes on the loaded 2-core machine


@pytest.fixture
def window(qtbot):
    widget = TrainingWindow()
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


@pytest.fixture
def tiny(tmp_path):
    return write_synthetic_affwild(tmp_path / "data", train_videos=2, val_videos=1, frames=4, test_frames=1)


def _set_tiny_recipe(window, root, epochs=(1, 1)) -> None:
    window.set_dataset(root)
    window.init_model.setCurrentText("none")
    window.epochs[0].setValue(epochs[0])
    window.epochs[1].setValue(epochs[1])
    window.batch_size.setValue(4)
    window.device.setCurrentText("cpu")


def test_no_au_labels_error_in_under_a_second_and_au_not_proposed(window, tmp_path):
    root = write_exported_dataset(tmp_path / "export", videos=1, frames=24)
    window.init_model.setCurrentText("none")
    window.set_dataset(root)
    assert [t for t, box in window.task_boxes.items() if box.isChecked()] == ["va", "expr"]
    assert not window.task_boxes["au"].isEnabled()
    assert "action units 0" in window.summary.text() and "au: no labels" in window.summary.text()
    assert window.holdout.value() == 0.0
    window.task_boxes["au"].setChecked(True)  # the user insists (the paper's defaults)
    window.holdout.setValue(0.1)
    started = time.perf_counter()
    assert not window.start()
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, elapsed
    assert "no labels for the configured task(s) ['au']" in window.check_label.text()
    assert not window.is_running() and window.run_dir is None
    window.task_boxes["au"].setChecked(False)
    assert window.check() is not None and window.check_label.text() == "Configuration checked."


def test_config_from_the_widgets_loads_as_the_trainer_reads_it(window, tiny, tmp_path):
    window.set_dataset(tiny.root)
    assert "s-Aff-Wild2" in window.summary.text()
    assert all(box.isChecked() for box in window.task_boxes.values())
    assert window.curation.currentText() == "masked"
    window.stage1.setCurrentIndex(1)
    window.task_boxes["va"].setChecked(False)
    window.lrs[1].setValue(3e-5)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(window.build_config(tmp_path / "run").to_dict()))
    loaded = load_config(path)
    assert loaded.tasks == ["expr", "au"] and loaded.data.root == str(tiny.root)
    assert loaded.data.curation == "masked" and loaded.data.threshold_holdout == window.holdout.value()
    assert loaded.stages[0].trainable == ["classifier"] and loaded.stages[1].lr == pytest.approx(3e-5)


def test_from_random_weights_the_window_uses_the_from_scratch_augmentation(window, tiny, tmp_path):
    window.set_dataset(tiny.root)
    window.init_model.setCurrentText("none")
    config = window.build_config(tmp_path / "run")
    scratch = TrainConfig.from_scratch()
    assert config.augmentation == scratch.augmentation and config.augmentation.affine_p == 0.0
    assert config.recalibrate_batchnorm == scratch.recalibrate_batchnorm
    window.init_model.setCurrentText(STOCK_INIT)
    assert window.build_config(tmp_path / "run").augmentation == Augmentation()  # the paper's


def test_a_missing_folder_is_reported_without_a_run(window, tmp_path):
    assert window.set_dataset(tmp_path / "missing") is None
    assert "dataset folder not found" in window.summary.text()
    assert not window.start() and "dataset folder not found" in window.check_label.text()


def test_epoch_scores_are_plotted_as_they_arrive(window):
    """The score curve shows each epoch's validation P, not another term of its metrics."""
    metrics = {"ccc_va": 0.25, "f1_expr": 0.5, "f1_au": 0.625, "P": 1.375}
    for epoch, shift in ((1, 0.0), (2, 0.5)):
        window._handle(
            EpochEnd(
                stage="s", epoch=epoch, train_losses={"total": 1.0}, seconds=1.0, best=True, best_epoch=epoch,
                metrics={k: v + shift for k, v in metrics.items()},
            )
        )  # fmt: skip
    epochs, scores = window.curves.score_curve.getData()
    assert list(epochs) == [1, 2] and list(scores) == [1.375, 1.875]


def test_parse_event_reads_the_typed_events_the_cli_prints():
    stopped = Stopped(global_step=7, run_dir="/runs/x")
    assert parse_event(stopped.to_json()) == stopped
    assert parse_event('{"event": "error", "message": "bad"}') == Error("bad")
    assert parse_event("Epoch 1 done") is None and parse_event('{"loss": 1}') is None
    assert parse_event('{"event": "step", "loss": 1.5}') is None  # malformed: missing fields


@pytest.mark.slow
def test_window_runs_training_installs_the_model_and_offers_reanalysis(window, tiny, qtbot):
    _set_tiny_recipe(window, tiny.root)
    window.model_name.setText("gui-tiny")
    events = []
    window.event_received.connect(events.append)
    with qtbot.waitSignal(window.model_installed, timeout=TIMEOUT_MS) as installed:
        assert window.start({"num_workers": 0})
    assert installed.args == ["gui-tiny"]
    qtbot.waitUntil(lambda: not window.is_running(), timeout=TIMEOUT_MS)
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("epoch") == 2
    x, _ = window.curves.loss_curve.getData()
    assert list(x) == [e.global_step for e in events if e.kind == "step"]
    epochs, scores = window.curves.score_curve.getData()
    ends = [e for e in events if e.kind == "epoch"]
    assert list(epochs) == [1, 2] and list(scores) == pytest.approx([e.metrics["P"] for e in ends])
    for end in ends:  # P is the sum of the three task scores of that epoch's validation
        terms = end.metrics["ccc_va"] + end.metrics["f1_expr"] + end.metrics["f1_au"]
        assert end.metrics["P"] == pytest.approx(terms)
    written = pd.read_csv(window.run_dir / "epochs.csv")
    assert list(scores) == pytest.approx(list(written["val_P"]), rel=1e-5)  # the CSV keeps 6 digits
    assert ModelRegistry().is_installed("gui-tiny") and ModelRegistry().default_name() is None
    assert window.start_button.isEnabled() and "Installed as gui-tiny" in window.status.text()
    assert not window.reanalyse_button.isHidden()
    with qtbot.waitSignal(window.reanalyse_requested) as asked:
        window.reanalyse_button.click()
    assert asked.args == ["gui-tiny"]


@pytest.mark.slow
def test_cancel_stops_the_run_resumably(window, tiny, qtbot):
    _set_tiny_recipe(window, tiny.root, epochs=(0, 50))  # from init "none", a stage must train the backbone
    window.model_name.setText("gui-cancelled")
    with qtbot.waitSignal(
        window.event_received, timeout=TIMEOUT_MS, check_params_cb=lambda e: e.kind == "step"
    ):
        window.start({"num_workers": 0})
    with qtbot.waitSignal(window.run_finished, timeout=TIMEOUT_MS) as finished:
        window.cancel()
    assert finished.args == ["stopped"]
    assert (window.run_dir / "state.pt").is_file() and "--resume" in window.status.text()
    assert not ModelRegistry().is_installed("gui-cancelled")
