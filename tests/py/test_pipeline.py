"""The per-session pipeline: backpressure, pooled buffers, copies (docs/api.md, "Pipeline")."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import ffprobe_check as fc
import videohw as vh
from conftest import common, i420_picture, i420_with_pitch, make_frame


def test_non_blocking_submit_raises_backpressure_when_the_pipeline_is_full():
    # veryslow low-latency 1280x720 takes tens of ms per frame, a submit microseconds: with
    # max_in_flight=1 the second submit finds the first still waiting or encoding.
    ctl = vh.SessionController("software")
    config = common(width=1280, height=720, low_latency=True)  # each encode does the full work
    h = ctl.start_encode_session(
        config, vh.SoftwareEncodeConfig(preset="veryslow", threads=1, max_in_flight=1)
    )
    frame = make_frame(vh.PixelFormat.I420, 1280, 720, 0)
    ctl.submit(h, frame)
    raised = 0
    for t in range(1, 4):
        try:
            ctl.submit(h, make_frame(vh.PixelFormat.I420, 1280, 720, t), block=False)
        except vh.BackpressureError as e:
            assert "not taken" in str(e)
            raised += 1
            ctl.submit(h, make_frame(vh.PixelFormat.I420, 1280, 720, t))  # blocking: taken
    assert raised >= 1
    packets = ctl.close_encode_session(h)
    assert [p.pts for p in packets] == [0, 1, 2, 3], "a refused frame was not lost or doubled"
    assert ctl.telemetry(h)["in_flight_peak"] == 1


def test_pool_allocations_stop_growing_in_steady_state(ctl):
    h = ctl.start_encode_session(common(low_latency=True), vh.SoftwareEncodeConfig())
    counts = []
    for t in range(200):
        ctl.submit(h, make_frame(vh.PixelFormat.ARGB8888, 64, 48, t))
        ctl.reap(h, min_packets=1)
        if t in (19, 199):
            counts.append(ctl.telemetry(h)["pool_allocations"])
    ctl.close_encode_session(h)
    assert counts[1] == counts[0], f"pools allocated after warm-up: {counts}"


def test_the_callers_array_can_be_reused_right_after_submit(ctl):
    config = common(low_latency=True)
    h = ctl.start_encode_session(config)
    buffer = np.empty_like(make_frame(vh.PixelFormat.I420, 64, 48, 0).data)
    for t in range(10):
        buffer[...] = make_frame(vh.PixelFormat.I420, 64, 48, t).data
        ctl.submit(h, vh.Frame(buffer, vh.PixelFormat.I420))
        buffer[...] = 0  # overwritten at once: the queued copy must be unaffected
    packets = ctl.close_encode_session(h)
    reference = [make_frame(vh.PixelFormat.I420, 64, 48, t).data for t in range(10)]
    assert min(fc.psnr(packets, vh.Codec.H264, reference, 64, 48)) > 30


def test_threads_submitting_to_separate_sessions_lose_nothing(ctl):
    results = {}

    def run(name):
        h = ctl.start_encode_session(common(low_latency=True))
        for t in range(40):
            ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
        results[name] = ctl.close_encode_session(h)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for packets in results.values():
        assert [p.pts for p in packets] == list(range(40))


# --------------------------------------------------------------------------------------
# More of the pipeline contract: blocking submits, stage telemetry, realistic steady state


PIPELINE_KEYS = (
    "queue_depth_peak_transform",
    "queue_depth_peak_encode",
    "queue_depth_peak_reap",
    "in_flight_peak",
    "transform_ns",
    "encode_ns",
    "reap_ns",
    "pool_allocations",
)


@pytest.mark.parametrize("max_in_flight", [1, 3])
def test_blocking_submit_never_loses_a_frame_with_a_concurrent_reaper(ctl, max_in_flight):
    """A tight loop of blocking submits against a tiny pipeline while another thread reaps:
    every frame comes out once, in order, and at most max_in_flight frames ever wait."""
    config = common(width=96, height=64, gop_length=15)  # frame threads + lookahead
    h = ctl.start_encode_session(config, vh.SoftwareEncodeConfig(max_in_flight=max_in_flight))
    n = 90
    reaped: list = []
    done = threading.Event()

    def reaper():
        while not done.is_set():
            reaped.extend(ctl.reap(h, min_packets=1, timeout=0.05))

    thread = threading.Thread(target=reaper)
    thread.start()
    try:
        for t in range(n):
            ctl.submit(h, make_frame(vh.PixelFormat.ARGB8888, 96, 64, t), block=True)
    finally:
        done.set()
        thread.join()
    packets = reaped + ctl.close_encode_session(h)
    assert sorted(p.pts for p in packets) == list(range(n))
    frames = fc.probe_frames(packets, vh.Codec.H264)
    fc.check_frames(frames, n, 96, 64)
    fc.check_keyframes(frames, range(0, n, 15))
    t = ctl.telemetry(h)
    assert t["frames_submitted"] == t["frames_encoded"] == t["packets_out"] == n
    assert 1 <= t["in_flight_peak"] <= max_in_flight


def test_backpressure_leaves_the_session_usable_and_takes_no_frame():
    """Refused frames are not counted, not encoded and not lost: after any number of
    BackpressureErrors the frames that were taken come out, each once."""
    ctl = vh.SessionController("software")
    config = common(width=1280, height=720, low_latency=True)
    h = ctl.start_encode_session(
        config, vh.SoftwareEncodeConfig(preset="veryslow", threads=1, max_in_flight=1)
    )
    frame = make_frame(vh.PixelFormat.I420, 1280, 720, 0)
    taken, refused = [], 0
    for t in range(6):
        try:
            ctl.submit(h, vh.Frame(frame.data, vh.PixelFormat.I420, pts=t), block=False)
            taken.append(t)
        except vh.BackpressureError:
            refused += 1
    assert taken and taken[0] == 0, "an empty pipeline takes a frame without blocking"
    assert refused >= 1, "max_in_flight=1 and a veryslow 720p encode: the pipeline was full"
    assert ctl.telemetry(h)["frames_submitted"] == len(taken)
    ctl.submit(h, vh.Frame(frame.data, vh.PixelFormat.I420, pts=6))  # blocking: taken
    packets = ctl.close_encode_session(h)
    assert [p.pts for p in packets] == taken + [6]
    assert ctl.telemetry(h)["in_flight_peak"] == 1


def test_non_blocking_submit_into_an_empty_pipeline_is_taken(ctl):
    h = ctl.start_encode_session(common(low_latency=True), vh.SoftwareEncodeConfig(max_in_flight=1))
    packets = []
    for t in range(5):
        packets += ctl.flush(h)  # nothing waits any more
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t), block=False)
    packets += ctl.close_encode_session(h)
    assert [p.pts for p in packets] == list(range(5))


def test_stage_telemetry(ctl):
    h = ctl.start_encode_session(
        common(width=96, height=64, low_latency=True), vh.SoftwareEncodeConfig(max_in_flight=2)
    )
    t0 = ctl.telemetry(h)
    for key in PIPELINE_KEYS:
        assert isinstance(t0[key], int) and t0[key] >= 0, key
    for t in range(30):
        ctl.submit(h, make_frame(vh.PixelFormat.ARGB8888, 96, 64, t))  # converted to YUV
        ctl.reap(h)
    ctl.flush(h)
    t = ctl.telemetry(h)
    assert t["transform_ns"] > 0 and t["encode_ns"] > 0 and t["reap_ns"] > 0
    assert 1 <= t["in_flight_peak"] <= 2
    for key in ("queue_depth_peak_transform", "queue_depth_peak_encode"):
        assert 1 <= t[key] <= 2, (key, t[key])
    assert t["queue_depth_peak_reap"] >= 1
    assert t["borrow_leaks"] == 0
    ctl.close_encode_session(h)


@pytest.mark.parametrize("low_latency", [True, False], ids=["low-latency", "frame-threads"])
def test_pool_allocations_stay_bounded_with_non_blocking_reaps(ctl, low_latency):
    """The usage of the CLI: submit, then reap whatever is ready without waiting. Steady
    state allocates nothing per frame: frame slots never exceed what can be in flight
    (max_in_flight, plus the one being filled), and packet buffers grow only while the
    number of packets waiting at once (which depends on how the threads were scheduled: a
    starved reap thread lets them pile up in its ring) or the largest packet reaches a new
    high. So the bound for packets is a rate: a per-frame allocation would give 200 in the
    second half; a loaded machine gave at most a few dozen over the whole run."""
    config = common(width=160, height=96, low_latency=low_latency, gop_length=10)
    h = ctl.start_encode_session(config, vh.SoftwareEncodeConfig(max_in_flight=4))
    pictures = [make_frame(vh.PixelFormat.I420, 160, 96, t).data for t in range(40)]
    seen = {}
    for t in range(400):
        ctl.submit(h, vh.Frame(pictures[t % 40], vh.PixelFormat.I420))
        ctl.reap(h)
        if t + 1 in (200, 400):
            seen[t + 1] = ctl.telemetry(h)
    ctl.close_encode_session(h)
    last = seen[400]
    assert last["frame_slot_allocations"] <= 4 + 1, last
    second_half = last["packet_buffer_allocations"] - seen[200]["packet_buffer_allocations"]
    assert second_half < 200 // 4, (second_half, last)
    assert last["pool_allocations"] == (
        last["frame_slot_allocations"] + last["packet_buffer_allocations"]
    )


def test_submit_copies_from_a_strided_view_and_the_source_can_change(ctl):
    """The frame is copied during submit, also when it comes with a pitch: the padded
    source buffer is scribbled over right after each submit."""
    width, height, pitch = 64, 48, 96
    h = ctl.start_encode_session(common(width=width, height=height))  # frames held back
    padded = np.empty(pitch * height * 3 // 2, np.uint8)
    for t in range(12):
        padded[...] = i420_with_pitch(width, height, t, pitch)
        ctl.submit(h, vh.Frame(padded, vh.PixelFormat.I420, pitch=pitch))
        padded[...] = 0x55
    packets = ctl.close_encode_session(h)
    reference = [i420_picture(width, height, t) for t in range(12)]
    assert min(fc.psnr(packets, vh.Codec.H264, reference, width, height)) > 30
    assert ctl.telemetry(h)["borrow_leaks"] == 0


def test_threads_submitting_to_separate_sessions_with_switches(ctl):
    """Several Python threads, each driving its own session (different sizes, one
    switching size mid-way): every stream is complete and correct."""
    results, errors = {}, []

    def run(i):
        try:
            width, height = 48 + 16 * i, 32 + 16 * i
            config = common(width=width, height=height, low_latency=i % 2 == 0, gop_length=12)
            h = ctl.start_encode_session(config)
            packets = []
            for t in range(36):
                if t == 18:
                    h = ctl.switch_encode_session(
                        h,
                        vh.SessionSwitchRequest(
                            target=(common(width=64, height=48, gop_length=12), None)
                        ),
                    )
                state = ctl.session_state(h)
                ctl.submit(h, make_frame(vh.PixelFormat.I420, state["width"], state["height"], t))
                packets += ctl.reap(h)
            results[i] = (width, height, packets + ctl.close_encode_session(h))
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    for width, height, packets in results.values():
        assert sorted(p.pts for p in packets) == list(range(36))
        assert [p.generation for p in packets] == [1] * 18 + [2] * 18
        frames = fc.probe_frames(packets, vh.Codec.H264)
        assert [(f.width, f.height) for f in frames] == [(width, height)] * 18 + [(64, 48)] * 18
        fc.check_keyframes(frames, [0, 12, 18, 30])
