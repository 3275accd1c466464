.PHONY: install test test-fast lint format bench package package-smoke

install:
	python3 -m pip install -e ".[test]"

test:
	python3 -m pytest

test-fast:
	python3 -m pytest -m "not slow"

lint:
	ruff check . && ruff format --check .

format:
	ruff format . && ruff check --fix .

bench:
	python3 -m benchmarks.bench_model
	python3 -m benchmarks.bench_analyze
	python3 -m benchmarks.bench_decode_detect

package:  # build/venv + dist/affectstudio/ (CPU-only), then the smoke test
	bash packaging/build.sh

package-smoke:  # the smoke test alone, on an existing dist/affectstudio/
	bash packaging/smoke.sh dist/affectstudio
