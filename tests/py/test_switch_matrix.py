"""Switching, end to end on every backend (docs/api.md, "Switching"): software, and nvidia
through the NVENC driver double (tests/py/nvenc_double.py) when it is built.

Every scenario runs through a small reference model of the contract (which frame starts
which generation, which frames are keyframes, what size each frame has) and the output is
checked against it frame by frame with ffprobe: size and keyframe flag per frame, packet
generations per frame, nothing lost. Which changes a backend applies in place (and whether
that restarts the stream with an IDR) is its documented behaviour, from nvenc_double.py.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np
import pytest

import ffprobe_check as fc
import videohw as vh
from conftest import common, make_frame
from hooks import inject_faults
from nvenc_double import in_flight_config, in_place_switch_restarts, switch_in_place

MODES = [
    vh.SessionSwitchMode.IMMEDIATE,
    vh.SessionSwitchMode.ON_NEXT_KEYFRAME,
    vh.SessionSwitchMode.DRAIN_THEN_SWAP,
]
GOP = 10
BASE = common(
    width=64, height=48, low_latency=True, gop_length=GOP, rate_control=vh.RateControl.cbr(400_000)
)
IN_PLACE = dataclasses.replace(BASE, rate_control=vh.RateControl.cbr(200_000))  # bitrate only
NEW_SESSION = dataclasses.replace(BASE, width=48, height=32)  # size: new encoder in software
NEW_GOP = dataclasses.replace(BASE, gop_length=8)  # a new encoder on every backend
CHANGES = {"bitrate": IN_PLACE, "size": NEW_SESSION, "gop": NEW_GOP}


@pytest.fixture
def ctl(backend):
    """A controller on each backend in turn (conftest.backend)."""
    return vh.SessionController(backend)


@dataclasses.dataclass
class Switch:
    at: int  # requested just before frame `at` is submitted
    target: vh.CommonEncodeConfig
    mode: vh.SessionSwitchMode
    idr: bool = True
    in_place: bool = False
    restarts: bool = False  # in place, but the backend starts a new IDR-led stream


def planned(
    backend: str,
    at: int,
    before: vh.CommonEncodeConfig,
    target: vh.CommonEncodeConfig,
    mode: vh.SessionSwitchMode,
    idr: bool = True,
) -> Switch:
    """The switch with the path ``backend`` documents for this change."""
    in_place = switch_in_place(backend, before, target)
    return Switch(
        at,
        target,
        mode,
        idr,
        in_place,
        in_place and in_place_switch_restarts(backend, before, target),
    )


@dataclasses.dataclass
class Expected:
    generations: list[int]
    sizes: list[tuple[int, int]]
    keyframes: list[int]


def model(n: int, switches: list[Switch], forced: set[int] = frozenset()) -> Expected:
    """What the contract says the stream must be."""
    config, generation, next_generation = BASE, 1, 2
    pending: Optional[tuple[Switch, int]] = None
    position, due = 0, True
    out = Expected([], [], [])
    by_frame = {s.at: s for s in switches}
    for t in range(n):
        if t in by_frame:
            pending = (by_frame[t], next_generation)
            next_generation += 1
        natural = t in forced or due or position + 1 >= config.gop_length
        activates = pending is not None and (
            pending[0].mode is not vh.SessionSwitchMode.ON_NEXT_KEYFRAME or natural
        )
        keyframe = natural
        if activates:
            switch, generation = pending
            keyframe = natural or not switch.in_place or switch.idr or switch.restarts
            config, pending = switch.target, None
        position = 0 if keyframe else position + 1
        due = False
        out.generations.append(generation)
        out.sizes.append((config.width, config.height))
        if keyframe:
            out.keyframes.append(t)
    return out


def run(
    ctl: vh.SessionController, n: int, switches: list[Switch], forced: set[int] = frozenset()
) -> tuple[list[vh.EncodedPacket], vh.EncoderSessionHandle]:
    h = ctl.start_encode_session(BASE)
    packets: list[vh.EncodedPacket] = []
    by_frame = {s.at: s for s in switches}
    for t in range(n):
        if t in by_frame:
            s = by_frame[t]
            h = ctl.switch_encode_session(
                h,
                vh.SessionSwitchRequest(
                    target=(s.target, None), mode=s.mode, force_idr_on_activate=s.idr
                ),
            )
        state = ctl.session_state(h)
        width, height = (
            (state["pending_width"], state["pending_height"])
            if t in forced and state["pending_width"]
            else (state["width"], state["height"])
        )
        ctl.submit(h, make_frame(vh.PixelFormat.I420, width, height, t, force_keyframe=t in forced))
        packets += ctl.reap(h)
    packets += ctl.close_encode_session(h)
    return packets, h


def check(packets: list[vh.EncodedPacket], want: Expected) -> None:
    frames = fc.probe_frames(packets, vh.Codec.H264)
    assert len(frames) == len(want.sizes), (len(frames), len(want.sizes))
    assert [(f.width, f.height) for f in frames] == want.sizes
    fc.check_keyframes(frames, want.keyframes)
    assert [p.generation for p in packets] == want.generations
    assert [p.is_keyframe for p in packets] == [f.key_frame for f in frames]


@pytest.mark.parametrize("idr", [True, False], ids=["idr", "no-idr"])
@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("at", [0, 13, 20], ids=["first-frame", "mid-gop", "gop-boundary"])
def test_switch_matrix(ctl, backend, mode, change, idr, at):
    switch = planned(backend, at, BASE, CHANGES[change], mode, idr)
    packets, h = run(ctl, 35, [switch])
    check(packets, model(35, [switch]))
    t = ctl.telemetry(h)
    assert t["switches"] == 1 and t[f"switches_{mode.value}"] == 1
    path = "in_place" if switch.in_place else "new_session"
    assert t[f"switches_{path}"] == 1
    assert t["encoder_opens"] == (1 if switch.in_place else 2)
    assert t["switch_failures"] == 0 and t["switch_fail_reason"] == ""


def test_the_matrix_takes_both_paths_on_every_backend(backend):
    # Otherwise the matrix above would silently test one path only on some backend.
    assert switch_in_place(backend, BASE, IN_PLACE)
    assert not switch_in_place(backend, BASE, NEW_GOP)


def test_on_next_keyframe_activates_on_a_forced_keyframe(ctl, backend):
    switch = planned(backend, 12, BASE, NEW_SESSION, vh.SessionSwitchMode.ON_NEXT_KEYFRAME)
    packets, _ = run(ctl, 30, [switch], forced={15})
    want = model(30, [switch], forced={15})
    assert want.generations.index(2) == 15
    check(packets, want)


def test_in_place_switch_changes_the_bitrate(ctl):
    # Noise at 320x240 can use every bit of 2 Mbit/s, so the rate control shows the change.
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 255, (240 * 3 // 2, 320), dtype=np.uint8) for _ in range(8)]
    high = common(
        width=320,
        height=240,
        low_latency=True,
        gop_length=30,
        rate_control=vh.RateControl.cbr(2_000_000),
    )
    low = dataclasses.replace(high, rate_control=vh.RateControl.cbr(200_000))
    h = ctl.start_encode_session(high)
    for t in range(120):
        if t == 60:
            h = ctl.switch_encode_session(h, vh.SessionSwitchRequest(target=(low, None)))
        ctl.submit(h, vh.Frame(noise[t % 8], vh.PixelFormat.I420))
    sizes: dict[int, int] = {}
    for p in ctl.close_encode_session(h):
        sizes[p.generation] = sizes.get(p.generation, 0) + len(p.data)
    assert ctl.telemetry(h)["switches_in_place"] == 1
    assert ctl.telemetry(h)["encoder_opens"] == 1, "in place: no new encoder"
    assert sizes[2] * 3 < sizes[1], sizes


def test_two_switches_in_a_row(ctl, backend):
    switches = [
        planned(backend, 8, BASE, NEW_SESSION, vh.SessionSwitchMode.IMMEDIATE),
        planned(backend, 16, NEW_SESSION, BASE, vh.SessionSwitchMode.DRAIN_THEN_SWAP),
    ]
    packets, h = run(ctl, 30, switches)
    check(packets, model(30, switches))
    assert sorted(set(p.generation for p in packets)) == [1, 2, 3]


def test_a_switch_while_one_is_pending_supersedes_it(ctl, backend):
    h = ctl.start_encode_session(BASE)
    packets = []
    for t in range(3):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    h2 = ctl.switch_encode_session(
        h,
        vh.SessionSwitchRequest(
            target=(NEW_SESSION, None), mode=vh.SessionSwitchMode.ON_NEXT_KEYFRAME
        ),
    )
    assert ctl.session_state(h2)["state"] == "switch_pending"
    square = dataclasses.replace(BASE, width=32, height=32)
    h3 = ctl.switch_encode_session(h2, vh.SessionSwitchRequest(target=(square, None)))
    assert h3.generation == 3
    for t in range(3, 10):
        ctl.submit(h3, make_frame(vh.PixelFormat.I420, 32, 32, t))
    packets = ctl.close_encode_session(h3)
    assert [p.generation for p in packets] == [1] * 3 + [3] * 7
    frames = fc.probe_frames(packets, vh.Codec.H264)
    assert [(f.width, f.height) for f in frames] == [(64, 48)] * 3 + [(32, 32)] * 7
    t = ctl.telemetry(h3)
    # The superseded generation never ran, so its encoder (if one was made) is not counted.
    assert t["switches_superseded"] == 1
    assert t["encoder_opens"] == (1 if switch_in_place(backend, BASE, square) else 2)


def test_drain_then_swap_has_every_old_packet_ready_when_it_returns(ctl, backend):
    h = ctl.start_encode_session(BASE, in_flight_config(backend, 16))
    for t in range(16):  # many frames in flight
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    h2 = ctl.switch_encode_session(
        h,
        vh.SessionSwitchRequest(
            target=(NEW_SESSION, None), mode=vh.SessionSwitchMode.DRAIN_THEN_SWAP
        ),
    )
    ready = ctl.reap(h2)  # no waiting: the drain already happened inside the call
    assert [p.pts for p in ready] == list(range(16))
    assert all(p.generation == 1 for p in ready)
    ctl.close_encode_session(h2)


def test_old_handle_is_stale_after_activation_and_pending_handle_works_before(ctl):
    h = ctl.start_encode_session(BASE)
    ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, 0))
    h2 = ctl.switch_encode_session(
        h,
        vh.SessionSwitchRequest(
            target=(IN_PLACE, None), mode=vh.SessionSwitchMode.ON_NEXT_KEYFRAME
        ),
    )
    ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, 1))  # still active
    ctl.submit(h2, make_frame(vh.PixelFormat.I420, 64, 48, 2))  # pending: accepted
    ctl.submit(h2, make_frame(vh.PixelFormat.I420, 64, 48, 3, force_keyframe=True))
    with pytest.raises(vh.StaleSessionError, match="stale"):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, 4))
    packets = ctl.close_encode_session(h2)
    assert [p.generation for p in packets] == [1, 1, 1, 2]


def test_creation_failure_raises_switch_error_and_the_session_keeps_going(ctl):
    inject_faults(ctl, fail_create_at=1)  # #0 is the session's own encoder
    h = ctl.start_encode_session(BASE)
    for t in range(5):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    with pytest.raises(vh.SwitchError, match="injected fault"):  # NEW_GOP needs an encoder
        ctl.switch_encode_session(h, vh.SessionSwitchRequest(target=(NEW_GOP, None)))
    for t in range(5, 10):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    packets = ctl.close_encode_session(h)
    assert [p.generation for p in packets] == [1] * 10
    fc.check_frames(fc.probe_frames(packets, vh.Codec.H264), 10, 64, 48)
    t = ctl.telemetry(h)
    assert t["switch_failures"] == 1 and "injected fault" in t["switch_fail_reason"]


def resized(backend: str, in_place: bool) -> vh.CommonEncodeConfig:
    """A switch to 48x32 that takes the given path on ``backend`` (NVENC resizes in place, so
    its new-session variant also changes the GOP); IN_PLACE where no resize is in place."""
    if switch_in_place(backend, BASE, NEW_SESSION) == in_place:
        return NEW_SESSION
    return dataclasses.replace(NEW_SESSION, gop_length=8) if not in_place else IN_PLACE


@pytest.mark.parametrize("path", ["new_session", "in_place"])
def test_activation_failure_rolls_back_without_losing_a_frame(ctl, backend, path):
    # Frames of the new size that reach the old encoder after the rollback are scaled.
    target = resized(backend, in_place=path == "in_place")
    assert switch_in_place(backend, BASE, target) == (path == "in_place")
    if path == "new_session":
        inject_faults(ctl, fail_activation_at=1)
    else:
        inject_faults(ctl, fail_reconfigure=True)
    h = ctl.start_encode_session(BASE)
    for t in range(5):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    h2 = ctl.switch_encode_session(h, vh.SessionSwitchRequest(target=(target, None)))
    # The failure happens on the encode thread: until the caller hears of it, frames go in
    # with the new handle and size; once a call with it raises SwitchError, the caller
    # goes on with the old handle (the frame that raised was not taken).
    packets: list[vh.EncodedPacket] = []
    for t in range(5, 8):
        try:
            ctl.submit(h2, make_frame(vh.PixelFormat.I420, target.width, target.height, t))
        except vh.SwitchError as e:
            assert "rolled back to generation 1" in str(e)
            ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    try:
        packets += ctl.flush(h2)  # waits until the encode thread went through every frame
    except vh.SwitchError:
        packets += ctl.flush(h)
    # By now the rollback has happened: the new handle says so, the old one works again.
    with pytest.raises(vh.SwitchError, match="rolled back to generation 1"):
        ctl.reap(h2)
    for t in range(8, 10):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    packets += ctl.close_encode_session(h)
    assert [p.pts for p in packets] == list(range(10)), "no frame lost"
    assert all(p.generation == 1 for p in packets)
    fc.check_frames(fc.probe_frames(packets, vh.Codec.H264), 10, 64, 48)  # scaled back
    t = ctl.telemetry(h)
    assert t["switch_failures"] == 1 and "activation of generation 2" in t["switch_fail_reason"]


def test_hevc_bitrate_switch(ctl, backend):
    # Software: libx265 cannot change in place, so a new session; NVENC reconfigures HEVC.
    hevc = dataclasses.replace(BASE, codec=vh.Codec.HEVC)
    h = ctl.start_encode_session(hevc)
    for t in range(6):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    h2 = ctl.switch_encode_session(
        h,
        vh.SessionSwitchRequest(
            target=(dataclasses.replace(hevc, rate_control=vh.RateControl.cbr(200_000)), None)
        ),
    )
    for t in range(6, 12):
        ctl.submit(h2, make_frame(vh.PixelFormat.I420, 64, 48, t))
    packets = ctl.close_encode_session(h2)
    frames = fc.probe_frames(packets, vh.Codec.HEVC)
    fc.check_frames(frames, 12, 64, 48)
    fc.check_keyframes(frames, [0, 6])
    target = dataclasses.replace(hevc, rate_control=vh.RateControl.cbr(200_000))
    path = "in_place" if switch_in_place(backend, hevc, target) else "new_session"
    assert ctl.telemetry(h2)[f"switches_{path}"] == 1


def test_codec_switch_h264_to_hevc_tags_generations(ctl):
    h = ctl.start_encode_session(BASE)
    for t in range(4):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    h2 = ctl.switch_encode_session(
        h,
        vh.SessionSwitchRequest(
            target=(dataclasses.replace(BASE, codec=vh.Codec.HEVC), None),
            mode=vh.SessionSwitchMode.DRAIN_THEN_SWAP,
        ),
    )
    for t in range(4, 8):
        ctl.submit(h2, make_frame(vh.PixelFormat.I420, 64, 48, t))
    packets = ctl.close_encode_session(h2)
    h264 = [p for p in packets if p.generation == 1]
    hevc = [p for p in packets if p.generation == 2]
    fc.check_frames(fc.probe_frames(h264, vh.Codec.H264), 4, 64, 48)
    fc.check_frames(fc.probe_frames(hevc, vh.Codec.HEVC), 4, 64, 48)


def test_in_place_switch_on_a_b_frame_encoder_keeps_generations_in_decode_order(ctl):
    # With B-frames, frames before the switch are still reordered after it; an in-place
    # activation is therefore always an IDR, or the generations would interleave.
    b = common(
        width=64, height=48, gop_length=30, b_frames=2, rate_control=vh.RateControl.cbr(400_000)
    )
    h = ctl.start_encode_session(b)
    for t in range(10):
        ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, t))
    h2 = ctl.switch_encode_session(
        h,
        vh.SessionSwitchRequest(
            target=(dataclasses.replace(b, rate_control=vh.RateControl.cbr(200_000)), None),
            force_idr_on_activate=False,
        ),
    )
    for t in range(10, 25):
        ctl.submit(h2, make_frame(vh.PixelFormat.I420, 64, 48, t))
    packets = ctl.close_encode_session(h2)
    gens = [p.generation for p in packets]
    assert gens == sorted(gens), list(zip(gens, [p.pts for p in packets]))
    assert {p.pts for p in packets if p.generation == 2} == set(range(10, 25))
    assert ctl.telemetry(h2)["switches_in_place"] == 1
    frames = fc.probe_frames(packets, vh.Codec.H264)
    assert frames[10].key_frame
