"""Metrics against scikit-learn and hand-computed cases; losses, masking and threshold search."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from training.losses import MultiTaskLoss, attention_loss, au_loss, ccc, expr_loss, va_loss
from training.metrics import au_f1, binary_f1, expr_f1, score
from training.metrics import ccc as np_ccc
from training.thresholds import GRID, tune_au_thresholds


def test_ccc_hand_computed():
    # x = [1,2,3], y = [2,4,6]: means 2, 4; var 2/3, 8/3; cov 4/3 -> 2*(4/3) / (2/3 + 8/3 + 4) = 8/22
    assert np_ccc(np.array([1, 2, 3]), np.array([2, 4, 6])) == pytest.approx(8 / 22)
    assert np_ccc(np.array([0.1, 0.5, -0.3]), np.array([0.1, 0.5, -0.3])) == pytest.approx(1.0)
    assert np_ccc(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 0.0
    x, y = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 6.0])
    assert float(ccc(x, y)) == pytest.approx(8 / 22, rel=1e-6)


def test_f1_against_sklearn():
    rng = np.random.default_rng(0)
    true, pred = rng.integers(0, 8, 200), rng.integers(0, 8, 200)
    pred[pred == 7] = 3  # a class never predicted
    expected = f1_score(true, pred, labels=range(8), average="macro", zero_division=0)
    assert expr_f1(true, pred) == pytest.approx(expected)
    true_au, pred_au = rng.integers(0, 2, (100, 12)), rng.integers(0, 2, (100, 12))
    for k, value in enumerate(au_f1(true_au, pred_au)):
        assert value == pytest.approx(f1_score(true_au[:, k], pred_au[:, k], zero_division=0))
    assert binary_f1(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0])) == pytest.approx(0.5)  # tp1 fp1 fn1


def test_score_masks_sentinels_and_sums_p():
    labels_va = np.array([[0.5, 0.1], [-0.5, 0.3], [-5, -5], [0.0, -0.2]], np.float32)
    va = np.array([[0.5, 0.1], [-0.5, 0.3], [0.9, 0.9], [0.0, -0.2]], np.float32)
    labels_expr = np.array([0, 1, -1, 1])
    logits = np.eye(8)[[0, 1, 5, 1]]
    labels_au = np.zeros((4, 12), np.float32)
    labels_au[:, 0] = [1, 0, -1, 1]
    probs = np.zeros((4, 12))
    probs[:, 0] = [0.9, 0.1, 0.9, 0.7]
    result = score(va, logits, probs, labels_va, labels_expr, labels_au)
    assert result["ccc_va"] == pytest.approx(1.0)  # the invalid row's wrong prediction is ignored
    assert result["f1_expr"] == pytest.approx(2 / 8)  # classes 0 and 1 perfect, 6 absent classes count 0
    assert result["f1_au_per_au"]["AU1"] == pytest.approx(1.0)
    assert result["f1_au"] == pytest.approx(1 / 12)
    assert result["P"] == pytest.approx(1.0 + 2 / 8 + 1 / 12)
    only_expr = score(None, logits, None, labels_va, labels_expr, labels_au, tasks=["expr"])
    assert only_expr["P"] == pytest.approx(2 / 8) and "ccc_va" not in only_expr


def test_losses_mask_invalid_labels():
    pred = torch.tensor([[0.5, 0.1], [-0.5, 0.3], [0.9, 0.9]])
    target = torch.tensor([[0.5, 0.1], [-0.5, 0.3], [-5.0, -5.0]])
    assert float(va_loss(pred, target)) == pytest.approx(0.0, abs=1e-6)
    assert float(va_loss(pred[:1], target[:1])) == 0.0  # fewer than two valid rows: no CCC, no loss
    logits = torch.tensor([[5.0, 0.0], [0.0, 5.0], [5.0, 0.0]])
    loss = expr_loss(logits, torch.tensor([0, 1, -1]))
    expected = torch.nn.functional.cross_entropy(logits[:2], torch.tensor([0, 1]))
    assert float(loss) == pytest.approx(float(expected))
    au_logits = torch.zeros(2, 3)
    assert float(au_loss(au_logits, torch.tensor([[1.0, -1, 0], [-1, -1, -1]]))) == pytest.approx(np.log(2))


def test_cross_entropy_takes_logits_not_probabilities():
    logits = torch.tensor([[4.0, -4.0]])
    loss = expr_loss(logits, torch.tensor([1]))
    assert float(loss) == pytest.approx(
        8.0 + np.log1p(np.exp(-8.0)), rel=1e-5
    )  # softmaxed input would be < 1.4


def test_attention_loss_pushes_heads_apart():
    a = torch.zeros(2, 4)
    assert float(attention_loss([a, a + 1.0])) == pytest.approx(1.0, rel=1e-6)  # 1 pair / mse 1
    assert float(attention_loss([a, a + 2.0])) == pytest.approx(0.25, rel=1e-6)  # further apart, smaller
    three = attention_loss([a, a + 1.0, a + 2.0])  # 3 pairs / (1 + 4 + 1)
    assert float(three) == pytest.approx(0.5, rel=1e-6)
    assert float(attention_loss([a])) == 0.0


def test_multitask_loss_sums_weighted_tasks():
    out = SimpleNamespace(
        va=torch.tensor([[0.5, 0.1], [-0.5, 0.3]]),
        expr_logits=torch.zeros(2, 8),
        au_logits=torch.zeros(2, 12),
        heads=[torch.zeros(2, 3), torch.ones(2, 3)],
    )
    loss_fn = MultiTaskLoss(["va", "expr", "au"], {"va": 1.0, "expr": 2.0, "au": 1.0}, attention_weight=0.1)
    total, parts = loss_fn(out, out.va.clone(), torch.tensor([0, 1]), torch.ones(2, 12))
    assert parts["expr"] == pytest.approx(np.log(8), rel=1e-5) and parts["attention"] == pytest.approx(1.0)
    assert float(total) == pytest.approx(parts["va"] + 2 * np.log(8) + np.log(2) + 0.1, rel=1e-5)


def test_threshold_grid_search_finds_best_f1():
    assert GRID[0] == 0.10 and GRID[-1] == 0.89 and len(GRID) == 80
    labels = np.array([[1, 0], [1, 0], [0, -1], [0, 1]] * 5)
    probs = np.array([[0.35, 0.2], [0.32, 0.3], [0.2, 0.9], [0.1, 0.4]] * 5)
    thresholds = tune_au_thresholds(probs, labels, "positive")
    # AU1: any threshold in (0.20, 0.32] separates perfectly; the one nearest 0.5 is 0.32.
    assert thresholds[0] == pytest.approx(0.32)
    # AU2: the positive has p=0.4, negatives 0.2 and 0.3 (the 0.9 entry is masked): (0.30, 0.40] -> 0.40
    assert thresholds[1] == pytest.approx(0.40)
    brute = [max(GRID, key=lambda t: (binary_f1(labels[:, 0], probs[:, 0] >= t), -abs(t - 0.5)))]
    assert thresholds[0] == pytest.approx(brute[0])


def test_authors_threshold_criterion_is_two_class_macro_f1_first_maximum():
    rng = np.random.default_rng(0)
    labels = (rng.random((300, 12)) < 0.3).astype(int)
    probs = np.clip(labels * 0.25 + rng.random((300, 12)) * 0.7, 0, 1)
    labels[:20, 3] = -1  # masked entries take no part
    macro = tune_au_thresholds(probs, labels)  # the default criterion
    positive = tune_au_thresholds(probs, labels, "positive")
    for k in range(12):
        valid = labels[:, k] != -1
        scores = [f1_score(labels[valid, k], probs[valid, k] >= t, average="macro") for t in GRID]
        # scikit-learn's macro F1, the authors' scan: the first threshold reaching the maximum
        assert macro[k] == pytest.approx(GRID[int(np.argmax(scores))]), k
        assert scores[list(GRID).index(round(macro[k], 2))] == pytest.approx(max(scores))
    assert macro != positive  # the two criteria really differ on this data
    # Ties: a separable AU has many maximising thresholds; macro takes the first, positive 0.5's nearest.
    separable = np.array([[1], [1], [0], [0]] * 5)
    scores = np.array([[0.35], [0.32], [0.2], [0.1]] * 5)
    assert tune_au_thresholds(scores, separable) == [pytest.approx(0.21)]
    assert tune_au_thresholds(scores, separable, "positive") == [pytest.approx(0.32)]
