"""Decoded frames waiting to be reaped are bounded (issue 10 #1): a push stops decoding at
CommonDecodeConfig.max_ready_frames / max_ready_bytes, the rest of its bytes wait in the
session, reaps decode them, and nothing is lost or reordered."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import videohw as vh

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
# SPS declaring 8192x8192, an IDR and ten all-skip P pictures: 31 KB that decode to 11
# pictures of 192 MiB each in CPU_RGB (libx264, flat gray; see data/README.md).
HUGE = os.path.join(DATA, "skip_8192x8192.h264")


def _stream(frames: int = 40, width: int = 64, height: int = 48, gop: int = 10) -> bytes:
    ctl = vh.SessionController("software")
    common = vh.CommonEncodeConfig(
        codec=vh.Codec.H264, width=width, height=height, low_latency=True, gop_length=gop
    )
    with ctl.encode_session(common) as s:
        for i in range(frames):
            s.submit(
                vh.Frame(
                    np.full((height, width, 4), (i * 7) % 256, np.uint8),
                    vh.PixelFormat.ARGB8888,
                    pts=i,
                )
            )
        return b"".join(p.data for p in s.flush())


def _config(**kwargs) -> vh.CommonDecodeConfig:
    return vh.CommonDecodeConfig(codec=vh.Codec.H264, **kwargs)


def _reap_all(s) -> list:
    """Every frame the decode stage can give without a flush: each reap(1) returns once a
    frame is ready, or empty once everything pushed is decoded."""
    out = []
    while True:
        frames = s.reap(1)
        if not frames:
            return out
        out += frames


def _wait_for_stage(s, stage: str = "waiting_for_reap") -> dict:
    """Telemetry once the decode stage is in `stage` (by default: stopped because the ready
    bound is reached while pushed bytes wait)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        t = s.telemetry()
        if t["decode_stage"] == stage:
            return t
        time.sleep(0.002)
    raise AssertionError(f"the decode stage never reached {stage!r}: {s.telemetry()}")


def test_a_crafted_stream_of_huge_pictures_stays_within_the_byte_bound():
    data = open(HUGE, "rb").read()
    assert len(data) < 32 << 10
    ctl = vh.SessionController("software")
    bound = 300 << 20  # one 192 MiB picture fits, the second one reaches the bound
    with ctl.decode_session(
        _config(output=vh.DecodeOutputMode.CPU_RGB, max_ready_bytes=bound)
    ) as s:
        s.push(data)  # one call with the whole stream, as in the report
        t = _wait_for_stage(s)
        assert t["frames_ready"] == 2
        assert t["ready_peak_bytes"] <= bound + (192 << 20)
        # The rest of the stream waits undecoded (besides the two ready, the decoder holds
        # a few pictures of its own: references and one per frame thread).
        assert t["backlog_bytes"] > 5_000
        with pytest.raises(vh.BackpressureError, match="reap, then push again"):
            s.push(b"\x00\x00\x00\x01\x09\xf0")
        first = s.reap()
        assert [f.width for f in first] == [8192, 8192]
        assert first[0].rgb.shape == (8192, 8192, 3)
        del first
    t = s.telemetry()
    assert t["backlog_bytes_dropped"] > 0  # closing is not asking for the rest
    assert "not decoded" in t["last_error"]
    # Closing decodes what fits in the bound (two pictures) and drains what the decoder
    # itself held, and no more.
    assert len(s.closing_frames) <= 6


def test_every_frame_comes_out_in_order_through_reaps():
    data = _stream(40)
    ctl = vh.SessionController("software")
    with ctl.decode_session(_config(max_ready_frames=4)) as s:
        s.push(data, pts=0)
        assert _wait_for_stage(s)["frames_ready"] == 4
        frames = _reap_all(s) + s.flush()
    assert len(frames) == 40
    # pts is the first access unit's; the rest carry none (pushed with the one chunk).
    assert frames[0].pts == 0
    assert [f.is_keyframe for f in frames] == [i % 10 == 0 for i in range(40)]
    t = s.telemetry()
    assert t["ready_peak_frames"] <= 5


def test_pushes_each_followed_by_reaps_until_empty_never_see_backpressure():
    data = _stream(40)
    ctl = vh.SessionController("software")
    frames = []
    with ctl.decode_session(_config(max_ready_frames=2)) as s:
        for i in range(0, len(data), 200):  # several pictures per chunk, over the bound
            s.push(data[i : i + 200])
            frames += _reap_all(s)
        frames += _reap_all(s) + s.flush()
        assert s.telemetry()["backpressure_refusals"] == 0
    assert len(frames) == 40


def test_a_push_without_room_takes_nothing_and_the_data_is_not_lost():
    data = _stream(30)
    half = len(data) * 3 // 4  # past libx264's long SEI and the first IDR
    ctl = vh.SessionController("software")
    with ctl.decode_session(_config(max_ready_frames=1)) as s:
        s.push(data[:half])
        assert _wait_for_stage(s)["backlog_bytes"] > 0
        with pytest.raises(vh.BackpressureError, match="Nothing of this chunk was taken"):
            s.push(data[half:])
        frames = _reap_all(s)  # each reap decodes more of what waits
        s.push(data[half:])  # the same chunk again, now taken
        frames += _reap_all(s) + s.flush()
    assert len(frames) == 30


def test_flush_without_room_raises_and_keeps_everything():
    data = _stream(20)
    ctl = vh.SessionController("software")
    with ctl.decode_session(_config(max_ready_frames=3)) as s:
        s.push(data)
        with pytest.raises(vh.BackpressureError, match="reap, then call flush again"):
            s.flush()
        frames = _reap_all(s)
        frames += s.flush()
    assert len(frames) == 20


def test_switch_without_room_leaves_the_session_as_it_was():
    data = _stream(20)
    ctl = vh.SessionController("software")
    with ctl.decode_session(_config(max_ready_frames=3)) as s:
        s.push(data)
        before = s.handle
        with pytest.raises(vh.BackpressureError):
            s.switch(_config(output=vh.DecodeOutputMode.CPU_RGB, max_ready_frames=3))
        assert s.handle == before
        frames = _reap_all(s)
        s.switch(_config(output=vh.DecodeOutputMode.CPU_RGB, max_ready_frames=3))
        frames += s.reap()
    assert len(frames) == 20
    assert all(f.generation == 1 for f in frames)


def test_a_seek_forgets_the_backlog():
    data = _stream(20)
    ctl = vh.SessionController("software")
    with ctl.decode_session(_config(max_ready_frames=3)) as s:
        s.push(data)
        ctl._manager.reset_decode(s.handle.id, s.handle.generation)
        t = s.telemetry()
        assert (t["backlog_bytes"], t["frames_ready"]) == (0, 0)
        s.push(data)
        assert len(_reap_all(s) + s.flush()) == 20


def test_a_blocking_push_waits_for_another_threads_reap():
    data = _stream(30)
    ctl = vh.SessionController("software")
    reaped = []
    stop = threading.Event()

    def consumer(session):
        # Reaps only once the push waits, so that it must wait for this thread.
        while not stop.is_set() and session.telemetry()["backpressure_waits"] == 0:
            time.sleep(0.002)
        while not stop.is_set():
            reaped.extend(session.reap())
            time.sleep(0.01)

    with ctl.decode_session(_config(max_ready_frames=2)) as s:
        half = len(data) * 3 // 4  # past libx264's long SEI and the first IDR
        s.push(data[:half])
        _wait_for_stage(s)
        reader = threading.Thread(target=consumer, args=(s,))
        reader.start()
        try:
            s.push(data[half:], block=True, timeout=30)
        finally:
            stop.set()
            reader.join()
        assert s.telemetry()["backpressure_waits"] >= 1
        reaped += _reap_all(s) + s.flush()
    assert len(reaped) == 30


def test_a_blocking_push_gives_up_after_its_timeout():
    data = _stream(20)
    ctl = vh.SessionController("software")
    with ctl.decode_session(_config(max_ready_frames=2)) as s:
        s.push(data)
        _wait_for_stage(s)
        start = time.monotonic()
        with pytest.raises(vh.BackpressureError):
            s.push(b"\x00\x00\x00\x01\x09\xf0", block=True, timeout=0.3)
        assert time.monotonic() - start >= 0.25
        assert len(_reap_all(s) + s.flush()) == 20


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"block": 1}, TypeError),
        ({"block": True, "timeout": "1"}, TypeError),
        ({"block": True, "timeout": -1}, vh.ConfigError),
        ({"timeout": 1.0}, vh.ConfigError),
    ],
)
def test_push_arguments_are_checked(kwargs, error):
    ctl = vh.SessionController("software")
    with ctl.decode_session(_config()) as s:
        with pytest.raises(error, match="push_bitstream"):
            s.push(b"", **kwargs)


@pytest.mark.parametrize(
    "bad",
    [
        {"max_ready_frames": 0},
        {"max_ready_bytes": 0},
        {"max_ready_frames": 2**40},
        {"max_ready_bytes": "1"},
        {"push_ahead_bytes": 0},
        {"max_backlog_bytes": -1},
    ],
)
def test_the_bounds_are_checked(bad):
    with pytest.raises(vh.ConfigError):
        _config(**bad)


def _noisy_stream(frames: int, width: int = 640, height: int = 480) -> bytes:
    """Pictures of noise: large access units the decode stage takes milliseconds over."""
    rng = np.random.default_rng(7)
    ctl = vh.SessionController("software")
    common = vh.CommonEncodeConfig(
        codec=vh.Codec.H264, width=width, height=height, low_latency=True, gop_length=frames
    )
    with ctl.encode_session(common) as s:
        for i in range(frames):
            pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
            s.submit(vh.Frame(pixels, vh.PixelFormat.ARGB8888, pts=i))
        return b"".join(p.data for p in s.flush())


@pytest.mark.parametrize("ahead", [1, 16 << 10])
def test_a_push_waits_while_push_ahead_bytes_are_queued(ahead):
    """A push that finds push_ahead_bytes undecoded waits for the stage first: after each
    push no more than that bound and the push's own chunk are queued, so a caller who
    reaps between pushes holds few frames at a time; every frame still comes, in order.
    (With the queue bounded only by max_backlog_bytes, 64 MiB, the pushes of this loop all
    returned at once and the flush decoded the whole stream.)"""
    data = _noisy_stream(8)
    chunk = 4096
    ctl = vh.SessionController("software")
    got = []
    with ctl.decode_session(_config(push_ahead_bytes=ahead, low_latency=True)) as s:
        for at in range(0, len(data), chunk):
            piece = data[at : at + chunk]
            s.push(piece)
            assert s.telemetry()["backlog_bytes"] < ahead + len(piece)
            got += s.reap()
        flushed = s.flush()
        tel = s.telemetry()
    got += flushed
    assert len(got) == 8
    assert [f.is_keyframe for f in got] == [True] + [False] * 7
    assert tel["backlog_peak_bytes"] < ahead + chunk
    assert tel["backlog_full_waits"] > 0, "every push returned at once"
    assert len(flushed) <= 2, "the flush decoded what the pushes should have waited for"


_INTERRUPTED_PUSH = """
import os, signal, threading, time
import videohw as vh
signal.signal(signal.SIGINT, signal.default_int_handler)
data = open({path!r}, "rb").read()
ctl = vh.SessionController("software")
s = ctl.decode_session(vh.CommonDecodeConfig(max_ready_frames=2))
s.push(data)
while s.telemetry()["decode_stage"] != "waiting_for_reap":
    time.sleep(0.002)
threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
start = time.monotonic()
try:
    s.push(b"\\x00\\x00\\x00\\x01\\x09\\xf0", block=True)
    print("no interrupt")
except KeyboardInterrupt:
    print("interrupted after", round(time.monotonic() - start, 3))
n = 0
while True:
    frames = s.reap(1)
    if not frames:
        break
    n += len(frames)
print("kept", n + len(s.flush()))
"""


def test_ctrl_c_ends_a_blocking_push_and_nothing_is_lost(tmp_path):
    path = tmp_path / "s.h264"
    path.write_bytes(_stream(12))
    res = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_PUSH.format(path=str(path))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = res.stdout.split("\n")
    assert lines[0].startswith("interrupted after"), (res.stdout, res.stderr)
    assert float(lines[0].split()[-1]) < 1.5, lines[0]
    assert lines[1] == "kept 12"
