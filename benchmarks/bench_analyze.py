"""End-to-end `analyze` speed and memory on talking-head videos made from the sample clip.

    python -m benchmarks.bench_analyze [--seconds 60] [--memory 1 10] [--detect-every 1 3 5]
                                       [--precision f32 int8]
    python -m benchmarks.bench_analyze --first-results [--runs 2]

1. Speed: a 640x360 30 fps H.264 video of --seconds; prints decode-only frames/s, `analyze` frames/s
   with aligned crops and with box crops in the same run (fast path and, for reference, plain PyTorch),
   their ratio to decoding alone, and the machine's load average (the machine may be shared).
   Several --detect-every values show what detecting every N frames, with the face mesh tracking the
   faces in between, buys; several --precision values the same for the fast path's int8 network (NNCF).
2. Memory: `affectstudio analyze` in a child process on videos of each --memory length (minutes); prints
   its peak RSS and projects to one hour. Results stream to disk, so the peak must not grow with length.
3. First results (--first-results, issue 9: target < 2 s): `affectstudio analyze --sample` in a child
   process, in a fresh profile (HOME and the XDG folders an empty folder: no compiled fast path cached) and
   again in the same, now warm, profile; prints the time from process start to the first result rows (the
   progress bar's first frames), to exit, which backends ran which frames, and the startup steps the run
   logged (`core/startup.py`). The GUI's figure is `benchmarks/bench_gui.py --first-results`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from affectstudio.core.analysis import AnalysisOptions, analyze
from affectstudio.core.engine import InferenceEngine
from affectstudio.core.model.registry import ModelRegistry
from affectstudio.core.video import VideoReader
from benchmarks.bench_decode_detect import make_talking_head


def decode_fps(path: Path) -> float:
    with VideoReader(path) as reader:
        started = time.perf_counter()
        count = sum(1 for _ in reader)
    return count / (time.perf_counter() - started)


def peak_rss_mb(video: Path, out: Path) -> float:
    code = (
        "import resource, sys\n"
        "from affectstudio.cli import main\n"
        f"rc = main(['analyze', {str(video)!r}, '-o', {str(out)!r}, '--no-plot'])\n"
        "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        "sys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = next(x for x in result.stdout.splitlines() if x.startswith("PEAK_KB"))
    return int(line.split()[1]) / 1024


def fresh_profile_env(home: Path) -> dict[str, str]:
    """The environment of a user whose profile is `home` (empty for a first run): no AffectStudio or XDG
    overrides from this shell, so settings, models, logs and the compiled fast path all go below it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "AFFECTSTUDIO_"))}
    for name, sub in (("CACHE", ".cache"), ("DATA", ".local/share"), ("CONFIG", ".config")):
        env[f"XDG_{name}_HOME"] = str(home / sub)
    repo = str(Path(__file__).resolve().parents[1])
    return env | {"HOME": str(home), "PYTHONPATH": repo + os.pathsep + env.get("PYTHONPATH", "")}


def startup_marks(home: Path) -> str:
    """The `startup:` steps of the last run, from the log file in that profile."""
    logs = list(home.rglob("affectstudio.log"))
    lines = logs[0].read_text().splitlines() if logs else []
    started = max((i for i, line in enumerate(lines) if " started: " in line), default=0)
    return "; ".join(line.split("startup: ")[-1] for line in lines[started:] if "startup: " in line)


def first_results_cli(home: Path, out: Path) -> None:
    """Process start -> first result rows (the progress bar's first analysed frames) and -> exit."""
    started = time.time()
    child = subprocess.Popen(
        [sys.executable, "-m", "affectstudio", "analyze", "--sample", "-o", str(out), "--no-plot"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=fresh_profile_env(home),
        cwd=home,
    )
    first, seen = None, b""
    while chunk := os.read(child.stderr.fileno(), 4096):
        seen += chunk
        if first is None and re.search(rb"\| *[1-9]\d*/\d+ frames", seen):
            first = time.time() - started
    child.wait()
    total = time.time() - started
    if child.returncode != 0:
        raise SystemExit(f"analyze failed ({child.returncode}): {seen.decode()[-2000:]}")
    sidecar = json.loads(next(out.glob("*.json")).read_text())
    first_text = "never" if first is None else f"{first:.2f} s"
    print(
        f"  first rows {first_text}, exit {total:.2f} s; backend: {sidecar['backend']}; fast path: "
        f"{sidecar.get('fast_path', '?')}"
    )
    print(f"  steps: {startup_marks(home)}")


def first_results(runs: int) -> None:
    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            for label in ("fresh profile", "warm profile"):
                out = home / f"out-{label.split()[0]}"
                print(f"`affectstudio analyze --sample`, {label} (run {run + 1}), load average {_load()}:")
                first_results_cli(home, out)


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--memory", type=float, nargs="*", default=[1, 10], help="video lengths in minutes")
    parser.add_argument("--detect-every", type=int, nargs="+", default=[1])
    parser.add_argument("--precision", nargs="+", choices=["f32", "int8"], default=["f32"])
    parser.add_argument("--crop-methods", nargs="+", default=["aligned-5pt", "box"])
    parser.add_argument("--face-range", default="full")
    parser.add_argument("--plain", action="store_true", help="also time plain PyTorch")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the speed video")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--detect-workers", type=int, default=0, help="0 = half the CPU cores")
    parser.add_argument("--first-results", action="store_true", help="only the time to the first results")
    parser.add_argument("--runs", type=int, default=1, help="--first-results: repetitions")
    args = parser.parse_args()
    if args.first_results:
        first_results(args.runs)
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        size = tuple(int(v) for v in args.size.split("x"))
        video = tmp / f"talking_head_{args.size}.mp4"
        make_talking_head(video, size, args.seconds, gop=60)
        decode = decode_fps(video)
        print(f"{args.size} 30 fps, {args.seconds:.0f} s: decode only {decode:.0f} frames/s")
        variants = [(f"fast {p}", True, p) for p in args.precision]
        variants += [("plain", False, "f32")] if args.plain else []
        runs = [
            (label, fast, precision, method, every)
            for label, fast, precision in variants
            for every in args.detect_every
            for method in args.crop_methods
        ]
        engines = {}
        for label, fast, precision, method, every in runs:
            options = AnalysisOptions(
                fast=fast,
                crop_method=method,
                detect_every=every,
                face_range=args.face_range,
                batch_size=32 if args.device in ("auto", "cpu") else 256,
                device=args.device,
                detect_workers=args.detect_workers,
            )
            if label not in engines:  # int8 is benchmark-only (see core/fastpath.py): no option selects it
                loaded = ModelRegistry().load(options.model)
                # built before the run (not in the background), so the speed is the fast path's alone
                engines[label] = InferenceEngine(
                    loaded,
                    options.device,
                    options.batch_size,
                    fast=fast,
                    background=False,
                    precision=precision,
                )
            result = analyze(video, tmp / "speed.csv", options, keep_table=False, engine=engines[label])
            fps = result.timings["frames_per_s"]
            load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
            print(
                f"analyze ({label}, {result.backend} on {result.device}, {method} crops, detect every "
                f"{every}, {args.face_range} range): "
                f"{fps:.1f} frames/s = {fps / 30:.2f}x real time = {fps / decode:.3f} of decode-only speed; "
                f"setup {result.timings['setup_s']:.1f} s, "
                f"faces in {result.frames_with_face}/{result.frames}, load average {load}"
            )
        peaks = []
        for minutes in args.memory:
            long_video = tmp / f"talking_head_{minutes:g}min.mp4"
            make_talking_head(long_video, (640, 360), minutes * 60, gop=60)
            peak = peak_rss_mb(long_video, tmp / "mem")
            peaks.append((minutes, peak))
            print(f"peak RSS of `affectstudio analyze` on {minutes:g} min: {peak:.0f} MB")
            long_video.unlink()
        if len(peaks) >= 2:
            (m0, p0), (m1, p1) = peaks[0], peaks[-1]
            slope = (p1 - p0) / (m1 - m0)
            print(f"growth {slope:.2f} MB/min -> projected peak for 60 min: {p1 + slope * (60 - m1):.0f} MB")
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB peak)")


if __name__ == "__main__":
    main()
