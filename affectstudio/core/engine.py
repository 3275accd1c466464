"""Batched inference: 112x112 face crops in, valence/arousal, expression and AU probabilities out.

The device is chosen automatically (cuda, then mps, then cpu) or forced. Preprocessing comes from the
checkpoint's config (`transforms.resolve`), so the app normalises exactly as training did. On a GPU the
network runs in half precision with channels-last memory; on the CPU a compiled fast path (see
`fastpath.py`) is used when it is available, and it is checked against the plain path when it is built.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.model.checkpoint import LoadedModel
from affectstudio.core.transforms import resolve


@dataclass
class Predictions:
    """Per-crop outputs; a head the model does not have is None."""

    va: np.ndarray | None  # (N, 2) in [-1, 1]
    expr_probs: np.ndarray | None  # (N, 8), rows sum to 1
    au_probs: np.ndarray | None  # (N, 12) in [0, 1]

    def __len__(self) -> int:
        for array in (self.va, self.expr_probs, self.au_probs):
            if array is not None:
                return len(array)
        return 0


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


class InferenceEngine:
    """Runs a loaded model over batches of uint8 RGB crops."""

    def __init__(
        self,
        loaded: LoadedModel,
        device: str = "auto",
        batch_size: int = 32,
        fast: bool = True,
        precision: str = "f32",
    ):
        """`precision="int8"` asks the CPU fast path for its quantized network (`fastpath.quantized`; for
        benchmarks only, no user option selects it); it falls back to f32 when that cannot be built or is
        outside its bounds, and `backend` says which one runs."""
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
        self.backend = "eager"
        self._fast = None
        if fast and self.device.type == "cpu":
            from affectstudio.core import fastpath

            self._fast = fastpath.build(model, loaded, self.input_size, self.batch_size, precision)
            if self._fast is not None:
                self.backend = self._fast.name

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
        """Predict for any number of crops, in batches of `batch_size`."""
        parts = [
            self._predict_batch(crops[i : i + self.batch_size]) for i in range(0, len(crops), self.batch_size)
        ]
        if not parts:
            return Predictions(None, None, None)

        def join(name: str) -> np.ndarray | None:
            arrays = [getattr(p, name) for p in parts]
            return None if arrays[0] is None else np.concatenate(arrays)

        return Predictions(join("va"), join("expr_probs"), join("au_probs"))

    def _predict_batch(self, crops: np.ndarray) -> Predictions:
        if self._fast is not None:  # normalises inside its graph, returns numpy
            va, expr_logits, au_logits = self._fast.run(self.prep.resized(crops))
        else:
            out = self._model(self.preprocess(crops))
            va, expr_logits, au_logits = (
                None if t is None else t.float().cpu().numpy()
                for t in (out.va, out.expr_logits, out.au_logits)
            )
        # Softmax and sigmoid in numpy: on the CPU a torch op here costs the fast path ~15% (see preprocess).
        return Predictions(
            va=va,
            expr_probs=None if expr_logits is None else _softmax(expr_logits),
            au_probs=None if au_logits is None else 1.0 / (1.0 + np.exp(-au_logits)),
        )


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
