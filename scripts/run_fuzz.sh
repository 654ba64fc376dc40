#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan + UBSan) in build-fuzz and runs
# each for SECONDS (default 20), starting from the committed seed corpus. Fails on any
# crash, leak, timeout, sanitizer report or out-of-memory; the input that did it is kept
# in build-fuzz/artifacts/. New corpus entries go to build-fuzz/corpus/, never into the
# committed seeds.
#
#   scripts/run_fuzz.sh [SECONDS] [TARGET...]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

SECONDS_PER_TARGET="${1:-20}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(fuzz_assembler fuzz_sps fuzz_length_prefixed fuzz_decode_session)

step "build (clang, -fsanitize=fuzzer,address,undefined)"
cmake -S . -B build-fuzz -DVIDEOHW_BUILD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz --target "${TARGETS[@]}"

mkdir -p build-fuzz/artifacts
status=0
for target in "${TARGETS[@]}"; do
  step "$target: ${SECONDS_PER_TARGET} s"
  work="build-fuzz/corpus/$target"
  mkdir -p "$work"
  if ! ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
       UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
       "build-fuzz/tests/fuzz/$target" "$work" "tests/fuzz/corpus/$target" \
         -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
         -max_len=65536 -print_final_stats=1 \
         -artifact_prefix="build-fuzz/artifacts/$target-" \
         2>"build-fuzz/$target.log"; then
    echo "FAILED: $target (log: build-fuzz/$target.log)"
    tail -n 40 "build-fuzz/$target.log"
    status=1
  fi
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' \
    "build-fuzz/$target.log" || true
  grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "build-fuzz/$target.log" \
    | tail -n 1 || true
done
exit $status
