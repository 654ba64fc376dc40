"""End-to-end encode through SessionController("software"), checked by ffprobe/ffmpeg."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import ffprobe_check as fc
import videohw as vh
from conftest import (
    argb_with_pitch,
    common,
    encode_frames,
    expected_keyframes,
    i420_picture,
    i420_planes,
    i420_with_pitch,
    make_frame,
    reference_pictures,
    rgb_picture,
    stream_of,
)

CODECS = [pytest.param(vh.Codec.H264, id="h264"), pytest.param(vh.Codec.HEVC, id="hevc")]
FORMATS = [
    pytest.param(vh.PixelFormat.I420, id="i420"),
    pytest.param(vh.PixelFormat.ARGB8888, id="argb"),
]


def frames_of(fmt, width, height, count, **per_frame):
    return [
        make_frame(fmt, width, height, t, **{k: v(t) for k, v in per_frame.items()})
        for t in range(count)
    ]


def nal_types(data: bytes, codec: vh.Codec) -> list[int]:
    """NAL unit types of an Annex-B buffer (independent of videohw's own parser)."""
    types, i = [], 0
    while True:
        i = data.find(b"\x00\x00\x01", i)
        if i < 0 or i + 3 >= len(data):
            return types
        header = data[i + 3]
        types.append((header >> 1) & 0x3F if codec is vh.Codec.HEVC else header & 0x1F)
        i += 3


# ---------------------------------------------------------------------------------------
# Frame count, size and keyframe positions


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("codec", CODECS)
def test_every_frame_decodes_at_configured_size_with_keyframes_at_gop_multiples(
    ctl, tmp_stream, codec, fmt
):
    n, gop = 25, 10
    config = common(codec, 96, 64, gop_length=gop)
    packets = encode_frames(ctl, config, frames_of(fmt, 96, 64, n))
    frames = fc.probe_frames(tmp_stream(packets), codec)
    fc.check_frames(frames, n, 96, 64)
    fc.check_keyframes(frames, [0, 10, 20])


@pytest.mark.parametrize("codec", CODECS)
def test_gop_length_one_makes_every_frame_a_keyframe(ctl, codec):
    probed = fc.probe_frames(
        encode_frames(ctl, common(codec, gop_length=1), frames_of(vh.PixelFormat.I420, 64, 48, 10)),
        codec,
    )
    fc.check_frames(probed, 10, 64, 48)
    fc.check_keyframes(probed, range(10))


@pytest.mark.parametrize("low_latency", [False, True], ids=["default", "low-latency"])
@pytest.mark.parametrize("codec", CODECS)
def test_forced_keyframe_restarts_gop_count(ctl, codec, low_latency):
    n, gop, forced = 30, 10, {4, 17}
    config = common(codec, gop_length=gop, low_latency=low_latency)
    frames = frames_of(vh.PixelFormat.I420, 64, 48, n, force_keyframe=lambda t: t in forced)
    probed = fc.probe_frames(encode_frames(ctl, config, frames), codec)
    fc.check_frames(probed, n, 64, 48)
    assert expected_keyframes(n, gop, forced) == [0, 4, 14, 17, 27]
    fc.check_keyframes(probed, [0, 4, 14, 17, 27])


@pytest.mark.parametrize("codec", CODECS)
def test_b_frames_config_keeps_keyframe_positions_and_uses_b_frames(ctl, codec):
    n, gop, forced = 30, 12, {7}
    config = common(codec, b_frames=2, gop_length=gop)
    frames = frames_of(vh.PixelFormat.I420, 64, 48, n, force_keyframe=lambda t: t in forced)
    packets = encode_frames(ctl, config, frames)
    probed = fc.probe_frames(packets, codec)
    fc.check_frames(probed, n, 64, 48)
    fc.check_keyframes(probed, expected_keyframes(n, gop, forced))
    assert "B" in {f.pict_type for f in probed}, "b_frames=2 produced no B pictures"
    # Decode order: dts strictly increasing; every pts exactly once.
    dts = [p.dts for p in packets]
    assert dts == sorted(dts) and len(set(dts)) == len(dts)
    assert sorted(p.pts for p in packets) == list(range(n))
    assert [p.pts for p in packets] != list(range(n)), "B-frames must reorder packets"


def scene_cut_frame(width, height, t, cut):
    """The test picture, turned into a very different one from frame ``cut`` on."""
    if t < cut:
        return vh.Frame(i420_picture(width, height, t), vh.PixelFormat.I420)
    y, u, v = i420_planes(width, height, t)
    y = (251 - y.astype(np.int16)).clip(16, 235).astype(np.uint8)
    return vh.Frame(
        np.concatenate([y.reshape(-1), v.reshape(-1), u.reshape(-1)]), vh.PixelFormat.I420
    )


@pytest.mark.parametrize("codec", CODECS)
def test_scene_cut_adds_no_keyframe_and_every_i_picture_is_a_keyframe(ctl, codec):
    n = 24
    frames = [scene_cut_frame(64, 48, t, cut=13) for t in range(n)]
    probed = fc.probe_frames(encode_frames(ctl, common(codec, gop_length=60), frames), codec)
    fc.check_frames(probed, n, 64, 48)
    fc.check_keyframes(probed, [0])
    assert [i for i, f in enumerate(probed) if f.pict_type == "I"] == [0]


@pytest.mark.parametrize("threads", [0, 4], ids=["threads-auto", "threads-4"])
@pytest.mark.parametrize("codec", CODECS)
def test_low_latency_gives_one_packet_per_submitted_frame(ctl, codec, threads):
    n, gop = 20, 8
    h = ctl.start_encode_session(
        common(codec, low_latency=True, gop_length=gop), vh.SoftwareEncodeConfig(threads=threads)
    )
    packets = []
    for t in range(n):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
        ready = ctl.reap(h, min_packets=1)  # the pipeline is asynchronous: wait for this frame
        assert [p.pts for p in ready] == [t], f"frame {t}: got packets {ready}"
        packets += ready
    assert ctl.close_encode_session(h) == []
    probed = fc.probe_frames(packets, codec)
    fc.check_frames(probed, n, 64, 48)
    fc.check_keyframes(probed, [0, 8, 16])
    assert {f.pict_type for f in probed} <= {"I", "P"}


# ---------------------------------------------------------------------------------------
# Packet fields


@pytest.mark.parametrize("b_frames", [0, 2])
@pytest.mark.parametrize("codec", CODECS)
def test_packet_fields_generation_layout_start_code_and_keyframe_flag(ctl, codec, b_frames):
    n, gop = 24, 9
    packets = encode_frames(
        ctl,
        common(codec, gop_length=gop, b_frames=b_frames),
        frames_of(vh.PixelFormat.I420, 64, 48, n),
    )
    assert len(packets) == n
    for p in packets:
        assert isinstance(p, vh.EncodedPacket)
        assert p.generation == 1
        assert p.layout is vh.EncodedLayout.ANNEX_B
        assert isinstance(p.data, bytes)
        assert p.data.startswith(b"\x00\x00\x01") or p.data.startswith(b"\x00\x00\x00\x01")
    probed = fc.probe_frames(packets, codec)
    # pts default to 0, 1, 2, ...: a packet's pts is its presentation index.
    flagged = sorted(p.pts for p in packets if p.is_keyframe)
    assert flagged == fc.keyframe_indices(probed) == [0, 9, 18]


@pytest.mark.parametrize("codec", CODECS)
def test_every_keyframe_packet_carries_parameter_sets(ctl, codec):
    packets = encode_frames(
        ctl, common(codec, gop_length=5), frames_of(vh.PixelFormat.I420, 64, 48, 12)
    )
    needed = {32, 33, 34} if codec is vh.Codec.HEVC else {7, 8}
    idr = {19, 20} if codec is vh.Codec.HEVC else {5}
    keyframes = [p for p in packets if p.is_keyframe]
    assert len(keyframes) == 3
    for p in keyframes:
        types = set(nal_types(p.data, codec))
        assert needed <= types, f"keyframe pts {p.pts}: NAL types {sorted(types)}"
        assert types & idr, f"keyframe pts {p.pts} is not an IDR: NAL types {sorted(types)}"


def test_packet_repr_does_not_contain_the_bytes(ctl):
    packets = encode_frames(ctl, common(), frames_of(vh.PixelFormat.I420, 64, 48, 3))
    for p in packets:
        text = repr(p)
        assert repr(p.data) not in text
        assert repr(p.data[:16]) not in text
        assert len(text) < 300, text
        assert str(p.pts) in text


# ---------------------------------------------------------------------------------------
# Picture quality


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("codec", CODECS)
def test_decoded_pictures_match_source_above_30db(ctl, codec, fmt):
    n, w, h = 12, 128, 96
    packets = encode_frames(ctl, common(codec, w, h, gop_length=30), frames_of(fmt, w, h, n))
    reference, pix_fmt = reference_pictures(fmt, w, h, n)
    values = fc.psnr(packets, codec, reference, w, h, pix_fmt)
    assert min(values) > 30.0, values


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f.value) for f in vh.PixelFormat])
def test_every_input_format_encodes_the_source_picture(ctl, fmt):
    n, w, h = 4, 64, 48
    packets = encode_frames(ctl, common(vh.Codec.H264, w, h), frames_of(fmt, w, h, n))
    reference, pix_fmt = reference_pictures(fmt, w, h, n)
    assert min(fc.psnr(packets, vh.Codec.H264, reference, w, h, pix_fmt)) > 30.0


def test_psnr_check_detects_frames_out_of_order(ctl):
    # The PSNR helper compares frame i with source i, so a mismatch must show.
    n, w, h = 6, 64, 48
    packets = encode_frames(ctl, common(gop_length=30), frames_of(vh.PixelFormat.I420, w, h, n))
    reference, pix_fmt = reference_pictures(vh.PixelFormat.I420, w, h, n)
    shuffled = reference[3:] + reference[:3]
    assert min(fc.psnr(packets, vh.Codec.H264, shuffled, w, h, pix_fmt)) < 30.0


# ---------------------------------------------------------------------------------------
# Rate control


RATE_CONTROLS = [
    pytest.param(vh.RateControl.cbr(500_000), id="cbr"),
    pytest.param(vh.RateControl.vbr(400_000, 800_000), id="vbr"),
    pytest.param(vh.RateControl.const_qp(26, 28, 30), id="cqp"),
    pytest.param(vh.RateControl.parse("vbr:300k:1M"), id="vbr-parsed"),
]


@pytest.mark.parametrize("rc", RATE_CONTROLS)
@pytest.mark.parametrize("codec", CODECS)
def test_rate_control_mode_produces_valid_stream(ctl, codec, rc):
    n = 15
    packets = encode_frames(
        ctl,
        common(codec, gop_length=10, rate_control=rc),
        frames_of(vh.PixelFormat.I420, 64, 48, n),
    )
    probed = fc.probe_frames(packets, codec)
    fc.check_frames(probed, n, 64, 48)
    fc.check_keyframes(probed, [0, 10])


@pytest.mark.parametrize("codec", CODECS)
def test_lower_const_qp_gives_bigger_stream(ctl, codec):
    def sizes(qp):
        rc = vh.RateControl.const_qp(qp)
        frames = frames_of(vh.PixelFormat.I420, 128, 96, 10)
        packets = encode_frames(ctl, common(codec, 128, 96, rate_control=rc), frames)
        return [len(p.data) for p in packets]

    low, high = sizes(18), sizes(40)
    assert sum(low) > sum(high), (low, high)
    # The first packet carries headers (x265 adds a ~2 KB settings SEI); the pictures
    # after it show the QP alone.
    assert sum(low[1:]) > 2 * sum(high[1:]), (low, high)


@pytest.mark.parametrize("codec", CODECS)
def test_cbr_stream_bitrate_is_near_target(ctl, codec):
    # Noise needs more bits than any target here, so the encoder spends what it may:
    # 2 s at the target plus at most the (one second, 90 % full) initial VBV buffer.
    w, h, n, bps = 160, 120, 60, 300_000
    rng = np.random.default_rng(3)
    frames = [
        vh.Frame(rng.integers(0, 256, w * h * 3 // 2, dtype=np.uint8), vh.PixelFormat.I420)
        for _ in range(n)
    ]
    config = common(codec, w, h, rate_control=vh.RateControl.cbr(bps))
    bits = 8 * len(stream_of(encode_frames(ctl, config, frames)))
    ratio = bits / (n / 30) / bps
    assert 0.7 < ratio < 1.5, ratio


@pytest.mark.parametrize("codec", CODECS)
def test_higher_cbr_bitrate_gives_bigger_stream(ctl, codec):
    def size(bps):
        rc = vh.RateControl.cbr(bps)
        frames = frames_of(vh.PixelFormat.I420, 160, 120, 30)
        return len(stream_of(encode_frames(ctl, common(codec, 160, 120, rate_control=rc), frames)))

    assert size(2_000_000) > size(50_000)


# ---------------------------------------------------------------------------------------
# Session wrapper, state, telemetry


def test_with_block_closes_session_and_keeps_closing_packets(ctl):
    n = 10
    config = common(b_frames=2)  # B-frames: the tail is held until close
    packets = []
    with ctl.encode_session(config) as s:
        for t in range(n):
            s.submit(make_frame(vh.PixelFormat.I420, 64, 48, t))
            packets += s.reap()
    assert s.closing_packets, "the tail held back by the encoder must come out at close"
    packets += s.closing_packets
    assert len(packets) == n
    fc.check_frames(fc.probe_frames(packets, vh.Codec.H264), n, 64, 48)
    with pytest.raises(vh.SessionClosedError):
        s.submit(make_frame(vh.PixelFormat.I420, 64, 48, n))
    with pytest.raises(vh.SessionClosedError):
        ctl.submit(s.handle, make_frame(vh.PixelFormat.I420, 64, 48, n))
    assert ctl.session_state(s.handle)["state"] == "closed"


def test_with_block_closes_session_when_body_raises(ctl):
    with pytest.raises(KeyError):
        with ctl.encode_session(common()) as s:
            s.submit(make_frame(vh.PixelFormat.I420, 64, 48, 0))
            raise KeyError("boom")
    assert ctl.session_state(s.handle)["state"] == "closed"
    with pytest.raises(vh.SessionClosedError):
        s.reap()


def test_session_state_reports_running_session_then_closed(ctl):
    h = ctl.start_encode_session(common(vh.Codec.HEVC, 96, 64))
    state = ctl.session_state(h)
    assert isinstance(state, dict)
    assert state["state"] == "running"
    assert state["active_generation"] == 1 == h.generation
    assert (state["width"], state["height"]) == (96, 64)
    assert state["codec"] == "hevc"
    assert state["backend"] == "software"
    ctl.close_encode_session(h)
    assert ctl.session_state(h)["state"] == "closed"


def test_telemetry_counts_frames_packets_and_keyframes(ctl):
    n = 14
    h = ctl.start_encode_session(common(gop_length=5))
    packets = []
    for t in range(n):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
        packets += ctl.reap(h)
    packets += ctl.close_encode_session(h)
    tel = ctl.telemetry(h)  # still available after close
    assert tel["backend"] == "software" and tel["codec"] == "h264"
    assert tel["session_inits"] == 1 and tel["encoder_opens"] == 1
    assert tel["frames_submitted"] == tel["frames_encoded"] == tel["packets_out"] == n
    assert tel["bytes_out"] == len(stream_of(packets))
    assert tel["keyframes_out"] == 3
    assert tel["frames_converted"] == 0  # I420 goes to the encoder as is
    for key in (
        "encode_ns",
        "convert_ns",
        "init_ns",
        "last_flush_ns",
        "generation",
        "flushes",
        "in_place_flushes",
        "encoder_reopens",
        "frame_buffer_allocations",
    ):
        assert isinstance(tel[key], int), key
    assert tel["borrow_leaks"] == 0


# ---------------------------------------------------------------------------------------
# Frame layouts and timestamps


@pytest.mark.parametrize("codec", CODECS)
def test_i420_pitch_larger_than_width(ctl, codec):
    n, w, h, pitch = 8, 64, 48, 80
    frames = [
        vh.Frame(i420_with_pitch(w, h, t, pitch), vh.PixelFormat.I420, pitch=pitch)
        for t in range(n)
    ]
    packets = encode_frames(ctl, common(codec, w, h), frames)
    reference = [i420_picture(w, h, t) for t in range(n)]
    assert min(fc.psnr(packets, codec, reference, w, h, "yuv420p")) > 30.0


@pytest.mark.parametrize("explicit_pitch", [True, False], ids=["pitch-arg", "pitch-from-shape"])
def test_argb_pitch_larger_than_minimum(ctl, explicit_pitch):
    n, w, h, pitch = 8, 64, 48, 4 * 64 + 32
    frames = [
        vh.Frame(
            argb_with_pitch(w, h, t, pitch),
            vh.PixelFormat.ARGB8888,
            pitch=pitch if explicit_pitch else None,
        )
        for t in range(n)
    ]
    packets = encode_frames(ctl, common(vh.Codec.H264, w, h), frames)
    reference = [rgb_picture(w, h, t) for t in range(n)]
    assert min(fc.psnr(packets, vh.Codec.H264, reference, w, h, "rgb24")) > 30.0


def test_flat_buffer_and_bytes_are_accepted(ctl):
    w, h = 64, 48
    frames = [
        vh.Frame(argb_with_pitch(w, h, 0, 4 * w).reshape(-1), vh.PixelFormat.ARGB8888),
        vh.Frame(i420_picture(w, h, 1).tobytes(), vh.PixelFormat.I420),
    ]
    packets = encode_frames(ctl, common(), frames)
    fc.check_frames(fc.probe_frames(packets, vh.Codec.H264), 2, w, h)


@pytest.mark.parametrize("b_frames", [0, 2])
def test_explicit_pts_flow_into_packet_pts(ctl, b_frames):
    n = 12
    pts = [1000 + 7 * t for t in range(n)]
    frames = frames_of(vh.PixelFormat.I420, 64, 48, n, pts=lambda t: pts[t])
    packets = encode_frames(ctl, common(b_frames=b_frames), frames)
    assert sorted(p.pts for p in packets) == pts
    assert all(p.dts <= p.pts for p in packets)


@pytest.mark.parametrize("codec", CODECS)
def test_array_may_be_reused_right_after_submit(ctl, codec):
    # submit reads the buffer during the call only: overwriting it afterwards must not
    # change what was encoded (B-frames hold pictures inside the encoder).
    n, w, h = 10, 64, 48
    buf = np.empty(w * h * 3 // 2, dtype=np.uint8)
    handle = ctl.start_encode_session(common(codec, b_frames=2))
    packets = []
    for t in range(n):
        buf[:] = i420_picture(w, h, t)
        ctl.submit(handle, vh.Frame(buf, vh.PixelFormat.I420))
        buf[:] = 0
        packets += ctl.reap(handle)
    packets += ctl.close_encode_session(handle)
    reference = [i420_picture(w, h, t) for t in range(n)]
    assert min(fc.psnr(packets, codec, reference, w, h, "yuv420p")) > 30.0
    assert ctl.telemetry(handle)["borrow_leaks"] == 0


# ---------------------------------------------------------------------------------------
# Concurrency: submit releases the GIL, reap never waits for the encoder


def slow_encode_in_thread(ctl):
    """Starts a thread that submits a few frames which take libx264 a while (noise, QP 4,
    preset veryslow, one thread). Returns (thread, durations of each submit)."""
    w, h = 640, 360
    rng = np.random.default_rng(7)
    frames = [
        vh.Frame(rng.integers(0, 256, w * h * 3 // 2, dtype=np.uint8), vh.PixelFormat.I420)
        for _ in range(3)
    ]
    config = common(width=w, height=h, low_latency=True, rate_control=vh.RateControl.const_qp(4))
    # max_in_flight=1: each submit waits (backpressure) for the slow encode of the previous
    # frame, which is where the GIL must be released.
    handle = ctl.start_encode_session(
        config, vh.SoftwareEncodeConfig(preset="veryslow", threads=1, max_in_flight=1)
    )
    durations = []

    def encode():
        for frame in frames:
            start = time.perf_counter()
            ctl.submit(handle, frame)
            durations.append(time.perf_counter() - start)

    thread = threading.Thread(target=encode)
    thread.start()
    return handle, thread, durations


def test_submit_releases_the_gil(ctl):
    handle, thread, durations = slow_encode_in_thread(ctl)
    spins = 0
    while thread.is_alive():
        spins += 1
    thread.join()
    ctl.close_encode_session(handle)
    if sum(durations) < 0.2:
        pytest.skip(f"encoding took {sum(durations):.3f} s: too fast to tell")
    # With the GIL held during the encode, this thread could not have spun at all.
    assert spins > 1000, (spins, durations)


def test_reap_does_not_wait_for_an_encode_in_progress(ctl):
    handle, thread, durations = slow_encode_in_thread(ctl)
    worst = 0.0
    time.sleep(0.02)  # let the first submit start
    while thread.is_alive():
        start = time.perf_counter()
        ctl.reap(handle)
        worst = max(worst, time.perf_counter() - start)
        time.sleep(0.001)
    thread.join()
    ctl.close_encode_session(handle)
    slowest = max(durations)
    if slowest < 0.15:
        pytest.skip(f"a submit took {slowest:.3f} s: too fast to tell")
    # docs/api.md: reap returns the ready packets and never blocks.
    # Blocked, a reap would wait about a whole submit; allow scheduling noise, not that.
    assert worst < max(0.05, slowest / 2), (
        f"reap waited {worst:.3f} s behind a submit of {slowest:.3f} s"
    )


# ---------------------------------------------------------------------------------------
# Small pictures: a valid config must never corrupt the process


_SMALL_ENCODE = textwrap.dedent("""
    import sys
    import videohw as vh
    from conftest import common, encode_frames, make_frame
    codec, w, h = vh.Codec(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    frames = [make_frame(vh.PixelFormat.I420, w, h, t) for t in range(6)]
    try:
        packets = encode_frames(vh.SessionController("software"), common(codec, w, h), frames)
    except vh.UnsupportedConfigError as e:  # refusing the size up front is fine too
        print("unsupported:", e.problems)
    else:
        print(len(packets))
""")


@pytest.mark.parametrize(
    "codec,width,height",
    [
        pytest.param(vh.Codec.H264, 16, 16, id="h264-16x16"),
        pytest.param(vh.Codec.H264, 40, 16, id="h264-40x16"),
        pytest.param(vh.Codec.HEVC, 64, 48, id="hevc-64x48"),
        pytest.param(vh.Codec.HEVC, 16, 16, id="hevc-16x16"),
        pytest.param(vh.Codec.HEVC, 40, 16, id="hevc-40x16"),
        pytest.param(vh.Codec.HEVC, 48, 64, id="hevc-48x64"),
    ],
)
def test_small_valid_sizes_encode_without_heap_corruption(codec, width, height):
    # In a child process with glibc's malloc checking, so a heap overrun aborts it (and
    # only it). libx265 3.5's cuTree writes out of bounds when the picture is <= 48 wide.
    env = dict(
        os.environ,
        LD_PRELOAD="libc_malloc_debug.so.0",
        MALLOC_CHECK_="3",
        PYTHONPATH=os.path.dirname(os.path.abspath(__file__)),
    )
    proc = subprocess.run(
        [sys.executable, "-c", _SMALL_ENCODE, codec.value, str(width), str(height)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout.strip()
    assert proc.returncode == 0 and (out == "6" or out.startswith("unsupported:")), (
        f"rc={proc.returncode} stdout={proc.stdout!r} stderr={proc.stderr[-500:]!r}"
    )


# ---------------------------------------------------------------------------------------
# The checker itself must be able to fail


def test_checker_detects_wrong_keyframe_expectation(ctl):
    packets = encode_frames(ctl, common(gop_length=10), frames_of(vh.PixelFormat.I420, 64, 48, 20))
    probed = fc.probe_frames(packets, vh.Codec.H264)
    fc.check_keyframes(probed, [0, 10])
    with pytest.raises(fc.StreamMismatch, match="missing"):
        fc.check_keyframes(probed, [0, 9])
    with pytest.raises(fc.StreamMismatch, match="unexpected"):
        fc.check_keyframes(probed, [0])
    with pytest.raises(fc.StreamMismatch, match="21"):
        fc.check_frames(probed, 21, 64, 48)
    with pytest.raises(fc.StreamMismatch, match="64x64"):
        fc.check_frames(probed, 20, 64, 64)


def test_checker_rejects_a_corrupted_stream(ctl):
    data = stream_of(
        encode_frames(ctl, common(gop_length=30), frames_of(vh.PixelFormat.I420, 64, 48, 10))
    )
    half = len(data) // 2
    with pytest.raises(fc.StreamMismatch):
        fc.probe_frames(data[:half] + bytes(40) + data[half + 40 :], vh.Codec.H264)
