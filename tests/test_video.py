"""VideoReader: frame-exact seeks, exact timestamps, rotation, and clear errors for bad files."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from affectstudio.core.errors import VideoError
from affectstudio.core.video import VideoReader
from tests.videos import (
    decode_index,
    vfr_timestamps,
    write_audio_only,
    write_indexed_video,
    write_zero_frame_video,
)

N_FRAMES = 40


@pytest.fixture(scope="module")
def indexed_videos(tmp_path_factory) -> dict[str, tuple]:
    """One indexed video per codec (B-frames, keyframe every 12 frames), with the times written."""
    folder = tmp_path_factory.mktemp("videos")
    videos = {}
    for codec in ("libx264", "mpeg4"):
        if codec in av.codecs_available:
            path = folder / f"indexed_{codec}.mp4"
            videos[codec] = (path, write_indexed_video(path, N_FRAMES, codec=codec))
    return videos


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_every_random_read_returns_exactly_that_frame(indexed_videos, codec):
    if codec not in indexed_videos:
        pytest.skip(f"{codec} encoder not in this PyAV build")
    path, times = indexed_videos[codec]
    with VideoReader(path) as reader:
        assert reader.info.frame_count == N_FRAMES == len(reader)
        assert (reader.info.width, reader.info.height) == (128, 96)
        assert reader.info.fps == pytest.approx(25.0)
        assert reader.info.duration == pytest.approx(N_FRAMES / 25.0)
        np.testing.assert_allclose(reader.timestamps, times, atol=1e-9)
        order = np.random.default_rng(1).permutation(N_FRAMES).tolist()
        for index in [*order, *order[::-1], 0, N_FRAMES - 1, 0]:
            frame = reader.read(index)
            assert frame.index == index
            assert decode_index(frame.image) == index
            assert frame.time == reader.timestamps[index]
            assert frame.image.shape == (96, 128, 3) and frame.image.dtype == np.uint8


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_a_seek_decodes_only_reference_frames_before_its_target_and_gives_the_same_pixels(
    indexed_videos, codec
):
    """On its way from the keyframe to the target, a seek decodes only the frames others are predicted from
    (those a whole-file decode with skip_frame=NONREF still gives), yet returns the frame a plain sequential
    decode gives, pixel for pixel, whether the target is a B-, P- or I-frame."""
    if codec not in indexed_videos:
        pytest.skip(f"{codec} encoder not in this PyAV build")
    path, _ = indexed_videos[codec]
    with VideoReader(path) as reader:
        sequential = [frame.image for frame in reader]
        pts = reader._pts.tolist()
    with av.open(str(path)) as container:
        types = {frame.pts: frame.pict_type for frame in container.decode(video=0)}
        types = "".join(av.video.frame.PictureType(types[p]).name for p in pts)
    with av.open(str(path)) as container:
        container.streams.video[0].codec_context.skip_frame = "NONREF"
        references = {pts.index(frame.pts) for frame in container.decode(video=0)}
    assert types.startswith("IBBP") and types[12] == "I"  # B-frames, groups of 12 frames
    assert len(references) < N_FRAMES  # some frames can be skipped
    last_b, last_p = types.rindex("B", 12, 24), types.rindex("P", 12, 24)
    for target in (last_b, last_b - 1, last_p, 12, 13, N_FRAMES - 1):
        with VideoReader(path) as reader:
            decoded = []
            plain = reader._decode_from_here

            def counting(plain=plain, decoded=decoded):
                for frame in plain():
                    decoded.append(pts.index(frame.pts))
                    yield frame

            reader._decode_from_here = counting
            frame = reader.read(target)
            assert frame.index == target and decode_index(frame.image) == target
            np.testing.assert_array_equal(frame.image, sequential[target])
            key = max(k for k in reader._keyframes if k <= target)
            before = sorted(i for i in decoded if i < target)
            assert before == [i for i in range(key, target) if i in references]
            # reading on from the target decodes every frame in full again
            for index in range(target + 1, min(target + 6, N_FRAMES)):
                np.testing.assert_array_equal(reader.read(index).image, sequential[index])


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [
        (".mkv", "libx264"),
        (".mov", "libx264"),
        (".ts", "libx264"),  # no seek index: the demuxer lands late, the reader steps back
        (".h264", "libx264"),  # raw stream without timestamps: numbered in decode order
        (".avi", "mpeg4"),
        (".mpg", "mpeg2video"),
        (".webm", "libvpx-vp9"),
    ],
)
def test_containers_and_codecs_seek_exactly(tmp_path, suffix, codec):
    if codec not in av.codecs_available:
        pytest.skip(f"{codec} encoder not in this PyAV build")
    path = tmp_path / f"indexed{suffix}"
    write_indexed_video(path, 30, codec=codec)
    with VideoReader(path) as reader:
        assert reader.info.frame_count == 30
        np.testing.assert_allclose(reader.timestamps, np.arange(30) / 25, atol=1e-9)
        for index in [*np.random.default_rng(5).permutation(30).tolist(), 29, 3]:
            assert decode_index(reader.read(index).image) == index
        assert [decode_index(f.image) for f in reader] == list(range(30))


def test_iteration_and_ranges_yield_each_frame_in_order(indexed_videos):
    path, _ = next(iter(indexed_videos.values()))
    with VideoReader(path) as reader:
        assert [decode_index(f.image) for f in reader] == list(range(N_FRAMES))
        assert [f.index for f in reader.frames(7, 15)] == list(range(7, 15))
        assert [decode_index(f.image) for f in reader.frames(30)] == list(range(30, N_FRAMES))


def test_sequential_reads_do_not_seek(indexed_videos, monkeypatch):
    path, _ = next(iter(indexed_videos.values()))
    with VideoReader(path) as reader:
        reader.read(5)
        seeks = []
        original = reader._seek
        monkeypatch.setattr(reader, "_seek", lambda index: seeks.append(index) or original(index))
        for index in range(6, N_FRAMES):
            assert decode_index(reader.read(index).image) == index
        assert seeks == []
        reader.read(2)  # backwards needs a seek
        assert len(seeks) == 1


def test_out_of_range_index_raises_index_error(indexed_videos):
    path, _ = next(iter(indexed_videos.values()))
    with VideoReader(path) as reader, pytest.raises(IndexError):
        reader.read(N_FRAMES)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_gives_the_exact_timestamps(tmp_path, suffix):
    path = tmp_path / f"vfr{suffix}"
    times = write_indexed_video(path, 30, vfr=True)
    np.testing.assert_array_equal(times, vfr_timestamps(30))
    with VideoReader(path) as reader:
        np.testing.assert_allclose(reader.timestamps, times, atol=1e-9)
        assert reader.timestamps[0] == 0.0
        for index in np.random.default_rng(2).permutation(30):
            frame = reader.read(int(index))
            assert decode_index(frame.image) == index
            assert frame.time == pytest.approx(times[index], abs=1e-9)


def test_first_frame_is_at_zero_even_when_the_stream_starts_later(tmp_path):
    path = tmp_path / "late.mkv"
    write_indexed_video(path, 10, timestamps=[2.5 + 0.04 * i for i in range(10)])
    with VideoReader(path) as reader:
        np.testing.assert_allclose(reader.timestamps, 0.04 * np.arange(10), atol=1e-9)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_metadata_gives_upright_images(tmp_path, rotation):
    path = tmp_path / f"rotated{rotation}.mp4"
    write_indexed_video(path, 16, size=(128, 96), rotation=rotation)
    with VideoReader(path) as reader:
        assert reader.info.rotation == rotation
        upright_size = (96, 128) if rotation in (90, 270) else (128, 96)
        assert (reader.info.width, reader.info.height) == upright_size
        for index in (3, 0, 15, 7):
            image = reader.read(index).image
            assert image.shape == (upright_size[1], upright_size[0], 3)
            # the reader turned the stored picture clockwise by `rotation`; undoing it restores the pattern
            assert decode_index(np.rot90(image, k=rotation // 90)) == index
            assert decode_index(image) is None


def test_non_square_pixels_come_out_at_the_displayed_width(tmp_path):
    path = tmp_path / "anamorphic.mkv"
    write_indexed_video(path, 12, size=(128, 96), pixel_aspect=Fraction(4, 3), rotation=90)
    with VideoReader(path) as reader:
        assert (reader.info.width, reader.info.height) == (96, 171)  # 128 * 4/3 wide, then turned
        for index in (5, 0, 11):
            image = reader.read(index).image
            assert image.shape == (171, 96, 3)
            assert decode_index(np.rot90(image, k=1)) == index


def test_rotation_matches_opencv_autorotate(tmp_path):
    """An independent reference for the direction of the turn: OpenCV's own display-matrix handling."""
    path = tmp_path / "rotated.mp4"
    write_indexed_video(path, 4, size=(128, 96), rotation=90)
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    ok, bgr = capture.read()
    capture.release()
    assert ok
    with VideoReader(path) as reader:
        np.testing.assert_array_equal(reader.read(0).image, bgr[:, :, ::-1])


def test_real_sample_video(sample_video):
    with VideoReader(sample_video) as reader:
        info = reader.info
        # stored 176x144 with pixels of aspect 128:117 (QCIF from BT.601), so shown 193 pixels wide
        assert (info.width, info.height, info.frame_count, info.rotation) == (193, 144, 120, 0)
        assert info.fps == pytest.approx(30000 / 1001)
        np.testing.assert_allclose(reader.timestamps, np.arange(120) * 1001 / 30000, atol=1e-9)
        images = [frame.image for frame in reader]
        assert len(images) == 120 and images[0].shape == (144, 193, 3)
        for index in np.random.default_rng(3).permutation(120)[:40]:
            np.testing.assert_array_equal(reader.read(int(index)).image, images[index])


# -- bad input ------------------------------------------------------------------------------------------


def _expect_video_error(path, words: str) -> str:
    with pytest.raises(VideoError) as caught:
        VideoReader(path)
    message = str(caught.value)
    assert str(path) in message and words in message
    return message


def test_missing_file_and_folder(tmp_path):
    _expect_video_error(tmp_path / "absent.mp4", "not found")
    _expect_video_error(tmp_path, "not a file")


def test_text_file_and_garbage_renamed_mp4(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("these are my notes, not a video\n" * 20)
    _expect_video_error(text, "not a readable video")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(4).bytes(40_000))
    _expect_video_error(garbage, "not a readable video")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    _expect_video_error(empty, "not a readable video")


def test_zero_frames(tmp_path):
    _expect_video_error(write_zero_frame_video(tmp_path / "zero.avi"), "no video frames")


def test_no_video_stream(tmp_path):
    _expect_video_error(write_audio_only(tmp_path / "speech.m4a"), "no video stream")


def test_mp4_truncated_before_its_index(tmp_path):
    full = tmp_path / "full.mp4"
    write_indexed_video(full, 30)  # moov written last, as most recorders do
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    _expect_video_error(cut, "truncated")


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_truncated_file_reads_the_frames_it_has(tmp_path, suffix):
    full = tmp_path / f"full{suffix}"
    write_indexed_video(full, 40, faststart=True)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 6 // 10])
    with VideoReader(cut) as reader:
        n = reader.info.frame_count
        assert 10 < n < 40
        assert reader.info.truncated.startswith("truncated or damaged:")
        assert str(n) in reader.info.truncated
        assert [decode_index(f.image) for f in reader] == list(range(n))
        assert decode_index(reader.read(n - 1).image) == n - 1
    with VideoReader(full) as reader:
        assert reader.info.frame_count == 40 and reader.info.truncated == ""


def test_truncated_to_nothing_playable(tmp_path):
    full = tmp_path / "full.mp4"
    write_indexed_video(full, 30, faststart=True)
    with av.open(str(full)) as container:  # cut just after the header, before any frame's data
        first_packet = next(p for p in container.demux(video=0) if p.size)
        cut_at = first_packet.pos + 10
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[:cut_at])
    with pytest.raises(VideoError) as caught:
        VideoReader(cut)
    assert str(cut) in str(caught.value)


def test_damaged_middle_still_reads(tmp_path):
    full = tmp_path / "full.mp4"
    write_indexed_video(full, 40, faststart=True)
    data = bytearray(full.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 300] = np.random.default_rng(0).bytes(300)  # the same damage every run
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with VideoReader(damaged) as reader:
        frames = list(reader)
        assert len(frames) >= 30
        assert [f.index for f in frames] == sorted({f.index for f in frames})
        # frames the damage did not touch still carry their own index
        assert sum(decode_index(f.image) == f.index for f in frames) >= 25
