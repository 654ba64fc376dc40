#!/usr/bin/env bash
# The Python tests that drive the core hardest -- the switching matrix at 64x48 and the
# hostile-input suites -- against an AddressSanitizer + UndefinedBehaviorSanitizer build of
# the extension (gcc), loaded into the ordinary CPython through LD_PRELOAD of the ASan
# runtime. Exits non-zero on any test failure or sanitizer report.
#
#   scripts/run_asan_python.sh [PYTEST ARGS...]
#
# Builds into .venv-asan (its own virtual environment) with build folders build/asan-py
# (the extension, via pip and scikit-build-core) and build/asan-doubles (the NVENC / CUDA
# driver doubles, so the "nvidia" half of the matrix runs instead of skipping, and the test
# hooks module the fault-injection tests use); both are kept, so a second run only rebuilds
# what changed.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer"
# -O1 -g1: ASan's recommended optimisation and line tables for the reports; half the compile
# time of -O2 -g on the pybind11 bindings, and the work that takes time at run time is in
# libavcodec / libx264, which are not instrumented anyway. NDEBUG is left undefined, so
# pybind11's and libstdc++'s own assertions are on too.
OPT="-O1 -g1"
VENV=.venv-asan

step "virtual environment $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  new_venv "$VENV"
fi
"$VENV/bin/pip" install -q numpy pytest scikit-build-core pybind11

step "extension with $SANITIZE $OPT (build/asan-py)"
# Sanitizer flags set directly rather than through VIDEOHW_SANITIZE, which adds -g (full
# debug information) after them. Not stripped, so reports name functions, files and lines.
"$VENV/bin/pip" install -q --no-build-isolation --no-deps . \
  --config-settings=build-dir=build/asan-py \
  --config-settings=cmake.build-type=RelWithDebInfo \
  --config-settings=install.strip=false \
  --config-settings=cmake.define.CMAKE_CXX_FLAGS="$SANITIZE" \
  --config-settings=cmake.define.CMAKE_CXX_FLAGS_RELWITHDEBINFO="$OPT" \
  --config-settings=cmake.define.CMAKE_MODULE_LINKER_FLAGS="$SANITIZE"

step "NVENC / CUDA driver doubles and the test hooks module, same flags (build/asan-doubles)"
# The hooks module is built for this environment's Python and pybind11, as the extension was.
cmake -S . -B build/asan-doubles -DVIDEOHW_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$SANITIZE" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$OPT" \
  -DCMAKE_SHARED_LINKER_FLAGS="$SANITIZE" -DCMAKE_MODULE_LINKER_FLAGS="$SANITIZE" \
  -DPython_EXECUTABLE="$ROOT/$VENV/bin/python" >/dev/null
cmake --build build/asan-doubles --target videohw_nvenc_double videohw_cuda_double \
  videohw_testing

step "pytest under ASan + UBSan"
export VIDEOHW_NVENC_DOUBLE_PATHS="$ROOT/build/asan-doubles/nvenc_double_paths.txt"
export VIDEOHW_TEST_HOOKS_PATHS="$ROOT/build/asan-doubles/test_hooks_paths.txt"
ASAN_RUNTIME="$(gcc -print-file-name=libasan.so)"
# The runtime resolves the real __cxa_throw when it starts; CPython does not load libstdc++,
# so without it preloaded as well the first C++ exception aborts in ASan's interceptor.
CXX_RUNTIME="$(gcc -print-file-name=libstdc++.so)"
for lib in "$ASAN_RUNTIME" "$CXX_RUNTIME"; do
  [ -f "$lib" ] || { echo "runtime not found: $lib (gcc -print-file-name)"; exit 1; }
done
# Reports go to files: pytest captures the test's stderr and loses it when the process
# aborts, and a child's report would only be seen through the child's exit status.
LOGS="$ROOT/build/asan-logs"
rm -rf "$LOGS" && mkdir -p "$LOGS"

TESTS=(
  test_switch_matrix.py test_switching.py
  test_hostile.py test_hostile_args.py test_hostile_cli.py
  test_decode_backpressure.py test_bad_input.py test_bad_media.py
)

cd tests/py
# PYTHONMALLOC=malloc: CPython's small-object allocator would hide Python-side buffers from
# ASan. detect_leaks=0: CPython does not free its own heap at exit, so LeakSanitizer would
# report the interpreter; the core's leaks are checked by the C++ suite under ASan (ctest,
# tests/cpp/sanitizer/lsan.supp) and by scripts/soak.py's memory bound.
# Children the tests start (the CLI, a second interpreter, ffprobe) inherit all of it.
status=0
env LD_PRELOAD="$ASAN_RUNTIME:$CXX_RUNTIME" PYTHONMALLOC=malloc \
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:log_path=$LOGS/asan" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOGS/ubsan" \
  "../../$VENV/bin/python" -m pytest -q -p no:cacheprovider "${TESTS[@]}" "$@" || status=$?

reports=("$LOGS"/*)
if [ -e "${reports[0]}" ]; then
  for report in "${reports[@]}"; do
    printf '\n== sanitizer report %s\n' "$report"
    cat "$report"
  done
  echo "FAILED: ${#reports[@]} sanitizer report(s) in $LOGS"
  exit 1
fi
exit "$status"
