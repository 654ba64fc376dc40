"""The backend-neutral contract: enums and frozen, validated dataclasses (docs/api.md).

Every dataclass checks itself on construction. A bad field raises ``ConfigError`` (a bad
``Frame``: ``InvalidFrameError``) whose message names ``Class.field``, the value given and
what is accepted. Where a field takes an enum its value string is accepted too and stored as
the member. No third-party imports: frames are checked through the buffer protocol.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from typing import Any, Literal, Optional, TypeVar, Union, overload

from .errors import ConfigError, InvalidFrameError, UnsupportedConfigError

__all__ = [
    "Codec",
    "PixelFormat",
    "EncodedLayout",
    "RateControlMode",
    "DecodeOutputMode",
    "SessionSwitchMode",
    "SessionState",
    "RateControl",
    "CommonEncodeConfig",
    "SoftwareEncodeConfig",
    "NvidiaEncodeConfig",
    "VtEncodeConfig",
    "CommonDecodeConfig",
    "NvidiaDecodeConfig",
    "SoftwareDecodeConfig",
    "VtDecodeConfig",
    "EncoderSessionHandle",
    "DecoderSessionHandle",
    "SessionSwitchRequest",
    "Frame",
    "EncodedPacket",
    "Capabilities",
    "DecodeCapabilities",
    "Telemetry",
]


# ---------------------------------------------------------------------------------------
# Enums


class _ValueEnum(Enum):
    def __str__(self) -> str:
        return str(self.value)


class Codec(_ValueEnum):
    H264 = "h264"
    HEVC = "hevc"
    AV1 = "av1"
    VP9 = "vp9"


class PixelFormat(_ValueEnum):
    ARGB8888 = "argb8888"  # bytes A, R, G, B per pixel
    BGRA = "bgra"
    RGB24 = "rgb24"
    NV12 = "nv12"
    I420 = "i420"


class EncodedLayout(_ValueEnum):
    ANNEX_B = "annexb"
    AVCC = "avcc"
    HVCC = "hvcc"


class RateControlMode(_ValueEnum):
    CBR = "cbr"
    VBR = "vbr"
    CONST_QP = "cqp"


class DecodeOutputMode(_ValueEnum):
    METADATA_ONLY = "metadata"
    NATIVE_SURFACE = "native"
    CPU_RGB = "rgb"


class SessionSwitchMode(_ValueEnum):
    IMMEDIATE = "immediate"
    ON_NEXT_KEYFRAME = "on_next_keyframe"
    DRAIN_THEN_SWAP = "drain_then_swap"


class SessionState(_ValueEnum):
    RUNNING = "running"
    SWITCH_PENDING = "switch_pending"
    CLOSED = "closed"


# ---------------------------------------------------------------------------------------
# Field checks shared by the dataclasses

E = TypeVar("E", bound=Enum)
Error = type[Exception]


def _set(obj: object, name: str, value: Any) -> None:
    # The dataclasses are frozen; __post_init__ stores coerced values this way.
    object.__setattr__(obj, name, value)


def _given(value: Any) -> str:
    return "missing" if value is None else f"{value!r} is a {type(value).__name__}"


@overload
def _int(
    owner: str,
    name: str,
    value: Any,
    lo: Optional[int] = None,
    hi: Optional[int] = None,
    *,
    optional: Literal[False] = False,
    error: Error = ConfigError,
) -> int: ...
@overload
def _int(
    owner: str,
    name: str,
    value: Any,
    lo: Optional[int] = None,
    hi: Optional[int] = None,
    *,
    optional: bool,
    error: Error = ConfigError,
) -> Optional[int]: ...
def _int(
    owner: str,
    name: str,
    value: Any,
    lo: Optional[int] = None,
    hi: Optional[int] = None,
    *,
    optional: bool = False,
    error: Error = ConfigError,
) -> Optional[int]:
    if value is None and optional:
        return None
    span = f"{lo}..{hi}" if lo is not None and hi is not None else None
    if isinstance(value, bool) or not isinstance(value, int):
        wanted = f" in {span}" if span else (f" >= {lo}" if lo is not None else "")
        raise error(
            f"{owner}.{name}: {_given(value)}; expected an int{wanted}"
            + (" or None" if optional else "")
        )
    if span and not lo <= value <= hi:
        raise error(f"{owner}.{name}: {value} is outside {span}")
    if not span and lo is not None and value < lo:
        raise error(f"{owner}.{name}: {value} is below the minimum of {lo}")
    return value


def _bool(
    owner: str, name: str, value: Any, *, optional: bool = False, error: Error = ConfigError
) -> None:
    if not isinstance(value, bool) and not (optional and value is None):
        raise error(
            f"{owner}.{name}: {value!r}; expected True or False" + (" or None" if optional else "")
        )


def _enum(owner: str, name: str, enum: type[E], value: Any, error: Error = ConfigError) -> E:
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    choices = ", ".join(str(m.value) for m in enum)
    raise error(f"{owner}.{name}: {value!r} is not a {enum.__name__}; expected one of {choices}")


def _choice(
    owner: str, name: str, value: Any, choices: tuple[str, ...], *, optional: bool = False
) -> None:
    if (value is None and optional) or (isinstance(value, str) and value in choices):
        return
    raise ConfigError(
        f"{owner}.{name}: {value!r}; expected one of {', '.join(choices)}"
        + (" or None" if optional else "")
    )


def _instance(
    owner: str, name: str, value: Any, kinds: tuple[type, ...], *, optional: bool = False
) -> None:
    if isinstance(value, kinds) or (optional and value is None):
        return
    names = " or ".join(k.__name__ for k in kinds) + (" or None" if optional else "")
    raise ConfigError(f"{owner}.{name}: {_given(value)}; expected {names}")


def _enum_set(owner: str, name: str, enum: type[E], values: Any) -> frozenset[E]:
    # A lone string is iterable too; refuse it rather than splitting it into letters.
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ConfigError(f"{owner}.{name}: {values!r}; expected a set of {enum.__name__}")
    return frozenset(_enum(owner, name, enum, v) for v in values)


def _str_tuple(owner: str, name: str, values: Any) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ConfigError(f"{owner}.{name}: {values!r}; expected a tuple of str")
    out = tuple(values)
    for v in out:
        if not isinstance(v, str):
            raise ConfigError(f"{owner}.{name}: {v!r} is a {type(v).__name__}; expected str")
    return out


# ---------------------------------------------------------------------------------------
# Rate control

_RATE = (1_000, 800_000_000)  # bps
_VBV = (1_000, 1_600_000_000)  # bits
_QP = (0, 51)
_RATE_TEXT = re.compile(r"(\d+(?:\.\d+)?)([kKM]?)")
_RATE_UNITS = {"": 1, "k": 1_000, "K": 1_000, "M": 1_000_000}
_SPEC_FORMS = (
    "'cbr:RATE[:VBV]', 'vbr:AVG[:MAX[:VBV]]' or 'cqp:I[:P[:B]]' "
    "(rates in bps, k or M suffix allowed: 4000000, 4000k, 4M)"
)


@dataclass(frozen=True)
class RateControl:
    """Rate control of an encode. Build it with ``cbr``, ``vbr``, ``const_qp`` or ``parse``.

    Defaults are resolved on construction: CBR max = bitrate; VBR max = 1.5 x average
    (capped at the rate maximum); VBV = one second of the max rate; QP P = I, B = P.
    Fields that do not apply to the mode must be None.
    """

    mode: RateControlMode
    bitrate_bps: Optional[int] = None
    max_bitrate_bps: Optional[int] = None
    vbv_buffer_bits: Optional[int] = None
    qp_intra: Optional[int] = None
    qp_inter_p: Optional[int] = None
    qp_inter_b: Optional[int] = None

    def __post_init__(self) -> None:
        mode = _enum("RateControl", "mode", RateControlMode, self.mode)
        _set(self, "mode", mode)
        if mode is RateControlMode.CONST_QP:
            self._resolve_qps()
        else:
            self._resolve_rates(mode)

    def _forbid(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if value is not None:
                raise ConfigError(
                    f"RateControl.{name}: {value!r} does not apply to mode "
                    f"{self.mode}; expected None"
                )

    def _resolve_rates(self, mode: RateControlMode) -> None:
        self._forbid("qp_intra", "qp_inter_p", "qp_inter_b")
        rate = _int("RateControl", "bitrate_bps", self.bitrate_bps, *_RATE)
        max_rate = self.max_bitrate_bps
        if max_rate is None:
            max_rate = rate if mode is RateControlMode.CBR else min(rate * 3 // 2, _RATE[1])
        _int("RateControl", "max_bitrate_bps", max_rate, *_RATE)
        if mode is RateControlMode.CBR and max_rate != rate:
            raise ConfigError(
                f"RateControl.max_bitrate_bps: {max_rate} differs from bitrate_bps "
                f"{rate}; cbr needs max_bitrate_bps == bitrate_bps (or None)"
            )
        if max_rate < rate:
            raise ConfigError(
                f"RateControl.max_bitrate_bps: {max_rate} is below the average "
                f"bitrate_bps {rate}; vbr needs max_bitrate_bps >= bitrate_bps"
            )
        vbv = max_rate if self.vbv_buffer_bits is None else self.vbv_buffer_bits
        _int("RateControl", "vbv_buffer_bits", vbv, *_VBV)
        _set(self, "max_bitrate_bps", max_rate)
        _set(self, "vbv_buffer_bits", vbv)

    def _resolve_qps(self) -> None:
        self._forbid("bitrate_bps", "max_bitrate_bps", "vbv_buffer_bits")
        intra = _int("RateControl", "qp_intra", self.qp_intra, *_QP)
        inter_p = intra if self.qp_inter_p is None else self.qp_inter_p
        _int("RateControl", "qp_inter_p", inter_p, *_QP)
        inter_b = inter_p if self.qp_inter_b is None else self.qp_inter_b
        _int("RateControl", "qp_inter_b", inter_b, *_QP)
        _set(self, "qp_inter_p", inter_p)
        _set(self, "qp_inter_b", inter_b)

    @classmethod
    def cbr(cls, bitrate_bps: int, vbv_buffer_bits: Optional[int] = None) -> RateControl:
        """Constant bitrate; the VBV buffer defaults to one second of bitrate."""
        return cls(RateControlMode.CBR, bitrate_bps=bitrate_bps, vbv_buffer_bits=vbv_buffer_bits)

    @classmethod
    def vbr(
        cls, avg_bps: int, max_bps: Optional[int] = None, vbv_buffer_bits: Optional[int] = None
    ) -> RateControl:
        """Variable bitrate; ``max_bps`` defaults to 1.5 x ``avg_bps`` and must be >= it."""
        return cls(
            RateControlMode.VBR,
            bitrate_bps=avg_bps,
            max_bitrate_bps=max_bps,
            vbv_buffer_bits=vbv_buffer_bits,
        )

    @classmethod
    def const_qp(
        cls, intra: int, inter_p: Optional[int] = None, inter_b: Optional[int] = None
    ) -> RateControl:
        """Fixed QPs (0..51); ``inter_p`` defaults to ``intra``, ``inter_b`` to ``inter_p``."""
        return cls(RateControlMode.CONST_QP, qp_intra=intra, qp_inter_p=inter_p, qp_inter_b=inter_b)

    @classmethod
    def parse(cls, spec: str) -> RateControl:
        """The CLI form: ``"cbr:4M"``, ``"vbr:4M:6M"``, ``"cqp:22:24:26"``."""
        if not isinstance(spec, str):
            raise ConfigError(f"RateControl.parse: {_given(spec)}; expected {_SPEC_FORMS}")
        mode, *args = spec.strip().split(":")
        arity = {"cbr": 2, "vbr": 3, "cqp": 3}.get(mode.lower(), 0)
        if not 1 <= len(args) <= arity:
            raise ConfigError(f"RateControl.parse: {spec!r}; expected {_SPEC_FORMS}")
        if mode.lower() == "cqp":
            return cls.const_qp(*(_parse_qp(spec, a) for a in args))
        rates = [_parse_rate(spec, a) for a in args]
        return cls.cbr(*rates) if mode.lower() == "cbr" else cls.vbr(*rates)

    def __str__(self) -> str:
        """The CLI form ``parse`` reads back; VBV only where it is not the default."""
        if self.mode is RateControlMode.CONST_QP:
            return f"cqp:{self.qp_intra}:{self.qp_inter_p}:{self.qp_inter_b}"
        parts = [self.mode.value, str(self.bitrate_bps)]
        vbv_is_default = self.vbv_buffer_bits == self.max_bitrate_bps
        if self.mode is RateControlMode.VBR:
            parts.append(str(self.max_bitrate_bps))
        if not vbv_is_default:
            parts.append(str(self.vbv_buffer_bits))
        return ":".join(parts)


def _parse_rate(spec: str, text: str) -> int:
    match = _RATE_TEXT.fullmatch(text)
    if match:
        value = Fraction(match[1]) * _RATE_UNITS[match[2]]
        if value.denominator == 1:
            return int(value)
    raise ConfigError(
        f"RateControl.parse: {text!r} in {spec!r} is not a whole number of bps; "
        f"expected {_SPEC_FORMS}"
    )


def _parse_qp(spec: str, text: str) -> int:
    if text.isdigit() and text.isascii():
        return int(text)
    raise ConfigError(
        f"RateControl.parse: {text!r} in {spec!r} is not a QP; expected an int "
        f"in {_QP[0]}..{_QP[1]}"
    )


# ---------------------------------------------------------------------------------------
# Encode configs

_SIZE = (16, 16_384)
_FPS_PART = (1, 1_000_000)  # the core's bound on each of fps_num, fps_den
_MAX_FPS = 1_000


@dataclass(frozen=True)
class CommonEncodeConfig:
    """What every encoder backend is told. ``frame_interval_p=None`` resolves to
    ``b_frames + 1``. Width and height come first because they have no default."""

    width: int
    height: int
    codec: Codec = Codec.H264
    fps_num: int = 30
    fps_den: int = 1
    low_latency: bool = False
    gop_length: int = 60
    frame_interval_p: Optional[int] = None
    b_frames: int = 0
    rate_control: RateControl = field(default_factory=lambda: RateControl.cbr(4_000_000))
    force_idr: bool = False

    def __post_init__(self) -> None:
        owner = "CommonEncodeConfig"
        _set(self, "codec", _enum(owner, "codec", Codec, self.codec))
        for name in ("width", "height"):
            value = _int(owner, name, getattr(self, name), *_SIZE)
            if value % 2:
                raise ConfigError(
                    f"{owner}.{name}: {value} is odd; 4:2:0 needs an even {name} "
                    f"in {_SIZE[0]}..{_SIZE[1]}"
                )
        _int(owner, "fps_num", self.fps_num, *_FPS_PART)
        _int(owner, "fps_den", self.fps_den, *_FPS_PART)
        if self.fps_num > _MAX_FPS * self.fps_den:
            raise ConfigError(
                f"{owner}.fps_num: {self.fps_num}/{self.fps_den} = "
                f"{self.fps_num / self.fps_den:g} fps is above the maximum of "
                f"{_MAX_FPS} fps"
            )
        _bool(owner, "low_latency", self.low_latency)
        _int(owner, "gop_length", self.gop_length, 1, 100_000)
        b_frames = _int(owner, "b_frames", self.b_frames, 0, 16)
        if self.low_latency and b_frames:
            raise ConfigError(
                f"{owner}.b_frames: {b_frames} with low_latency=True; expected 0 "
                "(low latency has no B-frames)"
            )
        interval = b_frames + 1 if self.frame_interval_p is None else self.frame_interval_p
        _int(owner, "frame_interval_p", interval, 1, 17, optional=True)
        if interval != b_frames + 1:
            raise ConfigError(
                f"{owner}.frame_interval_p: {interval} does not match "
                f"b_frames={b_frames}; expected b_frames + 1 = {b_frames + 1} "
                "or None"
            )
        _set(self, "frame_interval_p", interval)
        _instance(owner, "rate_control", self.rate_control, (RateControl,))
        _bool(owner, "force_idr", self.force_idr)


_X26X_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
# zerolatency is also a plain x264/x265 tune; low_latency=True implies it anyway.
_X26X_TUNES = (
    "film",
    "animation",
    "grain",
    "stillimage",
    "psnr",
    "ssim",
    "fastdecode",
    "zerolatency",
)


@dataclass(frozen=True)
class SoftwareEncodeConfig:
    """libx264 / libx265 options. ``threads=0`` lets the encoder choose; ``max_in_flight``
    frames may wait in the pipeline before ``submit`` blocks (or raises BackpressureError)."""

    preset: str = "veryfast"
    tune: Optional[str] = None
    threads: int = 0
    max_in_flight: int = 4

    def __post_init__(self) -> None:
        _choice("SoftwareEncodeConfig", "preset", self.preset, _X26X_PRESETS)
        _choice("SoftwareEncodeConfig", "tune", self.tune, _X26X_TUNES, optional=True)
        _int("SoftwareEncodeConfig", "threads", self.threads, 0, 64)
        _int("SoftwareEncodeConfig", "max_in_flight", self.max_in_flight, 1, 64)


_NV_PRESETS = tuple(f"p{i}" for i in range(1, 8))
_NV_TUNINGS = ("hq", "ll", "ull", "lossless")


@dataclass(frozen=True)
class NvidiaEncodeConfig:
    """NVENC options: output ring depth, preset p1..p7, tuning, CUDA device ordinal."""

    max_in_flight_outputs: int = 4
    preset: Optional[str] = None
    tuning: Optional[str] = None
    device: int = 0

    def __post_init__(self) -> None:
        _int("NvidiaEncodeConfig", "max_in_flight_outputs", self.max_in_flight_outputs, 1, 64)
        _choice("NvidiaEncodeConfig", "preset", self.preset, _NV_PRESETS, optional=True)
        _choice("NvidiaEncodeConfig", "tuning", self.tuning, _NV_TUNINGS, optional=True)
        _int("NvidiaEncodeConfig", "device", self.device, 0)


@dataclass(frozen=True)
class VtEncodeConfig:
    """VideoToolbox options (a mapping only; no VideoToolbox backend is built)."""

    realtime: bool = True
    allow_frame_reordering: Optional[bool] = None

    def __post_init__(self) -> None:
        _bool("VtEncodeConfig", "realtime", self.realtime)
        _bool(
            "VtEncodeConfig", "allow_frame_reordering", self.allow_frame_reordering, optional=True
        )


BackendEncodeConfig = Union[SoftwareEncodeConfig, NvidiaEncodeConfig, VtEncodeConfig]
_BACKEND_ENCODE_CONFIGS = (SoftwareEncodeConfig, NvidiaEncodeConfig, VtEncodeConfig)


# ---------------------------------------------------------------------------------------
# Decode configs


@dataclass(frozen=True)
class CommonDecodeConfig:
    """What every decoder backend is told; ``max_display_delay`` None = the backend's."""

    codec: Codec = Codec.H264
    low_latency: bool = False
    max_display_delay: Optional[int] = None
    prefer_zero_copy: bool = True
    output: DecodeOutputMode = DecodeOutputMode.METADATA_ONLY
    # AVCC (H.264) / HVCC (HEVC): every push is one length-prefixed sample, as MP4 and
    # Matroska demuxers (PyAV, a network source) hand them out, with the stream's avcC /
    # hvcC record as ``extradata``. ANNEX_B: byte-stream chunks of any size.
    input_layout: EncodedLayout = EncodedLayout.ANNEX_B
    extradata: bytes = b""
    # Against hostile streams: pictures larger than max_width x max_height (None: the
    # backend's maximum) are refused with DecodeError before anything is allocated; an
    # access unit that grows past max_access_unit_bytes without ending is dropped.
    max_width: Optional[int] = None
    max_height: Optional[int] = None
    max_access_unit_bytes: int = 64 << 20
    # Decoded frames waiting to be reaped: past either bound the decode stage leaves the
    # queued bytes undecoded until reaps make room, and a further push raises
    # BackpressureError (or waits for another thread's reap with block=True). Bytes count
    # the pixels.
    max_ready_frames: int = 1024
    max_ready_bytes: int = 1 << 30
    # Pushed bytes waiting for the decode stage: a push that finds push_ahead_bytes queued
    # waits while the stage works them down, then takes its chunk whole (so a caller who
    # reaps between pushes holds about a chunk's frames at once); a chunk larger than
    # max_backlog_bytes is decoded from the caller's memory while the push waits, not copied.
    push_ahead_bytes: int = 1 << 20
    max_backlog_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        owner = "CommonDecodeConfig"
        _set(self, "codec", _enum(owner, "codec", Codec, self.codec))
        _bool(owner, "low_latency", self.low_latency)
        _int(owner, "max_display_delay", self.max_display_delay, 0, 16, optional=True)
        _bool(owner, "prefer_zero_copy", self.prefer_zero_copy)
        _set(self, "output", _enum(owner, "output", DecodeOutputMode, self.output))
        _set(self, "input_layout", _enum(owner, "input_layout", EncodedLayout, self.input_layout))
        _int(owner, "max_width", self.max_width, 16, 65536, optional=True)
        _int(owner, "max_height", self.max_height, 16, 65536, optional=True)
        _int(owner, "max_access_unit_bytes", self.max_access_unit_bytes, 4096, 2**40)
        _int(owner, "max_ready_frames", self.max_ready_frames, 1, 2**31 - 1)
        _int(owner, "max_ready_bytes", self.max_ready_bytes, 1, 2**62)
        _int(owner, "push_ahead_bytes", self.push_ahead_bytes, 1, 2**62)
        _int(owner, "max_backlog_bytes", self.max_backlog_bytes, 1, 2**62)
        if not isinstance(self.extradata, (bytes, bytearray, memoryview)):
            raise ConfigError(
                f"{owner}.extradata: a {type(self.extradata).__name__}; expected "
                "bytes (the avcC / hvcC record)"
            )
        _set(self, "extradata", bytes(self.extradata))
        expected = {EncodedLayout.AVCC: Codec.H264, EncodedLayout.HVCC: Codec.HEVC}
        if self.input_layout in expected:
            if self.codec is not expected[self.input_layout]:
                raise ConfigError(
                    f"{owner}.input_layout: {self.input_layout.value} is for "
                    f"{expected[self.input_layout].value}, not {self.codec.value}"
                )
            if not self.extradata:
                raise ConfigError(
                    f"{owner}.extradata: {self.input_layout.value} input needs "
                    "the stream's decoder configuration record (avcC / hvcC)"
                )


@dataclass(frozen=True)
class NvidiaDecodeConfig:
    """NVDEC options: CUDA device ordinal."""

    device: int = 0

    def __post_init__(self) -> None:
        _int("NvidiaDecodeConfig", "device", self.device, 0)


@dataclass(frozen=True)
class SoftwareDecodeConfig:
    """libavcodec decoder options. ``threads=0`` lets the decoder choose."""

    threads: int = 0

    def __post_init__(self) -> None:
        _int("SoftwareDecodeConfig", "threads", self.threads, 0, 64)


@dataclass(frozen=True)
class VtDecodeConfig:
    """VideoToolbox decode options: none (a mapping only; no VideoToolbox backend is built)."""


# ---------------------------------------------------------------------------------------
# Handles and switching


def _check_handle(handle: Union[EncoderSessionHandle, DecoderSessionHandle]) -> None:
    owner = type(handle).__name__
    # The core's handle is (uint64 id, uint32 generation).
    _int(owner, "id", handle.id, 0, 2**64 - 1)
    _int(owner, "generation", handle.generation, 1, 2**32 - 1)


@dataclass(frozen=True)
class EncoderSessionHandle:
    """Names one encode session at one generation (generations start at 1). Handles a
    controller hands out carry that controller's token (``_owner``): another controller
    refuses them with StaleSessionError instead of acting on its own session of that id."""

    id: int
    generation: int
    _owner: int = field(default=0, repr=False, compare=False)
    _life: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_handle(self)


@dataclass(frozen=True)
class DecoderSessionHandle:
    """Names one decode session at one generation (generations start at 1); bound to its
    controller like EncoderSessionHandle."""

    id: int
    generation: int
    _owner: int = field(default=0, repr=False, compare=False)
    _life: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_handle(self)


@dataclass(frozen=True)
class SessionSwitchRequest:
    """Switch an encode session to ``target = (common, backend_config or None)``."""

    target: tuple[CommonEncodeConfig, Optional[BackendEncodeConfig]]
    mode: SessionSwitchMode = SessionSwitchMode.IMMEDIATE
    force_idr_on_activate: bool = True

    def __post_init__(self) -> None:
        owner = "SessionSwitchRequest"
        if not isinstance(self.target, (tuple, list)) or len(self.target) != 2:
            raise ConfigError(
                f"{owner}.target: {self.target!r}; expected a pair "
                "(CommonEncodeConfig, backend config or None)"
            )
        common, backend = self.target
        _instance(owner, "target[0]", common, (CommonEncodeConfig,))
        _instance(owner, "target[1]", backend, _BACKEND_ENCODE_CONFIGS, optional=True)
        _set(self, "target", (common, backend))
        _set(self, "mode", _enum(owner, "mode", SessionSwitchMode, self.mode))
        _bool(owner, "force_idr_on_activate", self.force_idr_on_activate)


# ---------------------------------------------------------------------------------------
# Frames and packets


# Bytes per pixel of the packed formats, i.e. the last dimension of a (height, width,
# channels) array. The planar ones take one byte per sample: a 3-D array of them is
# (rows, cols, 1).
_CHANNELS = {
    PixelFormat.ARGB8888: 4,
    PixelFormat.BGRA: 4,
    PixelFormat.RGB24: 3,
    PixelFormat.NV12: 1,
    PixelFormat.I420: 1,
}


def _check_device_frame(data: Any, fmt: PixelFormat) -> None:
    """The Python-side checks of a CUDA array; the core checks strides and the byte count."""
    try:
        cai = data.__cuda_array_interface__
        typestr = str(cai["typestr"])
        shape = tuple(int(n) for n in cai["shape"])
    except Exception as e:
        raise InvalidFrameError(
            f"Frame.data: a {type(data).__name__} has an unreadable __cuda_array_interface__ ({e})"
        ) from None
    if typestr[1:] != "u1":
        raise InvalidFrameError(
            f"Frame.data: a CUDA array of typestr {typestr!r}; expected uint8 ('|u1')"
        )
    _check_channels(shape, fmt)


def _check_channels(shape: tuple, fmt: PixelFormat) -> None:
    # The core takes a 3-D array's row pitch as cols * channels and checks only the byte
    # count, so a (64, 4, 64) array passes for 64x64 ARGB8888 and an (H, W, 4) one
    # declared RGB24 reads as rows padded to a third more pixels: scrambled pictures.
    channels = _CHANNELS[fmt]
    if len(shape) == 3 and shape[2] != channels:
        layout = (
            f"(height, width, {channels})"
            if channels > 1
            else "(rows, cols) or (rows, cols, 1): it is planar"
        )
        raise InvalidFrameError(
            f"Frame.data: shape {shape} with format {fmt.name}: the last "
            f"dimension is {shape[2]} channels, {fmt.name} has {channels}; "
            f"expected {layout}"
        )


def _check_frame_buffer(data: Any, fmt: PixelFormat) -> None:
    if hasattr(data, "__cuda_array_interface__"):
        _check_device_frame(data, fmt)
        return
    try:
        view = memoryview(data)
    except TypeError:
        raise InvalidFrameError(
            f"Frame.data: a {type(data).__name__} has no buffer; expected a C-contiguous "
            "uint8 buffer (numpy array, bytes, bytearray, memoryview)"
        ) from None
    with view:
        # Exporters may prefix a byte-order mark; for one-byte items it means nothing.
        if view.itemsize != 1 or view.format.lstrip("@=<>!") != "B":
            dtype = getattr(data, "dtype", None)
            given = (
                f"dtype {dtype}"
                if dtype is not None
                else f"buffer format {view.format!r} (itemsize {view.itemsize})"
            )
            raise InvalidFrameError(f"Frame.data: {given}; expected uint8")
        if not view.c_contiguous:
            raise InvalidFrameError(
                "Frame.data: the buffer is not C-contiguous (a strided slice or view?); "
                "expected a C-contiguous buffer, e.g. numpy.ascontiguousarray(data)"
            )
        _check_channels(tuple(view.shape or ()), fmt)


@dataclass(frozen=True, eq=False, repr=False)
class Frame:
    """One picture to encode: a C-contiguous uint8 buffer in ``format``'s layout.

    ``data`` may also be a CUDA array (any object with ``__cuda_array_interface__``: a
    PyTorch or CuPy tensor, or a decoded ``Nv12Surface``). Its bytes are copied on the
    device before ``submit`` returns, so the tensor may be reused at once; NVENC then
    encodes from device memory without a host copy, and the software backend copies the
    frame to the host once. Rows may be padded (a row stride above the row's bytes).

    The picture size is the session's; the core checks the byte count against it and
    ``pitch`` (bytes per row; None: from the array's shape, else the minimum). A 3-D array
    is (rows, cols, channels) with the format's channels: 4 for ARGB8888 and BGRA, 3 for
    RGB24, 1 for the planar NV12 and I420.
    """

    data: Any
    format: PixelFormat
    pts: Optional[int] = None
    force_keyframe: bool = False
    pitch: Optional[int] = None

    def __post_init__(self) -> None:
        _set(self, "format", _enum("Frame", "format", PixelFormat, self.format, InvalidFrameError))
        _check_frame_buffer(self.data, self.format)
        # Ranges of the core's types (int64 pts, int pitch): refused here with a clear
        # message rather than as a binding TypeError.
        _int("Frame", "pts", self.pts, -(2**63), 2**63 - 1, optional=True, error=InvalidFrameError)
        _bool("Frame", "force_keyframe", self.force_keyframe, error=InvalidFrameError)
        _int("Frame", "pitch", self.pitch, 1, 2**31 - 1, optional=True, error=InvalidFrameError)

    @property
    def on_device(self) -> bool:
        """Whether ``data`` is in CUDA device memory."""
        return hasattr(self.data, "__cuda_array_interface__")

    @property
    def buffer(self) -> memoryview:
        """A new memoryview of ``data``; InvalidFrameError for a frame in device memory."""
        if self.on_device:
            raise InvalidFrameError("Frame.buffer: the frame is in CUDA device memory")
        return memoryview(self.data)

    def __repr__(self) -> str:
        shape = getattr(self.data, "shape", None)
        if shape is not None:
            size = f"shape={tuple(shape)}"
        else:
            with self.buffer as view:
                size = f"nbytes={view.nbytes}"
        pitch = "" if self.pitch is None else f", pitch={self.pitch}"
        return (
            f"Frame(format={self.format}, {size}, pts={self.pts}, "
            f"force_keyframe={self.force_keyframe}{pitch})"
        )


@dataclass(frozen=True, repr=False)
class EncodedPacket:
    """One encoded access unit, in decode order, from the session of ``generation``."""

    data: bytes
    pts: int
    dts: int
    is_keyframe: bool
    generation: int
    layout: EncodedLayout

    def __post_init__(self) -> None:
        owner = "EncodedPacket"
        _instance(owner, "data", self.data, (bytes,))
        # The core's packet: int64 pts and dts, uint32 generation.
        _int(owner, "pts", self.pts, -(2**63), 2**63 - 1)
        _int(owner, "dts", self.dts, -(2**63), 2**63 - 1)
        _bool(owner, "is_keyframe", self.is_keyframe)
        _int(owner, "generation", self.generation, 1, 2**32 - 1)
        _set(self, "layout", _enum(owner, "layout", EncodedLayout, self.layout))

    def __repr__(self) -> str:
        return (
            f"EncodedPacket(len={len(self.data)}, pts={self.pts}, dts={self.dts}, "
            f"keyframe={self.is_keyframe}, generation={self.generation}, "
            f"layout={self.layout})"
        )


# ---------------------------------------------------------------------------------------
# Capabilities


@dataclass(frozen=True)
class Capabilities:
    """What one backend can do for one codec; ``problems``/``check`` compare a config."""

    backend: str
    codec: Codec
    min_width: int
    min_height: int
    max_width: int
    max_height: int
    max_b_frames: int
    max_gop_length: int
    rate_control_modes: frozenset[RateControlMode]
    input_formats: frozenset[PixelFormat]
    low_latency: bool
    dynamic_bitrate: bool
    dynamic_resolution: bool
    presets: tuple[str, ...]
    tunes: tuple[str, ...]

    def __post_init__(self) -> None:
        owner = "Capabilities"
        _instance(owner, "backend", self.backend, (str,))
        _set(self, "codec", _enum(owner, "codec", Codec, self.codec))
        for name in (
            "min_width",
            "min_height",
            "max_width",
            "max_height",
            "max_b_frames",
            "max_gop_length",
        ):
            _int(owner, name, getattr(self, name), 0)
        for axis in ("width", "height"):
            lo, hi = getattr(self, f"min_{axis}"), getattr(self, f"max_{axis}")
            if hi < lo:
                raise ConfigError(f"{owner}.max_{axis}: {hi} is below min_{axis} {lo}")
        _set(
            self,
            "rate_control_modes",
            _enum_set(owner, "rate_control_modes", RateControlMode, self.rate_control_modes),
        )
        _set(
            self,
            "input_formats",
            _enum_set(owner, "input_formats", PixelFormat, self.input_formats),
        )
        for name in ("low_latency", "dynamic_bitrate", "dynamic_resolution"):
            _bool(owner, name, getattr(self, name))
        _set(self, "presets", _str_tuple(owner, "presets", self.presets))
        _set(self, "tunes", _str_tuple(owner, "tunes", self.tunes))

    def problems(self, common: CommonEncodeConfig) -> list[str]:
        """Every field of ``common`` these capabilities cannot do, one message each."""
        _instance("Capabilities.problems", "common", common, (CommonEncodeConfig,))
        who = f"{self.backend} {self.codec}"
        found = []
        if common.codec is not self.codec:
            found.append(f"codec: {common.codec}; these are the capabilities of {who}")
        for axis in ("width", "height"):
            value = getattr(common, axis)
            lo, hi = getattr(self, f"min_{axis}"), getattr(self, f"max_{axis}")
            if not lo <= value <= hi:
                found.append(f"{axis}: {value} is outside {who}'s {lo}..{hi}")
        if common.b_frames > self.max_b_frames:
            found.append(
                f"b_frames: {common.b_frames} exceeds {who}'s maximum of {self.max_b_frames}"
            )
        if common.gop_length > self.max_gop_length:
            found.append(
                f"gop_length: {common.gop_length} exceeds {who}'s maximum of {self.max_gop_length}"
            )
        mode = common.rate_control.mode
        if mode not in self.rate_control_modes:
            supported = ", ".join(sorted(m.value for m in self.rate_control_modes)) or "none"
            found.append(f"rate_control: {mode} is not supported by {who} (supported: {supported})")
        if common.low_latency and not self.low_latency:
            found.append(f"low_latency: True is not supported by {who}")
        return found

    def check(self, common: CommonEncodeConfig) -> None:
        """Raises ``UnsupportedConfigError`` listing every problem, if there is any."""
        found = self.problems(common)
        if found:
            raise UnsupportedConfigError(found)


@dataclass(frozen=True)
class DecodeCapabilities:
    """What one decode backend can do for one codec (``decode_capabilities``), the decode
    side of ``Capabilities``.

    Read it by attribute. ``caps["max_width"]``, ``get``, ``in``, ``keys`` and ``items``
    still answer as the dict this used to be, each with a ``DeprecationWarning``; they go
    in the next release."""

    backend: str
    codec: Codec
    supported: bool
    max_width: int
    max_height: int
    output_modes: frozenset[DecodeOutputMode]
    device_surfaces: bool
    dynamic_resolution: bool

    def __post_init__(self) -> None:
        owner = "DecodeCapabilities"
        _instance(owner, "backend", self.backend, (str,))
        _set(self, "codec", _enum(owner, "codec", Codec, self.codec))
        for name in ("max_width", "max_height"):
            _int(owner, name, getattr(self, name), 0)
        _set(
            self,
            "output_modes",
            _enum_set(owner, "output_modes", DecodeOutputMode, self.output_modes),
        )
        for name in ("supported", "device_surfaces", "dynamic_resolution"):
            _bool(owner, name, getattr(self, name))

    def _dict_access(self, how: str) -> None:
        warnings.warn(
            f"videohw: DecodeCapabilities{how} is deprecated (it was a dict); "
            "read the attributes, e.g. caps.max_width",
            DeprecationWarning,
            stacklevel=3,
        )

    def __getitem__(self, key: str) -> Any:
        self._dict_access(f"[{key!r}]")
        if key not in _DECODE_CAPABILITY_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        self._dict_access(".get()")
        return getattr(self, key) if key in _DECODE_CAPABILITY_FIELDS else default

    def __contains__(self, key: object) -> bool:
        self._dict_access(" 'in'")
        return key in _DECODE_CAPABILITY_FIELDS

    def keys(self) -> list[str]:
        self._dict_access(".keys()")
        return list(_DECODE_CAPABILITY_FIELDS)

    def items(self) -> list[tuple[str, Any]]:
        self._dict_access(".items()")
        return [(name, getattr(self, name)) for name in _DECODE_CAPABILITY_FIELDS]


_DECODE_CAPABILITY_FIELDS = tuple(DecodeCapabilities.__dataclass_fields__)


# ---------------------------------------------------------------------------------------
# Telemetry

# Decode telemetry keys that were renamed to the encode side's words, old -> new. The old
# ones still answer for one release (Telemetry); remove this table in the next.
RENAMED_TELEMETRY_KEYS = {
    "active_generation": "generation",
    "switch_in_place": "switches_in_place",
    "switch_new_decoder": "switches_new_session",
    "pushes": "chunks_pushed",
    "units": "units_pushed",
    "keyframes": "keyframes_out",
}


class Telemetry(dict):
    """A session's telemetry: a plain dict of the current key names (docs/api.md,
    "Encode and decode side by side").

    A key renamed in this release (``RENAMED_TELEMETRY_KEYS``) still answers ``t[old]``,
    ``t.get(old)`` and ``old in t`` with the new key's value and a ``DeprecationWarning``
    naming the new key. Iteration, ``keys()``, ``items()``, ``len``, ``==`` and
    ``json.dumps`` see the new names only."""

    def _renamed(self, key: Any) -> Optional[str]:
        new = RENAMED_TELEMETRY_KEYS.get(key) if isinstance(key, str) else None
        if new is None or not dict.__contains__(self, new):
            return None
        warnings.warn(
            f"videohw: telemetry key {key!r} is deprecated: use {new!r}",
            DeprecationWarning,
            stacklevel=3,
        )
        return new

    def __missing__(self, key: Any) -> Any:
        new = self._renamed(key)
        if new is None:
            raise KeyError(key)
        return dict.__getitem__(self, new)

    def get(self, key: Any, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        new = self._renamed(key)
        return default if new is None else dict.__getitem__(self, new)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or self._renamed(key) is not None

    def copy(self) -> Telemetry:
        return Telemetry(self)
