"""The local executor: N videos at once in worker processes (`concurrent.futures.ProcessPoolExecutor`).

Why processes and the standard pool: MediaPipe, FFmpeg and the network each want their own threads, and
a process per video keeps one video's crash or leak away from the others; the pool (spawn context, so no
fork of a process that already holds torch and OpenMP threads) is an engine, not a scheduler of our own.
Each worker gets a thread budget of cores / N, the model once (initializer), and reports progress through
a multiprocessing queue. Ctrl-C and SIGTERM go to the driver, which sets a shared stop event; workers
ignore SIGINT (the terminal sends it to the whole group), treat SIGTERM as a stop request (an idle one
exits), and a watchdog thread stops and exits a worker whose driver is gone (a killed run), so nothing
keeps writing, or waiting, after it.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from affectstudio.core.jobs import JobState, Progress
from affectstudio.core.study.worker import VideoOutcome, VideoTask, analyze_video, budgeted, thread_budget

_WORKER: dict = {}
PROGRESS_EVERY_S = 0.5


class _WorkerState(JobState):
    """A JobState whose cancel also comes from the study's stop event and from the driver's death."""

    def __init__(self, on_progress, stop, parent: int):
        super().__init__(on_progress)
        self._stop, self._parent = stop, parent

    def cancelled(self) -> bool:
        if self._stop.is_set() or os.getppid() != self._parent:
            self.cancel()
        return super().cancelled()


def _init_worker(loaded, options, threads: int, progress, stop, parent: int) -> None:
    options = budgeted(options, threads)
    _WORKER.update(loaded=loaded, options=options, queue=progress, stop=stop, parent=parent, busy=False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    threading.Thread(target=_watch_parent, args=(parent, stop), daemon=True).start()


def _on_sigterm(signum, frame) -> None:
    """Stop the video in progress after its batch; an idle worker just exits."""
    _WORKER["stop"].set()
    if not _WORKER["busy"]:
        raise SystemExit(0)


def _watch_parent(parent: int, stop) -> None:
    """A killed driver leaves its workers behind, idle ones blocked on the pool's queue for ever: when the
    parent is gone, stop the video in progress (its batch ends, the file is closed) and exit."""
    while os.getppid() == parent:
        time.sleep(0.5)
    stop.set()
    deadline = time.monotonic() + 30
    while _WORKER["busy"] and time.monotonic() < deadline:
        time.sleep(0.1)
    os._exit(1)


def _local_job(task: VideoTask) -> VideoOutcome:
    progress = _WORKER["queue"]
    progress.put(("started", task.output, 0, 0, 0.0))
    last = [0.0]

    def report(p: Progress) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            progress.put(("progress", task.output, p.done, p.total, p.detail))

    state = _WorkerState(report, _WORKER["stop"], _WORKER["parent"])
    _WORKER["busy"] = True
    try:
        return analyze_video(task, _WORKER["options"], _WORKER["loaded"], state)
    finally:
        _WORKER["busy"] = False


class LocalExecutor:
    def __init__(self, jobs: int, loaded, options):
        self.jobs = max(1, jobs)
        self.loaded, self.options = loaded, options

    def run(self, tasks: list[VideoTask], events) -> None:
        """Run every task; `events` gets started/progress/outcome calls in this thread and is asked
        `stop_requested()` between them."""
        if not tasks:
            return
        ctx = multiprocessing.get_context("spawn")
        progress, stop = ctx.Queue(), ctx.Event()
        workers = min(self.jobs, len(tasks))
        initargs = (self.loaded, self.options, thread_budget(self.jobs), progress, stop, os.getpid())
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=initargs)
        try:
            futures = {pool.submit(_local_job, task): task for task in tasks}
            pending, stopping = set(futures), False
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(progress, events)
                stopping = stopping or events.stop_requested()
                for future in done:
                    if not future.cancelled():
                        events.on_outcome(_outcome(future, futures[future], stopping))
                if stopping and not stop.is_set():
                    stop.set()
                    for future in pending:
                        future.cancel()
                    pending = {f for f in pending if not f.cancelled()}
            _drain(progress, events)
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            progress.close()
            progress.join_thread()


def _outcome(future, task: VideoTask, stopping: bool) -> VideoOutcome:
    try:
        return future.result()
    except Exception as error:  # the worker process died (a native crash, out of memory, a stop signal)
        if stopping:  # a SIGTERM to the whole process group ends idle workers, which breaks the pool
            return VideoOutcome(task.output, "cancelled", "stopped before the end")
        return VideoOutcome(task.output, "failed", f"{task.video}: worker process died ({error})")


def _drain(progress, events) -> None:
    while True:
        try:
            kind, output, done, total, fps = progress.get_nowait()
        except (queue_module.Empty, OSError, ValueError):
            return
        if kind == "started":
            events.on_started(output)
        else:
            events.on_progress(output, done, total, fps)
