"""`DecodedFrame.damaged` as a function of the input alone (issue 10 #3). libavcodec 5.1's
frame threads copy a picture's error flags when another thread hands it out, sometimes
before they are set; the software decoder therefore flags the pictures whose packets its
decoder threads reported errors or concealment for (docs/decode.md). The same bytes give the
same flags and the same pictures every run, at one thread and with frame threads, for H.264
and HEVC; slice threads (low_latency) flag only what the decoder's errors report."""

from __future__ import annotations

import random

import pytest

import videohw as vh
from conftest import argb_picture


def _stream(codec: vh.Codec, frames: int = 30) -> bytes:
    ctl = vh.SessionController("software")
    common = vh.CommonEncodeConfig(codec=codec, width=320, height=240, b_frames=2, gop_length=30)
    # One encoder thread: the same bytes in every run, so where the bit flips land (and
    # whether they damage a picture at all) does not change between runs.
    with ctl.encode_session(common, vh.SoftwareEncodeConfig(threads=1)) as s:
        for t in range(frames):
            s.submit(vh.Frame(argb_picture(320, 240, t), vh.PixelFormat.ARGB8888))
        return b"".join(p.data for p in s.flush())


def _decode(
    data: bytes,
    software: vh.SoftwareDecodeConfig,
    codec: vh.Codec = vh.Codec.H264,
    low_latency: bool = False,
) -> tuple:
    ctl = vh.SessionController("software")
    common = vh.CommonDecodeConfig(codec=codec, low_latency=low_latency)
    with ctl.decode_session(common, software) as s:
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


def _bit_flips(stream: bytes, seed: int) -> bytes:
    rng = random.Random(seed)
    data = bytearray(stream)
    for _ in range(3):
        data[rng.randrange(800, len(data) - 3000)] ^= 1 << rng.randrange(8)
    return bytes(data)


# The stream is encoded once per module: the encoders' own threads may make two encodes
# of the same pictures differ, and every comparison below is on the same bytes.
@pytest.fixture(scope="module")
def stream() -> bytes:
    return _stream(vh.Codec.H264)


@pytest.fixture(scope="module")
def hevc_stream() -> bytes:
    return _stream(vh.Codec.HEVC)


ONE_THREAD = vh.SoftwareDecodeConfig(threads=1)
FRAME_THREADS = vh.SoftwareDecodeConfig()  # the default
FOUR_THREADS = vh.SoftwareDecodeConfig(threads=4)


@pytest.mark.parametrize("cut", [20, 300, 800])
def test_a_truncated_last_picture_is_flagged_the_same_way_every_time(stream, cut):
    data = stream[: len(stream) - cut]
    results = {
        _decode(data, config)
        for config in (ONE_THREAD, FRAME_THREADS, FOUR_THREADS)
        for _ in range(3)
    }
    assert len(results) == 1, results
    damaged, count = results.pop()
    assert damaged, "the cut picture is flagged"
    assert damaged[-1] == count - 1  # ... and it is the last one shown


@pytest.mark.parametrize("seed", range(6))
def test_bit_flips_give_the_same_flags_with_frame_threads_as_with_one(stream, seed):
    data = _bit_flips(stream, seed)
    expected = _decode(data, ONE_THREAD)
    assert expected[0], "the damage is flagged"
    for config in (FRAME_THREADS, FOUR_THREADS):
        for run in range(4):
            assert _decode(data, config) == expected, (config, run)


@pytest.mark.parametrize("seed", range(3))
def test_hevc_damage_is_flagged_and_the_same_every_time(hevc_stream, seed):
    data = _bit_flips(hevc_stream, seed)
    expected = _decode(data, ONE_THREAD, vh.Codec.HEVC)
    for config in (FRAME_THREADS, FOUR_THREADS):
        for run in range(3):
            assert _decode(data, config, vh.Codec.HEVC) == expected, (config, run)


def test_hevc_reports_damage_at_all(hevc_stream):
    flagged = [
        seed
        for seed in range(8)
        if _decode(_bit_flips(hevc_stream, seed), FRAME_THREADS, vh.Codec.HEVC)[0]
    ]
    assert flagged, "libavcodec's HEVC decoder reported none of 8 bit-flipped streams"


@pytest.mark.parametrize("seed", range(5))
def test_slice_threads_flag_what_the_decoder_reports_the_same_way_every_time(stream, seed):
    # libavcodec switches error concealment off with slice threads, and with it the one
    # report of macroblocks a damaged slice left out: what is flagged is what its errors
    # say, a subset of the one-thread flags, and the same every run.
    data = _bit_flips(stream, seed)
    results = {_decode(data, FRAME_THREADS, low_latency=True) for _ in range(4)}
    assert len(results) == 1, results
    damaged, count = results.pop()
    one_damaged, one_count = _decode(data, ONE_THREAD)
    assert count == one_count
    assert set(damaged) <= set(one_damaged)


def test_slice_threads_flag_decoding_errors(stream):
    flagged = [
        seed
        for seed in range(5)
        if _decode(_bit_flips(stream, seed), FRAME_THREADS, low_latency=True)[0]
    ]
    assert flagged, "no bit-flipped stream flagged with slice threads"


def test_intact_input_is_never_flagged(stream, hevc_stream):
    for config in (ONE_THREAD, FRAME_THREADS, FOUR_THREADS):
        assert _decode(stream, config) == ((), 30)
        assert _decode(hevc_stream, config, vh.Codec.HEVC) == ((), 30)
    assert _decode(stream, FRAME_THREADS, low_latency=True) == ((), 30)
