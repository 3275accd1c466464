#!/usr/bin/env bash
# Build the CPU-only desktop bundle into dist/affectstudio/ and smoke-test it (packaging/smoke.sh).
#
# Everything is installed into a virtual environment of its own, build/venv (your Python environment is
# never touched): a CPU-only torch, then the app's dependencies as trimmed by packaging/requirements.py
# (PySide6 Essentials, not Addons; no jax, no torchvision), then PyInstaller.
#
#   AFFECTSTUDIO_TORCH_SOURCE  where the CPU-only torch wheel comes from: a folder of wheels or a package
#                              index URL. Default: /opt/wheels when it holds a `torch-*+cpu` wheel, else
#                              PyTorch's CPU index https://download.pytorch.org/whl/cpu.
#   AFFECTSTUDIO_TORCH_VERSION torch version to install (default 2.13.0).
#   AFFECTSTUDIO_TORCH_VARIANT the build of it: cpu (default), or a CUDA one such as cu126 (then the source must
#                              be https://download.pytorch.org/whl/cu126 and the bundle keeps CUDA's libraries).
#   AFFECTSTUDIO_REUSE_VENV=1  keep an existing build/venv instead of recreating it (faster rebuilds).
# A CUDA bundle: see the README's "Desktop bundle" section.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/venv
torch_version=${AFFECTSTUDIO_TORCH_VERSION:-2.13.0}
export AFFECTSTUDIO_TORCH_VARIANT=${AFFECTSTUDIO_TORCH_VARIANT:-cpu}  # the spec reads it too
variant=$AFFECTSTUDIO_TORCH_VARIANT
default_source=https://download.pytorch.org/whl/$variant
compgen -G "/opt/wheels/torch-${torch_version}+$variant-*.whl" >/dev/null && default_source=/opt/wheels
torch_source=${AFFECTSTUDIO_TORCH_SOURCE:-$default_source}

if [[ ${AFFECTSTUDIO_REUSE_VENV:-0} != 1 || ! -x $venv/bin/python ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    py=$venv/bin/python
    if [[ -d $torch_source ]]; then where=(--find-links "$torch_source"); else where=(--extra-index-url "$torch_source"); fi
    # The `+cpu` pin makes sure no CUDA build (and none of its ~3 GB of nvidia-* wheels) can be chosen.
    "$py" -m pip install "${where[@]}" "torch==${torch_version}+$variant"
    "$py" -m pip install --no-deps $("$py" packaging/requirements.py --no-deps)
    "$py" -m pip install $("$py" packaging/requirements.py) $("$py" packaging/requirements.py --mediapipe-deps) \
        "pyinstaller>=6"
    "$py" -m pip install --no-deps .  # the app itself, for its metadata (the spec takes the code from here)
fi
py=$venv/bin/python
unwanted='^(jax|pyside6-addons|pyside6==|torchvision|opencv-(contrib-)?python==)'
[[ $variant != cpu ]] || unwanted='^(nvidia-|jax|pyside6-addons|pyside6==|torchvision|opencv-(contrib-)?python==)'
unwanted=$("$py" -m pip list --format=freeze | grep -iE "$unwanted" || true)
[[ -z $unwanted ]] || { echo "build.sh: the build environment must not hold: $unwanted" >&2; exit 1; }
[[ $variant != cpu ]] || "$py" -c 'import torch; assert not torch.version.cuda, torch.version.cuda'

"$py" -m PyInstaller --noconfirm --clean --distpath dist --workpath build packaging/affectstudio.spec
echo "bundle: dist/affectstudio/ ($(du -sh dist/affectstudio | cut -f1))"
bash packaging/smoke.sh dist/affectstudio
