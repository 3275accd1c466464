"""The fast CPU path: the network compiled by OpenVINO, in float32, run as parallel streams.

Measured on the 2-core machine (benchmarks/bench_model.py, images/s at batch 8, one quiet run): PyTorch
eager 61; OpenVINO f32 with a dynamic batch 116, with a static batch 126, and as two static half-batches
run as two streams (one core each) 135, and 143 with the normalisation moved into the graph: through
`InferenceEngine.predict`, 141 = 2.3x eager, outputs equal to 6e-8. TorchScript freeze +
optimize_for_inference ran at 0.1x eager (MKL-DNN handles the mixed depthwise kernels badly), and
torch.compile took 170 s to compile on two cores, too slow to start for a desktop app.

So a batch is cut into chunks of a fixed size (the last one padded) that the streams run concurrently, at
most CHUNK images each: chunks of 4 took 8-13% less CPU per image than chunks of 16 (batch 32 cut in two,
what analyze's default batch ran as), with bit-identical outputs; a quiet run had batch 8 at 144 img/s and
batch 32 at 121. OpenVINO's CPU plugin defaults to bfloat16 on CPUs that support it, which moves logits by
~1e-4, so the precision hint is pinned to f32. Converting the network takes ~12 s, so the converted model is
cached on disk, keyed by the weights' digest (compiled blobs too). The compiled model is checked against
eager PyTorch when it is built; if it disagrees, or OpenVINO is missing, the engine stays on eager. A cached
conversion that fails to load or disagrees is deleted and converted again in the same run.

An int8 network (`build(..., precision="int8")`, NNCF post-training quantization calibrated on the sample
video's face crops) runs 1.7x the f32 one (bench_model, load 10), but it is for benchmarks only: on a model
the training package made (3 epochs on drawn faces), its VA moved by 0.5-0.8 on average (up to 1.9 of the
[-1, 1] range) and its expression agreed with f32 on 36-50% of faces other than the calibration video's,
even when calibrated on that model's own training images; f32 on JPEG-re-encoded input moves by 0.13 and
agrees on 94%. Within 0.008 on the calibration video itself. The stock and untrained networks give near-
constant outputs, so they cannot show agreement. No setting selects it until a real checkpoint shows it
agrees.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from affectstudio.core.model.network import probabilities
from affectstudio.core.paths import atomic_path, cache_dir
from affectstudio.core.startup import IMPORTS
from affectstudio.core.transforms import Preprocessing, resolve

log = logging.getLogger(__name__)
TOLERANCE = 1e-4
CHUNK = 4  # images per infer request, at most; see the module docstring
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


def build(
    model: nn.Module, loaded, input_size: int, batch_size: int, precision: str = "f32", stop=None
) -> FastPath | None:
    """Compile `model` for the CPU with OpenVINO, or return None (the engine then runs eager PyTorch).

    `precision="int8"` quantizes the converted network (see `quantized`) and checks it against PyTorch on
    real face crops within the int8 bounds instead of the f32 tolerance.

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
    fast = None
    if xml.exists():
        fast = _compiled(
            ov, core, partial(core.read_model, xml), wrapped, loaded, input_size, batch_size, stop
        )
        if fast is None and not stop():
            log.warning("the cached OpenVINO model %s is unusable; deleting it and converting again", xml)
            _discard(xml)
    if fast is None and not stop():
        convert = partial(_convert, ov, wrapped, input_size, xml)
        fast = _compiled(ov, core, convert, wrapped, loaded, input_size, batch_size, stop)
        if fast is None and not stop():
            _discard(xml)
    if fast is None or precision == "f32" or stop():
        return fast
    return quantized(ov, core, xml, wrapped, loaded, input_size, batch_size) or fast


def _compiled(
    ov,
    core,
    read,
    wrapped,
    loaded,
    input_size: int,
    batch_size: int,
    stop,
    int8_crops: np.ndarray | None = None,
) -> FastPath | None:
    """The network from `read()` compiled and checked against eager PyTorch; None if either fails, or when
    `stop()` turned true meanwhile.

    An int8 network is checked on `int8_crops` (real faces) within INT8_BOUNDS, an f32 one to TOLERANCE."""
    folder = cache_dir() / "openvino"
    config = {"PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_PRECISION_HINT": "f32", "CACHE_DIR": str(folder)}
    try:
        ov_model = read()
        if stop():
            return None
        # one core per stream: what OpenVINO picks on two cores; a study's worker has fewer cores
        streams = min(8, MAX_STREAMS or os.cpu_count() or 1)
        config["NUM_STREAMS"] = str(streams)
        chunk = max(1, min(CHUNK, math.ceil(batch_size / streams)))
        ov_model.reshape({0: [chunk, 3, input_size, input_size]})
        ov_model = _with_preprocessing(ov, ov_model, resolve(loaded.config))
        compiled = core.compile_model(ov_model, "CPU", config)
        if stop():
            return None
        fast = FastPath(ov, compiled, wrapped.present, chunk)
        if int8_crops is None:
            agrees = _agrees(fast, wrapped, resolve(loaded.config), input_size)
        else:
            fast.name = "openvino-int8"
            agrees = _agrees_int8(fast, wrapped, resolve(loaded.config), int8_crops)
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
    _save(ov, ov_model, xml)
    return ov_model


def _save(ov, ov_model, xml: Path) -> None:
    """Save an OpenVINO model as `xml` and its `.bin`, the .bin first, each under a temp name unique to this
    call (a study's workers may convert at the same time into the same cache) until it is whole."""
    with atomic_path(xml) as temp:
        try:
            ov.save_model(ov_model, temp, compress_to_fp16=False)
            temp.with_suffix(".bin").replace(xml.with_suffix(".bin"))
        finally:
            temp.with_suffix(".bin").unlink(missing_ok=True)


def _agrees(fast: FastPath, wrapped: nn.Module, prep: Preprocessing, input_size: int) -> bool:
    """The compiled network gives what PyTorch gives, to TOLERANCE, in what users get: VA and the
    expression and AU probabilities. Not in raw logits: a trained network's logits on noise reach the
    hundreds, where float32's summation order alone moves them by ~1e-4 relative (0.078 at 335, seen on a
    model the training package made) while every probability agrees."""
    count = fast.chunk + 1  # crosses a chunk boundary and exercises the padding
    crops = np.random.default_rng(0).integers(0, 256, (count, input_size, input_size, 3), dtype=np.uint8)
    x = torch.from_numpy(prep.normalise(crops))
    with torch.inference_mode():
        out = dict(zip(wrapped.present, (t.numpy() for t in wrapped(x)), strict=True))
    expected = probabilities(*(out.get(name) for name in OUTPUTS))
    got = probabilities(*fast.run(crops))
    worst = max(float(np.abs(a - b).max()) for a, b in zip(got, expected, strict=True) if a is not None)
    if worst > TOLERANCE:
        log.warning("OpenVINO output differs from PyTorch by %.2g; using eager PyTorch", worst)
        return False
    return True


def _agrees_int8(fast: FastPath, wrapped: nn.Module, prep: Preprocessing, crops: np.ndarray) -> bool:
    with torch.inference_mode():
        out = wrapped(torch.from_numpy(prep.normalise(crops)))
    expected = dict(zip(wrapped.present, (t.numpy() for t in out), strict=True))
    found = compare(fast.run(prep.resized(crops)), tuple(expected.get(name) for name in OUTPUTS))
    failed = [
        f"{key} {value:.3g}"
        for key, value in found.items()
        if key in INT8_BOUNDS and (value > INT8_BOUNDS[key] if key == "va_max" else value < INT8_BOUNDS[key])
    ]
    if failed:
        log.warning("the int8 network is outside its bounds (%s); not using it", ", ".join(failed))
        return False
    return True


# --- int8 ------------------------------------------------------------------------------------------------
# Bounds the int8 network must stay within against eager PyTorch f32 on real face crops (`_agrees_int8`).
INT8_BOUNDS = {"va_max": 0.05, "expr_argmax": 0.95, "au_decision": 0.95}


def quantized(ov, core, xml: Path, wrapped, loaded, input_size: int, batch_size: int) -> FastPath | None:
    """The network at `xml` quantized to int8 by NNCF's post-training quantization, compiled and checked.

    Calibrated on the face crops of the bundled sample video, made as the model's config says (`calibration`);
    the quantized model is cached beside the f32 one. None if NNCF is missing or the result disagrees.
    """
    from affectstudio.core.calibration import sample_crops

    prep = resolve(loaded.config)
    crops = sample_crops(prep.crop_method)
    int8 = xml.with_name(f"{xml.stem}-int8.xml")
    if int8.exists():
        fast = _compiled(
            ov, core, partial(core.read_model, int8), wrapped, loaded, input_size, batch_size, _never, crops
        )
        if fast is not None:
            return fast
        _discard(int8)
    try:
        import nncf
    except ImportError:
        log.warning("int8 needs NNCF (pip install 'affectstudio[int8]'); using the f32 fast path")
        return None

    def quantize():
        calibration = nncf.Dataset(list(prep.normalise(crops)[:, None]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ov_model = nncf.quantize(core.read_model(xml), calibration, subset_size=len(crops))
        _save(ov, ov_model, int8)
        return ov_model

    fast = _compiled(ov, core, quantize, wrapped, loaded, input_size, batch_size, _never, crops)
    if fast is None:
        _discard(int8)
    return fast


def _never() -> bool:
    return False


def compare(got, expected) -> dict[str, float]:
    """How far one network's outputs (va, expr_logits, au_logits; absent heads None) are from another's."""
    va, expr, au = got
    ref_va, ref_expr, ref_au = expected
    out: dict[str, float] = {}
    if va is not None:
        diff = np.abs(va - ref_va)
        out["va_max"], out["va_mean"] = float(diff.max()), float(diff.mean())
    if expr is not None:
        out["expr_argmax"] = float((expr.argmax(1) == ref_expr.argmax(1)).mean())
    if au is not None:
        out["au_decision"] = float(((au > 0) == (ref_au > 0)).mean())  # sigmoid(logit) > 0.5
    return out
