"""`affectstudio analyze` with many videos: the study runner's progress line and report in a terminal.

Progress: videos done/total, frames/s over all workers, time left and the videos in progress. Ctrl-C or
SIGTERM stop cleanly (workers stop after their current batch; unfinished videos stay pending in the
manifest and the next run redoes them); a second one interrupts at once. Exit status: 0 when every video
succeeded, 2 when any failed (each is listed, and in the summary), 130 when stopped.
"""

from __future__ import annotations

from pathlib import Path

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.wording import plural


def run_study_command(args, options) -> int:
    from tqdm import tqdm

    from affectstudio.commands.analyze import _NativeLogsFiltered, _StopOnInterrupt, untrained_warning
    from affectstudio.core.jobs import JobState
    from affectstudio.core.study import StudySpec, run_study

    if args.output is None:
        raise AffectStudioError(None, "a study (several videos, a folder or a pattern) needs -o OUT")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise AffectStudioError(out, "the output of a study must be a folder, and this is a file")
    spec = StudySpec(
        inputs=list(args.videos),
        out=out,
        options=options,
        style=args.columns,
        format=args.format,
        jobs=args.jobs or 1,
        executor=args.executor or "local",
        ray_address=args.ray_address,
        ray_return_results=args.ray_return_results,
    )
    bar = None

    def progress(p) -> None:
        nonlocal bar
        detail = p.detail
        if bar is None:
            bar = tqdm(total=p.total, desc="study", dynamic_ncols=True, file=terminal, bar_format=STUDY_BAR)
        bar.n = p.done
        left = "--:--" if detail.eta_s == float("inf") else tqdm.format_interval(detail.eta_s)
        current = ", ".join(detail.current[:3]) + (" ..." if len(detail.current) > 3 else "")
        failed = f", {detail.failed} failed" if detail.failed else ""
        text = f"{detail.frames_per_s:.1f} frames/s, {left} left{failed} | {current}"
        bar.set_postfix_str(text, refresh=False)
        bar.refresh()

    state = JobState(on_progress=progress)
    stop = _StopOnInterrupt(on_stop=state.cancel)
    with _NativeLogsFiltered() as terminal:
        try:
            with stop:
                report = run_study(state, spec)
        finally:
            if bar is not None:
                bar.close()
    ran = report.done + len(report.failed)
    lines = [
        f"study: {plural(report.total, 'video')}: {report.done} analysed, {report.skipped} already done, "
        f"{len(report.failed)} failed" + (f", {report.cancelled} stopped" if report.cancelled else ""),
    ]
    if ran and report.seconds:
        lines.append(f"speed: {report.frames / report.seconds:.1f} frames/s over {report.seconds:.1f} s")
    lines += [f"failed: {name}: {_without_path(name, reason)}" for name, reason in report.failed]
    lines += [f"warning: {name}: {reason}" for name, reason in report.warnings]
    lines.append(f"wrote {report.summary_path} (manifest: {report.manifest_path})")
    if report.untrained_tasks:
        lines.append(untrained_warning(report.model_name, report.untrained_tasks))
    if report.cancelled or state.cancelled():
        lines.append("stopped early: run the same command again to finish the study")
    print("\n".join(lines))
    if state.cancelled():
        return 130
    return 2 if report.failed else 0


def _without_path(name: str, reason: str) -> str:
    """A user error names its file first ("/abs/path/clip.mp4: no face ..."); the line already names it."""
    head, sep, rest = reason.partition(": ")
    return rest if sep and Path(head).name == Path(name).name else reason


STUDY_BAR = "{desc}: {n_fmt}/{total_fmt} videos |{bar}| [{elapsed}{postfix}]"
