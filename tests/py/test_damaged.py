"""`DecodedFrame.damaged` as a function of the input alone (issue 10 #3). libavcodec 5.1's
frame threads copy a picture's error flags when another thread hands it out, sometimes
before they are set, and its slice threads switch error concealment off; with one thread
(SoftwareDecodeConfig(threads=1)) the same bytes give the same flags and the same pictures
every time (docs/decode.md)."""

from __future__ import annotations

import random

import numpy as np
import pytest

import videohw as vh
from conftest import argb_picture


def _stream(frames: int = 30) -> bytes:
    ctl = vh.SessionController("software")
    common = vh.CommonEncodeConfig(codec=vh.Codec.H264, width=320, height=240, b_frames=2,
                                   gop_length=30)
    with ctl.encode_session(common) as s:
        for t in range(frames):
            s.submit(vh.Frame(argb_picture(320, 240, t), vh.PixelFormat.ARGB8888))
        return b"".join(p.data for p in s.flush())


def _decode(data: bytes, software: vh.SoftwareDecodeConfig) -> tuple:
    ctl = vh.SessionController("software")
    with ctl.decode_session(vh.CommonDecodeConfig(codec=vh.Codec.H264), software) as s:
        try:
            s.push(data)
        except vh.DecodeError:
            pass
        frames = []
        while True:
            got = s.reap()
            if not got:
                break
            frames += got
        try:
            frames += s.flush()
        except vh.DecodeError:
            frames += s.reap()
    return tuple(i for i, f in enumerate(frames) if f.damaged), len(frames)


@pytest.fixture(scope="module")
def stream() -> bytes:
    return _stream()


ONE_THREAD = vh.SoftwareDecodeConfig(threads=1)


@pytest.mark.parametrize("cut", [20, 300, 800])
def test_a_truncated_last_picture_is_flagged_the_same_way_every_time(stream, cut):
    data = stream[:len(stream) - cut]
    results = {_decode(data, ONE_THREAD) for _ in range(8)}
    assert len(results) == 1, results
    damaged, count = results.pop()
    assert damaged, "the cut picture is flagged"
    assert damaged[-1] == count - 1  # ... and it is the last one shown


@pytest.mark.parametrize("seed", range(4))
def test_bit_flips_mid_stream_give_the_same_flags_every_time(stream, seed):
    rng = random.Random(seed)
    data = bytearray(stream)
    for _ in range(3):
        data[rng.randrange(800, len(data) - 3000)] ^= 1 << rng.randrange(8)
    results = {_decode(bytes(data), ONE_THREAD) for _ in range(6)}
    assert len(results) == 1, results
    assert results.pop()[0], "the damage is flagged"


def test_intact_input_is_never_flagged(stream):
    for config in (ONE_THREAD, vh.SoftwareDecodeConfig()):
        assert _decode(stream, config) == ((), 30)
