"""The DDAMFN network with a multi-task classifier (valence/arousal, expressions, action units).

Architecture (Zhang et al. 2023, DDAMFN; multi-task classifier from the 7th ABAW paper):

    image 3x112x112 -> MixedFeatureNet backbone (`features`, 512x7x7)
        -> N coordinate-attention heads (`attention`), each a 512x7x7 attention map
        -> element-wise max over heads, multiplied with the feature map
        -> GDConv (`gdconv`: 7x7 depthwise conv + BN) -> 512-d embedding
        -> `classifier`: shared Linear(512, hidden)+ReLU (or nothing), then the task heads.

The backbone is MobileFaceNet whose depthwise convolutions mix kernel sizes (channels split into groups
with 3x3, 5x5, 7x7, 9x9 kernels) and whose bottleneck blocks carry coordinate attention. Submodule names
inside the backbone, the attention heads and the GDConv follow the stock checkpoint's, so stock weights
load key for key after a prefix rename (see `stock.py`). Modules that the stock checkpoint stores but its
forward never applies are left out here; the importer lists those keys explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from affectstudio.core.labels import TASKS

EMBEDDING_SIZE = 512


@dataclass
class ModelOutput:
    """Everything one forward pass gives: task outputs plus the maps that training's losses need."""

    features: torch.Tensor  # (B,512,7,7) backbone output
    heads: list[torch.Tensor]  # one (B,512,7,7) attention map per head
    va: torch.Tensor | None  # (B,2) valence, arousal in [-1,1]
    expr_logits: torch.Tensor | None  # (B,8) logits in ABAW order
    au_logits: torch.Tensor | None  # (B,12) logits

    @property
    def expr_probs(self) -> torch.Tensor | None:
        return None if self.expr_logits is None else self.expr_logits.softmax(dim=1)

    @property
    def au_probs(self) -> torch.Tensor | None:
        return None if self.au_logits is None else self.au_logits.sigmoid()


class ConvBN(nn.Sequential):
    """Convolution without bias followed by BatchNorm (MobileFaceNet's "linear block")."""

    def __init__(self, in_c: int, out_c: int, kernel=1, stride=1, padding=0, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_c, out_c, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_c)


class ConvBNPReLU(ConvBN):
    """Convolution + BatchNorm + per-channel PReLU (MobileFaceNet's "conv block")."""

    def __init__(self, in_c: int, out_c: int, kernel=1, stride=1, padding=0, groups: int = 1):
        super().__init__(in_c, out_c, kernel, stride, padding, groups)
        self.prelu = nn.PReLU(out_c)


class MixedDepthwiseConv(nn.Module):
    """Depthwise convolution whose channel groups use different kernel sizes (MixConv).

    `splits` gives the channels per group, in order; group i uses kernel `kernels[i]` with "same" padding.
    """

    def __init__(self, splits: Sequence[int], kernels: Sequence[int], stride: int):
        super().__init__()
        self.splits = list(splits)
        self.mixed_depthwise_conv = nn.ModuleList(
            nn.Conv2d(c, c, k, stride, k // 2, groups=c, bias=False)
            for c, k in zip(splits, kernels, strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, self.splits, dim=1)
        return torch.cat([conv(part) for conv, part in zip(self.mixed_depthwise_conv, parts, strict=True)], 1)


class CoordinateAttention(nn.Module):
    """Coordinate attention (Hou et al. 2021) inside the backbone's blocks.

    Average-pools along each spatial axis, mixes both strips through one shared 1x1 bottleneck with
    h-swish, and reweights the input with one sigmoid gate per row and one per column.
    """

    def __init__(self, channels: int, reduction: int = 32):
        super().__init__()
        mid = max(8, channels // reduction)
        self.conv1 = nn.Conv2d(channels, mid, 1)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, channels, 1)
        self.conv3 = nn.Conv2d(mid, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height = x.shape[2]
        rows = x.mean(dim=3, keepdim=True)  # (B,C,H,1)
        cols = x.mean(dim=2, keepdim=True).transpose(2, 3)  # (B,C,W,1)
        mixed = F.hardswish(self.bn1(self.conv1(torch.cat([rows, cols], dim=2))))
        rows, cols = mixed[:, :, :height], mixed[:, :, height:]
        gate_h = self.conv2(rows).sigmoid()
        gate_w = self.conv3(cols.transpose(2, 3)).sigmoid()
        return x * gate_h * gate_w


class MixedBottleneck(nn.Module):
    """Inverted bottleneck: 1x1 expand (PReLU) -> mixed depthwise -> coordinate attention -> 1x1 project."""

    def __init__(self, in_c: int, out_c: int, expanded: int, splits, kernels, stride: int, residual: bool):
        super().__init__()
        self.conv = ConvBNPReLU(in_c, expanded)
        self.conv_dw = MixedDepthwiseConv(splits, kernels, stride)
        self.CA = CoordinateAttention(expanded)
        self.project = ConvBN(expanded, out_c)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.CA(self.conv_dw(self.conv(x))))
        return x + y if self.residual else y


class ResidualStage(nn.Module):
    """A run of stride-1 residual bottlenecks at one resolution."""

    def __init__(self, channels: int, expanded: int, splits, kernels, blocks: int):
        super().__init__()
        self.model = nn.Sequential(
            *(MixedBottleneck(channels, channels, expanded, splits, kernels, 1, True) for _ in range(blocks))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def mixed_feature_backbone() -> nn.Sequential:
    """MixedFeatureNet without its embedding tail: 3x112x112 -> 512x7x7 (the stock `features`)."""
    return nn.Sequential(
        ConvBNPReLU(3, 64, 3, 2, 1),  # conv1, 56x56
        ConvBNPReLU(64, 64, 3, 1, 1, groups=64),  # conv2_dw
        MixedBottleneck(64, 64, 128, (64, 32, 32), (3, 5, 7), 2, False),  # conv_23, 28x28
        ResidualStage(64, 128, (96, 32), (3, 5), 9),  # conv_3
        MixedBottleneck(64, 128, 256, (128, 64, 64), (3, 5, 7), 2, False),  # conv_34, 14x14
        ResidualStage(128, 256, (192, 64), (3, 5), 16),  # conv_4
        MixedBottleneck(128, 256, 1024, (256, 256, 256, 256), (3, 5, 7, 9), 2, False),  # conv_45, 7x7
        ResidualStage(256, 512, (172, 170, 170), (3, 5, 7), 6),  # conv_5
        ConvBNPReLU(256, EMBEDDING_SIZE),  # conv_6_sep
    )


class AttentionHead(nn.Module):
    """One DDAMFN attention head: a coordinate-attention map over the 7x7 feature map.

    Unlike the backbone's attention, the strips come from learned full-width (1x7) and full-height (7x1)
    depthwise convolutions instead of average pooling, and the head returns the gate map itself.
    """

    def __init__(self, channels: int = EMBEDDING_SIZE, size: int = 7, reduction: int = 32):
        super().__init__()
        mid = max(8, channels // reduction)
        self.Linear_h = ConvBN(channels, channels, (1, size), groups=channels)
        self.Linear_w = ConvBN(channels, channels, (size, 1), groups=channels)
        self.conv1 = nn.Conv2d(channels, mid, 1)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, channels, 1)
        self.conv3 = nn.Conv2d(mid, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[2:]
        rows = self.Linear_h(x)  # (B,C,H,1)
        cols = self.Linear_w(x).transpose(2, 3)  # (B,C,W,1)
        mixed = F.hardswish(self.bn1(self.conv1(torch.cat([rows, cols], dim=2))))
        rows, cols = mixed[:, :, :height], mixed[:, :, height:]
        gate_h = self.conv2(rows).sigmoid()  # (B,C,H,1)
        gate_w = self.conv3(cols.transpose(2, 3)).sigmoid()  # (B,C,1,W)
        return gate_h.expand(-1, -1, height, width) * gate_w.expand(-1, -1, height, width)


class MultiTaskClassifier(nn.Module):
    """Shared layer (or none) followed by the requested task heads; absent heads are None."""

    def __init__(self, tasks: Sequence[str], hidden: int | None, num_expressions: int, num_aus: int):
        super().__init__()
        if hidden is None:
            self.shared = nn.Identity()
            width = EMBEDDING_SIZE
        else:
            self.shared = nn.Sequential(nn.Linear(EMBEDDING_SIZE, hidden), nn.ReLU(inplace=True))
            width = hidden
        self.va = nn.Linear(width, 2) if "va" in tasks else None
        self.expr = nn.Linear(width, num_expressions) if "expr" in tasks else None
        self.au = nn.Linear(width, num_aus) if "au" in tasks else None

    def forward(self, embedding: torch.Tensor):
        shared = self.shared(embedding)
        va = None if self.va is None else torch.tanh(self.va(shared))
        expr = None if self.expr is None else self.expr(shared)
        au = None if self.au is None else self.au(shared)
        return va, expr, au


class DDAMFN(nn.Module):
    """DDAMFN with a multi-task classifier. See the module docstring for the data flow."""

    def __init__(
        self,
        num_heads: int = 2,
        tasks: Sequence[str] = TASKS,
        hidden: int | None = 512,
        num_expressions: int = 8,
        num_aus: int = 12,
    ):
        super().__init__()
        tasks = tuple(tasks)
        unknown = set(tasks) - set(TASKS)
        if num_heads < 1 or not tasks or unknown:
            raise ValueError(f"need num_heads >= 1 and tasks from {TASKS}, got {num_heads}, {tasks}")
        self.num_heads = num_heads
        self.tasks = tuple(t for t in TASKS if t in tasks)
        self.hidden = hidden
        self.features = mixed_feature_backbone()
        self.attention = nn.ModuleList(AttentionHead() for _ in range(num_heads))
        self.gdconv = ConvBN(EMBEDDING_SIZE, EMBEDDING_SIZE, 7, groups=EMBEDDING_SIZE)
        self.classifier = MultiTaskClassifier(self.tasks, hidden, num_expressions, num_aus)

    @property
    def architecture(self) -> dict:
        """Constructor arguments as plain types (stored in checkpoints to rebuild the network)."""
        return {
            "name": "ddamfn",
            "num_heads": self.num_heads,
            "tasks": list(self.tasks),
            "hidden": self.hidden,
            "num_expressions": 0 if self.classifier.expr is None else self.classifier.expr.out_features,
            "num_aus": 0 if self.classifier.au is None else self.classifier.au.out_features,
        }

    @classmethod
    def from_architecture(cls, arch: dict) -> DDAMFN:
        return cls(
            num_heads=int(arch["num_heads"]),
            tasks=tuple(arch["tasks"]),
            hidden=None if arch["hidden"] is None else int(arch["hidden"]),
            num_expressions=int(arch.get("num_expressions") or 8),
            num_aus=int(arch.get("num_aus") or 12),
        )

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Backbone map, attention maps and the 512-d embedding the classifier sees."""
        features = self.features(x)
        heads = [head(features) for head in self.attention]
        fused = heads[0]
        for head in heads[1:]:
            fused = torch.maximum(fused, head)
        embedding = self.gdconv(features * fused).flatten(1)
        return features, heads, embedding

    def forward(self, x: torch.Tensor) -> ModelOutput:
        features, heads, embedding = self.embed(x)
        va, expr, au = self.classifier(embedding)
        return ModelOutput(features=features, heads=heads, va=va, expr_logits=expr, au_logits=au)
