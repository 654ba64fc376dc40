"""The test hooks are a module of their own (tests/hooks, docs/testing.md), never part of
the production one: videohw._core has none of them and the package never names the hooks
module, while the hooks module works on _core's own types."""

from __future__ import annotations

import importlib.util
import os

import numpy as np

import hooks
import videohw as vh
from videohw import _core


def test_the_production_module_has_none_of_the_hooks():
    hook_names = {name for name in dir(hooks.module()) if not name.startswith("__")}
    assert hook_names >= {
        "FaultPlan",
        "wrap_with_faults",
        "host_nv12_surface",
        "host_surfaces_alive",
    }
    assert sorted(hook_names & set(dir(_core))) == []
    assert [name for name in dir(_core) if name.startswith("_test")] == []
    assert importlib.util.find_spec("videohw._testing") is None


def test_the_package_never_names_the_hooks_module():
    root = os.path.dirname(vh.__file__)
    naming = []
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    if "videohw_testing" in f.read():
                        naming.append(os.path.relpath(os.path.join(folder, name), root))
    assert naming == []


def test_a_host_surface_is_the_production_nv12_surface():
    surface = hooks.host_nv12_surface(4, 2)
    assert type(surface) is _core.Nv12Surface
    assert isinstance(surface.y, _core.CudaArray)


def test_faults_wrap_the_controllers_providers_and_its_sessions_run_on_them():
    ctl = vh.SessionController("software")
    plan = hooks.inject_faults(ctl)
    assert isinstance(ctl._provider_for(None), _core.EncoderProvider)
    common = vh.CommonEncodeConfig(codec=vh.Codec.H264, width=64, height=48, low_latency=True)
    h = ctl.start_encode_session(common)
    ctl.submit(h, vh.Frame(np.zeros((48, 64, 4), np.uint8), vh.PixelFormat.ARGB8888))
    assert len(ctl.close_encode_session(h)) == 1
    assert plan.creates == 1


def test_a_later_injection_replaces_the_earlier_faults():
    ctl = vh.SessionController("software")
    first = hooks.inject_faults(ctl, fail_create_at=0)
    second = hooks.inject_faults(ctl)
    common = vh.CommonEncodeConfig(codec=vh.Codec.H264, width=64, height=48)
    ctl.close_encode_session(ctl.start_encode_session(common))
    assert (first.creates, second.creates) == (0, 1)
