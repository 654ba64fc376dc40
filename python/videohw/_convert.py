"""Public contract dataclasses <-> the core's mirror structs. Private."""

from __future__ import annotations

from typing import Any

from . import _core
from .contract import (
    Capabilities,
    Codec,
    CommonEncodeConfig,
    EncodedLayout,
    EncodedPacket,
    NvidiaEncodeConfig,
    PixelFormat,
    RateControl,
    RateControlMode,
    SessionSwitchMode,
    SoftwareEncodeConfig,
)


def _core_enum(core_enum: Any, member: Any) -> Any:
    return core_enum.__members__[member.name]


def rate_control(rc: RateControl) -> Any:
    out = _core.RateControl()
    out.mode = _core_enum(_core.RateControlMode, rc.mode)
    # RateControl.__post_init__ resolved the fields of its mode; the others stay None.
    if rc.mode is RateControlMode.CONST_QP:
        assert rc.qp_intra is not None and rc.qp_inter_p is not None and rc.qp_inter_b is not None
        out.qp_intra, out.qp_inter_p, out.qp_inter_b = rc.qp_intra, rc.qp_inter_p, rc.qp_inter_b
    else:
        assert rc.bitrate_bps is not None
        out.bitrate_bps = rc.bitrate_bps
        out.max_bitrate_bps = rc.max_bitrate_bps or rc.bitrate_bps
    out.vbv_buffer_bits = rc.vbv_buffer_bits or 0
    return out


def common_encode_config(c: CommonEncodeConfig) -> Any:
    out = _core.CommonEncodeConfig()
    out.codec = _core_enum(_core.Codec, c.codec)
    out.width, out.height = c.width, c.height
    out.fps_num, out.fps_den = c.fps_num, c.fps_den
    out.low_latency = c.low_latency
    out.gop_length = c.gop_length
    out.b_frames = c.b_frames
    assert c.frame_interval_p is not None  # resolved by CommonEncodeConfig.__post_init__
    out.frame_interval_p = c.frame_interval_p
    out.rate_control = rate_control(c.rate_control)
    out.force_idr = c.force_idr
    return out


def nvidia_encode_config(n: NvidiaEncodeConfig) -> Any:
    out = _core.NvidiaEncodeConfig()
    out.max_in_flight_outputs = n.max_in_flight_outputs
    out.preset = n.preset or ""
    out.tuning = n.tuning or ""
    out.device = n.device
    return out


def software_encode_config(s: SoftwareEncodeConfig) -> Any:
    out = _core.SoftwareEncodeConfig()
    out.preset = s.preset
    out.tune = s.tune or ""
    out.threads = s.threads
    out.max_in_flight = s.max_in_flight
    return out


def switch_mode(mode: SessionSwitchMode) -> Any:
    return _core_enum(_core.SessionSwitchMode, mode)


def pixel_format(fmt: PixelFormat) -> Any:
    return _core_enum(_core.PixelFormat, fmt)


_LAYOUTS = {int(v): EncodedLayout[name] for name, v in _core.EncodedLayout.__members__.items()}


def packets(raw: list[tuple]) -> list[EncodedPacket]:
    return [
        EncodedPacket(
            data=data, pts=pts, dts=dts, is_keyframe=key, generation=gen, layout=_LAYOUTS[layout]
        )
        for data, pts, dts, key, gen, layout in raw
    ]


def capabilities(caps: Any) -> Capabilities:
    return Capabilities(
        backend=caps.backend,
        codec=Codec[caps.codec.name],
        min_width=caps.min_width,
        min_height=caps.min_height,
        max_width=caps.max_width,
        max_height=caps.max_height,
        max_b_frames=caps.max_b_frames,
        max_gop_length=caps.max_gop_length,
        rate_control_modes=frozenset(RateControlMode[m.name] for m in caps.rate_control_modes),
        input_formats=frozenset(PixelFormat[f.name] for f in caps.input_formats),
        low_latency=caps.low_latency,
        dynamic_bitrate=caps.dynamic_bitrate,
        dynamic_resolution=caps.dynamic_resolution,
        presets=tuple(caps.presets),
        tunes=tuple(caps.tunes),
    )
