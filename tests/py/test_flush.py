"""One session across many flushes: nothing re-initialised, nothing lost (docs/api.md,
"Flush and session persistence")."""

from __future__ import annotations

import pytest

import ffprobe_check as fc
import videohw as vh
from conftest import common, expected_keyframes, make_frame

CODECS = [pytest.param(vh.Codec.H264, id="h264"), pytest.param(vh.Codec.HEVC, id="hevc")]
CYCLES, PER_CYCLE = 5, 6


def run_flush_cycles(ctl, config, fmt=vh.PixelFormat.I420, cycles=CYCLES, per_cycle=PER_CYCLE):
    """Submits ``per_cycle`` frames then flushes, ``cycles`` times; returns the handle, the
    packets of each flush and the packets of the final close."""
    h = ctl.start_encode_session(config)
    flushed = []
    t = 0
    for _ in range(cycles):
        for _ in range(per_cycle):
            ctl.submit(h, make_frame(fmt, config.width, config.height, t))
            t += 1
        flushed.append(ctl.flush(h))
    tail = ctl.close_encode_session(h)
    return h, flushed, tail


@pytest.mark.parametrize("codec", CODECS)
def test_each_flush_returns_exactly_the_frames_since_the_previous_flush(ctl, codec):
    _, flushed, tail = run_flush_cycles(ctl, common(codec, low_latency=True))
    for cycle, packets in enumerate(flushed):
        first = cycle * PER_CYCLE
        assert sorted(p.pts for p in packets) == list(range(first, first + PER_CYCLE)), cycle
    assert tail == []


@pytest.mark.parametrize("codec", CODECS)
def test_low_latency_flushes_keep_one_session_and_one_encoder(ctl, codec):
    h, _, _ = run_flush_cycles(ctl, common(codec, low_latency=True))
    tel = ctl.telemetry(h)
    assert tel["session_inits"] == 1
    assert tel["encoder_opens"] == 1
    assert tel["encoder_reopens"] == 0
    assert tel["flushes"] == CYCLES
    assert tel["in_place_flushes"] == CYCLES
    assert tel["flush_mode"] == "in_place"


@pytest.mark.parametrize("codec", CODECS)
def test_low_latency_flush_is_in_place_with_explicit_threads(ctl, codec):
    # docs/api.md: with low_latency=True every frame is out before the flush, so it is
    # always in place, whatever SoftwareEncodeConfig.threads says.
    h = ctl.start_encode_session(
        common(codec, 320, 240, low_latency=True), vh.SoftwareEncodeConfig(threads=4)
    )
    for t in range(PER_CYCLE):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 320, 240, t))
    assert len(ctl.reap(h) + ctl.flush(h)) == PER_CYCLE
    tel = ctl.telemetry(h)
    ctl.close_encode_session(h)
    assert tel["flush_mode"] == "in_place"
    assert tel["encoder_reopens"] == 0 and tel["encoder_opens"] == 1


def test_argb_flushes_reuse_the_conversion_slots(ctl):
    h, _, _ = run_flush_cycles(ctl, common(low_latency=True), fmt=vh.PixelFormat.ARGB8888)
    tel = ctl.telemetry(h)
    assert tel["frames_converted"] == CYCLES * PER_CYCLE
    # Conversions write into pooled frame slots: at most one new slot per frame that can be
    # in flight at once (plus the one being converted), however many flushes there are.
    assert 1 <= tel["frame_buffer_allocations"] <= tel["in_flight_peak"] + 1
    assert tel["session_inits"] == 1 and tel["encoder_opens"] == 1


@pytest.mark.parametrize("low_latency", [True, False], ids=["low-latency", "default"])
@pytest.mark.parametrize("codec", CODECS)
def test_no_frame_is_lost_across_flushes(ctl, codec, low_latency):
    _, flushed, tail = run_flush_cycles(ctl, common(codec, low_latency=low_latency))
    packets = [p for batch in flushed for p in batch] + tail
    total = CYCLES * PER_CYCLE
    assert len(packets) == total
    fc.check_frames(fc.probe_frames(packets, codec), total, 64, 48)


@pytest.mark.parametrize("codec", CODECS)
def test_force_idr_makes_first_frame_after_each_flush_a_keyframe(ctl, codec):
    config = common(codec, low_latency=True, force_idr=True, gop_length=1000)
    h, flushed, tail = run_flush_cycles(ctl, config)
    packets = [p for batch in flushed for p in batch] + tail
    starts = [cycle * PER_CYCLE for cycle in range(CYCLES)]
    assert sorted(p.pts for p in packets if p.is_keyframe) == starts
    fc.check_keyframes(fc.probe_frames(packets, codec), starts)
    # Each flushed segment decodes on its own.
    for batch in flushed:
        fc.check_frames(fc.probe_frames(batch, codec), PER_CYCLE, 64, 48)
    assert ctl.telemetry(h)["encoder_opens"] == 1  # IDRs forced in place, no reopen


@pytest.mark.parametrize("codec", CODECS)
def test_without_force_idr_in_place_flush_adds_no_keyframe(ctl, codec):
    config = common(codec, low_latency=True, gop_length=1000)
    _, flushed, tail = run_flush_cycles(ctl, config)
    packets = [p for batch in flushed for p in batch] + tail
    fc.check_keyframes(fc.probe_frames(packets, codec), [0])


@pytest.mark.parametrize("codec", CODECS)
def test_b_frames_flush_returns_every_frame_and_reopens_the_encoder(ctl, codec):
    # FFmpeg 5.1 cannot drain libx264/libx265 and resume: documented "reopen" flush.
    config = common(codec, b_frames=2, gop_length=1000)
    h, flushed, tail = run_flush_cycles(ctl, config)
    for cycle, packets in enumerate(flushed):
        first = cycle * PER_CYCLE
        assert sorted(p.pts for p in packets) == list(range(first, first + PER_CYCLE)), cycle
    assert tail == []
    packets = [p for batch in flushed for p in batch]
    probed = fc.probe_frames(packets, codec)
    fc.check_frames(probed, CYCLES * PER_CYCLE, 64, 48)
    # docs/api.md: after a reopen the next frame is an IDR.
    fc.check_keyframes(probed, [cycle * PER_CYCLE for cycle in range(CYCLES)])
    dts = [p.dts for p in packets]  # still one decode order across the reopens
    assert all(a < b for a, b in zip(dts, dts[1:])), dts
    tel = ctl.telemetry(h)
    assert tel["session_inits"] == 1
    assert tel["flushes"] == CYCLES
    assert tel["encoder_reopens"] == CYCLES
    assert tel["encoder_opens"] == CYCLES + 1
    assert tel["in_place_flushes"] == 0
    assert tel["flush_mode"] == "reopen"
    assert all(p.generation == 1 for p in packets)


@pytest.mark.parametrize("codec", CODECS)
def test_gop_count_restarts_at_the_idr_after_a_reopen(ctl, codec):
    gop = 4
    config = common(codec, b_frames=2, gop_length=gop)
    _, flushed, tail = run_flush_cycles(ctl, config, cycles=3, per_cycle=7)
    packets = [p for batch in flushed for p in batch] + tail
    probed = fc.probe_frames(packets, codec)
    fc.check_frames(probed, 21, 64, 48)
    # Reopens at 7 and 14 act like forced keyframes: 0, 4 | 7, 11 | 14, 18.
    fc.check_keyframes(probed, expected_keyframes(21, gop, forced={7, 14}))
    assert fc.keyframe_indices(probed) == [0, 4, 7, 11, 14, 18]


def test_reopen_counts_only_flushes_with_frames_held(ctl):
    h = ctl.start_encode_session(common(b_frames=2))
    for t in range(5):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    assert len(ctl.flush(h)) == 5
    assert ctl.flush(h) == []  # nothing held: nothing to reopen
    tel = ctl.telemetry(h)
    assert tel["flushes"] == 2
    assert tel["encoder_reopens"] == 1
    assert tel["in_place_flushes"] == 1
    ctl.close_encode_session(h)


def test_flush_then_reap_returns_nothing_more(ctl):
    h = ctl.start_encode_session(common(b_frames=2))
    for t in range(4):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    assert len(ctl.flush(h)) == 4
    assert ctl.reap(h) == []
    ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, 4))
    assert [p.pts for p in ctl.flush(h)] == [4]
    assert ctl.close_encode_session(h) == []


def test_pts_continue_across_flushes(ctl):
    _, flushed, _ = run_flush_cycles(ctl, common(b_frames=2), cycles=3, per_cycle=4)
    assert sorted(p.pts for batch in flushed for p in batch) == list(range(12))


def test_flush_mode_is_a_documented_value_before_the_first_flush(ctl):
    # docs/api.md: flush_mode is "none" until the first flush, then "in_place" or "reopen".
    h = ctl.start_encode_session(common(low_latency=True))
    try:
        assert ctl.telemetry(h)["flush_mode"] == "none"
        ctl.flush(h)
        assert ctl.telemetry(h)["flush_mode"] in ("in_place", "reopen")
    finally:
        ctl.close_encode_session(h)
