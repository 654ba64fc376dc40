#!/usr/bin/env bash
# All tests, from nothing: system packages, a wheel built and installed into a fresh
# virtual environment, the C++ suite (ctest), then pytest against the installed package.
# Exits non-zero when anything fails.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

step "system packages"
bash scripts/install_system_deps.sh

step "layers: every C++ include points down (scripts/check_layers.py, docs/architecture.md)"
"$PYTHON" scripts/check_layers.py

step "wheel"
rm -rf dist
"$PYTHON" -m pip wheel . --no-deps -w dist

step "fresh virtual environment with the wheel, pytest and the linters"
new_venv .venv-test
# ruff and mypy for tests/py/test_tooling.py (scripts/requirements-lint.txt pins them).
.venv-test/bin/pip install -q dist/videohw-*.whl pytest -r scripts/requirements-lint.txt

step "C++ tests (ctest)"
cmake -S . -B build-tests -DVIDEOHW_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-tests
ctest --test-dir build-tests --output-on-failure

step "fuzz: the bitstream parsers and the decode session, 20 s per target (scripts/run_fuzz.sh)"
bash scripts/run_fuzz.sh 20

step "Python tests (pytest, installed package)"
# backend="nvidia" tests run on the NVENC / CUDA driver doubles the ctest build made; named
# explicitly, so a missing double fails the run instead of skipping those tests.
export VIDEOHW_NVENC_DOUBLE_PATHS="$ROOT/build-tests/nvenc_double_paths.txt"
# Run from tests/py so the source tree's python/ folder can never shadow the installed wheel.
cd tests/py
../../.venv-test/bin/python -m pytest -q -p no:cacheprovider "$@"
