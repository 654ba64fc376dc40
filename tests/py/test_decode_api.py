"""Decode sessions on the software backend (docs/decode.md): streams made by the software
encoder, decoded by videohw and checked against the ffmpeg CLI as an independent decoder."""

from __future__ import annotations

import gc
import shutil
import subprocess

import numpy as np
import pytest

import videohw as vh
from conftest import HAS_GPU, common, encode_frames, expected_keyframes, make_frame, stream_of

I420 = vh.PixelFormat.I420
CODECS = [vh.Codec.H264, vh.Codec.HEVC]
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg CLI")


def encode(ctl, codec=vh.Codec.H264, width=64, height=48, count=12, gop=4, b_frames=0):
    config = common(codec, width, height, gop_length=gop, b_frames=b_frames)
    frames = [make_frame(I420, width, height, t, pts=t) for t in range(count)]
    return encode_frames(ctl, config, frames)


def decode_packets(ctl, packets, codec=vh.Codec.H264, output=vh.DecodeOutputMode.METADATA_ONLY):
    """One access unit per push, with its pts; every frame, in output order."""
    h = ctl.start_decode_session(vh.CommonDecodeConfig(codec=codec, output=output))
    frames = []
    for p in packets:
        ctl.push_bitstream(h, p.data, pts=p.pts)
        frames += ctl.reap(h)
    frames += ctl.flush(h)
    frames += ctl.close_decode_session(h)
    return frames


def decode_chunks(ctl, data, chunk, codec=vh.Codec.H264, output=vh.DecodeOutputMode.METADATA_ONLY):
    h = ctl.start_decode_session(vh.CommonDecodeConfig(codec=codec, output=output))
    frames = []
    for at in range(0, len(data), chunk):
        ctl.push_bitstream(h, data[at : at + chunk])
        frames += ctl.reap(h)
    return frames + ctl.close_decode_session(h)


def ffmpeg_raw(data: bytes, codec: vh.Codec, pix_fmt: str) -> bytes:
    out = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            codec.value,
            "-i",
            "-",
            "-f",
            "rawvideo",
            "-pix_fmt",
            pix_fmt,
            "-",
        ],
        input=data,
        stdout=subprocess.PIPE,
        check=True,
    )
    return out.stdout


def planes_bytes(frame) -> bytes:
    return b"".join(np.ascontiguousarray(p).tobytes() for p in frame.planes)


# ---- frames, sizes, keyframes, pts -----------------------------------------------------


@pytest.mark.parametrize("codec", CODECS, ids=str)
@pytest.mark.parametrize("size", [(64, 48), (176, 144)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("b_frames", [0, 2])
def test_every_frame_comes_back_with_its_size_and_pts(ctl, codec, size, b_frames):
    packets = encode(ctl, codec, *size, count=12, gop=4, b_frames=b_frames)
    frames = decode_packets(ctl, packets, codec)
    assert [f.pts for f in frames] == list(range(12))
    assert {(f.width, f.height) for f in frames} == {size}


@pytest.mark.parametrize("codec", CODECS, ids=str)
def test_keyframe_flags_follow_the_encoders_gops(ctl, codec):
    frames = decode_packets(ctl, encode(ctl, codec, count=12, gop=5), codec)
    assert [i for i, f in enumerate(frames) if f.is_keyframe] == expected_keyframes(12, 5)


@pytest.mark.parametrize("codec", CODECS, ids=str)
def test_one_byte_chunks_give_identical_frames(ctl, codec):
    data = stream_of(encode(ctl, codec, count=8, gop=4, b_frames=1))
    native = vh.DecodeOutputMode.NATIVE_SURFACE
    whole = decode_chunks(ctl, data, len(data), codec, native)
    bytewise = decode_chunks(ctl, data, 1, codec, native)
    assert len(whole) == len(bytewise) == 8
    assert [f.is_keyframe for f in whole] == [f.is_keyframe for f in bytewise]
    assert [planes_bytes(f) for f in whole] == [planes_bytes(f) for f in bytewise]


def test_pts_pushed_with_each_access_unit_survives_one_byte_chunking(ctl):
    packets = encode(ctl, count=6, gop=3, b_frames=2)
    h = ctl.start_decode_session(vh.CommonDecodeConfig())
    for p in packets:
        ctl.push_bitstream(h, p.data[:1], pts=p.pts)  # pts only with the unit's first byte
        for i in range(1, len(p.data)):
            ctl.push_bitstream(h, p.data[i : i + 1])
    frames = ctl.close_decode_session(h)
    assert [f.pts for f in frames] == list(range(6))


# ---- pixels against ffmpeg ---------------------------------------------------------------


@needs_ffmpeg
@pytest.mark.parametrize("codec", CODECS, ids=str)
def test_cpu_rgb_equals_ffmpeg_rgb24_exactly(ctl, codec):
    # Exact: both sides use libswscale yuv420p -> rgb24 with bicubic flags and the matrix /
    # range the stream declares (ffmpeg's auto-inserted scaler does the same).
    data = stream_of(encode(ctl, codec, 96, 64, count=6, gop=3, b_frames=1))
    frames = decode_chunks(ctl, data, 4096, codec, vh.DecodeOutputMode.CPU_RGB)
    reference = np.frombuffer(ffmpeg_raw(data, codec, "rgb24"), np.uint8).reshape(-1, 64, 96, 3)
    assert len(frames) == len(reference) == 6
    for frame, ref in zip(frames, reference):
        assert frame.rgb.shape == (64, 96, 3) and frame.rgb.dtype == np.uint8
        np.testing.assert_array_equal(frame.rgb, ref)


@needs_ffmpeg
@pytest.mark.parametrize("codec", CODECS, ids=str)
def test_native_planes_equal_ffmpeg_yuv420p_exactly(ctl, codec):
    data = stream_of(encode(ctl, codec, 96, 64, count=6, gop=3, b_frames=1))
    frames = decode_chunks(ctl, data, 4096, codec, vh.DecodeOutputMode.NATIVE_SURFACE)
    reference = ffmpeg_raw(data, codec, "yuv420p")
    frame_size = 96 * 64 * 3 // 2
    assert len(frames) * frame_size == len(reference)
    for i, frame in enumerate(frames):
        assert frame.pixel_format == "yuv420p"
        assert [p.shape for p in frame.planes] == [(64, 96), (32, 48), (32, 48)]
        assert planes_bytes(frame) == reference[i * frame_size : (i + 1) * frame_size]


def test_metadata_only_frames_carry_no_pixels(ctl):
    frames = decode_packets(ctl, encode(ctl, count=2, gop=2))
    assert all(f.planes is None and f.rgb is None for f in frames)


def test_native_planes_are_read_only_views(ctl):
    frames = decode_packets(ctl, encode(ctl, count=1), output=vh.DecodeOutputMode.NATIVE_SURFACE)
    with pytest.raises(ValueError):
        frames[0].planes[0][0, 0] = 1


def test_native_planes_stay_valid_after_the_session_is_closed(ctl):
    frames = decode_packets(ctl, encode(ctl, count=3), output=vh.DecodeOutputMode.NATIVE_SURFACE)
    y = frames[-1].planes[0]
    copy = y.copy()
    del frames
    gc.collect()
    np.testing.assert_array_equal(y, copy)  # the array's base keeps the AVFrame alive


# ---- size change, flush, switch ------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS, ids=str)
def test_size_change_mid_stream_needs_no_new_session(ctl, codec):
    first = common(codec, 64, 48, gop_length=4)
    second = common(codec, 96, 64, gop_length=4)
    h = ctl.start_encode_session(first)
    packets = []
    for t in range(4):
        ctl.submit(h, make_frame(I420, 64, 48, t, pts=t))
    h = ctl.switch_encode_session(
        h, vh.SessionSwitchRequest(target=(second, None), mode=vh.SessionSwitchMode.DRAIN_THEN_SWAP)
    )
    for t in range(4, 8):
        ctl.submit(h, make_frame(I420, 96, 64, t, pts=t))
    packets = ctl.reap(h) + ctl.close_encode_session(h)
    d = ctl.start_decode_session(
        vh.CommonDecodeConfig(codec=codec, output=vh.DecodeOutputMode.CPU_RGB)
    )
    ctl.push_bitstream(d, stream_of(packets))
    frames = ctl.reap(d) + ctl.flush(d)
    assert [(f.width, f.height) for f in frames] == [(64, 48)] * 4 + [(96, 64)] * 4
    assert [f.rgb.shape for f in frames[3:5]] == [(48, 64, 3), (64, 96, 3)]
    telemetry = ctl.telemetry(d)
    assert telemetry["session_inits"] == 1
    assert telemetry["sizes_seen"] == "64x48,96x64"
    ctl.close_decode_session(d)


def test_flush_keeps_the_session_alive(ctl):
    data = stream_of(encode(ctl, count=4))
    h = ctl.start_decode_session(vh.CommonDecodeConfig())
    ctl.push_bitstream(h, data)
    first = ctl.reap(h) + ctl.flush(h)
    ctl.push_bitstream(h, data)
    second = ctl.reap(h) + ctl.flush(h)
    assert len(first) == len(second) == 4
    assert ctl.telemetry(h)["session_inits"] == 1
    ctl.close_decode_session(h)


def test_empty_flush_returns_no_frames(ctl):
    h = ctl.start_decode_session(vh.CommonDecodeConfig())
    assert ctl.flush(h) == []
    ctl.close_decode_session(h)


def test_switch_to_another_output_mode_keeps_generations_apart(ctl):
    data = stream_of(encode(ctl, count=3))
    h = ctl.start_decode_session(vh.CommonDecodeConfig())
    ctl.push_bitstream(h, data)
    h2 = ctl.switch_decode_session(h, vh.CommonDecodeConfig(output=vh.DecodeOutputMode.CPU_RGB))
    ctl.push_bitstream(h2, data)
    frames = ctl.reap(h2) + ctl.close_decode_session(h2)
    assert [f.generation for f in frames] == [1] * 3 + [2] * 3
    assert [f.rgb is not None for f in frames] == [False] * 3 + [True] * 3
    assert ctl.telemetry(h2)["switches_in_place"] == 1


def test_switch_to_another_codec_creates_a_new_decoder(ctl):
    h = ctl.start_decode_session(vh.CommonDecodeConfig())
    ctl.push_bitstream(h, stream_of(encode(ctl, vh.Codec.H264, count=2)))
    h2 = ctl.switch_decode_session(h, (vh.CommonDecodeConfig(codec=vh.Codec.HEVC), None))
    ctl.push_bitstream(h2, stream_of(encode(ctl, vh.Codec.HEVC, count=3)))
    frames = ctl.reap(h2) + ctl.close_decode_session(h2)
    assert [f.generation for f in frames] == [1, 1, 2, 2, 2]
    assert ctl.telemetry(h2)["switches_new_session"] == 1


# ---- errors and bad input ------------------------------------------------------------------


def test_stale_handle_is_refused(ctl):
    h = ctl.start_decode_session(vh.CommonDecodeConfig())
    h2 = ctl.switch_decode_session(h, vh.CommonDecodeConfig(output=vh.DecodeOutputMode.CPU_RGB))
    with pytest.raises(vh.StaleSessionError):
        ctl.push_bitstream(h, b"\x00\x00\x00\x01")
    ctl.close_decode_session(h2)


def test_push_after_close_raises_session_closed(ctl):
    h = ctl.start_decode_session(vh.CommonDecodeConfig())
    ctl.close_decode_session(h)
    with pytest.raises(vh.SessionClosedError):
        ctl.push_bitstream(h, b"\x00\x00\x00\x01")


def test_wrong_codec_raises_decode_error_by_the_flush(ctl):
    h = ctl.start_decode_session(vh.CommonDecodeConfig(codec=vh.Codec.H264))
    try:
        ctl.push_bitstream(h, stream_of(encode(ctl, vh.Codec.HEVC, count=3)))
    except vh.DecodeError:
        pass  # refusing at once is fine too; the flush must refuse in any case
    with pytest.raises(vh.DecodeError):
        ctl.flush(h)
    ctl.close_decode_session(h)


def test_software_backend_reports_every_codec_libavcodec_decodes(ctl):
    # Debian's libavcodec has H.264, HEVC, VP9 and AV1 (libdav1d) decoders.
    for codec in vh.Codec:
        caps = ctl.decode_capabilities(codec)
        assert caps.supported, codec
        assert vh.DecodeOutputMode.CPU_RGB in caps.output_modes


@pytest.mark.parametrize("codec", CODECS, ids=str)
def test_garbage_never_crashes_and_gives_no_frame(ctl, codec):
    garbage = np.random.default_rng(3).integers(0, 256, 200_000, dtype=np.uint8)
    h = ctl.start_decode_session(
        vh.CommonDecodeConfig(codec=codec, output=vh.DecodeOutputMode.CPU_RGB)
    )
    frames = []
    for at in range(0, len(garbage), 10_000):
        try:
            ctl.push_bitstream(h, garbage[at : at + 10_000])
        except vh.DecodeError:
            pass
        frames += ctl.reap(h)
    with pytest.raises(vh.DecodeError):
        ctl.flush(h)
    assert frames == []
    ctl.close_decode_session(h)


@pytest.mark.parametrize("codec", CODECS, ids=str)
def test_truncated_stream_gives_every_complete_frame(ctl, codec):
    packets = encode(ctl, codec, count=6, gop=6)
    data = stream_of(packets[:4]) + packets[4].data[: len(packets[4].data) // 3]
    frames = decode_chunks(ctl, data, 1000, codec)
    assert [f.pts for f in frames[:4]] == [None] * 4  # no pts pushed
    assert len(frames) >= 4 and not any(f.damaged for f in frames[:4])


def test_corrupt_h264_picture_is_flagged_and_decoding_recovers_at_the_next_idr(ctl):
    packets = encode(ctl, vh.Codec.H264, 128, 96, count=12, gop=4)
    cut = packets[5].data[: len(packets[5].data) // 2]
    h = ctl.start_decode_session(vh.CommonDecodeConfig())
    frames = []
    for i, p in enumerate(packets):
        try:
            ctl.push_bitstream(h, cut if i == 5 else p.data, pts=p.pts)
        except vh.DecodeError:
            pass
        frames += ctl.reap(h)
    frames += ctl.close_decode_session(h)
    assert [f.pts for f in frames] == list(range(12))
    assert [f.damaged for f in frames] == [5 <= i < 8 for i in range(12)]
    assert ctl.telemetry(h)["damaged_frames"] >= 1


# ---- API surface ---------------------------------------------------------------------------


def test_decoded_frame_repr_names_size_pts_and_generation(ctl):
    frame = decode_packets(ctl, encode(ctl, count=1), output=vh.DecodeOutputMode.CPU_RGB)[0]
    assert repr(frame) == (
        "DecodedFrame(64x48, pts=0, generation=1, keyframe, output=rgb, pixel_format=rgb24)"
    )


def test_decoded_frame_carries_color_metadata(ctl):
    frame = decode_packets(ctl, encode(ctl, count=1))[0]
    assert frame.color.full_range is False
    assert isinstance(frame.color.matrix, str) and frame.color.matrix


def test_telemetry_has_the_decode_summary(ctl):
    data = stream_of(encode(ctl, count=4))
    h = ctl.start_decode_session(vh.CommonDecodeConfig())
    ctl.push_bitstream(h, data)
    ctl.flush(h)
    t = ctl.telemetry(h)
    assert (t["frames_decoded"], t["damaged_frames"], t["decode_errors"]) == (4, 0, 0)
    assert t["bytes_in"] == len(data) and t["sizes_seen"] == "64x48" and t["decode_ns"] > 0
    ctl.close_decode_session(h)


def test_context_manager_closes_the_session(ctl):
    with ctl.decode_session(vh.CommonDecodeConfig()) as s:
        s.push(stream_of(encode(ctl, count=2)))
    assert len(s.closing_frames) == 2
    with pytest.raises(vh.SessionClosedError):
        s.push(b"\x00")


def test_encode_handle_is_not_a_decode_handle(ctl):
    h = ctl.start_encode_session(common())
    with pytest.raises(vh.ConfigError, match="DecoderSessionHandle"):
        ctl.push_bitstream(h, b"\x00")
    ctl.close_encode_session(h)


@pytest.mark.skipif(HAS_GPU, reason="checks the fallback where no NVIDIA GPU is present")
def test_auto_decode_backend_falls_back_to_software():
    ctl = vh.SessionController("auto")
    assert ctl.decode_backend == "software"
    with ctl.decode_session(vh.CommonDecodeConfig()) as s:
        assert s.telemetry()["backend"] == "software"
