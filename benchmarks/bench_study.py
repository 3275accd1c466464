"""Study throughput and overhead: prints figures (with /proc/loadavg, the machine is shared).

    python3 -m benchmarks.bench_study throughput [--videos 20] [--frames 120] [--jobs 2]
        single-video frames/s (one `analyze`) vs a study of N videos with --jobs J (target >= 0.9x)
    python3 -m benchmarks.bench_study overhead [--videos 200] [--frames 2] [--jobs 1]
        seconds per video beyond the frames themselves, and the driver's peak memory (target < 0.2 s/video,
        flat memory), over many very short videos
    python3 -m benchmarks.bench_study ray [--videos 10] [--frames 2]
        the same on a local 2-CPU Ray cluster (target < 1 s/video)

Videos are cut from the bundled sample (looped to --frames) and written once to a temporary folder.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ")[:3].__str__()
    except OSError:
        return "n/a"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_videos(folder: Path, count: int, frames: int) -> list[Path]:
    from affectstudio.core.sample import sample_video_path
    from affectstudio.core.video import VideoReader
    from tests.videos import write_frames

    with VideoReader(sample_video_path()) as reader:
        images = [f.image[:, :192] for f in reader]
    clip = (images * (frames // len(images) + 1))[:frames]
    first = write_frames(folder / "v0000.mp4", clip)
    data = first.read_bytes()
    paths = [first]
    for i in range(1, count):  # same content, different files: the per-video cost is what is measured
        path = folder / f"v{i:04d}.mp4"
        path.write_bytes(data)
        paths.append(path)
    return paths


def study(paths: list[Path], out: Path, jobs: int, executor: str = "local", loaded=None):
    from affectstudio.core.jobs import JobState
    from affectstudio.core.study import StudySpec, run_study

    spec = StudySpec([str(p) for p in paths], out, jobs=jobs, executor=executor)
    started = time.perf_counter()
    report = run_study(JobState(), spec, loaded=loaded)
    return report, time.perf_counter() - started


def single(path: Path, out: Path) -> float:
    from affectstudio.core.analysis import analyze

    result = analyze(path, out / "single.csv", keep_table=False)
    return result.frames / result.seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["throughput", "overhead", "ray"])
    parser.add_argument("--videos", type=int)
    parser.add_argument("--frames", type=int)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    defaults = {"throughput": (20, 120), "overhead": (200, 2), "ray": (10, 2)}[args.what]
    videos, frames = args.videos or defaults[0], args.frames or defaults[1]
    from affectstudio.core.model.registry import ModelRegistry

    loaded = ModelRegistry().load(None)
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        (root / "in").mkdir()
        paths = make_videos(root / "in", videos, frames)
        print(f"{videos} videos of {frames} frames; load before: {loadavg()}")
        if args.what == "throughput":
            fps = single(paths[0], root)
            print(f"single video: {fps:.1f} frames/s (processing only; load {loadavg()})")
            report, seconds = study(paths, root / "out", args.jobs, loaded=loaded)
            study_fps = report.frames / seconds
            print(
                f"study --jobs {args.jobs}: {study_fps:.1f} frames/s wall clock incl. worker start "
                f"= {study_fps / fps:.2f}x single ({seconds:.1f} s; load {loadavg()})"
            )
        elif args.what == "overhead":
            # a quarter of the videos first, then all of them: per-video cost and memory must not grow; the
            # difference between the two runs is the cost of the extra videos alone (no worker start)
            totals = {}
            for count in (max(1, videos // 4), videos):
                before = rss_mb()
                report, seconds = study(paths[:count], root / f"out{count}", args.jobs, loaded=loaded)
                workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                print(
                    f"study --jobs {args.jobs}, {count} videos: {seconds:.1f} s = "
                    f"{seconds / count:.3f} s/video (incl. worker start and {frames} frames each); "
                    f"driver RSS {before:.0f} -> {rss_mb():.0f} MB, worker peak RSS {workers:.0f} MB; "
                    f"load {loadavg()}"
                )
                totals[count] = seconds
            (few, few_s), (many, many_s) = totals.items()
            if many > few:
                print(f"marginal: {(many_s - few_s) / (many - few):.3f} s per extra video")
        else:
            import ray

            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            try:
                report, seconds = study(paths, root / "out", 1, executor="ray", loaded=loaded)
            finally:
                ray.shutdown()
            print(
                f"ray, 2 CPUs: {seconds:.1f} s for {videos} videos = {seconds / videos:.3f} s/video "
                f"(incl. Ray task start and {frames} frames each); load {loadavg()}"
            )
        print(f"done {report.done}, failed {len(report.failed)}")


if __name__ == "__main__":
    main()
