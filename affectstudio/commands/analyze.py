"""`affectstudio analyze VIDEO`: per-frame predictions to CSV (+ JSON sidecar and a PNG of the traces)."""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import tempfile
import threading
from pathlib import Path

from affectstudio.core.wording import plural


def add_parser(sub) -> argparse.ArgumentParser:
    from affectstudio.core.options import AnalysisOptions

    defaults = AnalysisOptions()  # one place for the defaults, shared with the app's settings
    parser = sub.add_parser(
        "analyze",
        help="analyse videos headless: per-frame CSV, JSON sidecar, PNG plot; many videos make a study",
        description="One VIDEO: its per-frame CSV, sidecar and plot. Several videos, folders (searched "
        "recursively for videos and images) or glob patterns: a study into -o OUT, resumable "
        "(OUT/.affectstudio-study.sqlite), "
        "with OUT/study_summary.csv (study_summary.parquet with --format parquet); exit status 2 when any "
        "video failed.",
    )
    parser.add_argument("videos", nargs="*", metavar="VIDEO", help="video files, folders or glob patterns")
    parser.add_argument("--sample", action="store_true", help="analyse the bundled sample video")
    parser.add_argument(
        "-o", "--output", help="CSV path, or a folder for <video name>.csv (default: .); a study: its folder"
    )
    parser.add_argument(
        "-m", "--model", help="installed model name or checkpoint path (default model if unset)"
    )
    parser.add_argument(
        "--device", default=defaults.device, help="auto (cuda, mps, cpu), cpu, cuda, cuda:1, mps"
    )
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument(
        "--detect-every",
        type=int,
        default=defaults.detect_every,
        metavar="N",
        help="detect faces every N frames",
    )
    parser.add_argument(
        "--face-range", choices=["full", "short"], default=defaults.face_range, help="MediaPipe model"
    )
    parser.add_argument(
        "--min-confidence", type=float, default=defaults.min_confidence, help="face detection threshold"
    )
    parser.add_argument(
        "--faces",
        choices=["main", "largest", "all"],
        default=defaults.faces,
        help="which faces: the longest-seen track's (main), the largest in each frame, or all",
    )
    parser.add_argument(
        "--crop-method",
        choices=["aligned-5pt", "box"],
        help="override the model config's face crop (aligned-5pt: 5-landmark alignment; box: square box)",
    )
    parser.add_argument(
        "--min-face-size",
        type=float,
        default=defaults.min_face_size,
        metavar="PX",
        help="ignore smaller faces",
    )
    parser.add_argument(
        "--max-gap",
        type=float,
        default=defaults.max_gap_s,
        metavar="S",
        help="a face track survives gaps up to S seconds",
    )
    parser.add_argument(
        "--save-crops",
        metavar="DIR",
        help="write every face crop the network saw: DIR/track_<id>/<frame>.png",
    )
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG plot of the traces")
    parser.add_argument("--plain", action="store_true", help="plain PyTorch instead of the fast CPU path")
    parser.add_argument(
        "--format",
        choices=["csv", "parquet"],
        default="csv",
        help="format of the per-frame files and of a study's summary (OUT/study_summary.csv or .parquet)",
    )
    parser.add_argument(
        "--columns",
        choices=["affectstudio", "openface", "pyfeat"],
        default="affectstudio",
        help="column names: ours, OpenFace 2's or py-feat's (affectstudio.read_results reads all)",
    )
    parser.add_argument("--jobs", type=int, default=None, metavar="N", help="a study: N videos at once")
    parser.add_argument(
        "--executor", choices=["local", "ray"], default=None, help="a study: local processes or a Ray cluster"
    )
    parser.add_argument("--ray-address", metavar="ADDR", help="Ray cluster address (default: start one)")
    parser.add_argument(
        "--ray-return-results",
        action="store_true",
        help="Ray tasks return their files to the driver (OUT not shared by the nodes)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from affectstudio.core.errors import AffectStudioError
    from affectstudio.core.sample import sample_video_path

    if args.sample == bool(args.videos):
        raise AffectStudioError(None, "give either a VIDEO or --sample")
    _check_options(args)
    if _is_study(args):
        if args.save_crops:
            raise AffectStudioError(None, "--save-crops takes one video (its folder holds one video's crops)")
        from affectstudio.commands.analyze_study import run_study_command

        return run_study_command(args, _options(args))
    video = sample_video_path() if args.sample else Path(args.videos[0])
    csv_path = _output_path(video, args.output, args.format)
    plot = not args.no_plot  # the plot reads any format and column style back in our layout
    from affectstudio.core.study.inputs import check_not_overwriting

    outputs = [csv_path, csv_path.with_suffix(".json")] + ([csv_path.with_suffix(".png")] if plot else [])
    check_not_overwriting([video], outputs)

    from tqdm import tqdm

    from affectstudio.core.analysis import analyze

    options = _options(args)
    stop = _StopOnInterrupt()
    bar = None

    def progress(p) -> None:
        nonlocal bar
        if bar is None:  # made once the video is open, so an error before it prints only its one line
            bar = tqdm(total=p.total, desc=video.name, dynamic_ncols=True, file=terminal, bar_format=BAR)
        bar.n = p.done
        if p.done == 0:  # nothing analysed yet: say what is being prepared
            bar.set_postfix_str(f"preparing: {p.preparing}", refresh=False)
        else:
            left = "--:--" if p.eta_s == float("inf") else tqdm.format_interval(p.eta_s)
            note = f", preparing: {p.preparing}" if p.preparing else ""
            bar.set_postfix_str(f"{p.fps:.1f} frames/s, {left} left{note}", refresh=False)
        bar.refresh()

    with _NativeLogsFiltered() as terminal:
        try:
            with stop:
                result = analyze(
                    video,
                    csv_path,
                    options,
                    progress=progress,
                    cancelled=stop,
                    keep_table=False,
                    columns=args.columns,
                )
        finally:
            if bar is not None:
                bar.close()

    lines = [
        f"wrote {result.csv_path} ({plural(result.frames, 'frame')}, {result.frames_with_face} with a face)"
    ]
    if args.save_crops:
        lines.append(f"wrote the face crops to {args.save_crops}")
    if result.cancelled:
        lines.append("stopped early: the CSV holds the frames analysed so far (sidecar says complete: false)")
    if result.truncated:
        lines.append(f"warning: {video}: {result.truncated}; the CSV covers those (sidecar: complete: false)")
    if result.frames_undecodable:
        lines.append(
            f"warning: {video}: {plural(result.frames_undecodable, 'frame')} could not be decoded "
            "(corrupt data); "
            "their rows are empty, as for frames without a face (the sidecar counts them: frames_undecodable)"
        )
    if result.frames_with_face == 0:
        from affectstudio.core.analysis import NO_FACE_WARNING

        lines.append(f"warning: {video}: {NO_FACE_WARNING}")
    if result.untrained_tasks:
        lines.append(untrained_warning(result.model_name, result.untrained_tasks))
    if plot and result.frames_with_face:
        from affectstudio.core.report import plot_traces

        lines.append(f"wrote {plot_traces(result.csv_path, result.csv_path.with_suffix('.png'))}")
    elif plot:
        lines.append("no plot written: no frame has a face, so there are no predictions to plot")
    lines.append(f"model: {result.model_name} ({result.model_digest[:12]})")
    if result.frames_with_face:
        lines.append(
            f"speed: {result.timings['frames_per_s']} frames/s ({result.backend} on {result.device})"
        )
    else:  # no frame reached the network: its backend's speed was not measured
        lines.append(f"speed: {result.timings['frames_per_s']} frames/s decoding and face detection only")
    print("\n".join(lines))
    return 130 if result.cancelled else 0


def untrained_warning(model_name: str, tasks: list[str]) -> str:
    """The line every command that analyses prints when the model has untrained heads."""
    return (
        f"warning: model '{model_name}' has untrained heads ({', '.join(tasks)}): their predictions are "
        "not meaningful. Get trained weights: `affectstudio models fetch ddamfn-affectnet8` "
        "(expressions), or import your own: `affectstudio models import FILE`"
    )


BAR = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} frames [{elapsed}{postfix}]"

# What MediaPipe's C++ core (TFLite, absl) prints to the process's stderr when a detector starts: noise
# for a user of this command. Every other line written to stderr during the run is passed on.
_NATIVE_NOISE = re.compile(
    r"(Created TensorFlow Lite XNNPACK delegate|absl::InitializeLog|inference_feedback_manager"
    r"|^[IW]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \w+\.cc:\d+\])"
)


class _NativeLogsFiltered:
    """Routes file descriptor 2 to a temporary file for the run and replays it without the native noise.

    Native libraries write to fd 2 directly, past Python's sys.stderr, so only a descriptor-level redirect
    reaches them. The progress bar writes to a duplicate of the real stderr (the `with` value).
    """

    def __enter__(self):
        sys.stderr.flush()
        self._saved = os.dup(2)
        self._log = tempfile.TemporaryFile(mode="w+b")
        os.dup2(self._log.fileno(), 2)
        self._terminal = os.fdopen(os.dup(self._saved), "w", buffering=1)
        self._stderr, sys.stderr = sys.stderr, self._terminal
        return self._terminal

    def __exit__(self, *exc) -> None:
        sys.stderr = self._stderr
        self._terminal.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._terminal.close()
        self._log.seek(0)
        for line in self._log.read().decode("utf-8", "replace").splitlines():
            if line.strip() and not _NATIVE_NOISE.search(line):
                print(line, file=sys.stderr)
        self._log.close()


def _is_study(args) -> bool:
    """A study: several inputs, a folder or a glob, or any study-only option."""
    if args.sample:
        return False
    if len(args.videos) > 1 or args.jobs is not None or args.executor is not None:
        return True
    path = Path(args.videos[0])
    return path.is_dir() or (not path.exists() and any(c in args.videos[0] for c in "*?["))


def _check_options(args) -> None:
    """Refuse values the pipeline cannot use, as one line naming the option (never a traceback, and never
    a value silently changed into another)."""
    from affectstudio.core.errors import AffectStudioError

    problems = []
    for option, value in (("--jobs", args.jobs), ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            problems.append(f"{option} must be at least 1 (got {value})")
    if args.detect_every < 1:
        problems.append(f"--detect-every must be at least 1 (got {args.detect_every})")
    if not 0.0 <= args.min_confidence <= 1.0:
        problems.append(f"--min-confidence must lie in [0, 1] (got {args.min_confidence:g})")
    if args.min_face_size < 0 or args.max_gap < 0:
        problems.append("--min-face-size and --max-gap must not be negative")
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", args.device):
        problems.append(f"--device must be auto, cpu, cuda, cuda:N or mps (got {args.device!r})")
    if problems:
        raise AffectStudioError(None, "; ".join(problems))


def _options(args):
    from affectstudio.core.options import AnalysisOptions

    return AnalysisOptions(
        model=args.model,
        device=args.device,
        batch_size=args.batch_size,
        detect_every=args.detect_every,
        face_range=args.face_range,
        min_confidence=args.min_confidence,
        faces=args.faces,
        fast=not args.plain,
        crop_method=args.crop_method,
        min_face_size=args.min_face_size,
        max_gap_s=args.max_gap,
        save_crops=args.save_crops,
    )


def _output_path(video: Path, output: str | None, file_format: str = "csv") -> Path:
    suffix = f".{file_format}"
    if output is None:
        return Path.cwd() / f"{video.stem}{suffix}"
    path = Path(output)
    if path.suffix.lower() in (".csv", ".parquet"):
        return path
    return path / f"{video.stem}{suffix}"


class _StopOnInterrupt:
    """First Ctrl-C (or SIGTERM, which must behave the same: a service manager's stop, `kill`) asks the
    work to stop after the current batch, keeping what was done; a second one interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, on_stop=None):
        self.requested = False
        self._previous: dict = {}
        self._on_stop = on_stop

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self._on_stop is not None:
            self._on_stop()
        print("\nstopping after the current batch (Ctrl-C again to abort)", file=sys.stderr)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # signals only work there
            for number in self.SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()
