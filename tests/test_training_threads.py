"""OpenMP threads that sleep while they wait (training/threads.py): set before torch loads OpenMP."""

from __future__ import annotations

import os
import subprocess
import sys

from training.threads import POLICY, prefer_passive_waiting

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(code: str, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != POLICY} | {"PYTHONPATH": REPO} | env
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ,
                          timeout=120, check=True)  # fmt: skip


def test_openmp_reads_the_passive_policy_when_set_before_torch():
    code = (
        "from training.threads import prefer_passive_waiting; print(prefer_passive_waiting()); "
        "import torch; torch.ones(4).sum()"
    )
    done = _python(code, OMP_DISPLAY_ENV="TRUE")  # OpenMP prints its settings when it starts
    assert done.stdout.strip() == "True"
    assert "OMP_WAIT_POLICY = 'PASSIVE'" in done.stderr, done.stderr


def test_the_training_cli_sets_it_before_any_command(tmp_path):
    code = (
        "import os, sys; from training.cli import main; "
        f"main(['init-config', {str(tmp_path / 'run.toml')!r}]); "
        "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    )
    assert _python(code).stdout.split()[-2:] == ["PASSIVE", "False"]


def test_a_policy_the_user_chose_wins_and_too_late_is_said(monkeypatch):
    monkeypatch.setenv(POLICY, "ACTIVE")
    assert not prefer_passive_waiting()
    assert os.environ[POLICY] == "ACTIVE"
    monkeypatch.delenv(POLICY)
    import torch  # noqa: F401  (OpenMP has read its environment: setting it now would change nothing)

    assert not prefer_passive_waiting()
    assert POLICY not in os.environ
