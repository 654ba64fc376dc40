"""Backend selection, availability and capabilities (docs/api.md, "SessionController",
"Capabilities"). This machine has no NVIDIA GPU: nvidia must be refused with a reason and
"auto" must fall back to software. GPU-only checks are marked ``gpu``."""

from __future__ import annotations

import dataclasses
import logging

import pytest

import ffprobe_check as fc
import videohw as vh
from conftest import HAS_GPU, common, encode_frames, make_frame

no_gpu_only = pytest.mark.skipif(HAS_GPU, reason="checks the CPU-only behaviour")


def test_available_backends_reports_software_usable():
    backends = vh.available_backends()
    assert isinstance(backends, dict)
    assert "software" in backends
    assert backends["software"] is None


def test_available_backends_gives_nvidia_a_reason():
    reason = vh.available_backends()["nvidia"]
    assert isinstance(reason, str) and reason.strip()


@no_gpu_only
def test_nvidia_reason_names_the_missing_driver_libraries():
    reason = vh.available_backends()["nvidia"]
    assert "libcuda.so.1" in reason or "libnvidia-encode.so.1" in reason, reason


def test_explicit_nvidia_raises_backend_unavailable_saying_why():
    with pytest.raises(vh.BackendUnavailableError) as err:
        vh.SessionController("nvidia")
    assert isinstance(err.value, RuntimeError)
    message = str(err.value)
    assert "nvidia" in message
    assert vh.available_backends()["nvidia"] in message


def test_auto_falls_back_to_software_with_reason():
    ctl = vh.SessionController("auto")
    assert ctl.backend == "software"
    assert ctl.fallback_reason and "nvidia" in ctl.fallback_reason
    assert vh.available_backends()["nvidia"] in ctl.fallback_reason


def test_default_backend_is_auto():
    ctl = vh.SessionController()
    assert ctl.backend == "software"
    assert ctl.fallback_reason is not None


def test_explicit_software_has_no_fallback_reason(ctl):
    assert ctl.backend == "software"
    assert ctl.fallback_reason is None
    assert "software" in repr(ctl)


@pytest.mark.parametrize("codec", [vh.Codec.H264, vh.Codec.HEVC], ids=["h264", "hevc"])
def test_capabilities_are_sensible(ctl, codec):
    caps = ctl.capabilities(codec)
    assert isinstance(caps, vh.Capabilities)
    assert caps.backend == "software"
    assert caps.codec is codec
    assert 0 < caps.min_width <= 64 and 0 < caps.min_height <= 48
    assert caps.max_width == caps.max_height == 8192
    assert caps.max_b_frames >= 2
    assert caps.max_gop_length >= 100_000
    assert caps.rate_control_modes == frozenset(vh.RateControlMode)
    assert caps.input_formats == frozenset(vh.PixelFormat)
    assert caps.low_latency is True
    assert "veryfast" in caps.presets and "ultrafast" in caps.presets
    assert "zerolatency" in caps.tunes
    assert isinstance(caps.presets, tuple) and isinstance(caps.tunes, tuple)


def test_capabilities_do_not_claim_a_codec_the_backend_cannot_encode(ctl):
    # docs/api.md: AV1 has no backend yet, and configs are checked against the
    # capabilities before the backend is touched: the AV1 capabilities must refuse AV1.
    try:
        caps = ctl.capabilities(vh.Codec.AV1)
    except vh.UnsupportedConfigError:
        return
    assert caps.problems(common(vh.Codec.AV1)), caps


def test_capabilities_accept_the_codec_value_string(ctl):
    assert ctl.capabilities("h264") == ctl.capabilities(vh.Codec.H264)


def test_capabilities_are_frozen(ctl):
    caps = ctl.capabilities(vh.Codec.H264)
    with pytest.raises(dataclasses.FrozenInstanceError):
        caps.max_width = 1


def test_nvidia_config_is_accepted_by_auto_fallback_and_warns_once(caplog):
    ctl = vh.SessionController("auto")
    n = 8
    nv = vh.NvidiaEncodeConfig(max_in_flight_outputs=4)
    frames = [make_frame(vh.PixelFormat.I420, 64, 48, t) for t in range(n)]
    with caplog.at_level(logging.WARNING, logger="videohw"):
        packets = encode_frames(ctl, common(gop_length=4), frames, nv)
        encode_frames(ctl, common(), frames[:2], nv)
    probed = fc.probe_frames(packets, vh.Codec.H264)
    fc.check_frames(probed, n, 64, 48)
    fc.check_keyframes(probed, [0, 4])
    warnings = [r for r in caplog.records if "NvidiaEncodeConfig" in r.getMessage()]
    assert len(warnings) == 1


def test_software_config_preset_is_applied(ctl):
    frames = [make_frame(vh.PixelFormat.I420, 128, 96, t) for t in range(10)]
    rc = vh.RateControl.const_qp(24)
    sizes = {
        preset: sum(
            len(p.data)
            for p in encode_frames(
                ctl,
                common(width=128, height=96, rate_control=rc),
                frames,
                vh.SoftwareEncodeConfig(preset=preset),
            )
        )
        for preset in ("ultrafast", "slow")
    }
    # Same QP, different tools: the presets must give different streams.
    assert sizes["ultrafast"] != sizes["slow"]


def test_software_config_of_wrong_type_raises_config_error(ctl):
    with pytest.raises(vh.ConfigError, match="backend_config"):
        ctl.start_encode_session(common(), backend_config="ultrafast")


@pytest.mark.gpu
def test_driver_probe_finds_driver_libraries_on_a_gpu_machine():
    # On a machine with a GPU the CUDA driver library is there, so the probe must not call
    # it missing (NVENC itself may be absent: H100/H200 have no NVENC).
    reason = vh.available_backends()["nvidia"]
    assert reason is None or "libcuda.so.1: cannot open" not in reason, reason


@pytest.mark.gpu
def test_auto_on_a_gpu_machine_picks_a_usable_backend():
    ctl = vh.SessionController("auto")
    assert ctl.backend in ("nvidia", "software")
    if ctl.backend == "software":
        assert "nvidia" in ctl.fallback_reason
    packets = encode_frames(ctl, common(), [make_frame(vh.PixelFormat.I420, 64, 48, 0)])
    fc.check_frames(fc.probe_frames(packets, vh.Codec.H264), 1, 64, 48)
