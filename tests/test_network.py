"""The DDAMFN multi-task network: shapes, task/head options, ranges and gradients."""

from __future__ import annotations

import pytest
import torch

from affectstudio.core.model.network import DDAMFN, ModelOutput


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(2, 3, 112, 112, generator=torch.Generator().manual_seed(1))


def test_forward_gives_all_task_outputs(images):
    torch.manual_seed(0)
    model = DDAMFN().eval()
    with torch.no_grad():
        out = model(images)
    assert isinstance(out, ModelOutput)
    assert out.features.shape == (2, 512, 7, 7)
    assert len(out.heads) == 2 and all(h.shape == (2, 512, 7, 7) for h in out.heads)
    assert out.va.shape == (2, 2) and out.va.abs().max() <= 1.0
    assert out.expr_logits.shape == (2, 8)
    assert torch.allclose(out.expr_probs.sum(1), torch.ones(2))
    assert out.au_logits.shape == (2, 12)
    assert torch.equal(out.au_probs, out.au_logits.sigmoid())
    # attention maps are products of two sigmoid gates
    assert all(float(h.min()) >= 0.0 and float(h.max()) <= 1.0 for h in out.heads)


def test_heads_and_tasks_are_parameters(images):
    model = DDAMFN(num_heads=3, tasks=("au",), hidden=None).eval()
    with torch.no_grad():
        out = model(images)
    assert len(out.heads) == 3 and len(model.attention) == 3
    assert out.va is None and out.expr_logits is None and out.expr_probs is None
    assert out.au_logits.shape == (2, 12)
    assert model.classifier.va is None and model.classifier.expr is None
    assert isinstance(model.classifier.shared, torch.nn.Identity)
    assert model.classifier.au.in_features == 512


def test_fusion_is_elementwise_max_of_heads(images):
    """The embedding must equal GDConv(features * max(heads)); recompute it by hand."""
    model = DDAMFN(num_heads=2, tasks=("expr",), hidden=None).eval()
    with torch.no_grad():
        out = model(images)
        fused = torch.maximum(out.heads[0], out.heads[1])
        manual = model.classifier.expr(model.gdconv(out.features * fused).flatten(1))
    assert torch.allclose(manual, out.expr_logits, atol=1e-6)


def test_architecture_round_trip():
    model = DDAMFN(num_heads=1, tasks=("va", "expr"), hidden=256)
    arch = model.architecture
    assert arch == {
        "name": "ddamfn",
        "num_heads": 1,
        "tasks": ["va", "expr"],
        "hidden": 256,
        "num_expressions": 8,
        "num_aus": 0,
    }
    rebuilt = DDAMFN.from_architecture(arch)
    assert rebuilt.state_dict().keys() == model.state_dict().keys()


def test_invalid_options_are_rejected():
    with pytest.raises(ValueError):
        DDAMFN(num_heads=0)
    with pytest.raises(ValueError):
        DDAMFN(tasks=("pose",))


def test_gradients_reach_the_backbone(images):
    model = DDAMFN().train()
    out = model(images)
    loss = out.va.sum() + out.expr_logits.logsumexp(1).sum() + out.au_logits.sum()
    loss.backward()
    assert model.features[0].conv.weight.grad.abs().sum() > 0
    assert all(head.conv1.weight.grad is not None for head in model.attention)


def test_parameter_count_of_shared_part():
    """Backbone + two heads + GDConv as applied by the stock forward (its dead modules excluded)."""
    model = DDAMFN(num_heads=2, tasks=("expr",), hidden=None)
    count = sum(p.numel() for p in model.parameters())
    # 4,187,936 stock parameters minus the modules the stock forward never applies:
    # mixed-depthwise BN (2 x C) + PReLU (C) per block, each head's 7x7 block (512*49 + 2*512),
    # and the class-wise `bn` (2*8).
    expanded = [128] + [128] * 9 + [256] + [256] * 16 + [1024] + [512] * 6
    dead = sum(3 * c for c in expanded) + 2 * (512 * 49 + 2 * 512) + 2 * 8
    assert count == 4_187_936 - dead
