"""Issue 7's headline: the annotation loop closes in the app, on the sample video.

Analyse with the app's current model, code two expression spans with the coding keys and a valence/arousal
trace, export the project's annotations from the Training window, train a small model there (its config
checked in-process first), re-analyse with it from the same window, and check that the new model's
predictions on the annotated frames moved towards the labels.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from test_gui_analysis import close, make_window

from affectstudio.core.annotations.lanes import LaneKey
from affectstudio.core.labels import EXPRESSIONS

pytestmark = pytest.mark.slow
TIMEOUT_MS = 1_200_000  # a loaded 2-core machine: analysis (with its first compile) twice plus training
LABELS = {"Happiness": (0, 59), "Surprise": (60, 119)}
VA = (0.6, 0.4)


def _analysed(window, qtbot, path=None):
    with qtbot.waitSignal(
        window.analysis_finished, timeout=TIMEOUT_MS, check_params_cb=lambda result: result is not None
    ) as finished:
        if path is not None:
            assert window.open_video(path)
    return finished.args[0]


def _distances(arrays, frames, classes):
    """Mean (1 - probability of the labelled class) and mean |VA - label| over the annotated frames."""
    expr = np.asarray(arrays.expr[frames], dtype=np.float64)
    expr_distance = float(np.mean(1.0 - expr[np.arange(len(frames)), classes]))
    va_distance = float(np.mean(np.abs(np.asarray(arrays.va[frames], dtype=np.float64) - np.array(VA))))
    return expr_distance, va_distance


def test_annotate_export_train_reanalyse_improves_the_model(qtbot, tmp_path, sample_video):
    window = make_window(qtbot, tmp_path / "loop.affectproj")
    before_result = _analysed(window, qtbot, sample_video)
    session = window.session
    track = window.track
    before = session.track_arrays()
    before = type(before)(
        *(np.array(a, copy=True) for a in (before.va, before.expr, before.au, before.boxes, before.score))
    )

    # Code the spans with the keys, as a user does during playback: 4 = Happiness at frame 0,
    # 6 = Surprise at frame 60 (closing Happiness at 59), C closes Surprise at the last frame.
    window.activateWindow()
    window.video.setFocus()
    keys = window.settings.coding_keys.expression
    for frame, key in (
        (0, keys[EXPRESSIONS.index("Happiness")]),
        (60, keys[EXPRESSIONS.index("Surprise")]),
        (119, "C"),
    ):
        window.seek(frame)
        qtbot.keyClick(window.video, key)
    expression = LaneKey("expression", session.annotator, track)
    segments = window.store.segments(window.video_hash, expression)
    assert [(s.start, s.stop, s.value) for s in segments] == [
        (0, 59, "Happiness"),
        (60, 119, "Surprise"),
    ]
    session.set_trace(LaneKey("valence", session.annotator, track), 0, np.tile(VA, (120, 1)))

    training = window.show_training()
    training.from_project.click()  # exports the project's lanes in a thread, then proposes
    qtbot.waitUntil(lambda: training.proposal is not None, timeout=TIMEOUT_MS)
    assert training.proposal.tasks == ["va", "expr"] and not training.task_boxes["au"].isChecked()
    assert training.proposal.counts["train"]["expr"] + training.proposal.counts["validation"]["expr"] == 120
    training.init_model.setCurrentText("none")
    training.epochs[0].setValue(0)
    training.epochs[1].setValue(3)
    training.lrs[1].setValue(1e-3)
    training.batch_size.setValue(16)
    training.device.setCurrentText("cpu")
    training.model_name.setText("loop-model")
    with qtbot.waitSignal(training.model_installed, timeout=TIMEOUT_MS):
        assert training.start({"num_workers": 0}), training.check_label.text()
    qtbot.waitUntil(lambda: not training.is_running(), timeout=60_000)
    assert not training.reanalyse_button.isHidden()
    x, _ = training.curves.loss_curve.getData()
    assert len(x) > 0

    with qtbot.waitSignal(
        window.analysis_finished,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda result: result is not None and result.model_name == "loop-model",
    ):
        qtbot.mouseClick(training.reanalyse_button, Qt.MouseButton.LeftButton)
    after = session.track_arrays()
    frames = np.flatnonzero(~np.isnan(before.va[:, 0]) & ~np.isnan(after.va[:, 0]))
    assert len(frames) >= 100
    classes = np.where(frames < 60, EXPRESSIONS.index("Happiness"), EXPRESSIONS.index("Surprise"))
    expr_before, va_before = _distances(before, frames, classes)
    expr_after, va_after = _distances(after, frames, classes)
    print(
        f"distance to the labels: expression {expr_before:.3f} -> {expr_after:.3f}, "
        f"VA {va_before:.3f} -> {va_after:.3f}"
    )
    assert before_result.model_name != "loop-model"
    assert expr_after < expr_before - 0.05
    # VA is labelled constant here, and the CCC loss cannot pull towards a constant (its variance is 0):
    # measured 0.476 -> 0.590 while expression went 0.870 -> 0.453. Only the expression is asserted.
    assert np.isfinite(va_after)
    close(window)
