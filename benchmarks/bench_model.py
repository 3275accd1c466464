"""Model-only throughput on the CPU: plain PyTorch eager against the engine's fast path, same run.

    python -m benchmarks.bench_model [--batches 1 8 32] [--rounds 5] [--int8 [--model NAME_OR_PATH]]
    python -m benchmarks.bench_model --device cuda --batches 256     (GPU: fp16 throughput only)

Both paths get the same uint8 crops through `InferenceEngine.predict` (preprocessing included) and the
outputs are compared. Rounds alternate between the paths and the best round of each is kept, so a
machine shared with other work skews both alike. The network is the full multi-task DDAMFN (stock
backbone and heads + the three task heads); weights do not change its speed.
--int8 also times the quantized fast path (`fastpath.build(..., precision="int8")`, needs NNCF) in the
same rounds, and prints its agreement with eager f32 (VA max/mean |diff|, expression argmax and AU decision
agreement) on the sample video's crops it was calibrated on and on held-out real faces (the aligned
reference crops in ../shared/conformance/alignment, other people than the sample's, and their mirror
images). Agreement needs a model whose outputs vary with the face: --model a trained checkpoint.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from affectstudio.core.engine import InferenceEngine
from affectstudio.core.model.checkpoint import untrained_model
from affectstudio.core.model.registry import ModelRegistry


def images_per_s(engine: InferenceEngine, crops: np.ndarray, seconds: float = 2.0) -> float:
    engine.predict(crops)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        engine.predict(crops)
        count += len(crops)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--int8", action="store_true", help="also time the int8 fast path")
    parser.add_argument("--model", help="registry name or checkpoint (default: the untrained network)")
    args = parser.parse_args()

    loaded = untrained_model() if args.model is None else ModelRegistry().load(args.model)
    if args.device != "cpu":
        gpu_throughput(loaded, args.device, args.batches)
        return
    t0 = time.perf_counter()
    fast_engines = {b: InferenceEngine(loaded, "cpu", b, fast=True, background=False) for b in args.batches}
    print(f"fast path: {fast_engines[args.batches[0]].backend}, built in {time.perf_counter() - t0:.1f} s")
    int8_engines = {}
    if args.int8:
        t0 = time.perf_counter()
        int8_engines = {b: InferenceEngine(loaded, "cpu", b, precision="int8") for b in args.batches}
        print(f"int8: {int8_engines[args.batches[0]].backend}, built in {time.perf_counter() - t0:.1f} s")
        int8_agreement(loaded, int8_engines[args.batches[0]])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    rng = np.random.default_rng(0)
    for batch in args.batches:
        crops = rng.integers(0, 256, (batch, 112, 112, 3), dtype=np.uint8)
        plain, fast = InferenceEngine(loaded, "cpu", batch, fast=False), fast_engines[batch]
        a, b = plain.predict(crops), fast.predict(crops)
        diff = max(
            float(np.abs(getattr(a, n) - getattr(b, n)).max()) for n in ("va", "expr_probs", "au_probs")
        )
        best_plain = best_fast = best_int8 = 0.0
        for _ in range(args.rounds):
            best_plain = max(best_plain, images_per_s(plain, crops))
            best_fast = max(best_fast, images_per_s(fast, crops))
            if batch in int8_engines:
                best_int8 = max(best_int8, images_per_s(int8_engines[batch], crops))
        int8 = f"   int8 {best_int8:6.1f} img/s = {best_int8 / best_fast:4.2f}x fast" if int8_engines else ""
        print(
            f"batch {batch:3d}: eager {best_plain:6.1f} img/s   fast {best_fast:6.1f} img/s   "
            f"speed-up {best_fast / best_plain:4.2f}x   max |diff| {diff:.1e}{int8}   load {_load()}"
        )


def int8_agreement(loaded, int8: InferenceEngine) -> None:
    """The int8 network against eager f32, on the crops it was calibrated on and on held-out faces."""
    from affectstudio.core.calibration import sample_crops
    from affectstudio.core.fastpath import compare

    sets = {"sample video (calibration)": sample_crops(int8.prep.crop_method)}
    shared = Path(os.environ.get("AFFECTSTUDIO_SHARED_DIR") or Path(__file__).parents[2] / "shared")
    files = sorted((shared / "conformance/alignment/reference_crops").glob("*.png"))
    held = [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files if "carphone" not in f.name]
    if held and int8.prep.crop_method == "aligned-5pt":
        sets["held-out faces + mirrored"] = np.concatenate([np.stack(held), np.stack(held)[:, :, ::-1]])
    plain = InferenceEngine(loaded, "cpu", 32, fast=False)
    for name, crops in sets.items():
        a, b = plain.predict(crops), int8.predict(crops)
        # compare() takes logits: the probabilities' argmax and p > 0.5 are the logits' argmax and > 0
        found = compare((b.va, b.expr_probs, b.au_probs - 0.5), (a.va, a.expr_probs, a.au_probs - 0.5))
        spread = a.va.std(axis=0).mean()
        print(f"int8 vs f32 on {name} ({len(crops)} crops; f32 VA spread {spread:.3f} sd): {_fmt(found)}")


def _fmt(found: dict[str, float]) -> str:
    return ", ".join(f"{key} {value:.4f}" for key, value in found.items())


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def gpu_throughput(loaded, device: str, batches: list[int]) -> None:
    """Images/s of the engine on a GPU (fp16, channels-last), crops uploaded as uint8 each batch."""
    rng = np.random.default_rng(0)
    for batch in batches:
        engine = InferenceEngine(loaded, device, batch)
        crops = rng.integers(0, 256, (batch * 8, 112, 112, 3), dtype=np.uint8)
        engine.predict(crops)
        torch.cuda.synchronize()
        rate = images_per_s(engine, crops, seconds=5.0)
        print(f"{device} batch {batch}: {rate:8.0f} img/s (half={engine.half})")


if __name__ == "__main__":
    main()
