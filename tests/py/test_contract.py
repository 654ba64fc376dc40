"""The contract dataclasses validate themselves (docs/api.md, "Contract dataclasses"):
defaults, every rule, messages naming Class.field / value / range, enum coercion, frames,
capability problems and the error hierarchy. Pure Python: no encoder is touched."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from videohw.contract import (
    Capabilities,
    Codec,
    CommonDecodeConfig,
    CommonEncodeConfig,
    DecodeOutputMode,
    EncodedLayout,
    EncodedPacket,
    EncoderSessionHandle,
    Frame,
    NvidiaEncodeConfig,
    PixelFormat,
    RateControl,
    RateControlMode,
    SessionSwitchMode,
    SessionSwitchRequest,
    SoftwareDecodeConfig,
    SoftwareEncodeConfig,
    VtEncodeConfig,
)
from videohw.errors import (
    BackendUnavailableError,
    BackpressureError,
    ConfigError,
    DecodeError,
    EncodeError,
    InvalidFrameError,
    SessionClosedError,
    StaleSessionError,
    SwitchError,
    UnsupportedConfigError,
    VideoHwError,
)


def config_error(call, *args, **kwargs) -> str:
    """Runs ``call`` expecting a ConfigError; returns its message."""
    with pytest.raises(ConfigError) as err:
        call(*args, **kwargs)
    return str(err.value)


def frame_error(*args, **kwargs) -> str:
    with pytest.raises(InvalidFrameError) as err:
        Frame(*args, **kwargs)
    return str(err.value)


# ---------------------------------------------------------------------------------------
# Defaults


def test_common_encode_config_defaults_match_the_reference():
    c = CommonEncodeConfig(width=1280, height=720)
    assert c.codec is Codec.H264
    assert (c.fps_num, c.fps_den) == (30, 1)
    assert c.low_latency is False and c.force_idr is False
    assert c.gop_length == 60 and c.b_frames == 0
    assert c.rate_control == RateControl.cbr(4_000_000)


def test_frame_interval_p_none_resolves_to_b_frames_plus_one():
    assert CommonEncodeConfig(width=64, height=48).frame_interval_p == 1
    assert CommonEncodeConfig(width=64, height=48, b_frames=3).frame_interval_p == 4


def test_frame_interval_p_matching_b_frames_is_accepted():
    c = CommonEncodeConfig(width=64, height=48, b_frames=2, frame_interval_p=3)
    assert c.frame_interval_p == 3


def test_backend_config_defaults_are_valid():
    assert SoftwareEncodeConfig() == SoftwareEncodeConfig(preset="veryfast", tune=None, threads=0)
    assert NvidiaEncodeConfig().max_in_flight_outputs == 4
    assert VtEncodeConfig().realtime is True
    assert CommonDecodeConfig().output is DecodeOutputMode.METADATA_ONLY
    assert SoftwareDecodeConfig().threads == 0


def test_equal_configs_are_equal_and_hashable():
    a = CommonEncodeConfig(width=64, height=48, rate_control=RateControl.vbr(1_000_000))
    b = CommonEncodeConfig(width=64, height=48, rate_control=RateControl.vbr(1_000_000))
    assert a == b and hash(a) == hash(b)


# ---------------------------------------------------------------------------------------
# CommonEncodeConfig rules


def test_odd_width_is_refused_naming_field_value_and_range():
    msg = config_error(CommonEncodeConfig, width=1279, height=720)
    assert "CommonEncodeConfig.width: 1279 is odd" in msg
    assert "16..16384" in msg


def test_odd_height_is_refused():
    assert "CommonEncodeConfig.height: 721 is odd" in config_error(
        CommonEncodeConfig, width=1280, height=721
    )


@pytest.mark.parametrize("width", [8, 16386])
def test_width_outside_range_is_refused(width):
    msg = config_error(CommonEncodeConfig, width=width, height=720)
    assert f"CommonEncodeConfig.width: {width} is outside 16..16384" in msg


def test_zero_fps_is_refused():
    msg = config_error(CommonEncodeConfig, width=64, height=48, fps_num=0)
    assert "CommonEncodeConfig.fps_num: 0" in msg and "1.." in msg


def test_zero_fps_den_is_refused():
    assert "CommonEncodeConfig.fps_den: 0" in config_error(
        CommonEncodeConfig, width=64, height=48, fps_den=0
    )


def test_frame_rate_above_1000_is_refused():
    msg = config_error(CommonEncodeConfig, width=64, height=48, fps_num=2002, fps_den=2)
    assert "CommonEncodeConfig.fps_num: 2002/2" in msg and "1000" in msg


def test_fractional_frame_rate_is_accepted():
    c = CommonEncodeConfig(width=64, height=48, fps_num=30000, fps_den=1001)
    assert (c.fps_num, c.fps_den) == (30000, 1001)


@pytest.mark.parametrize("gop", [0, 100_001])
def test_gop_length_outside_range_is_refused(gop):
    assert f"CommonEncodeConfig.gop_length: {gop} is outside 1..100000" in config_error(
        CommonEncodeConfig, width=64, height=48, gop_length=gop
    )


def test_b_frames_above_16_are_refused():
    assert "CommonEncodeConfig.b_frames: 17 is outside 0..16" in config_error(
        CommonEncodeConfig, width=64, height=48, b_frames=17
    )


def test_b_frames_with_low_latency_are_refused():
    msg = config_error(CommonEncodeConfig, width=64, height=48, low_latency=True, b_frames=2)
    assert "CommonEncodeConfig.b_frames: 2 with low_latency=True; expected 0" in msg


def test_frame_interval_p_not_b_frames_plus_one_is_refused():
    msg = config_error(CommonEncodeConfig, width=64, height=48, b_frames=2, frame_interval_p=1)
    assert "CommonEncodeConfig.frame_interval_p: 1 does not match b_frames=2" in msg
    assert "b_frames + 1 = 3" in msg


@pytest.mark.parametrize("field", ["width", "gop_length", "b_frames", "fps_num"])
def test_bool_is_refused_where_an_int_is_expected(field):
    kwargs = {"width": 64, "height": 48, field: True}
    msg = config_error(CommonEncodeConfig, **kwargs)
    assert f"CommonEncodeConfig.{field}: True is a bool; expected an int" in msg


def test_float_is_refused_where_an_int_is_expected():
    msg = config_error(CommonEncodeConfig, width=64.0, height=48)
    assert "CommonEncodeConfig.width: 64.0 is a float; expected an int in 16..16384" in msg


def test_int_is_refused_where_a_bool_is_expected():
    msg = config_error(CommonEncodeConfig, width=64, height=48, low_latency=1)
    assert "CommonEncodeConfig.low_latency: 1; expected True or False" in msg


def test_rate_control_must_be_a_rate_control():
    msg = config_error(CommonEncodeConfig, width=64, height=48, rate_control="cbr:4M")
    assert "CommonEncodeConfig.rate_control: 'cbr:4M' is a str; expected RateControl" in msg


# ---------------------------------------------------------------------------------------
# Enum coercion


def test_enum_value_strings_are_coerced_to_members():
    c = CommonEncodeConfig(codec="hevc", width=64, height=48)
    assert c.codec is Codec.HEVC
    d = CommonDecodeConfig(codec="h264", output="rgb")
    assert d.output is DecodeOutputMode.CPU_RGB
    assert RateControl("cqp", qp_intra=20).mode is RateControlMode.CONST_QP


def test_enums_accept_their_value_strings():
    assert Codec("h264") is Codec.H264
    assert PixelFormat("argb8888") is PixelFormat.ARGB8888
    assert EncodedLayout("annexb") is EncodedLayout.ANNEX_B
    assert SessionSwitchMode("on_next_keyframe") is SessionSwitchMode.ON_NEXT_KEYFRAME


def test_enum_str_is_its_value():
    assert str(Codec.HEVC) == "hevc" and str(RateControlMode.CONST_QP) == "cqp"


def test_unknown_enum_string_is_refused_listing_the_choices():
    msg = config_error(CommonEncodeConfig, codec="mpeg2", width=64, height=48)
    assert "CommonEncodeConfig.codec: 'mpeg2' is not a Codec" in msg
    assert "h264, hevc, av1, vp9" in msg


def test_member_of_another_enum_is_refused():
    assert "is not a Codec" in config_error(
        CommonEncodeConfig, codec=PixelFormat.I420, width=64, height=48
    )


# ---------------------------------------------------------------------------------------
# RateControl


def test_cbr_resolves_max_and_one_second_vbv():
    rc = RateControl.cbr(4_000_000)
    assert rc.mode is RateControlMode.CBR
    assert (rc.bitrate_bps, rc.max_bitrate_bps, rc.vbv_buffer_bits) == (4_000_000,) * 3
    assert rc.qp_intra is None and rc.qp_inter_p is None and rc.qp_inter_b is None


def test_vbr_max_defaults_to_one_and_a_half_times_average():
    rc = RateControl.vbr(4_000_000)
    assert (rc.bitrate_bps, rc.max_bitrate_bps, rc.vbv_buffer_bits) == (
        4_000_000,
        6_000_000,
        6_000_000,
    )


def test_vbr_default_max_is_capped_at_the_rate_maximum():
    assert RateControl.vbr(700_000_000).max_bitrate_bps == 800_000_000


def test_const_qp_inter_qps_default_down_the_chain():
    assert RateControl.const_qp(22).qp_inter_b == 22
    rc = RateControl.const_qp(22, 25)
    assert (rc.qp_intra, rc.qp_inter_p, rc.qp_inter_b) == (22, 25, 25)
    assert rc.bitrate_bps is None and rc.vbv_buffer_bits is None


def test_direct_construction_equals_the_constructor():
    assert RateControl(RateControlMode.CBR, bitrate_bps=2_000_000) == RateControl.cbr(2_000_000)


def test_negative_bitrate_is_refused():
    msg = config_error(RateControl.cbr, -1_000_000)
    assert "RateControl.bitrate_bps: -1000000 is outside 1000..800000000" in msg


def test_bitrate_above_maximum_is_refused():
    assert "800000000" in config_error(RateControl.cbr, 800_000_001)


def test_vbr_max_below_average_is_refused():
    msg = config_error(RateControl.vbr, 4_000_000, 2_000_000)
    assert "RateControl.max_bitrate_bps: 2000000 is below the average bitrate_bps 4000000" in msg


def test_cbr_max_other_than_bitrate_is_refused():
    msg = config_error(
        RateControl, RateControlMode.CBR, bitrate_bps=1_000_000, max_bitrate_bps=2_000_000
    )
    assert "RateControl.max_bitrate_bps: 2000000 differs from bitrate_bps 1000000" in msg


def test_vbv_outside_range_is_refused():
    assert "RateControl.vbv_buffer_bits: 999 is outside 1000..1600000000" in config_error(
        RateControl.cbr, 1_000_000, 999
    )


@pytest.mark.parametrize("qp", [52, -1])
def test_qp_outside_0_to_51_is_refused(qp):
    assert f"RateControl.qp_intra: {qp} is outside 0..51" in config_error(RateControl.const_qp, qp)


def test_qp_inter_b_outside_range_is_refused():
    assert "RateControl.qp_inter_b: 52 is outside 0..51" in config_error(
        RateControl.const_qp, 20, 22, 52
    )


def test_field_of_another_mode_is_refused():
    msg = config_error(RateControl, RateControlMode.CONST_QP, qp_intra=20, bitrate_bps=1_000_000)
    assert "RateControl.bitrate_bps: 1000000 does not apply to mode cqp; expected None" in msg
    assert "RateControl.qp_intra" in config_error(
        RateControl, RateControlMode.CBR, bitrate_bps=1_000_000, qp_intra=20
    )


def test_missing_bitrate_is_refused():
    assert "RateControl.bitrate_bps: missing; expected an int in 1000..800000000" in (
        config_error(RateControl, RateControlMode.VBR)
    )


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("cbr:4000000", RateControl.cbr(4_000_000)),
        ("cbr:4M", RateControl.cbr(4_000_000)),
        ("cbr:4000k", RateControl.cbr(4_000_000)),
        ("cbr:2500K", RateControl.cbr(2_500_000)),
        ("cbr:1.5M", RateControl.cbr(1_500_000)),
        ("cbr:4M:8M", RateControl.cbr(4_000_000, 8_000_000)),
        ("vbr:4M", RateControl.vbr(4_000_000)),
        ("vbr:4M:6M", RateControl.vbr(4_000_000, 6_000_000)),
        ("vbr:300k:1M", RateControl.vbr(300_000, 1_000_000)),
        ("cqp:22", RateControl.const_qp(22)),
        ("cqp:22:24:26", RateControl.const_qp(22, 24, 26)),
        (" CBR:4M ", RateControl.cbr(4_000_000)),
    ],
)
def test_parse_reads_the_cli_forms(spec, expected):
    assert RateControl.parse(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "cbr",
        "cbr:",
        "abr:4M",
        "cbr:4G",
        "cbr:4m",
        "cbr:-4M",
        "cbr:1.0005k",
        "cbr:4M:8M:9M",
        "vbr:4M:6M:6M:1",
        "cqp:22:24:26:28",
        "cqp:22.5",
        "cqp:1k",
        "cbr:4 M",
    ],
)
def test_parse_refuses_bad_specs(spec):
    msg = config_error(RateControl.parse, spec)
    assert msg.startswith("RateControl.parse:") and repr(spec) in msg


def test_parse_refuses_a_parsed_spec_out_of_range():
    assert "RateControl.qp_intra: 60 is outside 0..51" in config_error(RateControl.parse, "cqp:60")


def test_parse_refuses_a_non_string():
    assert "RateControl.parse: 4000000 is a int" in config_error(RateControl.parse, 4_000_000)


@pytest.mark.parametrize(
    "rc, text",
    [
        (RateControl.cbr(4_000_000), "cbr:4000000"),
        (RateControl.cbr(4_000_000, 8_000_000), "cbr:4000000:8000000"),
        (RateControl.vbr(4_000_000), "vbr:4000000:6000000"),
        (RateControl.vbr(4_000_000, 6_000_000, 3_000_000), "vbr:4000000:6000000:3000000"),
        (RateControl.const_qp(22), "cqp:22:22:22"),
    ],
)
def test_str_is_the_cli_form_and_parses_back(rc, text):
    assert str(rc) == text
    assert RateControl.parse(text) == rc


# ---------------------------------------------------------------------------------------
# Backend configs, handles, switch requests


def test_unknown_software_preset_is_refused_listing_presets():
    msg = config_error(SoftwareEncodeConfig, preset="turbo")
    assert "SoftwareEncodeConfig.preset: 'turbo'" in msg and "ultrafast" in msg


def test_software_threads_outside_range_are_refused():
    assert "SoftwareEncodeConfig.threads: 65 is outside 0..64" in config_error(
        SoftwareEncodeConfig, threads=65
    )


def test_software_tune_is_checked():
    assert SoftwareEncodeConfig(tune="film").tune == "film"
    assert "SoftwareEncodeConfig.tune: 'cinema'" in config_error(
        SoftwareEncodeConfig, tune="cinema"
    )


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (
            {"max_in_flight_outputs": 0},
            "NvidiaEncodeConfig.max_in_flight_outputs: 0 is outside 1..64",
        ),
        ({"preset": "p8"}, "NvidiaEncodeConfig.preset: 'p8'"),
        ({"tuning": "fast"}, "NvidiaEncodeConfig.tuning: 'fast'"),
        ({"device": -1}, "NvidiaEncodeConfig.device: -1 is below the minimum of 0"),
    ],
)
def test_nvidia_encode_config_rules(kwargs, needle):
    assert needle in config_error(NvidiaEncodeConfig, **kwargs)


def test_max_display_delay_outside_range_is_refused():
    assert "CommonDecodeConfig.max_display_delay: 17 is outside 0..16" in config_error(
        CommonDecodeConfig, max_display_delay=17
    )


def test_handle_generation_starts_at_one():
    assert "EncoderSessionHandle.generation: 0 is outside 1..4294967295" in config_error(
        EncoderSessionHandle, id=1, generation=0
    )


def test_switch_request_target_is_a_config_pair():
    common = CommonEncodeConfig(width=64, height=48)
    req = SessionSwitchRequest(target=[common, None], mode="drain_then_swap")
    assert req.target == (common, None) and req.mode is SessionSwitchMode.DRAIN_THEN_SWAP
    assert "SessionSwitchRequest.target" in config_error(SessionSwitchRequest, target=common)
    assert "SessionSwitchRequest.target[1]" in config_error(
        SessionSwitchRequest, target=(common, "nvenc")
    )


# ---------------------------------------------------------------------------------------
# Frozen-ness


@pytest.mark.parametrize(
    "obj, field",
    [
        (CommonEncodeConfig(width=64, height=48), "width"),
        (RateControl.cbr(1_000_000), "bitrate_bps"),
        (SoftwareEncodeConfig(), "preset"),
        (EncoderSessionHandle(id=1, generation=1), "generation"),
        (Frame(b"\0" * 16, PixelFormat.I420), "pts"),
    ],
)
def test_contract_objects_are_frozen(obj, field):
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, field, 2)


# ---------------------------------------------------------------------------------------
# Frame


def test_numpy_uint8_frame_is_accepted():
    data = np.zeros((48, 64, 4), dtype=np.uint8)
    f = Frame(data, PixelFormat.ARGB8888, pts=3, force_keyframe=True)
    assert f.data is data and f.format is PixelFormat.ARGB8888 and f.pts == 3


@pytest.mark.parametrize(
    "data",
    [b"\0" * 96, bytearray(96), memoryview(bytes(96))],
    ids=["bytes", "bytearray", "memoryview"],
)
def test_bytes_like_frame_data_is_accepted(data):
    f = Frame(data, "nv12")
    assert f.format is PixelFormat.NV12
    assert f.buffer.nbytes == 96


def test_buffer_is_a_memoryview_of_data():
    data = np.arange(12, dtype=np.uint8).reshape(3, 4)
    view = Frame(data, PixelFormat.RGB24).buffer
    assert isinstance(view, memoryview) and view.shape == (3, 4)
    assert view.tobytes() == data.tobytes()


def test_frame_does_not_check_the_byte_count():
    # The session size is not known here; the core checks the byte count on submit.
    assert Frame(b"\0", PixelFormat.I420).buffer.nbytes == 1


def test_non_contiguous_numpy_slice_is_refused():
    strided = np.zeros((48, 128, 4), dtype=np.uint8)[:, ::2]
    msg = frame_error(strided, PixelFormat.ARGB8888)
    assert "Frame.data" in msg and "not C-contiguous" in msg


def test_float32_array_is_refused_naming_its_dtype():
    msg = frame_error(np.zeros(96, dtype=np.float32), PixelFormat.I420)
    assert "Frame.data: dtype float32; expected uint8" in msg


def test_int8_array_is_refused():
    assert "dtype int8; expected uint8" in frame_error(np.zeros(96, dtype=np.int8), "i420")


@pytest.mark.parametrize(
    "data", [object(), 12345, [0] * 96, "abc"], ids=["object", "int", "list", "str"]
)
def test_frame_data_without_a_buffer_is_refused(data):
    msg = frame_error(data, PixelFormat.I420)
    assert f"Frame.data: a {type(data).__name__} has no buffer" in msg


def test_unknown_format_string_is_refused_listing_formats():
    msg = frame_error(b"\0" * 96, "yuyv")
    assert "Frame.format: 'yuyv' is not a PixelFormat" in msg and "argb8888" in msg


def test_frame_errors_are_invalid_frame_errors_not_config_errors():
    with pytest.raises(InvalidFrameError) as err:
        Frame(b"\0", "yuyv")
    assert not isinstance(err.value, ConfigError)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (
            {"pts": 1.5},
            "Frame.pts: 1.5 is a float; expected an int in "
            "-9223372036854775808..9223372036854775807 or None",
        ),
        ({"pts": True}, "Frame.pts: True is a bool"),
        ({"force_keyframe": 1}, "Frame.force_keyframe: 1; expected True or False"),
        ({"pitch": 0}, "Frame.pitch: 0 is outside 1..2147483647"),
        ({"pitch": 64.0}, "Frame.pitch: 64.0 is a float"),
    ],
)
def test_frame_scalar_fields_are_checked(kwargs, needle):
    assert needle in frame_error(b"\0" * 96, PixelFormat.I420, **kwargs)


def test_frame_repr_shows_shape_not_pixels():
    r = repr(Frame(np.full((48, 64, 4), 7, dtype=np.uint8), "argb8888", pts=5))
    assert r == "Frame(format=argb8888, shape=(48, 64, 4), pts=5, force_keyframe=False)"


def test_frame_repr_of_bytes_shows_the_byte_count():
    r = repr(Frame(bytes(96), "i420", pitch=8))
    assert r == "Frame(format=i420, nbytes=96, pts=None, force_keyframe=False, pitch=8)"


def test_frames_compare_by_identity():
    data = bytes(96)
    a, b = Frame(data, "i420"), Frame(data, "i420")
    assert a == a and a != b


# ---------------------------------------------------------------------------------------
# EncodedPacket


def test_packet_repr_shows_length_not_bytes():
    p = EncodedPacket(
        b"\x00\x00\x00\x01" * 100, pts=3, dts=2, is_keyframe=True, generation=1, layout="annexb"
    )
    assert repr(p) == (
        "EncodedPacket(len=400, pts=3, dts=2, keyframe=True, generation=1, layout=annexb)"
    )
    assert p.layout is EncodedLayout.ANNEX_B


def test_packet_dts_may_be_negative():
    assert EncodedPacket(b"x", 0, -2, False, 1, EncodedLayout.ANNEX_B).dts == -2


def test_packet_data_must_be_bytes():
    assert "EncodedPacket.data: 'x' is a str; expected bytes" in config_error(
        EncodedPacket, "x", 0, 0, False, 1, EncodedLayout.ANNEX_B
    )


# ---------------------------------------------------------------------------------------
# Capabilities


def caps(**overrides) -> Capabilities:
    fields = dict(
        backend="software",
        codec=Codec.H264,
        min_width=16,
        min_height=16,
        max_width=8192,
        max_height=8192,
        max_b_frames=16,
        max_gop_length=100_000,
        rate_control_modes=frozenset(RateControlMode),
        input_formats=frozenset(PixelFormat),
        low_latency=True,
        dynamic_bitrate=False,
        dynamic_resolution=False,
        presets=("veryfast",),
        tunes=("film",),
    )
    fields.update(overrides)
    return Capabilities(**fields)


def test_supported_config_has_no_problems():
    c = CommonEncodeConfig(width=1920, height=1080, b_frames=2)
    assert caps().problems(c) == []
    caps().check(c)  # does not raise


def test_capabilities_list_every_problem_at_once():
    c = CommonEncodeConfig(
        codec="hevc",
        width=9000,
        height=9000,
        b_frames=0,
        gop_length=500,
        low_latency=True,
        rate_control=RateControl.const_qp(20),
    )
    problems = caps(
        max_gop_length=250, low_latency=False, rate_control_modes={"cbr", "vbr"}
    ).problems(c)
    assert problems == [
        "codec: hevc; these are the capabilities of software h264",
        "width: 9000 is outside software h264's 16..8192",
        "height: 9000 is outside software h264's 16..8192",
        "gop_length: 500 exceeds software h264's maximum of 250",
        "rate_control: cqp is not supported by software h264 (supported: cbr, vbr)",
        "low_latency: True is not supported by software h264",
    ]


def test_b_frames_above_the_backend_maximum_are_a_problem():
    problems = caps(max_b_frames=4).problems(CommonEncodeConfig(width=64, height=48, b_frames=8))
    assert problems == ["b_frames: 8 exceeds software h264's maximum of 4"]


def test_check_raises_unsupported_config_error_with_the_problems():
    with pytest.raises(UnsupportedConfigError) as err:
        caps().check(CommonEncodeConfig(width=9000, height=9000))
    assert len(err.value.problems) == 2
    assert str(err.value).startswith("unsupported configuration (2 problems): width: 9000")
    assert isinstance(err.value, ConfigError)


def test_capabilities_coerce_mode_and_format_strings():
    c = caps(rate_control_modes=["cqp"], input_formats=("i420", PixelFormat.NV12))
    assert c.rate_control_modes == frozenset({RateControlMode.CONST_QP})
    assert c.input_formats == frozenset({PixelFormat.I420, PixelFormat.NV12})


def test_capabilities_refuse_a_lone_string_as_a_set():
    assert "Capabilities.rate_control_modes: 'cbr'" in config_error(caps, rate_control_modes="cbr")


# ---------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    "cls",
    [
        ConfigError,
        InvalidFrameError,
        UnsupportedConfigError,
        BackendUnavailableError,
        StaleSessionError,
        SessionClosedError,
        SwitchError,
        BackpressureError,
        DecodeError,
        EncodeError,
    ],
)
def test_every_error_derives_from_videohw_error(cls):
    assert issubclass(cls, VideoHwError)


def test_value_and_runtime_error_bases():
    assert issubclass(ConfigError, ValueError) and issubclass(InvalidFrameError, ValueError)
    assert issubclass(UnsupportedConfigError, ConfigError)
    assert issubclass(BackendUnavailableError, RuntimeError)
    assert not issubclass(InvalidFrameError, ConfigError)


def test_unsupported_config_error_message_lists_every_problem():
    err = UnsupportedConfigError(["width: 9000 too big", "b_frames: 8 too many"])
    assert err.problems == ["width: 9000 too big", "b_frames: 8 too many"]
    assert str(err) == (
        "unsupported configuration (2 problems): width: 9000 too big; b_frames: 8 too many"
    )


def test_unsupported_config_error_from_one_message_has_one_problem():
    err = UnsupportedConfigError("codec: av1 has no software encoder")
    assert err.problems == ["codec: av1 has no software encoder"]
    assert str(err) == "unsupported configuration (1 problem): codec: av1 has no software encoder"


def test_unsupported_config_error_pickles_with_its_problems():
    err = pickle.loads(pickle.dumps(UnsupportedConfigError(["a", "b"])))
    assert err.problems == ["a", "b"] and str(err).endswith("a; b")
