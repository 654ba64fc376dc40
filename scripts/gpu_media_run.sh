#!/usr/bin/env bash
# The one command for the GPU machine for media reading (issue 9; docs/media.md):
#   1. FFmpeg from the carried .devdeps/ffdeps.tar.xz, unpacked into /tmp/ffroot,
#   2. builds the Python extension and the test hooks module against it (the lines of
#      scripts/gpu_run.sh),
#   3. pytest -m gpu over the reader / NVDEC tests that exist (test_video_reader.py,
#      test_video_reader_gpu.py, test_nvdec_gpu.py) and test_cuda_array.py in full,
#   4. bench/read_vs_pynvc.py against PyNvVideoCodec (its wheel from .whl/),
# and prints one SUMMARY block. Logs, the benchmark's JSON and its report go to $OUT
# (/tmp/videohw-gpu-media without it):
#   gpu_media_run.log (everything), build.log, pytest_gpu.log, pytest_cuda_array.log,
#   read_vs_pynvc.json, read_vs_pynvc.txt
#
#   bash scripts/gpu_media_run.sh        # from the repo root; carry .devdeps .whl
#                                        # (and tests/py/.media-cache for the reader's GPU test)
#
# The whole run keeps inside VIDEOHW_MEDIA_BUDGET_S (575 s; the device allows 600 a command):
# pytest gets at most VIDEOHW_PYTEST_TIMEOUT_S (200) and leaves the benchmark at least 330 s,
# which skips what would not fit (HEVC first) and says so.
#
# Environment: VIDEOHW_DEPS_ROOT (an extracted Debian root with FFmpeg; default: the carried
# tarball unpacked into /tmp/ffroot; / uses the machine's own FFmpeg, as on a CPU machine),
# VIDEOHW_MEDIA_BUDGET_S, VIDEOHW_PYTEST_TIMEOUT_S, VIDEOHW_BENCH_ARGS (more options for the
# benchmark, e.g. "--codecs h264 --repeats 5"), VIDEOHW_MEDIA_SKIP_TESTS=1,
# VIDEOHW_MEDIA_SKIP_BENCH=1, VIDEOHW_GPU_BUILD (build-gpu-py), PYTHON (python3),
# VIDEOHW_MEDIA_TMP (/tmp: where ffroot, the link folders and the installed packages go).
# Exit status 0 when everything ran and passed; 1 otherwise (the SUMMARY says what).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
jobs_n="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
OUT_DIR="${OUT:-/tmp/videohw-gpu-media}"
mkdir -p "$OUT_DIR"
budget="${VIDEOHW_MEDIA_BUDGET_S:-575}"
T="${VIDEOHW_MEDIA_TMP:-/tmp}"  # scratch: ffroot, the link folders, the installed packages
mkdir -p "$T"

started=$(date +%s)
declare -a summary=() report=()
note() { summary+=("$*"); }
elapsed() { echo $(( $(date +%s) - started )); }
left() { echo $(( budget - $(elapsed) )); }
step() { printf '\n== [%ss] %s\n' "$(elapsed)" "$*"; }
finish() {  # the benchmark's report first, the status lines last (the end of the output)
  printf '\n== SUMMARY (%ss of %ss)\n' "$(elapsed)" "$budget"
  [ "${#report[@]}" -gt 0 ] && printf '%s\n' "${report[@]}"
  printf '%s\n' "${summary[@]}"
  exit "${1:-0}"
}
pytest_summary() {  # the last "N passed, M skipped ..." line of a pytest log
  grep -E '(passed|failed|error|skipped|deselected|no tests ran)' "$1" | grep -E '^=*\s*[0-9]|no tests ran' |
    tail -1 | tr -d '='
}

main() {

# ---- machine -------------------------------------------------------------------------------
step "machine"
if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q GPU; then
  nvidia-smi -L
  nvidia-smi --query-gpu=driver_version --format=csv,noheader | sed 's/^/driver /'
  have_gpu=1
else
  echo "no NVIDIA GPU visible (nvidia-smi missing or lists none)"
  have_gpu=0
fi
echo "cores $(nproc); python $(command -v "$PYTHON"); cmake $(cmake --version 2>/dev/null | head -1);" \
     "nvcc $( (command -v nvcc || ls /usr/local/cuda/bin/nvcc) 2>/dev/null | head -1)"
"$PYTHON" - <<'EOF'
import importlib, platform
print("python", platform.python_version())
for name in ("numpy", "torch", "cupy", "pybind11", "pytest"):
    try:
        print(name, importlib.import_module(name).__version__)
    except Exception as e:
        print(name, "missing:", type(e).__name__)
EOF
[ "$have_gpu" = 1 ] || note "gpu: none here -- the NVDEC tests skip, the benchmark lists its NVIDIA rows as skipped"

# ---- FFmpeg: the carried tarball, unpacked -------------------------------------------------
step "dependencies"
if [ -n "${VIDEOHW_DEPS_ROOT:-}" ]; then
  deps_arg="$VIDEOHW_DEPS_ROOT"
elif [ -f .devdeps/ffdeps.tar.xz ]; then
  deps_arg="$T/ffroot"
  stamp="$deps_arg/.unpacked-$(stat -c %s .devdeps/ffdeps.tar.xz)"
  if [ ! -e "$stamp" ]; then
    rm -rf "$deps_arg" && mkdir -p "$deps_arg"
    if ! tar -xJf .devdeps/ffdeps.tar.xz -C "$deps_arg"; then
      echo "could not unpack .devdeps/ffdeps.tar.xz into $deps_arg (disk: $(df -h "$T" | tail -1))"
      note "build: FAILED (could not unpack .devdeps/ffdeps.tar.xz)"
      finish 1
    fi
    # pkgconf on its own, where an older carry has it apart
    [ -f .devdeps/pkgconf.tar.xz ] && tar -xJf .devdeps/pkgconf.tar.xz -C "$deps_arg"
    touch "$stamp"
  fi
  echo "unpacked .devdeps/ffdeps.tar.xz into $deps_arg ($(du -sh "$deps_arg" | cut -f1))"
elif [ -d .devdeps/usr ]; then
  deps_arg=.devdeps
else
  echo "no FFmpeg to build against: carry .devdeps (with ffdeps.tar.xz: run() with carry=['.devdeps', ...]),"
  echo "or set VIDEOHW_DEPS_ROOT to an extracted Debian root (VIDEOHW_DEPS_ROOT=/ for this machine's own)"
  note "build: FAILED (no .devdeps/ffdeps.tar.xz and no VIDEOHW_DEPS_ROOT)"
  finish 1
fi
if [ ! -d "$deps_arg" ]; then
  echo "VIDEOHW_DEPS_ROOT: $deps_arg is not a directory (an extracted Debian root with FFmpeg)"
  note "build: FAILED (no dependency root at $deps_arg)"
  finish 1
fi
DEPS="$(cd "$deps_arg" && pwd)"
MULTIARCH=x86_64-linux-gnu
source "$ROOT/scripts/deps_root.sh"
cmake_extra=()
if [ "$DEPS" != "/" ]; then
  use_deps_root "$DEPS" "$T"
fi
if [ -z "${PKG_CONFIG:-}" ]; then PKG_CONFIG="$(command -v pkg-config || true)"; fi
if [ -z "$PKG_CONFIG" ]; then
  echo "no pkg-config on this machine or under $DEPS/usr/bin (the carried tarball has usr/bin/pkgconf)"
  note "build: FAILED (no pkg-config)"
  finish 1
fi
cmake_extra+=("-DPKG_CONFIG_EXECUTABLE=$PKG_CONFIG")
if ! versions="$("$PKG_CONFIG" --modversion libavcodec libavutil libswscale libavformat 2>&1)"; then
  echo "$versions"
  echo "pkg-config ($PKG_CONFIG, PKG_CONFIG_LIBDIR=${PKG_CONFIG_LIBDIR:-}) finds no FFmpeg under $DEPS"
  note "build: FAILED (pkg-config finds no FFmpeg under $DEPS)"
  finish 1
fi
echo "libavcodec libavutil libswscale libavformat: $(paste -sd' ' <<<"$versions")"

# ---- build ---------------------------------------------------------------------------------
step "build videohw._core"
build="${VIDEOHW_GPU_BUILD:-build-gpu-py}"
site="$T/videohw-site"
pybind11_dir="$("$PYTHON" -m pybind11 --cmakedir 2>/dev/null)"
if [ -z "$pybind11_dir" ]; then
  echo "$PYTHON -m pybind11 --cmakedir failed: pybind11 is not installed for $PYTHON"
  note "build: FAILED (no pybind11 for $PYTHON)"
  finish 1
fi
if cmake -S . -B "$build" -DVIDEOHW_BUILD_PYTHON=ON -DVIDEOHW_BUILD_TEST_HOOKS=ON \
     -DCMAKE_BUILD_TYPE=Release \
     -DPython_EXECUTABLE="$(command -v "$PYTHON")" -Dpybind11_DIR="$pybind11_dir" \
     "${cmake_extra[@]}" > "$OUT_DIR/build.log" 2>&1 &&
   cmake --build "$build" -j"$jobs_n" >> "$OUT_DIR/build.log" 2>&1; then
  rm -rf "$site" && mkdir -p "$site"
  cp -r python/videohw "$site/"
  find "$site" -name __pycache__ -prune -exec rm -rf {} +
  cp "$build"/cpp/_core*.so "$site/videohw/"
  grep -E "NVDEC|nvcc" "$OUT_DIR/build.log" | sed 's/^-- //'
  if (cd /tmp && PYTHONPATH="$site" "$PYTHON" -c "import videohw; print('videohw', videohw.__version__, 'from', videohw.__file__); from videohw import _core; print('decode backends:', _core.decode_backend_availability())"); then
    note "build: ok ($(elapsed) s in)"
  else
    echo "the module does not import; LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
    ldd "$site"/videohw/_core*.so | grep -E "not found|libav|libsw" || true
    note "build: FAILED (the module does not import)"
    finish 1
  fi
else
  tail -40 "$OUT_DIR/build.log"
  note "build: FAILED (see above and build.log)"
  finish 1
fi
export PYTHONPATH="$site"
# test_cuda_array.py's host surfaces come from the test hooks module built beside _core.
export VIDEOHW_TEST_HOOKS_PATHS="$(cd "$build" && pwd)/test_hooks_paths.txt"

# ---- PyNvVideoCodec from the carried wheel ---------------------------------------------------
step "PyNvVideoCodec wheel"
if ls .whl/*.whl >/dev/null 2>&1; then
  if "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
       --target "$T/site" .whl/*.whl; then
    export PYTHONPATH="$site:$T/site"
    ls .whl/*.whl | xargs -n1 basename
    if out="$(cd /tmp && "$PYTHON" -c "import PyNvVideoCodec as n; print('PyNvVideoCodec', n.__version__)" 2>&1)"; then
      echo "$out" | tail -1
      note "pynvvideocodec: $(echo "$out" | tail -1)"
    else
      echo "$out" | tail -15
      note "pynvvideocodec: FAILED: installed but does not import ($(echo "$out" | grep -E 'Error' | tail -1 | cut -c1-120)); its rows are skipped"
    fi
  else
    note "pynvvideocodec: FAILED: the wheel did not install (see above); its rows are skipped"
  fi
else
  echo "no .whl/*.whl: the benchmark reports PyNvVideoCodec as skipped (carry .whl)"
  note "pynvvideocodec: FAILED: no wheel carried (carry .whl); its rows are skipped"
fi

# ---- tests ---------------------------------------------------------------------------------
if [ "${VIDEOHW_MEDIA_SKIP_TESTS:-0}" = 1 ]; then
  note "pytest: skipped (VIDEOHW_MEDIA_SKIP_TESTS=1)"
else
  files=()
  for f in test_video_reader.py test_video_reader_gpu.py test_nvdec_gpu.py; do
    [ -f "tests/py/$f" ] && files+=("$f")
  done
  cap="${VIDEOHW_PYTEST_TIMEOUT_S:-200}"
  room=$(( $(left) - 330 ))
  [ "${VIDEOHW_MEDIA_SKIP_BENCH:-0}" = 1 ] && room=$(( $(left) - 60 ))
  [ "$room" -lt "$cap" ] && cap="$room"
  [ -d tests/py/.media-cache ] && corpus="carried corpus: $(ls tests/py/.media-cache | head -3 | paste -sd' ')" ||
    corpus="no tests/py/.media-cache carried: the reader's GPU tests skip"
  step "pytest -m gpu ${files[*]} (at most ${cap}s; $corpus)"
  if [ "$cap" -lt 30 ]; then
    note "pytest gpu: not run (${cap}s left for it)"
  else
    (cd tests/py && timeout -k 10 "$cap" "$PYTHON" -m pytest -p no:cacheprovider -q -rsf -m gpu \
       "${files[@]}") > "$OUT_DIR/pytest_gpu.log" 2>&1
    rc=$?
    tail -60 "$OUT_DIR/pytest_gpu.log"
    case $rc in
      0) state="ok" ;;
      5) state="no tests ran" ;;
      124|137) state="FAILED (ran past ${cap}s)" ;;
      *) state="FAILED (exit $rc)" ;;
    esac
    note "pytest gpu (${files[*]}): $state -- $(pytest_summary "$OUT_DIR/pytest_gpu.log")"
  fi
  step "pytest test_cuda_array.py"
  (cd tests/py && timeout -k 10 60 "$PYTHON" -m pytest -p no:cacheprovider -q -rsf test_cuda_array.py) \
    > "$OUT_DIR/pytest_cuda_array.log" 2>&1
  rc=$?
  tail -15 "$OUT_DIR/pytest_cuda_array.log"
  note "pytest cuda_array: $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)") -- $(pytest_summary "$OUT_DIR/pytest_cuda_array.log")"
fi

# ---- the benchmark -------------------------------------------------------------------------
if [ "${VIDEOHW_MEDIA_SKIP_BENCH:-0}" = 1 ]; then
  note "bench: skipped (VIDEOHW_MEDIA_SKIP_BENCH=1)"
else
  room=$(( $(left) - 10 ))
  deadline=$(( room - 20 ))
  step "bench/read_vs_pynvc.py (${room}s; its deadline ${deadline}s) ${VIDEOHW_BENCH_ARGS:-}"
  if [ "$deadline" -lt 60 ]; then
    note "bench: not run (${room}s left)"
  else
    # shellcheck disable=SC2086 # VIDEOHW_BENCH_ARGS is a list of options
    # stdout (the report, and whatever a library prints there) into the log; the report alone
    # into read_vs_pynvc.txt
    rm -f "$OUT_DIR/read_vs_pynvc.txt"
    timeout -k 15 "$room" "$PYTHON" bench/read_vs_pynvc.py --deadline-s "$deadline" \
      --json "$OUT_DIR/read_vs_pynvc.json" --report "$OUT_DIR/read_vs_pynvc.txt" \
      ${VIDEOHW_BENCH_ARGS:-}
    rc=$?
    case $rc in
      0) state="ok" ;;
      1) state="FAILED: a row returned WRONG frames (see the report)" ;;
      2) state="FAILED: videohw does not import" ;;
      3) state="FAILED: the watchdog ended a hung run (stacks above)" ;;
      124|137) state="FAILED: ran past ${room}s (partial report)" ;;
      *) state="FAILED (exit $rc)" ;;
    esac
    note "bench: $state -- $OUT_DIR/read_vs_pynvc.json, read_vs_pynvc.txt"
    # The report itself (lines cut to 170 characters, at most 110 of them), printed first.
    if [ -s "$OUT_DIR/read_vs_pynvc.txt" ]; then
      while IFS= read -r l; do report+=("  ${l:0:170}"); done < <(grep -vE '^\s*$' "$OUT_DIR/read_vs_pynvc.txt" | head -110)
    else
      note "bench: no report (it ended before writing one; see gpu_media_run.log)"
    fi
  fi
fi

failed=0
for line in "${summary[@]}"; do [[ "$line" == *FAILED* ]] && failed=1; done
finish "$failed"
}

main "$@" 2>&1 | tee "$OUT_DIR/gpu_media_run.log"
exit "${PIPESTATUS[0]}"
