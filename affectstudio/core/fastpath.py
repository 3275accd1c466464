"""The fast CPU path: the network compiled by OpenVINO, in float32, run as parallel streams.

Measured on the 2-core machine (benchmarks/bench_model.py, images/s at batch 8, one quiet run): PyTorch
eager 61; OpenVINO f32 with a dynamic batch 116, with a static batch 126, and as two static half-batches
run as two streams (one core each) 135, and 143 with the normalisation moved into the graph: through
`InferenceEngine.predict`, 141 = 2.3x eager, outputs equal to 6e-8. TorchScript freeze +
optimize_for_inference ran at 0.1x eager (MKL-DNN handles the mixed depthwise kernels badly), and
torch.compile took 170 s to compile on two cores, too slow to start for a desktop app.

So a batch is cut into chunks of a fixed size, one per stream (the last one padded), and the chunks run
concurrently. OpenVINO's CPU plugin defaults to bfloat16 on CPUs that support it, which moves logits by
~1e-4, so the precision hint is pinned to f32. Converting the network takes ~12 s, so the converted model
is cached on disk, keyed by the weights' digest (compiled blobs too). The compiled model is checked
against eager PyTorch when it is built; if it disagrees, or OpenVINO is missing, the engine stays on eager.
A cached conversion that fails to load or disagrees is deleted and converted again in the same run.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import uuid
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from affectstudio.core.paths import cache_dir
from affectstudio.core.startup import IMPORTS
from affectstudio.core.transforms import Preprocessing, resolve

log = logging.getLogger(__name__)
TOLERANCE = 1e-4
OUTPUTS = ("va", "expr_logits", "au_logits")


class _TaskOutputs(nn.Module):
    """The network with only the task outputs as a flat tuple (absent heads are dropped)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        heads = {"va": "va", "expr_logits": "expr", "au_logits": "au"}
        self.present = [name for name in OUTPUTS if getattr(model.classifier, heads[name], None) is not None]

    def forward(self, x: torch.Tensor):
        out = self.model(x)
        return tuple(getattr(out, name) for name in self.present)


class FastPath:
    """Runs batches through parallel infer requests, one fixed-size chunk per request."""

    name = "openvino-f32"

    def __init__(self, ov, compiled, present: list[str], chunk: int):
        self.present = present
        self.chunk = chunk
        self._requests = ov.AsyncInferQueue(compiled)
        self._results: dict[int, list[np.ndarray]] = {}
        self._requests.set_callback(self._collect)

    def _collect(self, request, index: int) -> None:
        self._results[index] = [request.get_output_tensor(i).data.copy() for i in range(len(self.present))]

    def run(self, crops: np.ndarray) -> tuple[np.ndarray | None, ...]:
        """(N, S, S, 3) uint8 RGB crops -> (va, expr_logits, au_logits); normalising happens in the graph."""
        count = len(crops)
        chunks = math.ceil(count / self.chunk)
        padded = np.zeros((chunks * self.chunk, *crops.shape[1:]), dtype=np.uint8)
        padded[:count] = crops
        self._results.clear()
        for index in range(chunks):
            self._requests.start_async({0: padded[index * self.chunk : (index + 1) * self.chunk]}, index)
        self._requests.wait_all()
        outputs = dict.fromkeys(OUTPUTS)
        for i, name in enumerate(self.present):
            joined = np.concatenate([self._results[index][i] for index in range(chunks)])[:count]
            outputs[name] = joined
        return outputs["va"], outputs["expr_logits"], outputs["au_logits"]


MAX_STREAMS: int | None = None  # set by a study's worker process to its share of the cores


def openvino_or_none():
    """The openvino module, with its usage telemetry blocked; None when it is not installed."""
    # OpenVINO's model converter reports usage to an analytics service unless the user opted out, and
    # leaves its sender threads running. A research tool sends nothing: a None entry in sys.modules makes
    # `import openvino_telemetry` fail, and OpenVINO then uses its own no-op stub.
    sys.modules.setdefault("openvino_telemetry", None)
    try:
        with IMPORTS:  # the engine's background build and the face-mesh thread may import it together
            import openvino as ov
    except ImportError:
        return None
    return ov


def build(model: nn.Module, loaded, input_size: int, batch_size: int, stop=None) -> FastPath | None:
    """Compile `model` for the CPU with OpenVINO, or return None (the engine then runs eager PyTorch).

    A cached conversion that cannot be read or compiled, or whose outputs disagree with PyTorch (a torn
    or corrupted file, one left by another OpenVINO version), is deleted and converted again at once:
    otherwise every later run would find it, fail and silently take the slow path. `stop()` turning true
    (the engine building this in the background was closed) gives up at the next safe point, returning
    None: a conversion under way is finished and saved first (never half a cache file), compiling waits.
    """
    stop = stop or (lambda: False)
    ov = openvino_or_none()
    if stop():
        return None
    if ov is None:
        log.info("openvino is not installed; using eager PyTorch on the CPU")
        return None
    wrapped = _TaskOutputs(model).eval()
    folder = cache_dir() / "openvino"
    folder.mkdir(parents=True, exist_ok=True)
    xml = folder / f"{loaded.digest[:32]}-{input_size}.xml"
    core = ov.Core()
    if xml.exists():
        fast = _compiled(
            ov, core, partial(core.read_model, xml), wrapped, loaded, input_size, batch_size, stop
        )
        if fast is not None or stop():
            return fast
        log.warning("the cached OpenVINO model %s is unusable; deleting it and converting again", xml)
        _discard(xml)
    convert = partial(_convert, ov, wrapped, input_size, xml)
    fast = _compiled(ov, core, convert, wrapped, loaded, input_size, batch_size, stop)
    if fast is None and not stop():
        _discard(xml)
    return fast


def _compiled(ov, core, read, wrapped, loaded, input_size: int, batch_size: int, stop) -> FastPath | None:
    """The network from `read()` compiled and checked against eager PyTorch; None if either fails."""
    folder = cache_dir() / "openvino"
    config = {"PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_PRECISION_HINT": "f32", "CACHE_DIR": str(folder)}
    try:
        ov_model = read()
        if stop():
            return None
        # one core per stream: what OpenVINO picks on two cores; a study's worker has fewer cores
        streams = min(8, MAX_STREAMS or os.cpu_count() or 1)
        config["NUM_STREAMS"] = str(streams)
        chunk = max(1, math.ceil(batch_size / streams))
        ov_model.reshape({0: [chunk, 3, input_size, input_size]})
        ov_model = _with_preprocessing(ov, ov_model, resolve(loaded.config))
        compiled = core.compile_model(ov_model, "CPU", config)
        if stop():
            return None
        fast = FastPath(ov, compiled, wrapped.present, chunk)
        agrees = _agrees(fast, wrapped, resolve(loaded.config), input_size)
    except Exception as error:
        log.warning("OpenVINO could not compile the network (%s); using eager PyTorch", error)
        return None
    return fast if agrees else None


def _discard(xml: Path) -> None:
    xml.unlink(missing_ok=True)
    xml.with_suffix(".bin").unlink(missing_ok=True)


def _with_preprocessing(ov, ov_model, prep: Preprocessing):
    """Take uint8 NHWC crops and normalise inside the graph (fused by OpenVINO: 6% faster than numpy)."""
    from openvino.preprocess import PrePostProcessor

    mean = [255.0 * m for m in prep.mean]
    std = [255.0 * s for s in prep.std]
    steps = PrePostProcessor(ov_model)
    steps.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    steps.input().model().set_layout(ov.Layout("NCHW"))
    steps.input().preprocess().convert_element_type(ov.Type.f32).mean(mean).scale(std)
    return steps.build()


def _convert(ov, wrapped: nn.Module, input_size: int, xml: Path):
    example = torch.zeros(1, 3, input_size, input_size)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OpenVINO traces with torch.jit, which now warns it is deprecated
        ov_model = ov.convert_model(wrapped, example_input=example, input=[(-1, 3, input_size, input_size)])
    # unique per process: a study's workers may convert at the same time into the same cache
    partial = xml.with_name(f"{xml.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial.xml")
    ov.save_model(ov_model, partial, compress_to_fp16=False)
    partial.with_suffix(".bin").replace(xml.with_suffix(".bin"))
    partial.replace(xml)
    return ov_model


def _agrees(fast: FastPath, wrapped: nn.Module, prep: Preprocessing, input_size: int) -> bool:
    count = fast.chunk + 1  # crosses a chunk boundary and exercises the padding
    crops = np.random.default_rng(0).integers(0, 256, (count, input_size, input_size, 3), dtype=np.uint8)
    x = torch.from_numpy(prep.normalise(crops))
    with torch.inference_mode():
        expected = wrapped(x)
    got = [t for t in fast.run(crops) if t is not None]
    worst = max(float(np.abs(a - b.numpy()).max()) for a, b in zip(got, expected, strict=True))
    if worst > TOLERANCE:
        log.warning("OpenVINO output differs from PyTorch by %.2g; using eager PyTorch", worst)
        return False
    return True
