"""`affectstudio models list | import FILE | fetch NAME | remove NAME | default NAME`: installed models."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "models",
        help="list / import / fetch / remove installed models, choose the default",
        description="Manage the models in the AffectStudio data folder. With none installed, analysis uses "
        "an untrained network whose predictions are not meaningful.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="installed models (and the ones fetch can download)")
    importing = actions.add_parser("import", help="install a checkpoint file (ours or a stock DDAMFN .pth)")
    importing.add_argument("file", help="checkpoint file")
    importing.add_argument("--name", help="name to install it under (default: from the file name)")
    importing.add_argument("--replace", action="store_true", help="replace a model of the same name")
    fetching = actions.add_parser("fetch", help="download and install a released model")
    fetching.add_argument("name", help="model name (see `affectstudio models list`)")
    fetching.add_argument("--base-url", help="download from this mirror instead of the default location")
    removing = actions.add_parser("remove", help="uninstall a model")
    removing.add_argument("name")
    default = actions.add_parser("default", help="use this model when none is named ('untrained' allowed)")
    default.add_argument("name")
    return parser


def run(args: argparse.Namespace) -> int:
    from affectstudio.core.model.registry import ModelRegistry

    registry = ModelRegistry(base_url=getattr(args, "base_url", None))
    if args.action == "list":
        return _list(registry)
    if args.action in ("import", "fetch"):
        had_default = registry.default_name() is not None
        if args.action == "import":
            entry = registry.import_file(args.file, name=args.name, replace_existing=args.replace)
        else:
            entry = _fetch(registry, args.name)
        _installed(entry, made_default=entry.default and not had_default)
        return 0
    if args.action == "remove":
        registry.remove(args.name)
        default = registry.default_name()
        now = f"'{default}'" if default not in (None, "untrained") else "the untrained network"
        print(f"removed '{args.name}'; default model is now {now}")
        return 0
    registry.set_default(args.name)
    print(f"default model is now '{args.name}'")
    return 0


def _installed(entry, made_default: bool) -> None:
    from affectstudio.core.model.overview import heads_summary

    marker = " [default]" if entry.default else ""
    print(f"installed '{entry.name}' ({heads_summary(entry.config)}){marker}")
    if made_default:
        print(
            f"'{entry.name}' is now the default model (it is the first one installed); "
            "choose another with `affectstudio models default NAME`"
        )


def _list(registry) -> int:
    from affectstudio.core.model.overview import format_size, model_rows

    rows, problems = model_rows(registry)
    default = registry.default_name()
    for row in rows:
        if row.installed:
            marker = "*" if row.default else " "
            print(f"{marker} {row.name:<28} {row.heads}; {row.provenance}")
    if not any(row.installed for row in rows):
        print("no models installed")
    if default is None or default == "untrained":
        print("default: the untrained network (fixed seed): its predictions are not meaningful")
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    missing = [row for row in rows if not row.installed]
    if missing:
        names = ", ".join(row.name for row in missing)
        print(f"available to fetch: {names}  (affectstudio models fetch NAME)")
        for row in missing:
            print(f"  {row.name:<28} {format_size(row.size_bytes)}, {row.provenance}")
        if missing[0].licence:
            print(f"  licence: {missing[0].licence}")
    return 0


def _fetch(registry, name: str):
    from tqdm import tqdm

    bars = []  # created on the first progress report, so an unknown name prints only its error

    def progress(done: int, total: int) -> None:
        if not bars:
            bar = tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc=name, file=sys.stderr, leave=False)
            bars.append(bar)
        bars[0].total = total or None
        bars[0].n = done
        bars[0].refresh()

    def notice(message: str) -> None:
        print(f"{name}: {message}", file=sys.stderr, flush=True)

    try:
        return registry.fetch(name, progress=progress, notice=notice)
    finally:
        for bar in bars:
            bar.close()
