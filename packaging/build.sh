#!/usr/bin/env bash
# Build the desktop bundle into dist/affectstudio/ and smoke-test it on the bundled sample video.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -e ".[package]"
python3 -m PyInstaller --noconfirm --clean --distpath dist --workpath build packaging/affectstudio.spec
dist/affectstudio/affectstudio --version
sample=$(python3 -c "from affectstudio.core.sample import sample_video_path as p; print(p())")
dist/affectstudio/affectstudio analyze "$sample" --output build/smoke/ --no-plot
echo "bundle: dist/affectstudio/ ($(du -sh dist/affectstudio | cut -f1))"
