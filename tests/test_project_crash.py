"""A project killed mid-edit (SIGKILL, no clean-up at all) reopens with every edit it reported committed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from affectstudio.core.annotations.lanes import LaneKey
from affectstudio.core.project import ProjectStore

WRITER = """
import sys
import numpy as np
from affectstudio.core.annotations.edits import AddSegment, SetTrace, UndoStack
from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.project import ProjectStore

store = ProjectStore(sys.argv[1])
stack = UndoStack(store)
first = int(sys.argv[2])
for i in range(first, first + 100000):
    stack.push(AddSegment("v", LaneKey("event", "k"), Segment(i, i, f"edit {i}")))
    stack.push(SetTrace("v", LaneKey("valence", "k"), i, np.full((1, 2), (i % 200) / 200, np.float32)))
    print(i, flush=True)  # both edits above are committed
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_in_a_loop_loses_no_committed_edit(tmp_path):
    path = tmp_path / "study.affectproj"
    rng = random.Random(7)
    committed = -1
    for _ in range(10):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(committed + 1)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=os.getcwd(),
        )
        reported = int(child.stdout.readline())  # it has started writing
        deadline = time.monotonic() + rng.uniform(0.05, 0.6)
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if line:
                reported = int(line)
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate()
        for line in rest.split():
            reported = int(line)
        child.wait()
        assert reported > committed, "the writer made no progress"
        with ProjectStore(path) as store:
            events = store.segments("v", LaneKey("event", "k"))
            frames = [e.start for e in events]
            assert frames[: reported + 1] == list(range(reported + 1))  # nothing reported is missing
            assert len(frames) <= reported + 2  # at most the one edit in flight, all of it
            assert all(e.value == f"edit {e.start}" for e in events)
            valence = store.trace("v", LaneKey("valence", "k"))
            arousal = store.trace("v", LaneKey("arousal", "k"))
            expected = (np.arange(reported + 1) % 200) / 200
            np.testing.assert_allclose(valence[: reported + 1], expected, atol=1e-6)
            np.testing.assert_array_equal(valence, arousal)
            # an edit in flight at the kill is all there or not at all: the next one starts after it
            committed = max(reported, len(frames) - 1)
            if len(frames) > reported + 1:  # the event committed, its trace edit maybe not
                store.write_va(
                    "v", "k", -1, len(frames) - 1, np.full((1, 2), ((len(frames) - 1) % 200) / 200)
                )
