"""Training speed per stage: images/s of a full optimizer step (forward, losses, backward, Adam).

    python -m benchmarks.bench_training [--batch-size 32] [--steps 3] [--device auto] [--loader]

Stages as in the paper's recipe: stage 1 with the backbone frozen (the authors' variant, which also trains
the attention heads and GDConv, and the classifier-only variant), stage 2 with everything trained and the
attention loss. Inputs are random 112x112 tensors, so the figures are the network's cost; `--loader`
adds the data pipeline's images/s (JPEG decode + the paper's augmentation) on a synthetic dataset.
On CUDA, steps run with mixed precision as the trainer does.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from affectstudio.core.labels import TASKS
from training.config import StageConfig, TrainConfig, paper_stages
from training.evaluate import resolve_device
from training.losses import MultiTaskLoss
from training.model_setup import new_network
from training.stages import make_optimizer, set_train_mode


def step_rate(stage: StageConfig, batch_size: int, steps: int, device: torch.device) -> float:
    model = new_network(TrainConfig()).to(device)
    optimizer = make_optimizer(model, stage)
    loss_fn = MultiTaskLoss(TASKS, attention_weight=stage.attention_weight)
    amp = device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    images = torch.randn(batch_size, 3, 112, 112, device=device)
    va = torch.rand(batch_size, 2, device=device) * 2 - 1
    expr = torch.randint(0, 8, (batch_size,), device=device)
    au = torch.randint(0, 2, (batch_size, 12), device=device).float()
    set_train_mode(model, stage)

    def one_step():
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            output = model(images)
        loss, _ = loss_fn(output, va, expr, au)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    one_step()  # warm-up (allocations, kernel selection)
    return _best_rate(one_step, steps, batch_size, device)


def _best_rate(step, steps: int, batch_size: int, device: torch.device, repeats: int = 3) -> float:
    """Best of `repeats` timed blocks: the machine is shared, and the fastest block is the least disturbed."""
    rates = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(steps * batch_size / (time.perf_counter() - started))
    return max(rates)


def eval_rate(batch_size: int, steps: int, device: torch.device) -> float:
    model = new_network(TrainConfig()).to(device).eval()
    images = torch.randn(batch_size, 3, 112, 112, device=device)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
        model(images)
        return _best_rate(lambda: model(images), steps, batch_size, device)


def loader_rate(batch_size: int, workers: int) -> float:
    from torch.utils.data import DataLoader

    from tests.synthetic_affwild import write_synthetic_affwild
    from training.data import load_split
    from training.dataset import EpochBatches, FaceDataset
    from training.transforms import train_transform

    with tempfile.TemporaryDirectory() as folder:
        write_synthetic_affwild(folder, train_videos=8, frames=32)
        dataset = FaceDataset(load_split(folder, "train"), train_transform())
        loader = DataLoader(
            dataset, batch_sampler=EpochBatches(len(dataset), batch_size, 0, 0), num_workers=workers
        )
        started = time.perf_counter()
        count = sum(len(batch[0]) for batch in loader)
        return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--loader", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    device = resolve_device(args.device)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(f"device: {name}; batch {args.batch_size}; best of 3 blocks of {args.steps} steps after a warm-up")
    authors, finetune = paper_stages("authors")
    classifier_only = paper_stages("classifier")[0]
    rows = [
        ("stage 1, backbone frozen (authors: heads + GDConv + classifier)", authors),
        ("stage 1, backbone frozen (classifier only)", classifier_only),
        ("stage 2, all layers + attention loss", finetune),
    ]
    for label, stage in rows:
        print(f"{label:66s} {step_rate(stage, args.batch_size, args.steps, device):8.1f} images/s")
    print(
        f"{'inference (eval mode, no grad)':66s} "
        f"{eval_rate(args.batch_size, args.steps, device):8.1f} images/s"
    )
    if args.loader:
        rate = loader_rate(args.batch_size, args.workers)
        print(f"{f'data pipeline ({args.workers} workers, JPEG + augmentation)':66s} {rate:8.1f} images/s")


if __name__ == "__main__":
    main()
