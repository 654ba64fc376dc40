"""The test hooks (tests/hooks, docs/testing.md) for Python tests: faults injected into a
controller's encoders, and NV12 surfaces over host memory.

videohw itself carries no test hooks: they are the extension module ``videohw_testing``,
built with the C++ tests (cmake -DVIDEOHW_BUILD_TESTS=ON, as scripts/run_tests.sh does in
build-tests) and found through the ``test_hooks_paths.txt`` that build writes:
VIDEOHW_TEST_HOOKS_PATHS names the file; else ``build-tests/``, else the newest ``build*/``
one in the source tree. The module is loaded on first use; a hook used where it is not built
raises, so a run without it fails instead of skipping.
"""

from __future__ import annotations

import glob
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_NAME = "videohw_testing"
_KEY = "VIDEOHW_TEST_HOOKS_MODULE"

NOT_BUILT = (
    "the test hooks module videohw_testing is not built: cmake -DVIDEOHW_BUILD_TESTS=ON "
    "builds it (scripts/run_tests.sh does, in build-tests); or set "
    "VIDEOHW_TEST_HOOKS_PATHS to the test_hooks_paths.txt of such a build"
)


def _paths_file() -> str:
    named = os.environ.get("VIDEOHW_TEST_HOOKS_PATHS")
    if named:
        if not os.path.exists(named):
            raise RuntimeError(
                f"VIDEOHW_TEST_HOOKS_PATHS={named}: no such file; expected the "
                "test_hooks_paths.txt of a build with VIDEOHW_BUILD_TESTS=ON"
            )
        return named
    ci_build = os.path.join(ROOT, "build-tests", "test_hooks_paths.txt")
    others = sorted(
        glob.glob(os.path.join(ROOT, "build*", "test_hooks_paths.txt")),
        key=os.path.getmtime,
        reverse=True,
    )
    for path in [ci_build] + others:
        if os.path.exists(path):
            return path
    raise RuntimeError(NOT_BUILT)


def _module_path(paths_file: str) -> str:
    with open(paths_file) as f:
        paths = dict(line.strip().split("=", 1) for line in f if "=" in line)
    path = paths.get(_KEY, "")
    if not os.path.exists(path):
        raise RuntimeError(
            f"{paths_file}: {_KEY} names no built module ({path!r}); build "
            "the test build again (cmake --build)"
        )
    if os.path.basename(path)[len(_NAME) :] not in importlib.machinery.EXTENSION_SUFFIXES:
        raise RuntimeError(
            f"{path} was built for another Python than this one "
            f"({sys.executable}, {sys.version.split()[0]}): configure the test "
            f"build with -DPython_EXECUTABLE={sys.executable}"
        )
    return path


def module() -> ModuleType:
    """The loaded ``videohw_testing`` (it imports videohw._core itself)."""
    loaded: Optional[ModuleType] = sys.modules.get(_NAME)
    if loaded is None:
        path = _module_path(_paths_file())
        spec = importlib.util.spec_from_file_location(_NAME, path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        sys.modules[_NAME] = loaded
    return loaded


def inject_faults(
    ctl,
    *,
    fail_create_at: Optional[int] = None,
    fail_activation_at: Optional[int] = None,
    fail_reconfigure: bool = False,
    encode_delay_ms: int = 0,
):
    """Encoders created by ``ctl`` after this call are counted from 0 in creation order.

    - ``fail_create_at=k``: creating encoder #k raises (a switch raises SwitchError).
    - ``fail_activation_at=k``: encoder #k fails on its first frame (the switch rolls back).
    - ``fail_reconfigure``: every in-place reconfiguration fails at activation (rolls back).
    - ``encode_delay_ms``: every frame takes that much longer to encode (long waits).
    A later call replaces the faults of an earlier one. Returns the plan; ``plan.creates``
    tells how many encoders were created so far.
    """
    hooks = module()
    plan = hooks.FaultPlan(
        -1 if fail_create_at is None else fail_create_at,
        -1 if fail_activation_at is None else fail_activation_at,
        fail_reconfigure,
        encode_delay_ms,
    )
    # The controller hands out every encoder provider, for a new session and for each
    # switch, through _provider_for. Shadowing it on this one instance leaves the class and
    # every other controller alone; wrapping the class's method (not an earlier shadow)
    # makes a later call replace the faults instead of adding to them.
    provider_for = type(ctl)._provider_for.__get__(ctl)
    ctl._provider_for = lambda backend_config: hooks.wrap_with_faults(
        provider_for(backend_config), plan
    )
    return plan


def host_nv12_surface(width: int, height: int, device_id: int = 0):
    """A ``videohw._core.Nv12Surface`` over HOST memory filled with a fixed pattern: for
    checking the device-array protocols without a GPU (never read it as device memory)."""
    return module().host_nv12_surface(width, height, device_id)


def host_surfaces_alive() -> int:
    """How many surfaces ``host_nv12_surface`` made are still alive."""
    return module().host_surfaces_alive()
