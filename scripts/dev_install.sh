#!/usr/bin/env bash
# Builds videohw and installs it into .venv (created when missing). The CMake build folder
# is kept, so a rebuild after a small change is incremental.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
if [ ! -x .venv/bin/python ]; then
  new_venv .venv
fi
.venv/bin/pip install -q numpy pytest scikit-build-core pybind11
.venv/bin/pip install -q --no-build-isolation --no-deps .
.venv/bin/python -c "import videohw; print('videohw', videohw.__version__, 'installed in .venv')"
