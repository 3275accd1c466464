"""What travels with a set of weights: the checkpoint config, the loaded-model bundle, safe file reading.

Shared by `checkpoint.py` (our format) and `stock.py` (the released DDAMFN files), which both produce a
`LoadedModel`. Everything in a config is a plain Python type so checkpoints load with `weights_only=True`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from affectstudio.core import transforms
from affectstudio.core.errors import CheckpointError
from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD, EXPRESSIONS, TASKS
from affectstudio.core.wording import plural

if TYPE_CHECKING:  # this module is imported without torch: the warm start reads configs from the cache
    import torch

    from affectstudio.core.model.network import DDAMFN

INPUT_SIZE = 112


def default_preprocessing() -> dict:
    """Aligned 112x112 RGB face crop, scaled to [0,1], ImageNet statistics (see core/transforms.py)."""
    return transforms.default_preprocessing(transforms.ALIGNED) | {"input_size": INPUT_SIZE}


@dataclass
class CheckpointConfig:
    """Everything besides the weights that a user of the model needs (timm's "pretrained config")."""

    architecture: dict
    heads_trained: dict[str, bool]
    expressions: list[str] = field(default_factory=lambda: list(EXPRESSIONS))
    action_units: list[str] = field(default_factory=lambda: list(ACTION_UNITS))
    au_thresholds: list[float] = field(default_factory=lambda: [DEFAULT_AU_THRESHOLD] * len(ACTION_UNITS))
    preprocessing: dict = field(default_factory=default_preprocessing)
    provenance: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    # Expression classes the expression head was never trained on (a 7-way stock head has no "Other").
    untrained_expressions: list[str] = field(default_factory=list)

    @property
    def crop_method(self) -> str:
        """`aligned-5pt` or `box`; configs written before it was recorded resolve as transforms says."""
        return transforms.resolve(self).crop_method

    @property
    def tasks(self) -> list[str]:
        return list(self.architecture.get("tasks", []))

    @property
    def untrained_tasks(self) -> list[str]:
        """Task heads present in the network whose outputs are not the result of training."""
        return [task for task in self.tasks if not self.heads_trained.get(task, False)]

    def describe_untrained(self) -> str | None:
        """One line for the CLI, CSV metadata and the GUI; None when every head is trained."""
        if not self.untrained_tasks:
            return None
        names = {"va": "valence/arousal", "expr": "expression", "au": "action units"}
        which = ", ".join(names[task] for task in self.untrained_tasks)
        return f"untrained predictions (random weights, not meaningful): {which}"


@dataclass
class LoadedModel:
    """A network ready for inference (eval mode) with its config and a content digest for caching.

    `model` is None only for a model opened from the fast-path cache without PyTorch (`core/compiled.py`):
    its config, name and digest, not its weights. `source` says which file (path, size, modification time)
    or which built-in network it came from, so the cache can find it again without loading it."""

    model: DDAMFN | None
    config: CheckpointConfig
    name: str
    path: Path | None
    digest: str
    source: dict | None = None

    @property
    def is_untrained(self) -> bool:
        return bool(self.config.untrained_tasks)


def weights_digest(model: torch.nn.Module) -> str:
    """sha256 over every state_dict entry (name, dtype, shape, bytes): equal weights, equal digest."""
    import torch

    sha = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu().contiguous().reshape(-1)
        sha.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        sha.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return sha.hexdigest()


def file_identity(path: Path) -> dict:
    """Which file a model came from, taken before reading it: a later lookup by identity (the fast-path
    cache's) misses when the file was replaced or changed meanwhile."""
    stat = path.stat()
    return {"file": str(path.resolve()), "size": stat.st_size, "modified_ns": stat.st_mtime_ns}


def untrained_identity(seed: int) -> dict:
    """The fixed-seed untrained network is made by code: the same code and torch version, the same weights."""
    from importlib.metadata import PackageNotFoundError, version

    from affectstudio import __version__

    code = Path(__file__).with_name("network.py")
    try:  # in a frozen bundle there is no source file: the version stands for the code
        code_id = hashlib.sha256(code.read_bytes()).hexdigest()[:16]
    except OSError:
        code_id = __version__
    try:
        torch_version = version("torch")
    except PackageNotFoundError:
        torch_version = "unknown"
    return {"untrained_seed": seed, "network_code": code_id, "torch": torch_version}


def loaded(
    model: DDAMFN, config: CheckpointConfig, name: str, path: Path | None, source: dict | None = None
) -> LoadedModel:
    model.eval()
    return LoadedModel(model, config, name, path, weights_digest(model), source)


def check_config(config: CheckpointConfig, path: Path | None) -> None:
    """Reject configs the app could not use consistently (wrong label counts, unknown tasks)."""
    problems = []
    if not config.tasks or set(config.tasks) - set(TASKS):
        problems.append(f"tasks must be a non-empty subset of {list(TASKS)}, got {config.tasks}")
    if len(config.au_thresholds) != len(config.action_units):
        thresholds = plural(len(config.au_thresholds), "AU threshold")
        problems.append(f"{thresholds} for {plural(len(config.action_units), 'AU')}")
    arch = config.architecture
    if "expr" in config.tasks and arch.get("num_expressions") != len(config.expressions):
        problems.append("expression head size does not match the expression names")
    if "au" in config.tasks and arch.get("num_aus") != len(config.action_units):
        problems.append("AU head size does not match the AU names")
    if problems:
        raise CheckpointError(path, "inconsistent model config: " + "; ".join(problems))


def read_torch_file(path: Path):
    """torch.load with weights_only=True; anything unreadable becomes a CheckpointError naming the file."""
    if not path.is_file():
        raise CheckpointError(path, "model file not found")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head:
        raise CheckpointError(path, "model file is empty")
    if head != b"PK\x03\x04" and head[0] != 0x80:  # zip (current torch.save) or legacy pickle
        raise CheckpointError(path, "not a PyTorch model checkpoint")
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt, truncated or foreign files
        raise CheckpointError(path, _load_problem(error)) from None


def _load_problem(error: Exception) -> str:
    """One short line for torch.load's (long, multi-line) complaints."""
    text = str(error)
    if "Weights only load failed" in text:
        detail = re.search(r"WeightsUnpickler error:\s*(.+)", text)
        reason = detail[1].strip() if detail else "unsupported content"
        return (
            f"corrupt, or holds Python objects besides weights ({reason}); "
            "only weights-only checkpoints are loaded"
        )
    first = re.split(r"(?<=\.)\s|\n", text.strip(), maxsplit=1)[0] if text.strip() else type(error).__name__
    return f"corrupt or truncated model checkpoint ({first[:200]})"
