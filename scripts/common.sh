# Shared by the project scripts: paths, the build parallelism this machine can take, and a
# fresh-venv helper. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
# 2 cores on the project machines; more only makes the link step swap-happy.
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

step() { printf '\n== %s\n' "$*"; }

# new_venv DIR: an empty virtual environment with a current pip.
new_venv() {
  rm -rf "$1"
  "$PYTHON" -m venv "$1"
  "$1/bin/python" -m pip install -q --upgrade pip
}
