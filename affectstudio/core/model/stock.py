"""Import the released DDAMFN checkpoints (SainingZhang/DDAMFN, DDAMFN++ folder) into our network.

Stock layout: `{'iter': int, 'model_state_dict': {...}}` with 1190 tensors (keys optionally prefixed
`module.` when saved from DataParallel). Backbone, attention heads and GDConv load key for key after a
prefix rename; the stock 8- or 7-way `fc` becomes our expression head with its rows moved to ABAW order.
Every stock key is either loaded or on the explicit list of keys the stock forward never uses; anything
else (an unknown or missing key, a wrong shape) means this is not a DDAMFN file and is an error.

The imported network has no shared hidden layer (heads sit on the 512-d embedding, as `fc` did) and
carries valence/arousal and AU heads at a fixed random initialisation, recorded as untrained.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from affectstudio.core.errors import CheckpointError
from affectstudio.core.labels import AFFECTNET_TO_ABAW, EXPRESSIONS, TASKS
from affectstudio.core.model.config import (
    CheckpointConfig,
    LoadedModel,
    check_config,
    loaded,
    read_torch_file,
)
from affectstudio.core.model.network import DDAMFN
from affectstudio.core.wording import plural

# Stored by the stock network but never applied by its forward pass:
UNUSED_STOCK_KEYS = (
    # the BatchNorm and PReLU inside every mixed depthwise conv
    re.compile(r"features\.\d+(\.model\.\d+)?\.conv_dw\.(bn|prelu)\.[a-z_]+"),
    # each attention head's own 7x7 depthwise block
    re.compile(r"cat_head\d+\.CoordAtt\.Linear\.(conv|bn)\.[a-z_]+"),
    # the class-wise BatchNorm1d after fc
    re.compile(r"bn\.(weight|bias|running_mean|running_var|num_batches_tracked)"),
)

# Logit given to ABAW classes a stock head never saw: softmax probability exp(-1e4) == 0, fp16-safe.
ABSENT_CLASS_LOGIT = -1.0e4

STOCK_SOURCE = (
    "DDAMFN++ release (Zhang et al., Electronics 12(17) 3595, 2023; github.com/SainingZhang/DDAMFN)"
)


def is_stock_checkpoint(obj) -> bool:
    """True for the released layout or a bare stock state_dict."""
    state = obj.get("model_state_dict", obj) if isinstance(obj, dict) else None
    return isinstance(state, dict) and any(str(k).endswith("features.0.conv.weight") for k in state)


def import_stock_checkpoint(path: str | Path, obj=None) -> LoadedModel:
    """Load a stock DDAMFN .pth file as a LoadedModel (expression head in ABAW order)."""
    path = Path(path)
    obj = read_torch_file(path) if obj is None else obj
    if not is_stock_checkpoint(obj):
        raise CheckpointError(path, "not a DDAMFN checkpoint (no stock model_state_dict)")
    state = _strip_module_prefix(obj.get("model_state_dict", obj))
    num_heads = len({key.split(".")[0] for key in state if key.startswith("cat_head")})
    fc_weight, fc_bias = state.get("fc.weight"), state.get("fc.bias")
    if num_heads < 1 or fc_weight is None or fc_bias is None or fc_weight.shape[0] not in (7, 8):
        raise CheckpointError(path, "not a DDAMFN checkpoint (needs attention heads and a 7- or 8-way fc)")

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the untrained va/au heads are the same on every import
        model = DDAMFN(num_heads=num_heads, tasks=TASKS, hidden=None)
    target = model.state_dict()
    renamed = {}
    for key, value in state.items():
        if key in ("fc.weight", "fc.bias") or any(p.fullmatch(key) for p in UNUSED_STOCK_KEYS):
            continue
        ours = _our_key(key)
        if ours is None or ours not in target:
            raise CheckpointError(path, f"unexpected key in DDAMFN checkpoint: {key}")
        if tuple(value.shape) != tuple(target[ours].shape):
            raise CheckpointError(
                path, f"{key} has shape {tuple(value.shape)}, expected {tuple(target[ours].shape)}"
            )
        renamed[ours] = value
    missing = [key for key in target if not key.startswith("classifier.") and key not in renamed]
    if missing:
        raise CheckpointError(
            path, f"DDAMFN checkpoint lacks {plural(len(missing), 'key')}, e.g. {missing[0]}"
        )
    renamed.update(_expression_head(fc_weight, fc_bias, model, path))
    model.load_state_dict(renamed, strict=False)

    classes = fc_weight.shape[0]
    config = CheckpointConfig(
        architecture=model.architecture,
        heads_trained={"va": False, "expr": True, "au": False},
        untrained_expressions=[] if classes == 8 else [EXPRESSIONS[AFFECTNET_TO_ABAW[7]]],
        provenance={
            "name": path.stem,
            "source": STOCK_SOURCE,
            "original_file": path.name,
            "training_data": _training_data(path, classes),
            "recipe": f"stock {classes}-way expression classifier, rows remapped to ABAW order",
            "stock_iter": obj["iter"] if isinstance(obj.get("iter"), int) else None,
        },
    )
    check_config(config, path)
    return loaded(model, config, path.stem, path)


def _strip_module_prefix(state: dict) -> dict:
    if state and all(str(key).startswith("module.") for key in state):
        return {key[len("module.") :]: value for key, value in state.items()}
    return dict(state)


def _our_key(stock_key: str) -> str | None:
    """Stock name -> our name for the parts that load key for key; None for anything unknown."""
    if stock_key.startswith("features."):
        return stock_key
    match = re.fullmatch(r"cat_head(\d+)\.CoordAtt\.(.+)", stock_key)
    if match:
        return f"attention.{match[1]}.{match[2]}"
    if stock_key.startswith("Linear."):
        return "gdconv." + stock_key[len("Linear.") :]
    return None


def _expression_head(weight: torch.Tensor, bias: torch.Tensor, model: DDAMFN, path: Path) -> dict:
    """Move each AffectNet row to its ABAW index; ABAW classes the head never had get a ~0 probability."""
    if weight.shape[1] != model.classifier.expr.in_features or bias.shape != weight.shape[:1]:
        raise CheckpointError(path, f"fc has shape {tuple(weight.shape)}, expected (7 or 8, 512)")
    new_weight = torch.zeros(len(EXPRESSIONS), weight.shape[1], dtype=weight.dtype)
    new_bias = torch.full((len(EXPRESSIONS),), ABSENT_CLASS_LOGIT, dtype=bias.dtype)
    for stock_index in range(weight.shape[0]):
        new_weight[AFFECTNET_TO_ABAW[stock_index]] = weight[stock_index]
        new_bias[AFFECTNET_TO_ABAW[stock_index]] = bias[stock_index]
    return {"classifier.expr.weight": new_weight, "classifier.expr.bias": new_bias}


def _training_data(path: Path, classes: int) -> str:
    if "raf" in path.name.lower():
        return "RAF-DB (7 basic expressions)"
    return "AffectNet-8" if classes == 8 else "AffectNet-7"
