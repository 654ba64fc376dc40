"""backend="nvidia" and the "auto" fallback (docs/nvidia.md).

On CPU the NVENC adapter runs against the driver doubles (tests/nvenc_double), reached only
through VIDEOHW_NVENC_LIBRARY / VIDEOHW_CUDA_LIBRARY, exactly as the real driver would be
(the ``double`` fixture, conftest.py and nvenc_double.py, finds the built ones).
Tests marked ``gpu`` run on a real NVIDIA machine (an H100 has NVDEC but no NVENC)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys

import pytest

import ffprobe_check as fc
import videohw as vh
import videohw.controller as controller
from conftest import HAS_GPU, common, encode_frames, make_frame
from nvenc_double import calls

# ---- through the double ------------------------------------------------------------------


def test_nvidia_backend_is_available_through_the_double(double):
    assert vh.available_backends()["nvidia"] is None
    ctl = vh.SessionController("nvidia")
    assert ctl.backend == "nvidia" and ctl.fallback_reason is None
    caps = ctl.capabilities(vh.Codec.H264)
    assert caps.backend == "nvidia"
    assert caps.presets == ("p1", "p2", "p3", "p4", "p5", "p6", "p7")
    assert {"hq", "ll", "ull"} <= set(caps.tunes)
    assert caps.input_formats == frozenset(vh.PixelFormat)


@pytest.mark.parametrize("codec", [vh.Codec.H264, vh.Codec.HEVC], ids=["h264", "hevc"])
def test_nvidia_encode_decodes_with_gop_and_forced_keyframe(double, codec):
    ctl = vh.SessionController("nvidia")
    n = 14
    frames = [
        make_frame(vh.PixelFormat.ARGB8888, 64, 48, t, force_keyframe=(t == 7)) for t in range(n)
    ]
    packets = encode_frames(
        ctl, common(codec, gop_length=5), frames, vh.NvidiaEncodeConfig(preset="p2", tuning="ll")
    )
    probed = fc.probe_frames(packets, codec)
    fc.check_frames(probed, n, 64, 48)
    fc.check_keyframes(probed, [0, 5, 7, 12])
    assert [p.is_keyframe for p in packets].count(True) == 4


def test_nvidia_session_survives_flushes_with_one_open(double):
    ctl = vh.SessionController("nvidia")
    config = common(low_latency=False, b_frames=2)
    h = ctl.start_encode_session(config, vh.NvidiaEncodeConfig(max_in_flight_outputs=3))
    opens = calls(double.log(), "nvEncOpenEncodeSessionEx")  # probes and the session's own
    total = 0
    for cycle in range(5):
        for t in range(4):
            ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, cycle * 4 + t))
        total += len(ctl.flush(h))
    assert total == 20
    tel = ctl.telemetry(h)
    assert tel["session_inits"] == 1 and tel["encoder_opens"] == 1
    ctl.close_encode_session(h)
    log = double.log()
    assert calls(log, "nvEncOpenEncodeSessionEx") == opens, "no encoder opened after start"
    assert calls(log, "nvEncInitializeEncoder") == 1
    assert calls(log, "nvEncCreateInputBuffer") == 3
    assert calls(log, "nvEncCreateBitstreamBuffer") == 3


def test_nvidia_switches_bitrate_in_place(double):
    ctl = vh.SessionController("nvidia")
    c1 = common(low_latency=True, gop_length=10)
    h = ctl.start_encode_session(c1)
    for t in range(4):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    c2 = common(low_latency=True, gop_length=10, rate_control=vh.RateControl.cbr(200_000))
    h2 = ctl.switch_encode_session(
        h,
        vh.SessionSwitchRequest(
            target=(c2, None), mode=vh.SessionSwitchMode.IMMEDIATE, force_idr_on_activate=True
        ),
    )
    for t in range(4, 8):
        ctl.submit(h2, make_frame(vh.PixelFormat.I420, 64, 48, t))
    packets = ctl.close_encode_session(h2)
    assert [p.generation for p in packets] == [1] * 4 + [h2.generation] * 4
    assert ctl.telemetry(h2)["switches_in_place"] == 1
    assert calls(double.log(), "nvEncReconfigureEncoder") == 1


def test_a_resize_the_driver_refuses_rolls_back_and_scales_the_new_size_frames(double):
    # nvEncReconfigureEncoder fails (the double's fault): the session rolls back, and the
    # frames the caller already sent at the new size reach the old 64x48 encoder, which
    # must scale them rather than reject them or write past its input buffers.
    ctl = vh.SessionController("nvidia")
    h = ctl.start_encode_session(common(low_latency=True, gop_length=10))
    for t in range(4):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    double.set_faults("reconfigure")
    h2 = ctl.switch_encode_session(
        h,
        vh.SessionSwitchRequest(
            target=(common(width=48, height=32, low_latency=True, gop_length=10), None)
        ),
    )
    assert ctl.telemetry(h2)["switches_in_place"] == 1
    current = h2
    for t in range(4, 9):
        fmt = vh.PixelFormat.ARGB8888 if t % 2 else vh.PixelFormat.I420
        size = (48, 32) if current == h2 else (64, 48)
        try:
            ctl.submit(current, make_frame(fmt, *size, t))
        except vh.SwitchError as e:
            assert "rolled back to generation 1" in str(e)
            current = h
            ctl.submit(h, make_frame(fmt, 64, 48, t))
    packets = ctl.flush(h)
    log = double.log()
    # The new-size input buffers made for the reconfigure were released with it: only the
    # running ring of 4 (the default depth) is alive.
    assert calls(log, "nvEncCreateInputBuffer") == 8
    assert calls(log, "nvEncCreateInputBuffer") - calls(log, "nvEncDestroyInputBuffer") == 4
    packets += ctl.close_encode_session(h)
    assert [p.pts for p in packets] == list(range(9)), "no frame lost"
    assert {p.generation for p in packets} == {1}
    fc.check_frames(fc.probe_frames(packets, vh.Codec.H264), 9, 64, 48)
    tel = ctl.telemetry(h)
    assert tel["switch_failures"] == 1 and "nvEncReconfigureEncoder" in tel["switch_fail_reason"]
    assert tel["encoder_opens"] == 1
    log = double.log()
    assert calls(log, "nvEncReconfigureEncoder") == 1
    assert calls(log, "nvEncInitializeEncoder") == 1, "no second encoder"


def test_an_in_place_resize_reuses_the_encoder_and_rebuilds_only_the_inputs(double):
    ctl = vh.SessionController("nvidia")
    depth = vh.NvidiaEncodeConfig(max_in_flight_outputs=3)
    h = ctl.start_encode_session(common(low_latency=True, gop_length=30), depth)
    for t in range(5):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    h2 = ctl.switch_encode_session(
        h,
        vh.SessionSwitchRequest(
            target=(common(width=96, height=64, low_latency=True, gop_length=30), depth),
            force_idr_on_activate=False,
        ),
    )
    for t in range(5, 10):
        ctl.submit(h2, make_frame(vh.PixelFormat.I420, 96, 64, t))
    packets = ctl.close_encode_session(h2)
    frames = fc.probe_frames(packets, vh.Codec.H264)
    assert [(f.width, f.height) for f in frames] == [(64, 48)] * 5 + [(96, 64)] * 5
    fc.check_keyframes(frames, [0, 5])  # resetEncoder + forceIDR, without being asked
    assert [p.generation for p in packets] == [1] * 5 + [2] * 5
    tel = ctl.telemetry(h2)
    assert tel["switches_in_place"] == 1 and tel["encoder_opens"] == 1
    log = double.log()
    assert calls(log, "nvEncInitializeEncoder") == 1
    assert calls(log, "nvEncCreateBitstreamBuffer") == 3, "bitstream buffers kept"
    assert calls(log, "nvEncCreateInputBuffer") == 6, "input buffers rebuilt once"


def test_auto_prefers_nvidia_when_it_is_usable(double):
    ctl = vh.SessionController("auto")
    assert ctl.backend == "nvidia"
    assert ctl.fallback_reason is None


def test_auto_without_encode_engine_falls_back_to_software_and_says_why(
    double, caplog, monkeypatch
):
    double.reset(no_encode_device="1")
    monkeypatch.setattr(controller, "_fallbacks_logged", set())  # as in a fresh process
    with caplog.at_level(logging.WARNING, logger="videohw"):
        ctl = vh.SessionController("auto")
        vh.SessionController("auto")
    assert ctl.backend == "software"
    assert "no encode engine" in ctl.fallback_reason
    warned = [r for r in caplog.records if "no encode engine" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING, "one warning per cause"
    packets = encode_frames(
        ctl, common(), [make_frame(vh.PixelFormat.I420, 64, 48, t) for t in range(3)]
    )
    fc.check_frames(fc.probe_frames(packets, vh.Codec.H264), 3, 64, 48)
    h = ctl.start_encode_session(common())
    assert "no encode engine" in ctl.telemetry(h)["backend_fallback_reason"]
    ctl.close_encode_session(h)
    with pytest.raises(vh.BackendUnavailableError, match="no encode engine"):
        vh.SessionController("nvidia")


def test_videohw_caps_shows_the_fallback_reason(double):
    double.reset(no_encode_device="1")
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "videohw", "caps", "--json"],
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["auto"]["backend"] == "software"
    assert "no encode engine" in info["auto"]["fallback_reason"]
    assert info["backends"]["nvidia"]["available"] is False
    assert "no encode engine" in info["backends"]["nvidia"]["reason"]


def test_videohw_caps_lists_nvidia_capabilities_through_the_double(double):
    proc = subprocess.run(
        [sys.executable, "-m", "videohw", "caps", "--json"],
        env=dict(os.environ),
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["auto"]["backend"] == "nvidia"
    nvidia = info["backends"]["nvidia"]
    assert nvidia["available"] is True
    assert "p4" in nvidia["codecs"]["h264"]["presets"]


def test_driver_too_old_is_backend_unavailable(double):
    double.reset(max_version="10.0")
    with pytest.raises(vh.BackendUnavailableError, match="driver too old"):
        vh.SessionController("nvidia")


def test_nvidia_config_errors_name_the_field(double):
    ctl = vh.SessionController("nvidia")
    with pytest.raises(vh.UnsupportedConfigError, match="max_in_flight_outputs"):
        ctl.start_encode_session(
            common(low_latency=False, b_frames=3), vh.NvidiaEncodeConfig(max_in_flight_outputs=2)
        )
    with pytest.raises(vh.ConfigError, match="NvidiaEncodeConfig.device"):
        ctl.start_encode_session(common(), vh.NvidiaEncodeConfig(device=9))


def test_missing_driver_library_is_named(monkeypatch):
    monkeypatch.setenv("VIDEOHW_NVENC_LIBRARY", "/nonexistent/libnvidia-encode.so.1")
    monkeypatch.setenv("VIDEOHW_CUDA_LIBRARY", "/nonexistent/libcuda.so.1")
    reason = vh.available_backends()["nvidia"]
    assert "/nonexistent/libcuda.so.1" in reason
    assert "VIDEOHW_CUDA_LIBRARY" in reason


# ---- this machine as it is: no NVIDIA driver -----------------------------------------------

no_driver = pytest.mark.skipif(HAS_GPU, reason="checks a machine without an NVIDIA driver")
_DRIVER_ENV = ("VIDEOHW_NVENC_LIBRARY", "VIDEOHW_CUDA_LIBRARY")


def _without_driver_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _DRIVER_ENV}


@no_driver
def test_auto_without_a_driver_falls_back_warns_once_and_keeps_the_reason(monkeypatch, caplog):
    for key in _DRIVER_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(controller, "_fallbacks_logged", set())  # as in a fresh process
    with caplog.at_level(logging.WARNING, logger="videohw"):
        ctl = vh.SessionController("auto")
        again = vh.SessionController()
    assert ctl.backend == again.backend == "software"
    assert "driver library missing" in ctl.fallback_reason
    assert "libcuda.so.1" in ctl.fallback_reason
    assert again.fallback_reason == ctl.fallback_reason
    warned = [r for r in caplog.records if "backend 'auto' uses software" in r.getMessage()]
    assert len(warned) == 1, [r.getMessage() for r in caplog.records]
    assert warned[0].levelno == logging.WARNING and ctl.fallback_reason in warned[0].getMessage()
    h = ctl.start_encode_session(common())
    for t in range(3):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    assert ctl.telemetry(h)["backend_fallback_reason"] == ctl.fallback_reason
    packets = ctl.close_encode_session(h)
    fc.check_frames(fc.probe_frames(packets, vh.Codec.H264), 3, 64, 48)
    # An explicit choice never falls back: no reason to carry.
    software = vh.SessionController("software")
    h = software.start_encode_session(common())
    assert software.telemetry(h)["backend_fallback_reason"] == ""
    software.close_encode_session(h)


@no_driver
def test_a_fresh_process_warns_about_the_fallback_once_on_stderr():
    # No logging configured: Python's last-resort handler prints the warning on stderr.
    code = (
        "import videohw as vh\n"
        "for _ in range(3):\n"
        "    assert vh.SessionController('auto').backend == 'software'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=_without_driver_env(),
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "backend 'auto' uses" in line]
    assert len(lines) == 1, proc.stderr
    assert "software" in lines[0] and "driver library missing" in lines[0]


@no_driver
def test_videohw_caps_without_a_driver_shows_why_auto_is_software():
    env = _without_driver_env()
    run = dict(env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    proc = subprocess.run([sys.executable, "-m", "videohw", "caps", "--json"], **run)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["auto"]["backend"] == "software"
    reason = info["auto"]["fallback_reason"]
    assert "driver library missing" in reason and "libcuda.so.1" in reason
    assert info["backends"]["nvidia"]["available"] is False
    assert info["backends"]["nvidia"]["reason"] in reason
    assert info["backends"]["software"]["available"] is True
    text = subprocess.run([sys.executable, "-m", "videohw", "caps"], **run)
    assert text.returncode == 0, text.stderr
    assert f"auto -> software ({reason})" in text.stdout.splitlines()
    assert any(
        line.startswith("nvidia: unavailable: ") and "libcuda.so.1" in line
        for line in text.stdout.splitlines()
    )


def test_videohw_caps_without_encode_engine_shows_the_reason_in_text(double):
    double.reset(no_encode_device="1")
    proc = subprocess.run(
        [sys.executable, "-m", "videohw", "caps"],
        env=dict(os.environ),
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    auto = next(line for line in proc.stdout.splitlines() if line.startswith("auto -> "))
    assert auto.startswith("auto -> software (") and "no encode engine" in auto
    assert any(
        line.startswith("nvidia: unavailable: ") and "no encode engine" in line
        for line in proc.stdout.splitlines()
    )


# ---- on a real NVIDIA machine ---------------------------------------------------------------


@pytest.mark.gpu
def test_gpu_loader_finds_the_driver_and_its_nvenc_api_version():
    from videohw import _core

    info = _core.nvenc_driver_info()
    assert info["error"] is None, info
    major, minor = (int(x) for x in info["driver_api_version"].split("."))
    header_major, header_minor = (int(x) for x in info["header_api_version"].split("."))
    assert (major, minor) >= (header_major, header_minor)
    print("NVENC API", info["driver_api_version"], "from", info["nvenc_library"])


@pytest.mark.gpu
def test_gpu_without_nvenc_fails_cleanly_and_auto_falls_back():
    reason = vh.available_backends()["nvidia"]
    if reason is None:
        pytest.skip("this GPU has NVENC: the no-encode-engine path does not apply")
    assert "no encode engine" in reason, reason
    # The GPU still decodes (NVDEC), so the controller exists; encoding says why it cannot.
    nvidia = vh.SessionController("nvidia")
    with pytest.raises(vh.BackendUnavailableError, match="no encode engine"):
        nvidia.start_encode_session(common())
    ctl = vh.SessionController("auto")
    assert ctl.backend == "software" and "no encode engine" in ctl.fallback_reason
    frames = [make_frame(vh.PixelFormat.I420, 64, 48, t) for t in range(5)]
    packets = encode_frames(ctl, common(), frames)
    if shutil.which("ffprobe"):
        fc.check_frames(fc.probe_frames(packets, vh.Codec.H264), 5, 64, 48)
    # Verified by a decoder either way: NVDEC here, which is independent of libx264.
    with nvidia.decode_session(vh.CommonDecodeConfig(codec=vh.Codec.H264)) as d:
        d.push(b"".join(p.data for p in packets))
        decoded = d.flush()
    assert [(f.width, f.height) for f in decoded] == [(64, 48)] * 5
    assert decoded[0].is_keyframe


@pytest.mark.gpu
def test_gpu_with_nvenc_encodes_and_decodes():
    if vh.available_backends()["nvidia"] is not None:
        pytest.skip("no NVENC engine on this GPU")
    ctl = vh.SessionController("nvidia")
    frames = [make_frame(vh.PixelFormat.I420, 256, 144, t) for t in range(10)]
    packets = encode_frames(ctl, common(width=256, height=144, gop_length=5), frames)
    probed = fc.probe_frames(packets, vh.Codec.H264)
    fc.check_frames(probed, 10, 256, 144)
    fc.check_keyframes(probed, [0, 5])
