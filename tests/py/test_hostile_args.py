"""Junk arguments to the public API (docs/hostile.md): every call checks what it hands to
the core, so a wrong type is a TypeError and a number out of range a ValueError, each
naming the call and the parameter, and no pybind11 signature dump ("incompatible function
arguments") reaches the user. Frames: a 3-D array must have the format's channels."""

from __future__ import annotations

import io
import os
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

import videohw as vh

SMALL = vh.CommonEncodeConfig(codec=vh.Codec.H264, width=64, height=48, low_latency=True)


def frame(i: int = 0) -> vh.Frame:
    return vh.Frame(np.full((48, 64, 4), i % 256, np.uint8), vh.PixelFormat.ARGB8888)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    folder = tmp_path_factory.mktemp("junk")
    clip = str(folder / "clip.mp4")
    with vh.VideoWriter(clip, SMALL, vh.SoftwareEncodeConfig()) as writer:
        for i in range(6):
            writer.write(vh.Frame(np.full((48, 64, 4), 40 * i, np.uint8), "argb8888", pts=i))
    ctl = vh.SessionController("software")
    out = SimpleNamespace(
        folder=folder,
        clip=clip,
        ctl=ctl,
        handle=ctl.start_encode_session(SMALL),
        session=ctl.encode_session(SMALL),
        decode=ctl.start_decode_session(vh.CommonDecodeConfig()),
        reader=vh.VideoReader(clip, backend="software"),
        media_writer=vh.MediaWriter(str(folder / "m.mp4"), "h264", 64, 48),
        video_writer=vh.VideoWriter(str(folder / "v.mp4"), SMALL, controller=ctl),
    )
    yield out
    out.reader.close()
    out.media_writer.abort()
    out.video_writer.abort()
    ctl.close()


def out_path(ctx, name: str = "o.mp4") -> str:
    return os.path.join(ctx.folder, name)


# ---- a table of junk calls: the error class, and the call and parameter it names ----------

TYPE, RANGE = "type", "range"

JUNK_CALLS = [
    # (id, call, kind, exception class, words the message names)
    (
        "SessionController backend=1",
        lambda c: vh.SessionController(1),
        TYPE,
        vh.InvalidTypeError,
        ["SessionController", "backend"],
    ),
    (
        "capabilities codec=1",
        lambda c: c.ctl.capabilities(1),
        TYPE,
        vh.InvalidTypeError,
        ["capabilities", "codec"],
    ),
    (
        "capabilities codec='av2'",
        lambda c: c.ctl.capabilities("av2"),
        RANGE,
        vh.ConfigError,
        ["capabilities", "codec", "h264"],
    ),
    (
        "start_encode_session common='x'",
        lambda c: c.ctl.start_encode_session("x"),
        TYPE,
        vh.InvalidTypeError,
        ["start_encode_session", "common"],
    ),
    (
        "start_encode_session backend_config=1",
        lambda c: c.ctl.start_encode_session(SMALL, 1),
        TYPE,
        vh.InvalidTypeError,
        ["start_encode_session", "backend_config"],
    ),
    (
        "submit handle=(1,1)",
        lambda c: c.ctl.submit((1, 1), frame()),
        TYPE,
        vh.InvalidHandleError,
        ["submit", "handle"],
    ),
    (
        "submit block='no'",
        lambda c: c.ctl.submit(c.handle, frame(), block="no"),
        TYPE,
        vh.InvalidTypeError,
        ["submit", "block"],
    ),
    (
        "submit block=None",
        lambda c: c.ctl.submit(c.handle, frame(), block=None),
        TYPE,
        vh.InvalidTypeError,
        ["submit", "block"],
    ),
    (
        "reap timeout='1'",
        lambda c: c.ctl.reap(c.handle, timeout="1"),
        TYPE,
        vh.InvalidTypeError,
        ["reap", "timeout"],
    ),
    (
        "reap timeout=1j",
        lambda c: c.ctl.reap(c.handle, timeout=1j),
        TYPE,
        vh.InvalidTypeError,
        ["reap", "timeout"],
    ),
    (
        "reap timeout=inf",
        lambda c: c.ctl.reap(c.handle, min_packets=1, timeout=float("inf")),
        RANGE,
        vh.ConfigError,
        ["reap", "timeout"],
    ),
    (
        "reap timeout=1e300",
        lambda c: c.ctl.reap(c.handle, min_packets=1, timeout=1e300),
        RANGE,
        vh.ConfigError,
        ["reap", "timeout"],
    ),
    (
        "reap timeout=nan",
        lambda c: c.ctl.reap(c.handle, timeout=float("nan")),
        RANGE,
        vh.ConfigError,
        ["reap", "timeout"],
    ),
    (
        "reap timeout=True",
        lambda c: c.ctl.reap(c.handle, timeout=True),
        RANGE,
        vh.ConfigError,
        ["reap", "timeout", "bool"],
    ),
    (
        "reap min_packets=10**20",
        lambda c: c.ctl.reap(c.handle, min_packets=10**20),
        RANGE,
        vh.ConfigError,
        ["reap", "min_packets"],
    ),
    (
        "reap min_packets=-1",
        lambda c: c.ctl.reap(c.handle, min_packets=-1),
        RANGE,
        vh.ConfigError,
        ["reap", "min_packets"],
    ),
    (
        "reap min_packets=True",
        lambda c: c.ctl.reap(c.handle, min_packets=True),
        RANGE,
        vh.ConfigError,
        ["reap", "min_packets", "bool"],
    ),
    (
        "reap min_packets=1.0",
        lambda c: c.ctl.reap(c.handle, min_packets=1.0),
        TYPE,
        vh.InvalidTypeError,
        ["reap", "min_packets"],
    ),
    (
        "flush handle=(1,1)",
        lambda c: c.ctl.flush((1, 1)),
        TYPE,
        vh.InvalidHandleError,
        ["flush", "handle"],
    ),
    (
        "switch_encode_session request=tuple",
        lambda c: c.ctl.switch_encode_session(c.handle, (SMALL, None)),
        TYPE,
        vh.InvalidTypeError,
        ["switch_encode_session", "request"],
    ),
    (
        "telemetry handle='1'",
        lambda c: c.ctl.telemetry("1"),
        TYPE,
        vh.InvalidHandleError,
        ["telemetry", "handle"],
    ),
    (
        "EncodeSession handle=(1,1)",
        lambda c: vh.EncodeSession(c.ctl, (1, 1)),
        TYPE,
        vh.InvalidHandleError,
        ["EncodeSession", "handle"],
    ),
    (
        "EncodeSession controller=1",
        lambda c: vh.EncodeSession(1, c.handle),
        TYPE,
        vh.InvalidTypeError,
        ["EncodeSession", "controller"],
    ),
    (
        "EncodeSession.submit block=1",
        lambda c: c.session.submit(frame(), block=1),
        TYPE,
        vh.InvalidTypeError,
        ["EncodeSession.submit", "block"],
    ),
    (
        "EncodeSession.reap min_packets=10**20",
        lambda c: c.session.reap(10**20),
        RANGE,
        vh.ConfigError,
        ["EncodeSession.reap", "min_packets"],
    ),
    (
        "EncodeSession.reap timeout='1'",
        lambda c: c.session.reap(0, "1"),
        TYPE,
        vh.InvalidTypeError,
        ["EncodeSession.reap", "timeout"],
    ),
    (
        "EncodeSession.switch request=5",
        lambda c: c.session.switch(5),
        TYPE,
        vh.InvalidTypeError,
        ["switch_encode_session", "request"],
    ),
    ("probe source=1", lambda c: vh.probe(1), TYPE, TypeError, ["probe", "source"]),
    (
        "probe source=StringIO",
        lambda c: vh.probe(io.StringIO("x")),
        TYPE,
        TypeError,
        ["probe", "source", "text", "'rb'"],
    ),
    (
        "MediaReader stream='0'",
        lambda c: vh.MediaReader(c.clip, stream="0"),
        TYPE,
        TypeError,
        ["stream"],
    ),
    (
        "VideoReader seek_mode=1",
        lambda c: vh.VideoReader(c.clip, seek_mode=1),
        TYPE,
        vh.InvalidTypeError,
        ["VideoReader", "seek_mode"],
    ),
    (
        "VideoReader output=1",
        lambda c: vh.VideoReader(c.clip, output=1),
        TYPE,
        vh.InvalidTypeError,
        ["VideoReader", "output"],
    ),
    (
        "VideoReader backend=1",
        lambda c: vh.VideoReader(c.clip, backend=1),
        TYPE,
        vh.InvalidTypeError,
        ["VideoReader", "backend"],
    ),
    (
        "VideoReader stream='0'",
        lambda c: vh.VideoReader(c.clip, stream="0"),
        TYPE,
        vh.InvalidTypeError,
        ["VideoReader", "stream"],
    ),
    (
        "VideoReader stream=10**20",
        lambda c: vh.VideoReader(c.clip, stream=10**20),
        RANGE,
        ValueError,
        ["stream"],
    ),
    (
        "VideoReader controller=1",
        lambda c: vh.VideoReader(c.clip, controller=1),
        TYPE,
        vh.InvalidTypeError,
        ["VideoReader", "controller"],
    ),
    (
        "VideoReader decode_config=1",
        lambda c: vh.VideoReader(c.clip, decode_config=1),
        TYPE,
        vh.InvalidTypeError,
        ["VideoReader", "decode_config"],
    ),
    ("VideoReader[...] 'a'", lambda c: c.reader["a"], TYPE, TypeError, ["frame index"]),
    ("VideoReader[...] 10**20", lambda c: c.reader[10**20], RANGE, IndexError, ["frame index"]),
    (
        "VideoReader.get_frames_played_at ['1']",
        lambda c: c.reader.get_frames_played_at(["1"]),
        TYPE,
        TypeError,
        ["get_frames_played_at"],
    ),
    (
        "MediaWriter path=1",
        lambda c: vh.MediaWriter(1, "h264", 64, 48),
        TYPE,
        vh.InvalidTypeError,
        ["MediaWriter", "path"],
    ),
    (
        "MediaWriter path with NUL",
        lambda c: vh.MediaWriter(out_path(c, "a\0b.mp4"), "h264", 64, 48),
        RANGE,
        vh.ConfigError,
        ["MediaWriter", "path", "NUL"],
    ),
    (
        "MediaWriter codec=1",
        lambda c: vh.MediaWriter(out_path(c), 1, 64, 48),
        TYPE,
        vh.InvalidTypeError,
        ["MediaWriter", "codec"],
    ),
    (
        "MediaWriter width=10**20",
        lambda c: vh.MediaWriter(out_path(c), "h264", 10**20, 48),
        RANGE,
        vh.ConfigError,
        ["MediaWriter", "width"],
    ),
    (
        "MediaWriter height=2**31",
        lambda c: vh.MediaWriter(out_path(c), "h264", 64, 2**31),
        RANGE,
        vh.ConfigError,
        ["MediaWriter", "height"],
    ),
    (
        "MediaWriter fps_num=2**40",
        lambda c: vh.MediaWriter(out_path(c), "h264", 64, 48, 2**40),
        RANGE,
        vh.ConfigError,
        ["MediaWriter", "fps_num"],
    ),
    (
        "MediaWriter fps_den=True",
        lambda c: vh.MediaWriter(out_path(c), "h264", 64, 48, 30, True),
        RANGE,
        vh.ConfigError,
        ["MediaWriter", "fps_den", "bool"],
    ),
    (
        "MediaWriter time_base=(1, 2**40)",
        lambda c: vh.MediaWriter(out_path(c), "h264", 64, 48, time_base=(1, 2**40)),
        RANGE,
        vh.ConfigError,
        ["MediaWriter", "time_base"],
    ),
    (
        "MediaWriter time_base='1/30'",
        lambda c: vh.MediaWriter(out_path(c), "h264", 64, 48, time_base="1/30"),
        TYPE,
        vh.InvalidTypeError,
        ["MediaWriter", "time_base"],
    ),
    (
        "MediaWriter format=1",
        lambda c: vh.MediaWriter(out_path(c), "h264", 64, 48, format=1),
        TYPE,
        vh.InvalidTypeError,
        ["MediaWriter", "format"],
    ),
    (
        "MediaWriter faststart=1",
        lambda c: vh.MediaWriter(out_path(c), "h264", 64, 48, faststart=1),
        TYPE,
        vh.InvalidTypeError,
        ["MediaWriter", "faststart"],
    ),
    (
        "MediaWriter fragment_ms=2**31",
        lambda c: vh.MediaWriter(out_path(c), "h264", 64, 48, fragment_ms=2**31),
        RANGE,
        vh.ConfigError,
        ["MediaWriter", "fragment_ms"],
    ),
    (
        "MediaWriter.write_packet packet='x'",
        lambda c: c.media_writer.write_packet("x"),
        TYPE,
        vh.InvalidTypeError,
        ["write_packet", "packet"],
    ),
    (
        "EncodedPacket pts=2**63",
        lambda c: vh.EncodedPacket(b"\0\0\1", 2**63, 0, True, 1, "annexb"),
        RANGE,
        vh.ConfigError,
        ["EncodedPacket", "pts"],
    ),
    (
        "EncodedPacket generation=2**32",
        lambda c: vh.EncodedPacket(b"\0\0\1", 0, 0, True, 2**32, "annexb"),
        RANGE,
        vh.ConfigError,
        ["EncodedPacket", "generation"],
    ),
    (
        "VideoWriter common='x'",
        lambda c: vh.VideoWriter(out_path(c), "x"),
        TYPE,
        vh.InvalidTypeError,
        ["VideoWriter", "common"],
    ),
    (
        "VideoWriter controller=1",
        lambda c: vh.VideoWriter(out_path(c), SMALL, controller=1),
        TYPE,
        vh.InvalidTypeError,
        ["VideoWriter", "controller"],
    ),
    (
        "VideoWriter format=1",
        lambda c: vh.VideoWriter(out_path(c), SMALL, format=1),
        TYPE,
        vh.InvalidTypeError,
        ["MediaWriter", "format"],
    ),
    (
        "VideoWriter.switch request=5",
        lambda c: c.video_writer.switch(5),
        TYPE,
        vh.InvalidTypeError,
        ["switch_encode_session", "request"],
    ),
]


@pytest.mark.parametrize(
    "call, kind, error, words", [c[1:] for c in JUNK_CALLS], ids=[c[0] for c in JUNK_CALLS]
)
def test_junk_arguments_raise_an_error_naming_the_call_and_the_parameter(
    ctx, call, kind, error, words
):
    with pytest.raises(error) as caught:
        call(ctx)
    exc = caught.value
    text = str(exc)
    assert "incompatible function arguments" not in text and "Invoked with" not in text, text
    if kind == TYPE:
        assert isinstance(exc, TypeError), (type(exc), text)
    else:  # a value of the right type (or a bool for a number) out of range
        assert isinstance(exc, ValueError) or isinstance(exc, IndexError), (type(exc), text)
        assert not isinstance(exc, TypeError), (type(exc), text)
    for word in words:
        assert word in text, (word, text)


def test_the_sessions_work_after_the_junk(ctx):
    for call in (
        lambda: ctx.ctl.reap(ctx.handle, min_packets=10**20),
        lambda: ctx.ctl.reap(ctx.handle, timeout="1"),
        lambda: ctx.ctl.submit(ctx.handle, frame(), block="no"),
    ):
        with pytest.raises(ValueError):
            call()
    h = ctx.ctl.start_encode_session(SMALL)
    ctx.ctl.submit(h, frame(1), block=np.True_)  # numpy's bool is a bool
    ctx.ctl.submit(h, frame(2))
    assert len(ctx.ctl.reap(h, min_packets=np.int64(2), timeout=np.float32(30))) == 2
    assert ctx.ctl.close_encode_session(h) == []
    assert ctx.ctl.capabilities("h264").codec is vh.Codec.H264
    assert ctx.reader[np.int64(1)].index == 1
    with vh.VideoReader(ctx.clip, backend="software", stream=np.int64(0)) as reader:
        assert len(reader) == 6
    with vh.MediaReader(ctx.clip, stream=np.int64(0)) as packets:
        assert packets.stream.index == 0


def test_reap_still_takes_a_fraction_and_large_counts(ctx):
    h = ctx.ctl.start_encode_session(SMALL)
    ctx.ctl.submit(h, frame(1))
    # 2**63 packets never come: the wait ends at the timeout, with the one that did.
    assert len(ctx.ctl.reap(h, min_packets=2**63, timeout=Fraction(1, 10))) == 1
    ctx.ctl.close_encode_session(h)


def test_media_writer_takes_its_largest_values(ctx):
    path = out_path(ctx, "big.mkv")
    with vh.MediaWriter(
        path, "h264", 64, 48, 2**31 - 1, 1, time_base=(1, 2**31 - 1), fragment_ms=2**31 - 1
    ) as writer:
        assert writer.format == "mkv"
    assert not os.path.exists(path)  # no packet written: no file


# ---- a sweep: every public call site, every argument, a set of junk values --------------

JUNK = [
    "1",
    1.5,
    10**20,
    -1,
    -(10**20),
    True,
    (1, 1),
    None,
    object(),
    float("nan"),
    float("inf"),
    2**63,
    2**64,
    10**400,
    b"x",
    [0],
    np.uint64(2**64 - 1),
    np.float64("nan"),
]

# Exceptions a caller may see for junk; anything else (AttributeError, OverflowError,
# SystemError, a crash) is a bug.
ALLOWED = (TypeError, ValueError, LookupError, FileNotFoundError, vh.VideoHwError)


def _mw(c, **kw):
    args = dict(path=out_path(c), codec="h264", width=64, height=48)
    args.update(kw)
    return vh.MediaWriter(**args)


def _vw(c, **kw):
    args = dict(path=out_path(c, "vw.mp4"), common=SMALL)
    args.update(kw)
    return vh.VideoWriter(**args)


SITES = {
    "SessionController(backend)": lambda c, v: vh.SessionController(v),
    "capabilities(codec)": lambda c, v: c.ctl.capabilities(v),
    "start_encode_session(common)": lambda c, v: c.ctl.start_encode_session(v),
    "start_encode_session(backend_config)": lambda c, v: c.ctl.start_encode_session(SMALL, v),
    "submit(handle)": lambda c, v: c.ctl.submit(v, frame()),
    "submit(frame)": lambda c, v: c.ctl.submit(c.handle, v),
    "submit(block)": lambda c, v: c.ctl.submit(c.handle, frame(), v),
    "reap(handle)": lambda c, v: c.ctl.reap(v),
    "reap(min_packets)": lambda c, v: c.ctl.reap(c.handle, v, 0),
    "reap(timeout)": lambda c, v: c.ctl.reap(c.handle, 0, v),
    "flush(handle)": lambda c, v: c.ctl.flush(v),
    "switch_encode_session(handle)": lambda c, v: c.ctl.switch_encode_session(
        v, vh.SessionSwitchRequest(target=(SMALL, None))
    ),
    "switch_encode_session(request)": lambda c, v: c.ctl.switch_encode_session(c.handle, v),
    "close_encode_session(handle)": lambda c, v: c.ctl.close_encode_session(v),
    "session_state(handle)": lambda c, v: c.ctl.session_state(v),
    "telemetry(handle)": lambda c, v: c.ctl.telemetry(v),
    "encode_session(common)": lambda c, v: c.ctl.encode_session(v),
    "EncodeSession(handle)": lambda c, v: vh.EncodeSession(c.ctl, v),
    "EncodeSession.submit(frame)": lambda c, v: c.session.submit(v),
    "EncodeSession.submit(block)": lambda c, v: c.session.submit(frame(), v),
    "EncodeSession.reap(min_packets)": lambda c, v: c.session.reap(v, 0),
    "EncodeSession.reap(timeout)": lambda c, v: c.session.reap(0, v),
    "EncodeSession.switch(request)": lambda c, v: c.session.switch(v),
    "decode_capabilities(codec)": lambda c, v: c.ctl.decode_capabilities(v),
    "start_decode_session(common_decode)": lambda c, v: c.ctl.start_decode_session(v),
    "start_decode_session(backend_decode)": lambda c, v: c.ctl.start_decode_session(
        vh.CommonDecodeConfig(), v
    ),
    "push_bitstream(handle)": lambda c, v: c.ctl.push_bitstream(v, b""),
    "push_bitstream(data)": lambda c, v: c.ctl.push_bitstream(c.decode, v),
    "push_bitstream(pts)": lambda c, v: c.ctl.push_bitstream(c.decode, b"", v),
    "switch_decode_session(request)": lambda c, v: c.ctl.switch_decode_session(c.decode, v),
    "close_decode_session(handle)": lambda c, v: c.ctl.close_decode_session(v),
    "probe(source)": lambda c, v: vh.probe(v),
    "MediaReader(source)": lambda c, v: vh.MediaReader(v),
    "MediaReader(stream)": lambda c, v: vh.MediaReader(c.clip, v),
    "VideoReader(source)": lambda c, v: vh.VideoReader(v),
    "VideoReader(backend)": lambda c, v: vh.VideoReader(c.clip, backend=v),
    "VideoReader(output)": lambda c, v: vh.VideoReader(c.clip, output=v),
    "VideoReader(seek_mode)": lambda c, v: vh.VideoReader(c.clip, seek_mode=v),
    "VideoReader(stream)": lambda c, v: vh.VideoReader(c.clip, stream=v),
    "VideoReader(controller)": lambda c, v: vh.VideoReader(c.clip, controller=v),
    "VideoReader(decode_config)": lambda c, v: vh.VideoReader(c.clip, decode_config=v),
    "VideoReader[key]": lambda c, v: c.reader[v],
    "VideoReader.get_frames_at(indices)": lambda c, v: c.reader.get_frames_at(v),
    "VideoReader.get_frames_at([index])": lambda c, v: c.reader.get_frames_at([v]),
    "VideoReader.get_frames_played_at([seconds])": lambda c, v: c.reader.get_frames_played_at([v]),
    "VideoReader.get_frame_played_at(seconds)": lambda c, v: c.reader.get_frame_played_at(v),
    "MediaWriter(path)": lambda c, v: _mw(c, path=v),
    "MediaWriter(codec)": lambda c, v: _mw(c, codec=v),
    "MediaWriter(width)": lambda c, v: _mw(c, width=v),
    "MediaWriter(height)": lambda c, v: _mw(c, height=v),
    "MediaWriter(fps_num)": lambda c, v: _mw(c, fps_num=v),
    "MediaWriter(fps_den)": lambda c, v: _mw(c, fps_den=v),
    "MediaWriter(format)": lambda c, v: _mw(c, format=v),
    "MediaWriter(time_base)": lambda c, v: _mw(c, time_base=v),
    "MediaWriter(time_base numerator)": lambda c, v: _mw(c, time_base=(v, 30)),
    "MediaWriter(faststart)": lambda c, v: _mw(c, faststart=v),
    "MediaWriter(fragment_ms)": lambda c, v: _mw(c, fragment_ms=v),
    "MediaWriter.write_packet(packet)": lambda c, v: c.media_writer.write_packet(v),
    "EncodedPacket(pts)": lambda c, v: vh.EncodedPacket(b"\0\0\1", v, 0, True, 1, "annexb"),
    "EncodedPacket(generation)": lambda c, v: vh.EncodedPacket(b"\0\0\1", 0, 0, True, v, "annexb"),
    "VideoWriter(path)": lambda c, v: _vw(c, path=v),
    "VideoWriter(common)": lambda c, v: _vw(c, common=v),
    "VideoWriter(backend_config)": lambda c, v: _vw(c, backend_config=v),
    "VideoWriter(controller)": lambda c, v: _vw(c, controller=v),
    "VideoWriter(format)": lambda c, v: _vw(c, format=v),
    "VideoWriter.write(frame)": lambda c, v: c.video_writer.write(v),
    "VideoWriter.switch(request)": lambda c, v: c.video_writer.switch(v),
    "Frame(data)": lambda c, v: vh.Frame(v, "argb8888"),
    "Frame(format)": lambda c, v: vh.Frame(np.zeros((48, 64, 4), np.uint8), v),
    "Frame(pts)": lambda c, v: vh.Frame(np.zeros((48, 64, 4), np.uint8), "argb8888", v),
    "Frame(pitch)": lambda c, v: vh.Frame(np.zeros((48, 64, 4), np.uint8), "argb8888", pitch=v),
}


def _dispose(result) -> None:
    """Closes what a call that took the junk value made, so it leaves no files or
    sessions behind."""
    for name in ("abort", "close"):
        method = getattr(result, name, None)
        if callable(method) and not isinstance(result, (vh.SessionController, list)):
            method()
            return


@pytest.mark.parametrize("value", JUNK, ids=[f"{i}:{repr(v)[:16]}" for i, v in enumerate(JUNK)])
@pytest.mark.parametrize("site", list(SITES))
def test_no_binding_signature_reaches_the_user(ctx, site, value):
    try:
        result = SITES[site](ctx, value)
    except ALLOWED as exc:
        text = f"{type(exc).__name__}: {exc}"
        assert "incompatible function arguments" not in text, text
        assert "Invoked with" not in text, text
    else:
        _dispose(result)


# ---- Frame: a 3-D array has the format's channels -----------------------------------------


@pytest.mark.parametrize(
    "shape, fmt, channels",
    [
        ((64, 4, 64), "argb8888", 4),  # 64x64 ARGB by byte count, not by layout
        ((48, 64, 4), "rgb24", 3),  # read as padded RGB24 before
        ((48, 64, 3), "argb8888", 4),
        ((48, 64, 3), "bgra", 4),
        ((72, 64, 2), "nv12", 1),
        ((72, 64, 3), "i420", 1),
    ],
)
def test_a_3d_array_whose_last_dimension_is_not_the_formats_channels_is_refused(
    shape, fmt, channels
):
    with pytest.raises(vh.InvalidFrameError) as caught:
        vh.Frame(np.zeros(shape, np.uint8), fmt)
    text = str(caught.value)
    assert str(shape) in text and fmt.upper() in text, text
    assert f"has {channels}" in text, text


@pytest.mark.parametrize(
    "shape, fmt",
    [
        ((48, 64, 4), "argb8888"),
        ((48, 64, 4), "bgra"),
        ((48, 64, 3), "rgb24"),
        ((72, 64), "nv12"),
        ((72, 64, 1), "nv12"),
        ((72, 64), "i420"),
        ((72, 64, 1), "i420"),
        ((48, 256), "argb8888"),
        ((48, 192), "rgb24"),
        ((48 * 64 * 4,), "argb8888"),
    ],
)
def test_arrays_of_the_formats_layouts_still_encode(shape, fmt):
    with vh.SessionController("software") as ctl:
        h = ctl.start_encode_session(SMALL)
        ctl.submit(h, vh.Frame(np.zeros(shape, np.uint8), fmt))
        assert len(ctl.close_encode_session(h)) == 1


def test_a_2d_argb_array_with_a_row_pitch_keeps_its_rule():
    with vh.SessionController("software") as ctl:
        h = ctl.start_encode_session(SMALL)
        ctl.submit(h, vh.Frame(np.zeros((48, 320), np.uint8), "argb8888"))  # pitch 320
        assert len(ctl.close_encode_session(h)) == 1
