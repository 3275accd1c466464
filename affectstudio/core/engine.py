"""Batched inference: 112x112 face crops in, valence/arousal, expression and AU probabilities out.

The device is chosen automatically (cuda, then mps, then cpu) or forced. Preprocessing comes from the
checkpoint's config (`transforms.resolve`), so the app normalises exactly as training did. On a GPU the
network runs in half precision with channels-last memory; on the CPU a compiled fast path (see
`fastpath.py`) is used when it is available, and it is checked against the plain path when it is built.

Building the fast path takes 2-7 s on a quiet machine (tens of seconds on a loaded one, or the first time,
when the network is converted). So the engine starts on the plain path at once and a background thread
builds the fast path; `predict` switches to it between calls once it is ready (outputs agree to 1e-4,
which the build checks). Each `Predictions` says which backend made it, so a run can record honestly
which frames ran where. `close()` stops a build under way at its next safe point and waits for the thread.
A run whose model's network is in the cache already does not come here: `compiled.CachedEngine` runs it
without torch.
"""

from __future__ import annotations

import copy
import logging
import threading
import time

import numpy as np
import torch

from affectstudio.core import startup
from affectstudio.core.errors import AffectStudioError
from affectstudio.core.model.checkpoint import LoadedModel
from affectstudio.core.model.outputs import EAGER, Predictions, probabilities
from affectstudio.core.transforms import resolve

__all__ = ["EAGER", "InferenceEngine", "Predictions", "pick_device"]
log = logging.getLogger(__name__)


def pick_device(requested: str = "auto") -> torch.device:
    """`auto` prefers cuda, then Apple's mps, then the CPU; anything else is taken as given."""
    if requested != "auto":
        try:
            device = torch.device(requested)
        except RuntimeError:
            raise AffectStudioError(
                None, f"unknown device '{requested}' (use auto, cpu, cuda, cuda:N or mps)"
            ) from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise AffectStudioError(None, f"device '{requested}' was requested but no CUDA GPU is available")
        if device.type == "mps" and not (
            getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
        ):
            raise AffectStudioError(
                None, "device 'mps' was requested but Apple's Metal backend is not available"
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class _Build:
    """The fast path built in a daemon thread from a copy of the network (tracing for the conversion must
    not touch the module the plain path is running meanwhile)."""

    def __init__(self, model, loaded: LoadedModel, input_size: int, batch_size: int, precision: str):
        self.started = time.perf_counter()
        self.seconds: float | None = None  # how long it took, once done
        self.result = None
        self._stop = threading.Event()
        self._args = (model, loaded, input_size, batch_size, precision)
        self.thread = threading.Thread(target=self._run, name="fast-path-build", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from affectstudio.core import fastpath

        model, loaded, input_size, batch_size, precision = self._args
        try:
            self.result = fastpath.build(
                copy.deepcopy(model), loaded, input_size, batch_size, precision, stop=self._stop.is_set
            )
        except Exception:  # a bug in the build must not end the analysis: it stays on the plain path
            log.exception("building the fast path failed; staying on plain PyTorch")
        finally:
            self._args = None
            self.seconds = time.perf_counter() - self.started

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return self.done

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        if wait:
            self.thread.join()


class InferenceEngine:
    """Runs a loaded model over batches of uint8 RGB crops.

    `fast` asks for the compiled CPU path; `background` (the default) builds it in a thread while the plain
    path already runs, `background=False` builds it before the constructor returns. `precision="int8"` asks
    the CPU fast path for its quantized network (`fastpath.quantized`; for benchmarks only, no user option
    selects it); it falls back to f32 when that cannot be built or is outside its bounds, and `backend` says
    which one runs.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        device: str = "auto",
        batch_size: int = 32,
        fast: bool = True,
        background: bool = True,
        precision: str = "f32",
    ):
        self.loaded = loaded
        self.device = pick_device(device)
        self.batch_size = max(1, int(batch_size))
        self.prep = resolve(loaded.config)
        self.input_size = self.prep.input_size
        self.half = self.device.type == "cuda"
        model = loaded.model.eval()
        if self.device.type != "cpu":
            # A copy, so the caller's float32 CPU model stays usable (the GUI reuses it).
            model = copy.deepcopy(model).to(self.device, memory_format=torch.channels_last)
            if self.half:
                model = model.half()
        self._model = model
        scale, offset = self.prep.scale_offset()  # (x / 255 - mean) / std == x * scale - offset
        self._gpu_scale = torch.from_numpy(scale).to(self.device)
        self._gpu_offset = torch.from_numpy(offset).to(self.device)
        self._fast = None
        self._lock = threading.Lock()  # one predict at a time (a cancelled run's last batch, the next run)
        self._build: _Build | None = None
        self._fast_state = "off"  # off | building | ready after N s | unavailable | stopped
        if fast and self.device.type == "cpu":
            self._fast_state = "building"
            self._build = _Build(model, loaded, self.input_size, self.batch_size, precision)
            if not background:
                self.wait_ready()

    @property
    def backend(self) -> str:
        """What the next batch runs on: "eager", or the fast path's name once it is in use."""
        return EAGER if self._fast is None else self._fast.name

    @property
    def fast_path(self) -> str:
        """The fast path's state in words: off, building, ready after N s, unavailable, or stopped."""
        return self._fast_state

    @property
    def preparing(self) -> str | None:
        """What is being prepared in the background, for a status line; None when nothing is."""
        if self._build is None:
            return None
        return "fast path (OpenVINO compile, in the background)"

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait for a background build (up to `timeout` s) and switch to it; True if the fast path is used."""
        build = self._build
        if build is not None:
            build.wait(timeout)
        with self._lock:  # switch between predict calls only
            self._adopt()
        return self._fast is not None

    def _adopt(self) -> None:
        """Switch to the fast path if its build has finished (called between batches only)."""
        build = self._build
        if build is None or not build.done:
            return
        self._build = None
        self._fast = build.result
        if self._fast is None:
            self._fast_state = "stopped" if build.stopped else "unavailable"
        else:
            self._fast_state = f"ready after {build.seconds:.1f} s"
            startup.mark("fast path in use")
            log.info("switched to the fast path %s, built in %.1f s", self._fast.name, build.seconds)

    def close(self, wait: bool = True) -> None:
        """Stop a fast-path build under way (at its next safe point) and wait for its thread to end;
        `wait=False` only asks it to stop (the UI thread must not wait): call close() again to wait."""
        build = self._build
        if build is not None:
            build.stop(wait)
            if wait:
                with self._lock:  # not during a predict in another thread (a cancelled run's last batch)
                    self._adopt()  # a build that finished before the stop is kept

    def __enter__(self) -> InferenceEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def preprocess(self, crops: np.ndarray) -> torch.Tensor:
        """(N, H, W, 3) uint8 RGB -> normalised (N, 3, S, S) float tensor on the engine's device.

        On the CPU this is numpy (and OpenCV for a resize): torch's OpenMP threads keep spinning for a
        while after each small op and steal the cores the network is about to use (measured: the fast
        path ran 9% faster at batch 8 with numpy preprocessing).
        """
        if self.device.type == "cpu":
            return torch.from_numpy(self.prep.normalise(crops))
        x = torch.from_numpy(self.prep.resized(np.ascontiguousarray(crops)))
        x = x.to(self.device, non_blocking=True)
        x = x.permute(0, 3, 1, 2).float() * self._gpu_scale - self._gpu_offset
        if self.half:
            x = x.half()
        return x.contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def predict(self, crops: np.ndarray) -> Predictions:
        """Predict for any number of crops, in batches of `batch_size`, all on one backend (`.backend`)."""
        with self._lock:
            self._adopt()
            backend = self.backend
            parts = [
                self._predict_batch(crops[i : i + self.batch_size])
                for i in range(0, len(crops), self.batch_size)
            ]
        if not parts:
            return Predictions(None, None, None, backend)

        def join(name: str) -> np.ndarray | None:
            arrays = [getattr(p, name) for p in parts]
            return None if arrays[0] is None else np.concatenate(arrays)

        return Predictions(join("va"), join("expr_probs"), join("au_probs"), backend)

    def _predict_batch(self, crops: np.ndarray) -> Predictions:
        if self._fast is not None:  # normalises inside its graph, returns numpy
            va, expr_logits, au_logits = self._fast.run(self.prep.resized(crops))
        else:
            out = self._model(self.preprocess(crops))
            va, expr_logits, au_logits = (
                None if t is None else t.float().cpu().numpy()
                for t in (out.va, out.expr_logits, out.au_logits)
            )
        return Predictions(*probabilities(va, expr_logits, au_logits))
