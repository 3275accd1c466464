"""The fast CPU path: the network compiled by OpenVINO, in float32.

Measured on the 2-core machine at batch 8 (benchmarks/bench_model.py), against plain PyTorch eager in
the same run: OpenVINO f32 about 1.8-2.2x; TorchScript freeze + optimize_for_inference 0.1x (MKL-DNN
handles the mixed depthwise kernels badly); torch.compile (inductor) fast but 170 s to compile on two
cores, too slow to start for a desktop app. OpenVINO's CPU plugin defaults to bfloat16 on CPUs that
support it, which moves logits by ~1e-4, so the precision hint is pinned to f32.

Converting the network takes ~12 s, so the converted model is cached on disk, keyed by the weights'
digest; later runs load it in well under a second. The compiled model is checked against eager PyTorch on
a fixed batch when it is built; if it disagrees (or OpenVINO is missing), the engine stays on eager.
"""

from __future__ import annotations

import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from affectstudio.core.paths import cache_dir

log = logging.getLogger(__name__)
TOLERANCE = 1e-4


class _TaskOutputs(nn.Module):
    """The network with only the task outputs as a flat tuple (absent heads are dropped)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.present = [name for name in ("va", "expr_logits", "au_logits") if _has_head(model, name)]

    def forward(self, x: torch.Tensor):
        out = self.model(x)
        return tuple(getattr(out, name) for name in self.present)


def _has_head(model: nn.Module, output: str) -> bool:
    head = {"va": "va", "expr_logits": "expr", "au_logits": "au"}[output]
    return getattr(model.classifier, head, None) is not None


@dataclass
class FastPath:
    name: str
    compiled: object
    present: list[str]

    def run(self, x: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        result = self.compiled(x.numpy())
        outputs = dict.fromkeys(("va", "expr_logits", "au_logits"))
        for i, name in enumerate(self.present):
            outputs[name] = torch.from_numpy(np.asarray(result[i]))
        return outputs["va"], outputs["expr_logits"], outputs["au_logits"]


def build(model: nn.Module, loaded, input_size: int) -> FastPath | None:
    """Compile `model` for the CPU with OpenVINO, or return None (the engine then runs eager PyTorch)."""
    # OpenVINO's model converter reports usage to an analytics service unless the user opted out, and
    # leaves its sender threads running. A research tool sends nothing: a None entry in sys.modules makes
    # `import openvino_telemetry` fail, and OpenVINO then uses its own no-op stub.
    sys.modules.setdefault("openvino_telemetry", None)
    try:
        import openvino as ov
    except ImportError:
        log.info("openvino is not installed; using eager PyTorch on the CPU")
        return None
    wrapped = _TaskOutputs(model).eval()
    folder = cache_dir() / "openvino"
    folder.mkdir(parents=True, exist_ok=True)
    xml = folder / f"{loaded.digest[:32]}-{input_size}.xml"
    core = ov.Core()
    try:
        ov_model = core.read_model(xml) if xml.exists() else _convert(ov, wrapped, input_size, xml)
        compiled = core.compile_model(
            ov_model,
            "CPU",
            {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32", "CACHE_DIR": str(folder)},
        )
    except Exception as error:
        log.warning("OpenVINO could not compile the network (%s); using eager PyTorch", error)
        return None
    fast = FastPath("openvino-f32", compiled, wrapped.present)
    if not _agrees(fast, wrapped, input_size):
        xml.unlink(missing_ok=True)
        return None
    return fast


def _convert(ov, wrapped: nn.Module, input_size: int, xml: Path):
    example = torch.zeros(1, 3, input_size, input_size)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OpenVINO traces with torch.jit, which now warns it is deprecated
        ov_model = ov.convert_model(wrapped, example_input=example, input=[(-1, 3, input_size, input_size)])
    partial = xml.with_name(xml.stem + ".partial.xml")
    ov.save_model(ov_model, partial, compress_to_fp16=False)
    partial.with_suffix(".bin").replace(xml.with_suffix(".bin"))
    partial.replace(xml)
    return ov_model


def _agrees(fast: FastPath, wrapped: nn.Module, input_size: int) -> bool:
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 3, input_size, input_size), np.float32))
    with torch.inference_mode():
        expected = wrapped(x)
    got = [t for t in fast.run(x) if t is not None]
    worst = max(float((a - b).abs().max()) for a, b in zip(got, expected, strict=True))
    if worst > TOLERANCE:
        log.warning("OpenVINO output differs from PyTorch by %.2g; using eager PyTorch", worst)
        return False
    return True
