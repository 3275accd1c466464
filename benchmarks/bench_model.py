"""Model-only throughput on the CPU: plain PyTorch eager against the engine's fast path, same run.

    python -m benchmarks.bench_model [--batches 1 8 32] [--rounds 5]
    python -m benchmarks.bench_model --device cuda --batches 256     (GPU: fp16 throughput only)

Both paths get the same uint8 crops through `InferenceEngine.predict` (preprocessing included) and the
outputs are compared. Rounds alternate between the paths and the best round of each is kept, so a
machine shared with other work skews both alike. The network is the full multi-task DDAMFN (stock
backbone and heads + the three task heads); weights do not change its speed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from affectstudio.core.engine import InferenceEngine
from affectstudio.core.model.checkpoint import untrained_model


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
    args = parser.parse_args()

    loaded = untrained_model()
    if args.device != "cpu":
        gpu_throughput(loaded, args.device, args.batches)
        return
    t0 = time.perf_counter()
    fast_engines = {b: InferenceEngine(loaded, "cpu", b, fast=True, background=False) for b in args.batches}
    print(f"fast path: {fast_engines[args.batches[0]].backend}, built in {time.perf_counter() - t0:.1f} s")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    rng = np.random.default_rng(0)
    for batch in args.batches:
        crops = rng.integers(0, 256, (batch, 112, 112, 3), dtype=np.uint8)
        plain, fast = InferenceEngine(loaded, "cpu", batch, fast=False), fast_engines[batch]
        a, b = plain.predict(crops), fast.predict(crops)
        diff = max(
            float(np.abs(getattr(a, n) - getattr(b, n)).max()) for n in ("va", "expr_probs", "au_probs")
        )
        best_plain = best_fast = 0.0
        for _ in range(args.rounds):
            best_plain = max(best_plain, images_per_s(plain, crops))
            best_fast = max(best_fast, images_per_s(fast, crops))
        print(
            f"batch {batch:3d}: eager {best_plain:6.1f} img/s   fast {best_fast:6.1f} img/s   "
            f"speed-up {best_fast / best_plain:4.2f}x   max |diff| {diff:.1e}"
        )


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
