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

step "fresh virtual environment, the wheel built in it and installed"
new_venv .venv-test
.venv-test/bin/pip install -q scikit-build-core pybind11 pytest -r scripts/requirements-lint.txt
# ruff and mypy: tests/py/test_tooling.py (scripts/requirements-lint.txt pins them).

step "layout: clang-format (.clang-format) and ruff format (scripts/check_format.sh)"
bash scripts/check_format.sh

rm -rf dist
# Built with this environment's pybind11 rather than in an isolated build environment: the
# test hooks module (ctest build below) is built with it too, and only modules built with
# the same pybind11 share videohw._core's types (docs/testing.md).
.venv-test/bin/python -m pip wheel . --no-deps --no-build-isolation -w dist
# With the ray extra: tests/py/test_distributed.py runs videohw.distributed on a local Ray.
.venv-test/bin/pip install -q "$(ls dist/videohw-*.whl)[ray]"

step "C++ tests (ctest); the driver doubles and the test hooks module for pytest"
cmake -S . -B build-tests -DVIDEOHW_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPython_EXECUTABLE="$ROOT/.venv-test/bin/python" >/dev/null
cmake --build build-tests
ctest --test-dir build-tests --output-on-failure

step "C++ suites under ASan + UBSan: sessions, switching, pipeline, frame preparation, ring, software decode, transcode graph and kept sessions"
# The suites the hostile cases and the concurrency run through (docs/soak.md says why not all:
# the whole C++ suite under sanitizers does not fit CI's time). -O1 keeps the build short.
asan_suites="test_session test_switching test_pipeline test_frame_preparer test_ring test_software_decoder test_decode_units test_transcode_graph test_transcode_sessions"
cmake -S . -B build-asan -DVIDEOHW_BUILD_TESTS=ON -DVIDEOHW_SANITIZE=address,undefined \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O1 \
  -DPython_EXECUTABLE="$ROOT/.venv-test/bin/python" >/dev/null
cmake --build build-asan --target $asan_suites
ctest --test-dir build-asan --output-on-failure --no-tests=error -L "^($(echo $asan_suites | tr ' ' '|'))\$"

step "fuzz: the bitstream parsers and the decode session, 20 s per target (scripts/run_fuzz.sh)"
bash scripts/run_fuzz.sh 20

step "Python tests (pytest, installed package)"
# backend="nvidia" tests run on the NVENC / CUDA driver doubles the ctest build made; named
# explicitly, so a missing double fails the run instead of skipping those tests.
export VIDEOHW_NVENC_DOUBLE_PATHS="$ROOT/build-tests/nvenc_double_paths.txt"
# The test hooks (fault injection, host NV12 surfaces; tests/py/hooks.py), named likewise.
export VIDEOHW_TEST_HOOKS_PATHS="$ROOT/build-tests/test_hooks_paths.txt"
# Installed above: a Ray that fails to import fails those tests instead of skipping them.
export VIDEOHW_REQUIRE_RAY=1
# Run from tests/py so the source tree's python/ folder can never shadow the installed wheel.
cd tests/py
../../.venv-test/bin/python -m pytest -q -p no:cacheprovider "$@"
