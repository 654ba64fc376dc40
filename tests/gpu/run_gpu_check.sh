#!/usr/bin/env bash
# One command for the GPU run: build the standalone NVDEC check, unpack the vectors, run it.
# Usage: tests/gpu/run_gpu_check.sh VECTORS_DIR [BUILD_DIR]
# (VECTORS_DIR from tests/gpu/make_vectors.sh, made where FFmpeg is.)
set -euo pipefail
vectors=${1:?usage: run_gpu_check.sh VECTORS_DIR [BUILD_DIR]}
build=${2:-build-gpu-check}
root=$(cd "$(dirname "$0")/../.." && pwd)
cmake -S "$root/tests/gpu" -B "$build" -DCMAKE_BUILD_TYPE=Release > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" > "$build.build.log" 2>&1 || { cat "$build.build.log"; exit 1; }
for f in "$vectors"/*.gz; do [ -e "$f" ] && gunzip -kf "$f"; done
"$build/nvdec_check" "$vectors"
