"""The README's set-up section as a new user reads it."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_setup_keeps_two_commands_and_says_how_to_avoid_the_cuda_torch_on_a_cpu_machine():
    text = README.read_text(encoding="utf-8")
    setup = text.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    assert setup.count("```") == 4  # exactly two set-up commands, each in its own block
    flat = " ".join(setup.split())
    # a CPU-only Linux machine otherwise gets PyPI's CUDA torch (a 7.5 GB environment)
    assert "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu" in flat
