#!/usr/bin/env bash
# Fails when a tracked C++ or Python file is not laid out as .clang-format and
# pyproject.toml's [tool.ruff.format] say. Fix with: scripts/check_format.sh --fix
# clang-format is Debian 12's (14): other major versions lay out some constructs differently.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUFF="${RUFF:-ruff}"
[ -x .venv-test/bin/ruff ] && RUFF=.venv-test/bin/ruff
[ -x .venv/bin/ruff ] && [ "$RUFF" = ruff ] && RUFF=.venv/bin/ruff

major=$(clang-format --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
if [ "$major" != "14" ]; then
  echo "check_format: clang-format 14 is required (scripts/install_system_deps.sh), found: $(clang-format --version)" >&2
  exit 2
fi

mapfile -t cxx < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cu')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${cxx[@]}"
  "$RUFF" format .
  exit 0
fi

status=0
if ! clang-format --dry-run -Werror "${cxx[@]}" 2>/tmp/check_format.$$; then
  grep 'error:' /tmp/check_format.$$ | sed 's/:[0-9]*:[0-9]*: error:.*//' | sort -u | sed 's/^/  not formatted: /'
  status=1
fi
rm -f /tmp/check_format.$$
"$RUFF" format --check . || status=1
if [ $status -ne 0 ]; then
  echo "check_format: run scripts/check_format.sh --fix" >&2
fi
exit $status
