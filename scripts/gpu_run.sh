#!/usr/bin/env bash
# The one command for the GPU machine (docs/nvdec.md, "From Python" and "Benchmark"):
#   1. builds the Python extension against carried FFmpeg libraries (and the test hooks
#      module test_cuda_array.py uses),
#   2. tests/gpu/run_gpu_check.sh (the C++ NVDEC check on gpu-vectors/),
#   3. pytest: test_nvdec_gpu.py, test_nvidia_backend.py's gpu tests, the reader's nvidia
#      cases (test_video_reader.py), the DLPack protocol tests (test_cuda_array.py) and the
#      NVDEC -> NVENC device handover (test_device_frames.py, NVENC through its double),
#   4. bench/decode_vs_peers.py against PyNvVideoCodec (wheel from .whl/).
# and prints one SUMMARY block. Everything goes to $OUT/gpu_run.log as well when $OUT is set.
#
# That machine has Python 3.12, CUDA, cmake, pybind11, numpy, torch, cupy, but no FFmpeg
# and no network. FFmpeg comes as an extracted Debian root, $VIDEOHW_DEPS_ROOT (default
# .devdeps: usr/include, usr/lib/x86_64-linux-gnu with libav*.so*, pkgconfig/ and their
# dependencies); VIDEOHW_DEPS_ROOT=/ uses the machine's own FFmpeg (how it is tested on CPU).
#
# Environment: VIDEOHW_DEPS_ROOT, VIDEOHW_BENCH_FRAMES (300), VIDEOHW_BENCH_PARALLEL
# (1,2,4,8), VIDEOHW_BENCH_REPEATS (3), VIDEOHW_BENCH_ARGS (more bench arguments),
# VIDEOHW_BENCH_TIMEOUT (300 s), VIDEOHW_GPU_BUILD (build-gpu-py), PYTHON (python3).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
jobs_n="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

started=$(date +%s)
declare -a summary=()
note() { summary+=("$*"); }
step() { printf '\n== [%ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
finish() {
  printf '\n== SUMMARY (%ss)\n' "$(( $(date +%s) - started ))"
  printf '%s\n' "${summary[@]}"
  exit "${1:-0}"
}

# Everything runs inside main, so that all of it can be teed into $OUT/gpu_run.log.
main() {

# ---- environment ---------------------------------------------------------------------------
step "machine"
if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q GPU; then
  nvidia-smi -L
  nvidia-smi --query-gpu=driver_version --format=csv,noheader | sed 's/^/driver /'
  have_gpu=1
else
  echo "no NVIDIA GPU visible (nvidia-smi missing or lists none)"
  have_gpu=0
fi
"$PYTHON" - <<'EOF'
import platform, importlib
print("python", platform.python_version())
for name in ("numpy", "torch", "cupy", "pybind11", "pytest"):
    try:
        print(name, importlib.import_module(name).__version__)
    except Exception as e:
        print(name, "missing:", type(e).__name__)
EOF

# ---- FFmpeg from the carried root ----------------------------------------------------------
step "dependencies"
deps_arg="${VIDEOHW_DEPS_ROOT:-.devdeps}"
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
  use_deps_root "$DEPS" "/tmp"
fi
if [ -z "${PKG_CONFIG:-}" ]; then PKG_CONFIG="$(command -v pkg-config || true)"; fi
if [ -z "$PKG_CONFIG" ]; then
  echo "no pkg-config on this machine or under $DEPS/usr/bin (carry Debian's pkgconf)"
  note "build: FAILED (no pkg-config)"
  finish 1
fi
cmake_extra+=("-DPKG_CONFIG_EXECUTABLE=$PKG_CONFIG")
"$PKG_CONFIG" --modversion libavcodec libavutil libswscale | paste -sd' ' | sed 's/^/libavcodec libavutil libswscale: /' ||
  { note "build: FAILED (pkg-config finds no FFmpeg under $DEPS)"; finish 1; }

# ---- build ---------------------------------------------------------------------------------
step "build videohw._core"
build="${VIDEOHW_GPU_BUILD:-build-gpu-py}"
site=/tmp/videohw-site
pybind11_dir="$("$PYTHON" -m pybind11 --cmakedir)"
if cmake -S . -B "$build" -DVIDEOHW_BUILD_PYTHON=ON -DVIDEOHW_BUILD_TEST_HOOKS=ON \
     -DCMAKE_BUILD_TYPE=Release \
     -DPython_EXECUTABLE="$(command -v "$PYTHON")" -Dpybind11_DIR="$pybind11_dir" \
     "${cmake_extra[@]}" > /tmp/videohw-gpu-configure.log 2>&1 &&
   cmake --build "$build" -j"$jobs_n" > /tmp/videohw-gpu-build.log 2>&1; then
  rm -rf "$site" && mkdir -p "$site/videohw"
  cp python/videohw/*.py "$site/videohw/"
  cp "$build"/cpp/_core*.so "$site/videohw/"
  grep -E "NVDEC|nvcc" /tmp/videohw-gpu-configure.log | sed 's/^-- //'
  if (cd /tmp && PYTHONPATH="$site" "$PYTHON" -c "import videohw; print('videohw', videohw.__version__, 'from', videohw.__file__)"); then
    note "build: ok"
  else
    note "build: FAILED (the module does not import)"
    finish 1
  fi
else
  tail -40 /tmp/videohw-gpu-configure.log /tmp/videohw-gpu-build.log
  note "build: FAILED (see above)"
  finish 1
fi
export PYTHONPATH="$site"
# test_cuda_array.py's host surfaces come from the test hooks module built beside _core.
export VIDEOHW_TEST_HOOKS_PATHS="$(cd "$build" && pwd)/test_hooks_paths.txt"

# ---- PyNvVideoCodec from carried wheels ------------------------------------------------------
step "PyNvVideoCodec wheel"
if ls .whl/*.whl >/dev/null 2>&1; then
  if "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
       --target /tmp/site .whl/*.whl; then
    export PYTHONPATH="$site:/tmp/site"
    ls .whl/*.whl | xargs -n1 basename
  else
    note "pynvvideocodec: wheel did not install (bench runs without it)"
  fi
else
  echo "no .whl/*.whl: the benchmark reports PyNvVideoCodec as skipped"
  note "pynvvideocodec: no wheel carried"
fi

if [ "$have_gpu" = 0 ]; then
  note "gpu: none here -- NVDEC check, GPU tests and NVDEC benchmark rows cannot run"
fi

# ---- 1. the C++ NVDEC check ------------------------------------------------------------------
step "tests/gpu/run_gpu_check.sh gpu-vectors"
if [ "$have_gpu" = 0 ]; then
  note "nvdec_check: not run (no GPU)"
elif [ -d gpu-vectors ]; then
  timeout 180 bash tests/gpu/run_gpu_check.sh gpu-vectors /tmp/videohw-gpu-check 2>&1 |
    tee /tmp/videohw-gpu-check.log
  rc=${PIPESTATUS[0]}
  line="$(grep -E '^SUMMARY' /tmp/videohw-gpu-check.log | tail -1)"
  case $rc in
    0) note "nvdec_check: ok ${line}" ;;
    2) note "nvdec_check: NVDEC unavailable (exit 2) ${line}" ;;
    *) note "nvdec_check: FAILED (exit $rc) ${line}" ;;
  esac
else
  note "nvdec_check: not run (no gpu-vectors/: make it with tests/gpu/make_vectors.sh and carry it)"
fi

# ---- 2. pytest -------------------------------------------------------------------------------
pytest_summary() {  # the last "N passed, M skipped ..." line of a pytest log
  grep -E '(passed|failed|error|skipped|deselected)' "$1" | grep -E '^=*\s*[0-9]' | tail -1 | tr -d '='
}
# test_nvdec_gpu.py is not marked gpu (without a GPU it runs on the NVDEC driver double):
# here all of it runs on the device; test_nvidia_backend.py's gpu tests and the reader's
# nvidia cases beside it.
step "pytest (test_nvdec_gpu.py, test_nvidia_backend.py -m gpu, test_video_reader.py -k nvidia)"
(cd tests/py && timeout 500 "$PYTHON" -m pytest -p no:cacheprovider -q -rsf \
   test_nvdec_gpu.py test_nvidia_backend.py test_video_reader.py \
   -k "test_nvdec_gpu or (test_nvidia_backend and gpu) or (test_video_reader and nvidia)") \
   2>&1 | tee /tmp/videohw-pytest-gpu.log
rc=${PIPESTATUS[0]}
note "pytest gpu: $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)") -- $(pytest_summary /tmp/videohw-pytest-gpu.log)"
step "pytest test_cuda_array.py"
(cd tests/py && timeout 60 "$PYTHON" -m pytest -p no:cacheprovider -q test_cuda_array.py) 2>&1 |
  tee /tmp/videohw-pytest-cai.log
rc=${PIPESTATUS[0]}
note "pytest cuda_array: $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)") -- $(pytest_summary /tmp/videohw-pytest-cai.log)"
step "pytest test_device_frames.py (NVDEC surfaces -> the NVENC double over this CUDA driver)"
# The build made the driver doubles (VIDEOHW_BUILD_TEST_HOOKS); only NVENC's is used here.
doubles="$(cd "$build" && pwd)/nvenc_double_paths.txt"
(cd tests/py && VIDEOHW_NVENC_DOUBLE_PATHS="$doubles" \
   timeout 180 "$PYTHON" -m pytest -p no:cacheprovider -q -rsf test_device_frames.py) 2>&1 |
  tee /tmp/videohw-pytest-device.log
rc=${PIPESTATUS[0]}
note "pytest device_frames: $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)") -- $(pytest_summary /tmp/videohw-pytest-device.log)"

step "pytest test_transcode_gpu.py (NVDEC -> CUDA resize -> software encoder, against the CPU path)"
(cd tests/py && timeout 180 "$PYTHON" -m pytest -p no:cacheprovider -q -rsf test_transcode_gpu.py) 2>&1 |
  tee /tmp/videohw-pytest-transcode.log
rc=${PIPESTATUS[0]}
note "pytest transcode_gpu: $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)") -- $(pytest_summary /tmp/videohw-pytest-transcode.log)"

step "pytest test_distributed_gpu.py (a batch worker's kept sessions and the frame decoder on NVDEC)"
(cd tests/py && timeout 180 "$PYTHON" -m pytest -p no:cacheprovider -q -rsf test_distributed_gpu.py) 2>&1 |
  tee /tmp/videohw-pytest-distributed.log
rc=${PIPESTATUS[0]}
note "pytest distributed_gpu: $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)") -- $(pytest_summary /tmp/videohw-pytest-distributed.log)"

# ---- 3. the benchmarks ------------------------------------------------------------------------
# VIDEOHW_DECODE_BENCH=0 / VIDEOHW_TRANSCODE_BENCH=0 leave a benchmark out (device time).
if [ "${VIDEOHW_DECODE_BENCH:-1}" = 1 ]; then
step "bench/decode_vs_peers.py"
bench_json="${OUT:-/tmp}/decode_bench.json"
# VIDEOHW_BENCH_ARGS (word-split) picks sections, feeds, modes: a full run is longer than one
# device call, so it is run in parts.
# shellcheck disable=SC2086
timeout "${VIDEOHW_BENCH_TIMEOUT:-300}" "$PYTHON" bench/decode_vs_peers.py \
  --frames "${VIDEOHW_BENCH_FRAMES:-300}" --repeats "${VIDEOHW_BENCH_REPEATS:-3}" \
  --parallel "${VIDEOHW_BENCH_PARALLEL:-1,2,4,8}" ${VIDEOHW_BENCH_ARGS:-} \
  --json "$bench_json" 2>&1 | tee /tmp/videohw-bench.log
rc=${PIPESTATUS[0]}
note "bench: $([ "$rc" = 0 ] && echo "ok ($bench_json)" || echo "FAILED (exit $rc)")"
while IFS= read -r l; do note "  $l"; done < <(sed -n '/^== decode:/,$p' /tmp/videohw-bench.log | grep -vE '^\s*$')
fi

if [ "${VIDEOHW_TRANSCODE_BENCH:-1}" = 1 ]; then
step "bench/transcode_vs_peers.py --sections gpu"
timeout "${VIDEOHW_BENCH_TIMEOUT:-300}" "$PYTHON" bench/transcode_vs_peers.py --sections gpu \
  --frames "${VIDEOHW_BENCH_FRAMES:-300}" --repeats "${VIDEOHW_BENCH_REPEATS:-3}" \
  2>&1 | tee /tmp/videohw-transcode-bench.log
rc=${PIPESTATUS[0]}
note "transcode bench: $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)")"
while IFS= read -r l; do note "  $l"; done < <(sed -n '/^\[gpu\]/,$p' /tmp/videohw-transcode-bench.log | grep -vE '^\s*$')
fi

if [ "${VIDEOHW_BATCH_BENCH:-1}" = 1 ]; then
step "bench/batch_transcode.py: one worker in process (no Ray here), sessions kept vs new per clip"
timeout "${VIDEOHW_BENCH_TIMEOUT:-300}" "$PYTHON" bench/batch_transcode.py --backend auto \
  --runs inproc_kept,inproc_new --clips "${VIDEOHW_BATCH_CLIPS:-30}" \
  --repeats "${VIDEOHW_BENCH_REPEATS:-3}" --json "${OUT:-/tmp}/batch_bench.json" \
  2>&1 | tee /tmp/videohw-batch-bench.log
rc=${PIPESTATUS[0]}
note "batch bench: $([ "$rc" = 0 ] && echo "ok (${OUT:-/tmp}/batch_bench.json)" || echo "FAILED (exit $rc)")"
fi

failed=0
for line in "${summary[@]}"; do [[ "$line" == *FAILED* ]] && failed=1; done
finish "$failed"
}

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  main "$@" 2>&1 | tee "$OUT/gpu_run.log"
  exit "${PIPESTATUS[0]}"
fi
main "$@"
