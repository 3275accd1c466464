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
cached on disk, keyed by the weights' digest (compiled blobs too), with a card that lets later runs open it
without torch (`compiled.py`). The compiled model is checked against eager PyTorch when it is built; if it
disagrees, or OpenVINO is missing, the engine stays on eager. A cached conversion that fails to load or
disagrees is deleted and converted again in the same run.

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
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from affectstudio.core.compiled import (
    OUTPUTS,
    TOLERANCE,
    FastPath,
    check_crops,
    compile_network,
    difference,
    network_file,
    openvino_or_none,
    write_card,
)
from affectstudio.core.model.outputs import probabilities
from affectstudio.core.paths import atomic_path
from affectstudio.core.transforms import Preprocessing, resolve

log = logging.getLogger(__name__)


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


def build(
    model: nn.Module, loaded, input_size: int, batch_size: int, precision: str = "f32", stop=None
) -> FastPath | None:
    """Compile `model` for the CPU with OpenVINO, or return None (the engine then runs eager PyTorch).

    `precision="int8"` quantizes the converted network (see `quantized`) and checks it against PyTorch on
    real face crops within the int8 bounds instead of the f32 tolerance.

    A cached conversion that cannot be read or compiled, or whose outputs disagree with PyTorch (a torn
    or corrupted file, one left by another OpenVINO version), is deleted and converted again at once:
    otherwise every later run would find it, fail and silently take the slow path. A checked f32 network
    gets its card (`compiled.write_card`), so later runs can open it without PyTorch. `stop()` turning
    true (the engine building this in the background was closed) gives up at the next safe point,
    returning None: a conversion under way is finished and saved first (never half a cache file).
    """
    stop = stop or (lambda: False)
    ov = openvino_or_none()
    if stop():
        return None
    if ov is None:
        log.info("openvino is not installed; using eager PyTorch on the CPU")
        return None
    wrapped = _TaskOutputs(model).eval()
    prep = resolve(loaded.config)
    crops = check_crops(prep.crop_method)
    expected = probabilities(*_pytorch_outputs(wrapped, prep, crops))

    def agrees(fast: FastPath) -> bool:
        worst = difference(probabilities(*fast.run(prep.resized(crops))), expected)
        if worst > TOLERANCE:
            log.warning("OpenVINO output differs from PyTorch by %.2g; using eager PyTorch", worst)
        return worst <= TOLERANCE

    xml = network_file(loaded.digest, input_size)
    core = ov.Core()
    compile_checked = partial(_compiled, ov, core, wrapped.present, prep, batch_size, stop, agrees)
    fast = None
    if xml.exists():
        fast = compile_checked(partial(core.read_model, xml))
        if fast is None and not stop():
            log.warning("the cached OpenVINO model %s is unusable; deleting it and converting again", xml)
            _discard(xml)
    if fast is None and not stop():

        def convert():
            ov_model = _convert(ov, wrapped, input_size, xml)
            # the card at once, also when closing stops the build here: it holds PyTorch's outputs, which
            # the next run checks the network against before using it
            write_card(ov, xml, loaded, crops, expected)
            return ov_model

        fast = compile_checked(convert)
        if fast is None and not stop():
            _discard(xml)
    if fast is None or stop():
        return None
    # a card the cached network lacked, or another model file it came from
    write_card(ov, xml, loaded, crops, expected)
    if precision == "f32":
        return fast
    return quantized(ov, core, xml, wrapped, loaded, batch_size) or fast


def _compiled(
    ov, core, present: list[str], prep: Preprocessing, batch_size: int, stop, check: Callable, read: Callable
) -> FastPath | None:
    """The network from `read()` compiled and passing `check`; None if any of it fails, or when `stop()`
    turned true meanwhile."""
    try:
        ov_model = read()
        if stop():
            return None
        fast = compile_network(ov, core, ov_model, prep, present, batch_size)
        if stop():
            return None
        agrees = check(fast)
    except Exception as error:
        log.warning("OpenVINO could not compile the network (%s); using eager PyTorch", error)
        return None
    return fast if agrees else None


def _discard(xml: Path) -> None:
    for suffix in (".xml", ".bin", ".json"):
        xml.with_suffix(suffix).unlink(missing_ok=True)


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


def _pytorch_outputs(wrapped: _TaskOutputs, prep: Preprocessing, crops: np.ndarray) -> tuple:
    """(va, expr_logits, au_logits) of eager PyTorch on uint8 crops; absent heads None."""
    with torch.inference_mode():
        outputs = wrapped(torch.from_numpy(prep.normalise(crops)))
    out = {name: tensor.numpy() for name, tensor in zip(wrapped.present, outputs, strict=True)}
    return tuple(out.get(name) for name in OUTPUTS)


def _agrees_int8(fast: FastPath, wrapped: nn.Module, prep: Preprocessing, crops: np.ndarray) -> bool:
    found = compare(fast.run(prep.resized(crops)), _pytorch_outputs(wrapped, prep, crops))
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


def quantized(ov, core, xml: Path, wrapped, loaded, batch_size: int) -> FastPath | None:
    """The network at `xml` quantized to int8 by NNCF's post-training quantization, compiled and checked.

    Calibrated on the face crops of the bundled sample video, made as the model's config says (`calibration`);
    the quantized model is cached beside the f32 one. None if NNCF is missing or the result disagrees.
    """
    from affectstudio.core.calibration import sample_crops

    prep = resolve(loaded.config)
    crops = sample_crops(prep.crop_method)
    compile_checked = partial(
        _compiled,
        ov,
        core,
        wrapped.present,
        prep,
        batch_size,
        _never,
        partial(_agrees_int8, wrapped=wrapped, prep=prep, crops=crops),
    )
    int8 = xml.with_name(f"{xml.stem}-int8.xml")
    fast = compile_checked(partial(core.read_model, int8)) if int8.exists() else None
    if fast is None:
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

        fast = compile_checked(quantize)
        if fast is None:
            _discard(int8)
            return None
    fast.name = "openvino-int8"
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
