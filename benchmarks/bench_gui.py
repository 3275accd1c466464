"""GUI speed figures: time to first window, seek latency (timeline click -> frame painted), playhead redraw.

    python3 benchmarks/bench_gui.py            # all three
    python3 benchmarks/bench_gui.py --quick    # fewer repetitions
    python3 benchmarks/bench_gui.py --seeks --videos DIR   # only the 720p seeks, videos kept in DIR
    python3 benchmarks/bench_gui.py --seeks --way cache --clicks 150   # only "cache + proxy", more clicks
    python3 benchmarks/bench_gui.py --first-results [--runs 2]   # only the first-run wait for results

First results (issue 9, target < 5 s in a fresh profile): the app in a child process whose HOME and XDG
folders are an empty folder (nothing cached, no compiled fast path), the sample opened as the window shows
(as `affectstudio VIDEO` does); prints the time from the window shown to the first plotted frame, to the
analysis' end, and each status line the user saw on the way with its time.

Targets (issue 3, 12): window under 2 s; seek p95 under 50 ms at 720p whatever the keyframe interval;
playhead redraw under 16 ms with 108,000 frames (one hour at 30 fps) of results. Uses the offscreen Qt
platform unless DISPLAY is set.

Seek videos are the bundled sample looped to 360 frames and scaled to 640x360 and 1280x720 with libx264,
once with a keyframe every second (as cameras and phones record) and once with x264's default of one every
250 frames (the worst case for frame-exact seeking: up to 249 frames decoded for one seek). At 720p each
is measured three ways: a plain reader (no frame cache, no proxy: the decoder seeks for every click), with
the frame cache around the playhead, and with the cache and the scrubbing proxy (gui/frame_grabber.py),
where a click first paints the proxy's picture ("first picture") and then the exact frame ("exact").
Clicks follow each other as soon as the frame is painted, so the cache has little time to fill (the worst
case for it). A drag backwards over the whole video in 3 s then counts the pictures painted per second
and how far the picture on screen trails the playhead. The UI thread's CPU time from the click to the first
picture is printed beside it: when the first picture is the proxy's, decoded by the UI thread itself, that is
about the latency on an idle machine (a busy one stretches the wall-clock figures). The app makes a proxy
only for slow-seeking videos (core/scrub_proxy.py: at 720p, both of these); here it is made for every video
so that the figures compare.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")

FIRST_WINDOW_CHILD = """
import sys, time
from affectstudio.gui.app import make_app
app = make_app()
from PySide6.QtTest import QTest
from affectstudio.gui.main_window import MainWindow
window = MainWindow()
window.show()
QTest.qWaitForWindowExposed(window)
app.processEvents()
print(time.time(), flush=True)
window.close()
"""


FIRST_RESULTS_CHILD = """
import os, time
from affectstudio.core import startup
from affectstudio.core.logs import setup_logging
setup_logging("bench_gui")
from affectstudio.gui.app import make_app
app = make_app()
from PySide6.QtTest import QTest
from affectstudio.core.sample import sample_video_path
from affectstudio.gui.main_window import MainWindow
window = MainWindow()
window.resize(1280, 800)
window.show()
QTest.qWaitForWindowExposed(window)
shown = time.perf_counter()
print(f"window shown {startup.since_start():.2f} s after process start", flush=True)
marks = {}
def plotted():
    if "first" not in marks and window.data is not None and window.data.analysed_until > 0:
        marks["first"] = time.perf_counter() - shown
window.results_changed.connect(plotted)
window.analysis_finished.connect(lambda result: marks.setdefault("end", time.perf_counter() - shown))
window.open_video(sample_video_path())
status = None
while "end" not in marks and time.perf_counter() - shown < 600:
    app.processEvents()
    if window.status_label.text() != status:
        status = window.status_label.text()
        print(f"  {time.perf_counter() - shown:6.2f} s  status: {status}", flush=True)
    time.sleep(0.002)
print(f"first plotted frame {marks.get('first', float('nan')):.2f} s after the window showed, "
      f"analysis done at {marks.get('end', float('nan')):.2f} s", flush=True)
window.close()
os._exit(0)
"""


def first_results(runs: int) -> None:
    from benchmarks.bench_analyze import fresh_profile_env, startup_marks

    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
            print(
                f"GUI, fresh profile (run {run + 1}), {os.environ['QT_QPA_PLATFORM']}, load average {load}:"
            )
            env = fresh_profile_env(Path(tmp)) | {"QT_QPA_PLATFORM": os.environ["QT_QPA_PLATFORM"]}
            subprocess.run([sys.executable, "-c", FIRST_RESULTS_CHILD], env=env, check=True, cwd=tmp)
            print(f"  steps: {startup_marks(Path(tmp))}")


def percentiles(values: list[float]) -> str:
    ms = np.asarray(values) * 1000
    return (
        f"p50 {np.percentile(ms, 50):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms   max {ms.max():6.1f} ms"
    )


def time_to_first_window(runs: int, data_dir: Path) -> None:
    times = []
    env = {**os.environ, "AFFECTSTUDIO_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    for _ in range(runs):
        start = time.time()
        out = subprocess.run(
            [sys.executable, "-c", FIRST_WINDOW_CHILD], capture_output=True, text=True, env=env, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]) - start)
    print(
        f"time to first window (process start -> window exposed), {runs} runs: "
        f"median {np.median(times):.2f} s, best {min(times):.2f} s, worst {max(times):.2f} s"
    )


def make_video(path: Path, width: int, height: int, gop: int, loops: int = 3) -> Path:
    """The sample, looped and scaled, encoded with libx264 (yuv420p) at the sample's frame rate."""
    import av

    from affectstudio.core.sample import sample_video_path

    with av.open(str(sample_video_path())) as source:
        frames = [f.to_ndarray(format="rgb24") for f in source.decode(video=0)]
        rate = source.streams.video[0].average_rate
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {
            "preset": "veryfast",
            "crf": "23",
            "keyint_min": str(min(gop, 25)),
            "sc_threshold": "0",
        }
        for _ in range(loops):
            for image in frames:
                frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(width, height)
                out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def seek_latency(app, video: Path, seeks: int, seed: int = 0, proxy: bool = False) -> tuple:
    """Click random points of the timeline; times from the click to the first picture of the new frame
    painted (the proxy's, if any) and to the exact frame painted. After every third click, once the
    grabber has settled (the user looks at the frame), also the time of one step back (as the Left key).
    Last, a drag over the whole video (`drag_scrub`)."""
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest
    from test_gui_main_window import no_auto_analysis

    from affectstudio.gui.main_window import MainWindow
    from affectstudio.gui.transport import frame_at

    settings = no_auto_analysis()
    settings.display.scrub_proxy = proxy
    window = MainWindow(settings)
    window.resize(1280, 860)
    window.show()
    QTest.qWaitForWindowExposed(window)
    window.open_video(video)
    wait_for(app, lambda: window.video.index == 0)
    if proxy:
        started = time.perf_counter()
        wait_for(app, lambda: window.grabber.proxy_ready, timeout=300)  # made, and handed over
        print(f"    proxy ready {time.perf_counter() - started:.1f} s after opening")
    wait_for(app, window.grabber.settled)
    rng = np.random.default_rng(seed)
    timeline, first, latencies, back = window.timeline, [], [], []
    first_cpu = []  # the UI thread's CPU time over the same span: the latency's floor on an idle machine
    for click in range(seeks):
        seconds = float(rng.uniform(0, timeline.duration))
        target = frame_at(window.timestamps, seconds)
        if target == window.video.index:
            continue
        point = timeline.mapFromScene(timeline.va_plot.vb.mapViewToScene(QPointF(seconds, 0.0)))
        start, cpu = time.perf_counter(), time.thread_time()
        QTest.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=point)
        target = window.current_frame
        wait_for(app, lambda t=target: window.video._painted == t)
        first.append(time.perf_counter() - start)
        first_cpu.append(time.thread_time() - cpu)
        wait_for(app, lambda t=target: window.video._painted == t and window.video._painted_exact)
        latencies.append(time.perf_counter() - start)
        if click % 3 == 0 and target > 0:
            wait_for(app, window.grabber.settled, timeout=60)
            start = time.perf_counter()
            window.step(-1)  # what the Left key does
            wait_for(app, lambda t=target - 1: window.video._painted == t and window.video._painted_exact)
            back.append(time.perf_counter() - start)
    wait_for(app, window.grabber.settled, timeout=60)
    drag = drag_scrub(app, window)
    window.close()
    return first, latencies, back, drag, first_cpu


def drag_scrub(app, window, seconds: float = 3.0, rate: float = 30.0) -> tuple[float, float]:
    """Drag the playhead backwards over the whole video in `seconds`, `rate` moves a second (as
    `seek_requested`, which a timeline drag emits): backwards, every move needs a seek, where a forward drag
    mostly decodes on from where the decoder is. Returns pictures painted per second, and how many frames
    the picture on screen is behind the playhead on average, sampled before each move."""
    painted, behind = [], []
    window.video.frame_shown.connect(painted.append)
    duration, moves = window.timeline.duration, int(seconds * rate)
    start = time.perf_counter()
    for move in range(moves):
        while time.perf_counter() < start + move / rate:
            app.processEvents()
            time.sleep(0.0005)
        if move:
            behind.append(abs(window.current_frame - window.video._painted))
        window.timeline.seek_requested.emit(duration * (1 - move / moves))
    elapsed = time.perf_counter() - start
    window.video.frame_shown.disconnect(painted.append)
    return len(painted) / elapsed, float(np.mean(behind))


def seek_ways(app, video: Path, seeks: int, all_ways: bool, only: str | None = None) -> None:
    """Seek latencies with the app's defaults, and at 720p also without the cache and with a proxy
    (`only`: just the way whose label starts with it)."""
    from affectstudio.core import scrub_proxy
    from affectstudio.core.video import VideoReader
    from affectstudio.gui import frame_grabber

    with VideoReader(video) as reader:
        print(f"  (the app makes a scrubbing proxy for this video: {scrub_proxy.worth_a_proxy(reader)})")
    minimum = scrub_proxy.MIN_SEEK_PIXELS
    ways = [("plain reader", 0, False), ("frame cache", None, False), ("cache + proxy", None, True)]
    chosen = ways if all_ways else ways[1:2]
    for label, cache_bytes, proxy in [w for w in chosen if only is None or w[0].startswith(only)]:
        frame_grabber.CACHE_BYTES = frame_grabber.DEFAULT_CACHE_BYTES if cache_bytes is None else cache_bytes
        scrub_proxy.MIN_SEEK_PIXELS = 0  # a proxy for every video, so that both intervals compare
        first, exact, back, (pictures, behind), first_cpu = seek_latency(app, video, seeks, proxy=proxy)
        if proxy:
            print(f"  {label:14s} first picture: {percentiles(first)}")
            print(f"  {label:14s}   (its UI-thread CPU: {percentiles(first_cpu)})")
        print(f"  {label:14s} exact frame:   {percentiles(exact)}")
        print(f"  {label:14s} step back:     {percentiles(back)}  ({len(back)} steps, after settling)")
        print(f"  {label:14s} drag back 3 s: {pictures:5.1f} pictures/s, {behind:5.1f} frames behind (mean)")
    scrub_proxy.MIN_SEEK_PIXELS = minimum


def wait_for(app, condition, timeout: float = 20.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        app.processEvents()
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.0002)


def playhead_redraw(app, frames: int, moves: int) -> None:
    """Move the playhead over an hour of results; time each move plus the synchronous repaint."""
    from gui_helpers import synthetic_rows
    from PySide6.QtTest import QTest
    from test_gui_main_window import no_auto_analysis

    from affectstudio.core.review_data import ReviewData
    from affectstudio.core.session import OpenVideo
    from affectstudio.gui.main_window import MainWindow

    fps = 30.0
    stamps = np.arange(frames) / fps
    window = MainWindow(no_auto_analysis())
    window.resize(1600, 900)
    window.show()
    QTest.qWaitForWindowExposed(window)
    started = time.perf_counter()
    session = window.session  # a made-up hour-long video: the session's state, set as opening would
    session.video, session.data = OpenVideo(Path("hour.mp4"), "0" * 64, stamps, fps), ReviewData(stamps)
    session.add_rows(synthetic_rows(frames, fps, gap=(5000, 5600)))
    window.timeline.set_duration(stamps)
    window.refresh_plots()
    app.processEvents()
    print(f"  load {frames} frames of results into the plots: {time.perf_counter() - started:.2f} s")
    rng = np.random.default_rng(1)
    for label, zoom in (("whole hour in view", None), ("60 s in view", 60.0)):
        if zoom:
            window.timeline.va_plot.setXRange(1800, 1800 + zoom, padding=0)
        app.processEvents()
        low, high = window.timeline.view_range()
        times = []
        for _ in range(moves):
            frame = int(rng.uniform(low, high) * fps)
            start = time.perf_counter()
            window.seek(frame)
            window.timeline.viewport().repaint()
            window.va_plane.plot.viewport().repaint()
            times.append(time.perf_counter() - start)
        print(f"  playhead move + repaint ({label}): {percentiles(times)}")
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeks", action="store_true", help="only the 720p seek latencies")
    parser.add_argument("--videos", type=Path, help="keep the encoded test videos here and reuse them")
    parser.add_argument("--clicks", type=int, help="seeks per way (default 30 with --seeks, else 100)")
    parser.add_argument("--way", choices=["plain", "frame", "cache"], help="only this way of the seeks")
    parser.add_argument("--first-results", action="store_true", help="only the first-run wait for results")
    parser.add_argument("--runs", type=int, default=1, help="--first-results: repetitions")
    args = parser.parse_args()
    if args.first_results:
        first_results(args.runs)
        sys.stdout.flush()
        os._exit(0)
    runs, seeks, moves = (2, 30, 60) if args.quick or args.seeks else (5, 100, 200)
    seeks = args.clicks or seeks
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        videos = args.videos or tmp
        videos.mkdir(parents=True, exist_ok=True)
        os.environ["AFFECTSTUDIO_DATA_DIR"] = str(tmp / "data")
        print(f"Qt platform: {os.environ['QT_QPA_PLATFORM']}")
        if not args.seeks:
            time_to_first_window(runs, tmp / "data")
        from affectstudio.gui.app import make_app

        app = make_app()
        for width, height in ((640, 360), (1280, 720)):
            for gop in (30, 250):
                if args.seeks and height != 720:
                    continue
                video = videos / f"sample_{height}p_gop{gop}.mp4"
                if not video.exists():
                    make_video(video, width, height, gop)
                print(f"seek latency {width}x{height}, keyframe every {gop:3d} frames, {seeks} clicks:")
                seek_ways(app, video, seeks, height == 720, args.way)
        if not args.seeks:
            print("playhead redraw with 108,000 frames (1 h at 30 fps):")
            playhead_redraw(app, 108_000, moves)
    sys.stdout.flush()
    # Skip interpreter teardown: PySide6 and pyqtgraph can crash while garbage-collecting Qt objects at
    # exit, which would hide nothing measured but end the run with an alarming message.
    os._exit(0)


if __name__ == "__main__":
    main()
