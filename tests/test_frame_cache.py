"""PlayheadFrames: cached frames are the exact frames, and stepping near the playhead does not re-seek."""

from __future__ import annotations

import numpy as np
import pytest

from affectstudio.core.frame_cache import FrameCache, PlayheadFrames
from affectstudio.core.video import Frame, VideoReader
from tests.long_gop import KEYINT, write_long_gop_video
from tests.videos import decode_index


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory):
    return write_long_gop_video(tmp_path_factory.mktemp("long_gop") / "long_gop.mp4")


@pytest.fixture
def seeks(monkeypatch) -> list[int]:
    """Every seek any reader makes from now on (the expensive part of a random read)."""
    made, plain = [], VideoReader._seek

    def seek(reader, index):
        made.append(index)
        plain(reader, index)

    monkeypatch.setattr(VideoReader, "_seek", seek)
    return made


def idle(frames: PlayheadFrames, steps: int = 1000) -> None:
    """Let the cache fill around the playhead, as the grabber thread does between requests."""
    for _ in range(steps):
        if not frames.prefetch():
            return


def test_the_video_has_one_long_group_of_pictures(long_gop):
    with VideoReader(long_gop) as reader:
        assert reader._keyframes == [0, KEYINT] and reader.longest_gop == KEYINT


def test_cached_frames_are_pixel_for_pixel_a_fresh_decode(long_gop):
    rng = np.random.default_rng(7)
    with VideoReader(long_gop) as reader, VideoReader(long_gop) as fresh:
        frames = PlayheadFrames(reader)
        targets = [*rng.integers(0, len(reader), 25).tolist(), 240, 239, 238, 251, 249, 0, 299]
        for step, index in enumerate(targets):
            frame = frames.read(index)
            fresh._decoder = fresh._pending = None  # a cold read: seek from the keyframe
            expected = fresh.read(index).image
            assert frame.index == index and decode_index(frame.image) == index
            assert np.array_equal(frame.image, expected), f"frame {index} differs from a fresh decode"
            if step % 3 == 0:
                idle(frames)
        cached = [i for i in range(len(reader)) if i in frames.cache]
        assert len(cached) > 40
        for index in rng.choice(cached, 15, replace=False).tolist():
            fresh._decoder = fresh._pending = None
            assert np.array_equal(frames.cached(index).image, fresh.read(index).image)


def test_stepping_back_seeks_once_per_half_window_not_once_per_step(long_gop, seeks):
    with VideoReader(long_gop) as reader:
        frames = PlayheadFrames(reader)
        frames.read(230)
        idle(frames)
        seeks.clear()
        for index in range(229, 229 - 3 * frames.behind, -1):  # three windows' worth of back steps
            assert decode_index(frames.read(index).image) == index
            idle(frames)
        assert 0 < len(seeks) <= 3 * 2 + 1
    with VideoReader(long_gop) as plain:  # what it saves: a plain reader seeks at every back step
        seeks.clear()
        for index in range(229, 219, -1):
            plain.read(index)
        assert len(seeks) == 10


def test_stepping_and_playing_forward_never_seek(long_gop, seeks):
    with VideoReader(long_gop) as reader:
        frames = PlayheadFrames(reader)
        frames.read(100)
        idle(frames)
        seeks.clear()
        for index in range(101, 200):
            assert decode_index(frames.read(index).image) == index
            if index % 2:
                idle(frames)
        assert seeks == []


def test_an_interrupted_read_leaves_later_reads_exact(long_gop, seeks):
    with VideoReader(long_gop) as fresh:
        expected = {index: fresh.read(index).image for index in (210, 215)}
    with VideoReader(long_gop) as reader:
        seeks.clear()
        pulled = []
        assert reader.read_unless(200, lambda: pulled.append(1) or len(pulled) > 5) is None
        assert seeks == [200]
        assert reader.decode_distance(210) > 150  # it stopped far before 200: 210 is still a long way
        frame = reader.read(210)  # further on: continues from where the interrupted read stopped
        assert seeks == [200] and np.array_equal(frame.image, expected[210])
        assert reader.read_unless(220, lambda: True) is None
        frame = reader.read(215)  # before the interrupted target: frames may have been skipped, so seek
        assert seeks == [200, 215] and np.array_equal(frame.image, expected[215])


def test_a_twin_reader_decodes_the_same_frames_on_its_own(long_gop):
    with VideoReader(long_gop) as fresh:
        expected = fresh.read(60).image
    with VideoReader(long_gop) as reader:
        twin = reader.twin()
        try:
            reader.read(120)
            assert np.array_equal(twin.read(60).image, expected)
            assert decode_index(reader.read(121).image) == 121  # the first decoder kept its place
            assert reader.decode_distance(122) == 1 and twin.decode_distance(61) == 1
        finally:
            twin.close()


def test_the_cache_stays_within_its_byte_budget_dropping_the_least_recent():
    image = np.zeros((10, 10, 3), np.uint8)  # 300 bytes
    cache = FrameCache(max_bytes=1000)
    for index in range(3):
        cache.put(Frame(index, index / 25, image.copy()))
    assert cache.get(0) is not None  # 0 is now the most recent
    cache.put(Frame(3, 3 / 25, image.copy()))
    assert cache.nbytes <= 1000 and len(cache) == 3
    assert 1 not in cache and all(i in cache for i in (0, 2, 3))


def test_the_window_around_the_playhead_fits_the_budget(long_gop):
    with VideoReader(long_gop) as reader:
        frame_bytes = 192 * 144 * 3
        frames = PlayheadFrames(reader, max_bytes=12 * frame_bytes)
        assert (frames.ahead, frames.behind) == (3, 6)
        frames.read(150)
        idle(frames)
        assert all(i in frames.cache for i in range(144, 154)) and frames.cache.nbytes <= 12 * frame_bytes
