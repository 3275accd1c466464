"""The one way files are written: all or nothing, ordinary permissions, no clobbering when asked."""

from __future__ import annotations

import multiprocessing
import os
import stat

import pytest

from affectstudio.core.paths import atomic_folder, atomic_path, atomic_write, write_text_atomic


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_get_the_umask_permissions_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.json", "{}")
        with atomic_path(tmp_path / "b.png") as temp:
            temp.write_bytes(b"png")
        with atomic_folder(tmp_path / "set") as folder:
            (folder / "x.txt").write_text("x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.json") == 0o644
    assert _mode(tmp_path / "b.png") == 0o644
    assert _mode(tmp_path / "set") == 0o755


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_temp_path_keeps_the_suffix_so_writers_pick_the_format(tmp_path):
    with atomic_path(tmp_path / "plot.svg") as temp:
        assert temp.suffix == ".svg" and temp.parent == tmp_path and temp != tmp_path / "plot.svg"
        temp.write_text("<svg/>")
    assert (tmp_path / "plot.svg").read_text() == "<svg/>"


def test_no_clobber_refuses_an_existing_file(tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"first")
    with pytest.raises(FileExistsError), atomic_write(target, overwrite=False) as handle:
        handle.write(b"second")
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def _race(path, payload, barrier, results):
    barrier.wait()
    try:
        with atomic_write(path, overwrite=False) as handle:
            handle.write(payload * 100_000)
        results.put(("ok", payload))
    except FileExistsError:
        results.put(("exists", payload))


def test_two_processes_writing_the_same_name_without_clobbering_one_wins_whole(tmp_path):
    target = tmp_path / "same.bin"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_race, args=(target, tag, barrier, results)) for tag in (b"a", b"b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    outcomes = sorted(results.get(timeout=5) for _ in workers)
    assert [state for state, _ in outcomes] == ["exists", "ok"]
    winner = next(payload for state, payload in outcomes if state == "ok")
    assert target.read_bytes() == winner * 100_000


def test_a_folder_is_published_whole_or_not_at_all(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_folder(tmp_path / "dataset") as folder:
        (folder / "train.csv").write_text("image\n")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "dataset").mkdir()  # an empty folder (e.g. made by a folder picker) may be filled
    with atomic_folder(tmp_path / "dataset") as folder:
        (folder / "train.csv").write_text("image\n")
    assert (tmp_path / "dataset" / "train.csv").is_file()
    with pytest.raises(OSError), atomic_folder(tmp_path / "dataset") as folder:
        (folder / "other.csv").write_text("image\n")
    assert sorted(p.name for p in (tmp_path / "dataset").iterdir()) == ["train.csv"]
