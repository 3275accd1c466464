"""OpenMP threads that sleep while they wait: training on a CPU that other programs share.

PyTorch's CPU kernels run on GNU OpenMP, whose idle threads spin for a while at every barrier before
they sleep. A training step is thousands of short parallel regions; when another program holds a core,
the spinning thread burns it while the thread it waits for is not running. Measured on the 2-core
development machine at load 10 (batch 16, training step, 2 threads): 1.12 CPU-seconds and 3.0 s wall per
image with the default policy, 0.16 CPU-s and 0.42 s wall with `OMP_WAIT_POLICY=PASSIVE` (1 thread:
0.13 CPU-s, 0.53 s). OpenMP reads the variable once, when torch is first imported, so the entry points
(`python -m training`, `affectstudio train`, the benchmarks) call `prefer_passive_waiting()` before that;
a value the user set wins.
"""

from __future__ import annotations

import os
import sys

POLICY = "OMP_WAIT_POLICY"


def prefer_passive_waiting() -> bool:
    """Set OMP_WAIT_POLICY=PASSIVE unless it is set already; False when torch is already imported (too
    late: OpenMP has read its environment) or the user chose a policy."""
    if "torch" in sys.modules or os.environ.get(POLICY):
        return False
    os.environ[POLICY] = "PASSIVE"
    return True
