"""The fast path's compiled network and its cache on disk, usable without PyTorch.

`fastpath.py` converts a PyTorch network to OpenVINO, checks it against PyTorch and caches it. This module
holds what runs it (`FastPath`) and the cache's *card*: `<digest>-<size>.json` beside the converted
`.xml`/`.bin`, with the model's config, name and digest, the model files it was made from (path, size,
modification time: `LoadedModel.source`), and the outputs PyTorch gave on fixed check crops.

With a card, a later run opens the compiled network without importing PyTorch or reading the checkpoint
(`CachedEngine.open`): on the warm CLI start, torch's import took 1.4 s and the first plain-PyTorch batch
0.55 s of the 3.6 s to the first rows. Before use, the compiled network must reproduce the card's outputs
to TOLERANCE, as the build checks it against PyTorch; when it does not (another OpenVINO, a torn or
edited file), the run takes the normal path, which checks and rebuilds the cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from affectstudio.core.model.config import CheckpointConfig, LoadedModel
from affectstudio.core.model.outputs import Predictions, probabilities
from affectstudio.core.paths import cache_dir
from affectstudio.core.results import write_json_atomic
from affectstudio.core.startup import IMPORTS
from affectstudio.core.transforms import Preprocessing, resolve

log = logging.getLogger(__name__)
TOLERANCE = 1e-4
CHUNK = 4  # images per infer request, at most; see fastpath.py's docstring
OUTPUTS = ("va", "expr_logits", "au_logits")
CARD_VERSION = 1
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


def compile_network(ov, core, ov_model, prep: Preprocessing, present: list[str], batch_size: int) -> FastPath:
    """An OpenVINO model (task outputs `present`) compiled for this CPU, fed uint8 NHWC crops."""
    folder = cache_folder()
    # one core per stream: what OpenVINO picks on two cores; a study's worker has fewer cores
    streams = min(8, MAX_STREAMS or os.cpu_count() or 1)
    config = {
        "PERFORMANCE_HINT": "THROUGHPUT",
        "INFERENCE_PRECISION_HINT": "f32",  # the CPU plugin's bfloat16 default moves logits by ~1e-4
        "CACHE_DIR": str(folder),  # compiled blobs: a later compile of the same network takes ~0.3 s
        "NUM_STREAMS": str(streams),
    }
    chunk = max(1, min(CHUNK, math.ceil(batch_size / streams)))
    ov_model.reshape({0: [chunk, 3, prep.input_size, prep.input_size]})
    ov_model = _with_preprocessing(ov, ov_model, prep)
    return FastPath(ov, core.compile_model(ov_model, "CPU", config), present, chunk)


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


# --- the check ---------------------------------------------------------------------------------------
def check_crops(crop_method: str, make: bool = True) -> np.ndarray | None:
    """What a compiled network is checked on: the first CHUNK + 1 faces of the bundled sample video (the
    check crosses a chunk and exercises the padding), made by `crop_method`, kept in the cache (`make=False`
    only reads it: None if it is not there). Faces, not noise: on uniform noise a trained network's
    activations explode and float32's summation order alone flips its outputs (VA 2.0 apart on a model
    trained on one project's 96 frames, which agreed to 1.3e-6 on faces), so every trained model lost the
    fast path. Fixed noise only where the sample video cannot be read."""
    from affectstudio.core.calibration import sample_crops
    from affectstudio.core.errors import AffectStudioError

    try:
        return sample_crops(crop_method, CHUNK + 1, make)
    except AffectStudioError:  # no sample video in this install
        return np.random.default_rng(0).integers(0, 256, (CHUNK + 1, 112, 112, 3), dtype=np.uint8)


def fingerprint(crops: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(crops).tobytes()).hexdigest()[:16]


def difference(got: tuple, expected: tuple) -> float:
    """The largest difference between two sets of user-facing outputs (VA and probabilities)."""
    return max(
        float(np.abs(np.asarray(a) - np.asarray(b)).max())
        for a, b in zip(got, expected, strict=True)
        if a is not None
    )


# --- the card ---------------------------------------------------------------------------------------
def cache_folder() -> Path:
    folder = cache_dir() / "openvino"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def network_file(digest: str, input_size: int) -> Path:
    """The converted network's `.xml` (its weights are the `.bin` beside it)."""
    return cache_folder() / f"{digest[:32]}-{input_size}.xml"


def write_card(ov, xml: Path, loaded: LoadedModel, crops: np.ndarray, expected: tuple) -> None:
    """Describe the network at `xml` (checked against PyTorch, which gave `expected` on `crops`, the check
    crops), adding `loaded.source` to the model files the card is known to come from."""
    if loaded.source is None:
        return
    described = {
        "openvino": ov.__version__,
        "network": xml.name,
        "name": loaded.name,
        "path": None if loaded.path is None else str(loaded.path),
        "digest": loaded.digest,
        "config": json.loads(json.dumps(dataclasses.asdict(loaded.config))),  # as read back
        "check_crops": fingerprint(crops),
        "check": [None if a is None else np.asarray(a).tolist() for a in expected],
    }
    card = read_card(xml.with_suffix(".json")) or {}
    # Equal weights may come with another config (thresholds, crop method): that card is replaced.
    known = card.get("sources", []) if all(card.get(k) == v for k, v in described.items()) else []
    if loaded.source in known:
        return
    card = {"card": CARD_VERSION, **described, "sources": [*known[-7:], loaded.source]}
    write_json_atomic(xml.with_suffix(".json"), card)


def read_card(path: Path) -> dict | None:
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) and card.get("card") == CARD_VERSION else None


def find_card(source: dict) -> dict | None:
    """The card of a cached network made from the model `source` (`ModelRegistry.identity`), if any."""
    for path in sorted(cache_folder().glob("*.json")):
        card = read_card(path)
        if card is not None and source in card.get("sources", []):
            try:
                card_config(card)
            except Exception:  # written by another version: the normal path replaces it
                continue
            return card
    return None


def card_config(card: dict) -> CheckpointConfig:
    return CheckpointConfig(**card["config"])


def cpu_only(device: str) -> bool:
    """Whether `device` means the CPU, told without torch: "auto" prefers a GPU (`engine.pick_device`),
    so it means the CPU for sure only where no GPU driver is installed (NVIDIA's or AMD's ROCm; on a Mac,
    Metal is always there)."""
    if device == "cpu":
        return True
    if device != "auto" or sys.platform == "darwin":
        return False
    if sys.platform == "win32":
        return not (Path(os.environ.get("SYSTEMROOT", "C:/Windows")) / "System32" / "nvcuda.dll").exists()
    return not any(Path(p).exists() for p in ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/kfd"))


class CachedEngine:
    """An engine on a cached compiled network alone: the InferenceEngine interface `analyze` uses, on the
    CPU, without PyTorch. `loaded.model` is None: the network's weights are never read."""

    device = "cpu"
    preparing = None  # nothing is built in the background

    def __init__(self, fast: FastPath, loaded: LoadedModel, batch_size: int, seconds: float):
        self.loaded = loaded
        self.prep = resolve(loaded.config)
        self.batch_size = max(1, int(batch_size))
        self.backend = fast.name
        self.fast_path = f"ready after {seconds:.1f} s, from the cache"
        self._fast = fast

    @classmethod
    def open(cls, card: dict, batch_size: int) -> CachedEngine | None:
        """The card's network compiled and checked against its outputs; None if that fails (logged)."""
        started = time.perf_counter()
        ov = openvino_or_none()
        if ov is None or card.get("openvino") != ov.__version__:
            return None
        try:
            config = card_config(card)
            prep = resolve(config)
            path = Path(card["path"]) if card["path"] else None
            loaded = LoadedModel(None, config, card["name"], path, card["digest"])
            xml = network_file(card["digest"], prep.input_size)
            present = [name for name, value in zip(OUTPUTS, card["check"], strict=True) if value is not None]
            crops = check_crops(prep.crop_method, make=False)
            if crops is None or fingerprint(crops) != card["check_crops"]:
                log.info("the fast path's check crops are not in the cache; loading the model")
                return None
            core = ov.Core()
            fast = compile_network(ov, core, core.read_model(xml), prep, present, batch_size)
            worst = difference(probabilities(*fast.run(prep.resized(crops))), card["check"])
        except Exception as error:  # a card or network from another version, a torn file: the normal path
            log.info("the cached fast path could not be opened (%s); loading the model", error)
            return None
        if worst > TOLERANCE:
            log.info("the cached fast path differs from its card by %.2g; loading the model", worst)
            return None
        return cls(fast, loaded, batch_size, time.perf_counter() - started)

    def predict(self, crops: np.ndarray) -> Predictions:
        if not len(crops):
            return Predictions(None, None, None, self.backend)
        return Predictions(*probabilities(*self._fast.run(self.prep.resized(crops))), self.backend)

    def close(self, wait: bool = True) -> None:
        """Nothing runs in the background."""
