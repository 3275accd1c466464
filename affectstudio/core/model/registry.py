"""Installed models: one `.pt` file in our checkpoint format per model under `<data dir>/models/`.

The folder is the index (a model is installed iff `<name>.pt` exists), so there is nothing to get out of
sync after a crash; the only other file is `settings.json` holding the default model's name, written
atomically. Stock DDAMFN files are converted to our format when imported or fetched.

With nothing installed and no default chosen, `load()` gives the untrained fixed-seed network, whose
config says so. The first model imported or fetched becomes the default; a model that training installs
never does (`import_file(..., make_default=False)`): choosing it is the user's explicit step.

Importing this module does not import torch (the checkpoint code is imported where a model is read):
`locate` and `identity` tell the warm start (`core/compiled.py`) which model a run will use without it.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from affectstudio.core.errors import AffectStudioError, CheckpointError, RegistryError
from affectstudio.core.model import download
from affectstudio.core.model.config import CheckpointConfig, LoadedModel, file_identity, untrained_identity
from affectstudio.core.model.download import CatalogEntry, Progress
from affectstudio.core.paths import atomic_write, models_dir

SUFFIX = ".pt"
SETTINGS = "settings.json"
UNTRAINED = "untrained"
UNTRAINED_SEED = 0
STALE_PARTIAL_S = 24 * 3600
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass
class ModelEntry:
    name: str
    path: Path
    config: CheckpointConfig
    installed: bool
    default: bool = False


class ModelRegistry:
    """Install, list, remove and load models; fetch the catalog's released checkpoints."""

    def __init__(
        self,
        root: Path | None = None,
        base_url: str | None = None,
        catalog: Sequence[CatalogEntry] | None = None,
    ):
        self.root = Path(root) if root is not None else models_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        self.base_url = base_url
        self.catalog = {entry.name: entry for entry in (download.CATALOG if catalog is None else catalog)}
        self._remove_stale_partials()

    # --- what is there -------------------------------------------------------------------------
    def scan(self) -> tuple[list[ModelEntry], list[AffectStudioError]]:
        """Installed models, plus one error per model file that cannot be read (never deleted)."""
        from affectstudio.core.model.checkpoint import read_config

        entries, problems = [], []
        default = self.default_name()
        for path in sorted(self.root.glob(f"*{SUFFIX}")):
            try:
                config = read_config(path)
            except CheckpointError as error:
                problems.append(error)
                continue
            entries.append(ModelEntry(path.stem, path, config, True, path.stem == default))
        return entries, problems

    def list(self) -> list[ModelEntry]:
        return self.scan()[0]

    def available(self) -> list[str]:
        """Names `fetch` knows how to download."""
        return list(self.catalog)

    def path_of(self, name: str) -> Path:
        return self.root / f"{_valid_name(name)}{SUFFIX}"

    def is_installed(self, name: str) -> bool:
        return name != UNTRAINED and _NAME.fullmatch(name) is not None and self.path_of(name).is_file()

    # --- changing what is there ----------------------------------------------------------------
    def import_file(
        self, path, name: str | None = None, replace_existing: bool = False, make_default: bool = True
    ) -> ModelEntry:
        """Validate a checkpoint (ours or stock), store it in our format under `name`; with `make_default`
        it becomes the default when there is none yet."""
        from affectstudio.core.model.checkpoint import load_checkpoint

        source = Path(path)
        loaded = load_checkpoint(source)
        name = name or _name_from(source)
        provenance = {**loaded.config.provenance, "name": name, "imported_from": str(source.resolve())}
        config = replace(loaded.config, provenance=provenance)
        return self._install(name, loaded, config, replace_existing, make_default)

    def fetch(self, name: str, progress: Progress | None = None, **download_options) -> ModelEntry:
        """Download a catalog model, verify it, convert it and install it atomically."""
        entry = self.catalog.get(name)
        if entry is None:
            raise RegistryError(None, f"unknown model '{name}'; available: {', '.join(self.catalog)}")
        url = download.entry_url(entry, self.base_url)
        try:
            temp = download.download_verified(url, self.root, entry.blob_id, progress, **download_options)
        except RegistryError as error:  # offline, blocked or corrupted: say how to get the file in anyway
            raise RegistryError(None, f"{error.problem}; {import_hint(entry, url)}") from None
        from affectstudio.core.model.stock import import_stock_checkpoint

        try:
            loaded = import_stock_checkpoint(temp)
        except CheckpointError as error:
            problem = f"{url}: downloaded file is not a usable model: {error.problem}"
            raise RegistryError(None, problem) from None
        finally:
            temp.unlink(missing_ok=True)
        config = replace(
            loaded.config,
            provenance={
                **loaded.config.provenance,
                "name": name,
                "original_file": entry.file,
                "url": url,
                "git_blob_id": entry.blob_id,
                "training_data": entry.training_data,
                "description": entry.description,
            },
            metrics={**loaded.config.metrics, **entry.metrics},
        )
        return self._install(name, loaded, config, replace_existing=True)

    def remove(self, name: str) -> None:
        path = self.path_of(name)
        if not path.is_file():
            raise RegistryError(None, f"no installed model named '{name}'")
        path.unlink()
        if self.default_name() == name:  # the next installed model (if any) takes over
            remaining = [entry.name for entry in self.list()]
            self._write_settings({"default": remaining[0] if remaining else None})

    def set_default(self, name: str) -> None:
        if name != UNTRAINED and not self.is_installed(name):
            raise RegistryError(None, f"no installed model named '{name}'")
        self._write_settings({"default": name})

    def default_name(self) -> str | None:
        path = self.root / SETTINGS
        try:
            value = json.loads(path.read_text(encoding="utf-8")).get("default")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError):
            raise RegistryError(path, "settings file is unreadable; delete it to reset the default") from None
        return value if isinstance(value, str) else None

    # --- using a model -------------------------------------------------------------------------
    def locate(self, name_or_path: str | Path | None = None) -> tuple[Path | None, str | None]:
        """Where `load` reads the model from: (file, installed name or None), or (None, None) for the
        untrained network; a RegistryError when there is no such model."""
        if name_or_path is None:
            name_or_path = self.default_name()
            if name_or_path is None:
                return None, None
            if name_or_path != UNTRAINED and not self.path_of(name_or_path).is_file():
                # deleted outside the app: say so, rather than "no installed model" or the untrained net
                raise RegistryError(
                    self.path_of(name_or_path),
                    f"the default model '{name_or_path}' is no longer installed (its file is gone); "
                    "choose another with `affectstudio models default NAME` or install it again",
                )
        text = str(name_or_path)
        if text == UNTRAINED:
            return None, None
        if _NAME.fullmatch(text) and self.path_of(text).is_file():
            return self.path_of(text), text
        if Path(text).is_file():
            return Path(text), None
        installed = ", ".join(sorted(path.stem for path in self.root.glob(f"*{SUFFIX}"))) or "none"
        raise RegistryError(None, f"no installed model or checkpoint file '{text}' (installed: {installed})")

    def identity(self, name_or_path: str | Path | None = None) -> dict:
        """The `LoadedModel.source` that `load(name_or_path)` would give, without loading anything."""
        path, _ = self.locate(name_or_path)
        return untrained_identity(UNTRAINED_SEED) if path is None else file_identity(path)

    def load(self, name_or_path: str | Path | None = None) -> LoadedModel:
        """An installed model by name, a checkpoint file by path, or (None) the default model."""
        from affectstudio.core.model.checkpoint import load_checkpoint, untrained_model

        path, name = self.locate(name_or_path)
        if path is None:
            return untrained_model(UNTRAINED_SEED)
        return load_checkpoint(path, name=name)

    # --- internals -----------------------------------------------------------------------------
    def _install(
        self,
        name: str,
        loaded: LoadedModel,
        config: CheckpointConfig,
        replace_existing: bool,
        make_default: bool = True,
    ):
        from affectstudio.core.model.checkpoint import save_checkpoint

        target = self.path_of(name)
        try:
            save_checkpoint(target, loaded.model, config, overwrite=replace_existing)
        except FileExistsError:  # also when another process installed the same name a moment ago
            raise RegistryError(
                target, f"a model named '{name}' is already installed; remove it first or use --replace"
            ) from None
        if make_default and self.default_name() is None:
            self.set_default(name)
        return ModelEntry(name, target, config, True, self.default_name() == name)

    def _remove_stale_partials(self) -> None:
        """Temp files of downloads or saves killed mid-way (a day old, so never one still being written)."""
        cutoff = time.time() - STALE_PARTIAL_S
        for partial in self.root.glob(".*.partial"):
            with contextlib.suppress(OSError):
                if partial.stat().st_mtime < cutoff:
                    partial.unlink()

    def _write_settings(self, settings: dict) -> None:
        with atomic_write(self.root / SETTINGS) as handle:
            handle.write(json.dumps(settings, indent=2).encode("utf-8"))


def import_hint(entry: CatalogEntry, url: str) -> str:
    """What to do when a download cannot work here (no network, a proxy, a mirror serving other bytes)."""
    return (
        f"if this computer is offline, download {entry.file} from {url} elsewhere and install it with "
        "Models > Import checkpoint… (or `affectstudio models import FILE`)"
    )


def _valid_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name == UNTRAINED:
        raise RegistryError(
            None, f"invalid model name '{name}': use letters, digits, '.', '_' or '-' (at most 64)"
        )
    return name


def _name_from(path: Path) -> str:
    """A registry name from a file name: unusual characters become '-'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-._")[:64]
    return name or "model"
