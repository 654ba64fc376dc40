"""The per-session pipeline: backpressure, pooled buffers, copies (docs/api.md, "Pipeline")."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import videohw as vh

import ffprobe_check as fc
from conftest import common, make_frame


def test_non_blocking_submit_raises_backpressure_when_the_pipeline_is_full():
    # veryslow low-latency 1280x720 takes tens of ms per frame, a submit microseconds: with
    # max_in_flight=1 the second submit finds the first still waiting or encoding.
    ctl = vh.SessionController("software")
    config = common(width=1280, height=720, low_latency=True)  # each encode does the full work
    h = ctl.start_encode_session(config, vh.SoftwareEncodeConfig(preset="veryslow", threads=1,
                                                                 max_in_flight=1))
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
