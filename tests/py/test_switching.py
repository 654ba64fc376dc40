"""Switching (docs/api.md, "Switching: generations, modes, rollback"), the cases that
test_switch_matrix.py does not cover: encoders that hold frames back (B-frames, frame
threads, many frames in flight), HEVC, the session_state fields, handles (pending,
superseded, stale), invalid targets, failures in every mode, the EncodeSession wrapper and
the switch telemetry. Every test runs on each backend (conftest.backend): software, and
nvidia through the NVENC driver double when it is built; which changes a backend makes in
place is its documented behaviour (nvenc_double.switch_in_place).

Every encode is checked against the contract's model (``videohw.verify.switch_timeline``:
which frame starts which generation, which frames are keyframes, what size each frame has)
frame by frame with ffprobe: size and keyframe flag per decoded picture, the generation of
every packet (per pts, and grouped/monotonic in decode order), and nothing lost (every
submitted pts comes out exactly once).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Optional

import pytest

import ffprobe_check as fc
import videohw as vh
from conftest import common, make_frame
from hooks import inject_faults
from nvenc_double import in_flight_config, in_place_switch_restarts, switch_in_place
from videohw import verify

I420 = vh.PixelFormat.I420
IMMEDIATE = vh.SessionSwitchMode.IMMEDIATE
ON_KEY = vh.SessionSwitchMode.ON_NEXT_KEYFRAME
DRAIN = vh.SessionSwitchMode.DRAIN_THEN_SWAP
MODES = [IMMEDIATE, ON_KEY, DRAIN]

GOP = 10
LOW = common(
    width=64, height=48, low_latency=True, gop_length=GOP, rate_control=vh.RateControl.cbr(400_000)
)
# Not low latency: B-frames and x264's lookahead/frame threads hold frames back, so frames
# of the old generation are still inside the encoder when the switch is requested.
HELD = common(
    width=64,
    height=48,
    gop_length=GOP,
    b_frames=2,
    rate_control=vh.RateControl.vbr(400_000, 600_000),
)


def bitrate_change(base: vh.CommonEncodeConfig) -> vh.CommonEncodeConfig:
    """In place on H.264 (same rate-control mode, only the rates change)."""
    rc = base.rate_control
    if rc.mode is vh.RateControlMode.VBR:
        return dataclasses.replace(base, rate_control=vh.RateControl.vbr(200_000, 300_000))
    return dataclasses.replace(base, rate_control=vh.RateControl.cbr(200_000))


def size_change(base: vh.CommonEncodeConfig) -> vh.CommonEncodeConfig:
    """A new encoder in software; NVENC resizes in place."""
    return dataclasses.replace(base, width=48, height=32)


def new_encoder(base: vh.CommonEncodeConfig) -> vh.CommonEncodeConfig:
    """Size and GOP: a new encoder on every backend."""
    return dataclasses.replace(size_change(base), gop_length=base.gop_length + 2)


@pytest.fixture
def ctl(backend):
    """A controller on each backend in turn (conftest.backend)."""
    return vh.SessionController(backend)


# --------------------------------------------------------------------------------------
# Driving an encode with switches, and checking it against the model


@dataclasses.dataclass
class Step:
    at: int  # requested just before frame `at` is submitted
    target: vh.CommonEncodeConfig
    mode: vh.SessionSwitchMode = IMMEDIATE
    idr: bool = True


@dataclasses.dataclass
class Run:
    config: vh.CommonEncodeConfig
    n: int
    forced: set
    packets: list
    handle: vh.EncoderSessionHandle
    planned: list  # verify.PlannedSwitch per step, as the library did it
    targets: list  # the target config of each step, in order
    telemetry: dict


def encode(
    ctl: vh.SessionController,
    config: vh.CommonEncodeConfig,
    n: int,
    steps: Sequence[Step],
    forced: Sequence[int] = (),
    backend_config=None,
    reap_each_frame: bool = True,
) -> Run:
    """Submits n frames, switching as ``steps`` say; frames have the size the session
    expects (``session_state``: a forced keyframe activates a pending switch and so has
    the pending size). The path each switch took comes from telemetry, and must be the
    one the backend documents."""
    forced = set(forced)
    h = ctl.start_encode_session(config, backend_config)
    packets: list = []
    planned: list = []
    config_of = {1: config}  # generation -> its config
    by_frame = {s.at: s for s in steps}

    def restarts(telemetry: dict) -> int:  # a drain that ended the coded stream
        return telemetry["encoder_reopens"] + telemetry["stream_restarts"]

    for t in range(n):
        if t in by_frame:
            s = by_frame[t]
            before = ctl.telemetry(h)
            # Until this switch activates, the generation running now stays (a later
            # request supersedes this one): it is what the switch changes.
            running = config_of[ctl.session_state(h)["active_generation"]]
            h = ctl.switch_encode_session(
                h,
                vh.SessionSwitchRequest(
                    target=(s.target, None), mode=s.mode, force_idr_on_activate=s.idr
                ),
            )
            config_of[h.generation] = s.target
            after = ctl.telemetry(h)
            in_place = after["switches_in_place"] > before["switches_in_place"]
            assert in_place != (after["switches_new_session"] > before["switches_new_session"])
            assert in_place == switch_in_place(ctl.backend, running, s.target), (
                f"{ctl.backend}: switch at {t} took the {'in-place' if in_place else 'new'} path"
            )
            reopened = restarts(after) > restarts(before) or (
                in_place and in_place_switch_restarts(ctl.backend, running, s.target)
            )
            planned.append(
                verify.PlannedSwitch(
                    t,
                    h.generation,
                    s.target.width,
                    s.target.height,
                    s.target.gop_length,
                    s.mode.value,
                    s.idr,
                    in_place,
                    reopened,
                    reorders=s.target.b_frames > 0,
                )
            )
        state = ctl.session_state(h)
        if t in forced and state["pending_width"]:
            size = (state["pending_width"], state["pending_height"])
        else:
            size = (state["width"], state["height"])
        ctl.submit(h, make_frame(I420, *size, t, pts=t, force_keyframe=t in forced))
        if reap_each_frame:
            packets += ctl.reap(h)
    packets += ctl.close_encode_session(h)
    targets = [s.target for s in sorted(steps, key=lambda s: s.at)]
    return Run(config, n, forced, packets, h, planned, targets, ctl.telemetry(h))


def plan_of(run: Run) -> list:
    return verify.switch_timeline(
        run.n, run.config.width, run.config.height, run.config.gop_length, run.planned, run.forced
    )


def check(run: Run, tmp_path, plan: Optional[list] = None) -> list:
    """The output of ``run`` is what the model says, frame by frame; returns the plan."""
    plan = plan if plan is not None else plan_of(run)
    packets = run.packets
    # Nothing lost, nothing twice.
    assert sorted(p.pts for p in packets) == list(range(run.n)), "every frame exactly once"
    # Generations: per frame as planned; in decode order monotonic (so grouped).
    by_pts = {p.pts: p for p in packets}
    assert [by_pts[t].generation for t in range(run.n)] == [f.generation for f in plan]
    order = [p.generation for p in packets]
    assert order == sorted(order), f"generations out of order in decode order: {order}"
    assert [by_pts[t].is_keyframe for t in range(run.n)] == [f.keyframe for f in plan]
    # The independent decoder, frame by frame. Generations of one codec form one stream
    # (an in-place generation without an IDR depends on the one before it); where the
    # codec changes, each run of generations of one codec is decoded on its own.
    codec_of = {1: run.config.codec}
    for s, step_target in zip(run.planned, run.targets):
        codec_of[s.generation] = step_target.codec
    segments: list = []  # [codec, [generations]]
    for g in sorted({f.generation for f in plan}):
        if segments and segments[-1][0] == codec_of[g]:
            segments[-1][1].append(g)
        else:
            segments.append([codec_of[g], [g]])
    for codec, generations in segments:
        mine = [p for p in packets if p.generation in generations]
        frames = fc.probe_frames(mine, codec)
        want = [f for f in plan if f.generation in generations]
        assert [(f.width, f.height) for f in frames] == [(w.width, w.height) for w in want]
        fc.check_keyframes(frames, [i for i, w in enumerate(want) if w.keyframe])
        assert all(f.pict_type == "I" for f in frames if f.key_frame)
    if len(segments) == 1:
        path = tmp_path / "out.es"
        path.write_bytes(fc.stream_bytes(packets))
        report = verify.verify_switched_stream(
            path, run.config.codec.value, plan, [(p.pts, p.generation) for p in packets]
        )
        assert report.ok, str(report)
    return plan


def encode_checked(ctl, config, n, steps, tmp_path, **kwargs) -> Run:
    run = encode(ctl, config, n, steps, **kwargs)
    check(run, tmp_path)
    return run


# --------------------------------------------------------------------------------------
# The matrix again, with frames held back by the encoder


CHANGES = {"bitrate": bitrate_change, "size": size_change, "new_encoder": new_encoder}


@pytest.mark.parametrize("idr", [True, False], ids=["idr", "no-idr"])
@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_switch_with_frames_held_back(ctl, tmp_path, mode, change, idr):
    """B-frames and lookahead: old-generation frames are inside the encoder when the switch
    comes; they must still come out with generation 1, before any generation 2 packet.
    (With B-frames an in-place activation is an IDR even without force_idr_on_activate:
    docs/api.md, the model's ``reorders``.)"""
    target = CHANGES[change](HELD)
    run = encode_checked(ctl, HELD, 32, [Step(13, target, mode, idr)], tmp_path)
    t = run.telemetry
    path = "in_place" if run.planned[0].in_place else "new_session"
    assert t[f"switches_{path}"] == 1 and t[f"switches_{mode.value}"] == 1
    assert t["switches"] == 1 and t["switch_failures"] == 0


@pytest.mark.parametrize("mode", [IMMEDIATE, DRAIN], ids=lambda m: m.value)
def test_in_place_without_idr_on_frame_threads_goes_on_with_the_gop(ctl, tmp_path, mode):
    """No B-frames but frame threads and lookahead (frames held back, no reordering): an
    in-place switch without force_idr_on_activate keeps the GOP going (IMMEDIATE), unless
    a drain had to reopen the encoder (DRAIN_THEN_SWAP with frames held)."""
    base = dataclasses.replace(HELD, b_frames=0, frame_interval_p=None)
    run = encode_checked(ctl, base, 30, [Step(13, bitrate_change(base), mode, idr=False)], tmp_path)
    assert run.telemetry["switches_in_place"] == 1
    first = next(p for p in run.packets if p.pts == 13)
    assert first.generation == 2
    assert first.is_keyframe == run.planned[0].reopened
    if mode is IMMEDIATE:
        assert not first.is_keyframe


@pytest.mark.parametrize("path", ["in_place", "new_session"])
@pytest.mark.parametrize("held", [False, True], ids=["low-latency", "b-frames"])
def test_drain_then_swap_with_many_frames_in_flight(ctl, held, path):
    base = HELD if held else LOW
    target = bitrate_change(base) if path == "in_place" else new_encoder(base)
    assert switch_in_place(ctl.backend, base, target) == (path == "in_place")
    h = ctl.start_encode_session(base, in_flight_config(ctl.backend, 16))
    for t in range(16):  # none reaped: all in flight or waiting in the reap queue
        ctl.submit(h, make_frame(I420, 64, 48, t))
    h2 = ctl.switch_encode_session(h, vh.SessionSwitchRequest(target=(target, None), mode=DRAIN))
    assert ctl.session_state(h2)["active_generation"] == 2
    ready = ctl.reap(h2)  # never waits: the drain happened inside the call
    assert sorted(p.pts for p in ready) == list(range(16))
    assert {p.generation for p in ready} == {1}
    for t in range(16, 24):
        ctl.submit(h2, make_frame(I420, target.width, target.height, t))
    rest = ctl.close_encode_session(h2)
    assert sorted(p.pts for p in rest) == list(range(16, 24))
    assert {p.generation for p in rest} == {2}
    assert rest[0].is_keyframe, "the drain ends the old stream: generation 2 starts with an IDR"
    fc.check_frames(fc.probe_frames(ready, base.codec), 16, 64, 48)
    fc.check_frames(fc.probe_frames(rest, target.codec), 8, target.width, target.height)


def test_drain_then_swap_with_nothing_in_flight(ctl, tmp_path):
    h = ctl.start_encode_session(LOW)
    packets = []
    for t in range(7):
        ctl.submit(h, make_frame(I420, 64, 48, t))
    packets += ctl.flush(h)  # nothing in flight any more
    h2 = ctl.switch_encode_session(
        h,
        vh.SessionSwitchRequest(
            target=(bitrate_change(LOW), None), mode=DRAIN, force_idr_on_activate=False
        ),
    )
    assert ctl.reap(h2) == []
    for t in range(7, 20):
        ctl.submit(h2, make_frame(I420, 64, 48, t))
    packets += ctl.close_encode_session(h2)
    assert [p.generation for p in packets] == [1] * 7 + [2] * 13
    frames = fc.probe_frames(packets, vh.Codec.H264)
    fc.check_frames(frames, 20, 64, 48)
    # Low latency: nothing held back, so the drain did not restart the stream; in place
    # without force_idr_on_activate the GOP goes on.
    fc.check_keyframes(frames, [0, 10])
    assert ctl.telemetry(h2)["switches_in_place"] == 1
    assert ctl.telemetry(h2)["encoder_reopens"] == 0
    assert ctl.telemetry(h2)["stream_restarts"] == 0


# --------------------------------------------------------------------------------------
# HEVC: in software every switch is a new session; NVENC reconfigures in place, and the
# double does that by restarting its stream. Either way activation is an IDR.


@pytest.mark.parametrize("change", ["bitrate", "size"])
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_hevc_switch(ctl, tmp_path, mode, change):
    base = dataclasses.replace(LOW, codec=vh.Codec.HEVC)
    target = bitrate_change(base) if change == "bitrate" else size_change(base)
    run = encode_checked(ctl, base, 24, [Step(13, target, mode, idr=False)], tmp_path)
    in_place = switch_in_place(ctl.backend, base, target)
    assert run.telemetry["switches_new_session"] == (0 if in_place else 1)
    assert run.telemetry["switches_in_place"] == (1 if in_place else 0)
    first = min(p.pts for p in run.packets if p.generation == 2)
    assert first == (20 if mode is ON_KEY else 13)
    assert next(p for p in run.packets if p.pts == first).is_keyframe


def test_hevc_to_h264_on_a_forced_keyframe(ctl, tmp_path):
    base = dataclasses.replace(LOW, codec=vh.Codec.HEVC)
    target = dataclasses.replace(size_change(LOW), codec=vh.Codec.H264)
    run = encode_checked(ctl, base, 20, [Step(4, target, ON_KEY)], tmp_path, forced=[7])
    assert min(p.pts for p in run.packets if p.generation == 2) == 7


# --------------------------------------------------------------------------------------
# ON_NEXT_KEYFRAME and session_state


def test_session_state_through_an_on_next_keyframe_switch(ctl):
    h = ctl.start_encode_session(LOW)
    s = ctl.session_state(h)
    assert s["state"] == "running"
    assert (s["active_generation"], s["config_generation"], s["next_generation"]) == (1, 1, 2)
    assert s["pending_generation"] is None and s["pending_mode"] is None
    assert (s["width"], s["height"]) == (64, 48) and s["pending_width"] is None
    assert (s["codec"], s["backend"]) == ("h264", ctl.backend)
    for t in range(3):
        ctl.submit(h, make_frame(I420, 64, 48, t))
    h2 = ctl.switch_encode_session(
        h, vh.SessionSwitchRequest(target=(size_change(LOW), None), mode=ON_KEY)
    )
    assert h2 == vh.EncoderSessionHandle(h.id, 2)
    for t in range(3, GOP + 1):
        s = ctl.session_state(h2)
        assert s == ctl.session_state(h), "both handles see the same session"
        assert s["state"] == "switch_pending"
        assert (s["active_generation"], s["config_generation"], s["next_generation"]) == (1, 2, 3)
        assert (s["pending_generation"], s["pending_mode"]) == (2, "on_next_keyframe")
        assert (s["pending_width"], s["pending_height"]) == (48, 32)
        boundary = t == GOP
        assert s["next_frame_activates"] is boundary
        assert (s["width"], s["height"]) == ((48, 32) if boundary else (64, 48))
        if not boundary:
            # The old handle is still the active one; the pending one is accepted too.
            ctl.submit(h if t % 2 else h2, make_frame(I420, 64, 48, t))
    ctl.submit(h2, make_frame(I420, 48, 32, GOP))  # activates
    s = ctl.session_state(h2)
    assert s["state"] == "running" and s["active_generation"] == 2
    assert s["pending_generation"] is None and s["next_frame_activates"] is False
    assert (s["width"], s["height"]) == (48, 32)
    with pytest.raises(vh.StaleSessionError):
        ctl.submit(h, make_frame(I420, 48, 32, GOP + 1))
    packets = ctl.close_encode_session(h2)
    assert [p.generation for p in packets] == [1] * GOP + [2]
    assert ctl.session_state(h2)["state"] == "closed"


def test_on_next_keyframe_frames_must_have_the_size_the_state_says(ctl):
    """A forced keyframe activates the pending switch, so it must have the new size; a
    frame that does not activate must have the old one. A refused frame is not taken."""
    h = ctl.start_encode_session(LOW)
    ctl.submit(h, make_frame(I420, 64, 48, 0))
    h2 = ctl.switch_encode_session(
        h, vh.SessionSwitchRequest(target=(size_change(LOW), None), mode=ON_KEY)
    )
    with pytest.raises(vh.InvalidFrameError):
        ctl.submit(h2, make_frame(I420, 64, 48, 1, force_keyframe=True))
    with pytest.raises(vh.InvalidFrameError):
        ctl.submit(h2, make_frame(I420, 48, 32, 1))
    assert ctl.session_state(h2)["state"] == "switch_pending"
    ctl.submit(h2, make_frame(I420, 64, 48, 1))
    ctl.submit(h2, make_frame(I420, 48, 32, 2, force_keyframe=True))
    ctl.submit(h2, make_frame(I420, 48, 32, 3))
    packets = ctl.close_encode_session(h2)
    assert [(p.pts, p.generation, p.is_keyframe) for p in packets] == [
        (0, 1, True),
        (1, 1, False),
        (2, 2, True),
        (3, 2, False),
    ]
    assert ctl.telemetry(h2)["frames_submitted"] == 4


def test_on_next_keyframe_in_place_without_idr_activates_on_the_gop_boundary(ctl, tmp_path):
    # The boundary frame is a keyframe anyway; the in-place switch takes effect there.
    run = encode_checked(ctl, LOW, 25, [Step(3, bitrate_change(LOW), ON_KEY, idr=False)], tmp_path)
    assert min(p.pts for p in run.packets if p.generation == 2) == GOP
    assert run.telemetry["encoder_opens"] == 1


# --------------------------------------------------------------------------------------
# Several switches; superseding; handles


def test_two_switches_back_to_back_without_frames_in_between(ctl, tmp_path):
    """The second IMMEDIATE request comes before the first generation took a frame: it
    supersedes it (generation 2 never encodes anything)."""
    h = ctl.start_encode_session(LOW)
    for t in range(4):
        ctl.submit(h, make_frame(I420, 64, 48, t))
    h2 = ctl.switch_encode_session(h, vh.SessionSwitchRequest(target=(size_change(LOW), None)))
    h3 = ctl.switch_encode_session(
        h2, vh.SessionSwitchRequest(target=(dataclasses.replace(LOW, width=32, height=32), None))
    )
    assert (h2.generation, h3.generation) == (2, 3)
    s = ctl.session_state(h3)
    assert (s["width"], s["height"]) == (32, 32) and s["config_generation"] == 3
    with pytest.raises(vh.StaleSessionError):
        ctl.submit(h2, make_frame(I420, 48, 32, 4))
    for t in range(4, 9):
        ctl.submit(h3, make_frame(I420, 32, 32, t))
    packets = ctl.close_encode_session(h3)
    assert [p.generation for p in packets] == [1] * 4 + [3] * 5
    frames = fc.probe_frames(packets, vh.Codec.H264)
    assert [(f.width, f.height) for f in frames] == [(64, 48)] * 4 + [(32, 32)] * 5
    fc.check_keyframes(frames, [0, 4])
    t = ctl.telemetry(h3)
    assert t["switches"] == 2 and t["switches_superseded"] == 1


def test_superseding_a_pending_switch_skips_its_generation(ctl, tmp_path):
    """ON_NEXT_KEYFRAME (new size) pending, superseded by ON_NEXT_KEYFRAME (in place):
    generation 2 is never seen, its handle is refused, generation 3 activates at the
    boundary, and the superseded encoder is not counted as a path taken twice."""
    steps = [Step(3, size_change(LOW), ON_KEY), Step(6, bitrate_change(LOW), ON_KEY)]
    run = encode_checked(ctl, LOW, 22, steps, tmp_path)
    assert [s.generation for s in run.planned] == [2, 3]
    assert sorted({p.generation for p in run.packets}) == [1, 3]
    assert min(p.pts for p in run.packets if p.generation == 3) == GOP
    t = run.telemetry
    assert t["switches_superseded"] == 1 and t["switches_on_next_keyframe"] == 2


def test_superseded_pending_handle_is_refused(ctl):
    h = ctl.start_encode_session(LOW)
    ctl.submit(h, make_frame(I420, 64, 48, 0))
    h2 = ctl.switch_encode_session(
        h, vh.SessionSwitchRequest(target=(size_change(LOW), None), mode=ON_KEY)
    )
    h3 = ctl.switch_encode_session(
        h2, vh.SessionSwitchRequest(target=(bitrate_change(LOW), None), mode=ON_KEY)
    )
    with pytest.raises(vh.StaleSessionError):
        ctl.submit(h2, make_frame(I420, 64, 48, 1))
    ctl.submit(h, make_frame(I420, 64, 48, 1))  # still the active generation
    ctl.submit(h3, make_frame(I420, 64, 48, 2))  # the pending one
    packets = ctl.close_encode_session(h3)
    assert [p.pts for p in packets] == [0, 1, 2]
    assert ctl.telemetry(h3)["frames_submitted"] == 3


def test_stale_handle_is_refused_everywhere_and_the_frame_is_not_taken(ctl):
    h = ctl.start_encode_session(LOW)
    ctl.submit(h, make_frame(I420, 64, 48, 0))
    h2 = ctl.switch_encode_session(h, vh.SessionSwitchRequest(target=(size_change(LOW), None)))
    ctl.submit(h2, make_frame(I420, 48, 32, 1))  # activated
    calls = {
        "submit": lambda: ctl.submit(h, make_frame(I420, 64, 48, 2)),
        "submit 48x32": lambda: ctl.submit(h, make_frame(I420, 48, 32, 2)),
        "reap": lambda: ctl.reap(h),
        "flush": lambda: ctl.flush(h),
        "switch": lambda: ctl.switch_encode_session(h, vh.SessionSwitchRequest(target=(LOW, None))),
        "close": lambda: ctl.close_encode_session(h),
    }
    for call in calls.values():
        with pytest.raises(vh.StaleSessionError, match="stale"):
            call()
    s = ctl.session_state(h2)
    assert s["state"] == "running" and s["active_generation"] == 2
    assert s["next_generation"] == 3, "a refused switch takes no generation number"
    assert ctl.telemetry(h2)["frames_submitted"] == 2
    packets = ctl.close_encode_session(h2)
    assert [(p.pts, p.generation) for p in packets] == [(0, 1), (1, 2)]


def test_an_unsupported_target_touches_nothing(ctl):
    h = ctl.start_encode_session(LOW)
    ctl.submit(h, make_frame(I420, 64, 48, 0))
    before = ctl.session_state(h)
    with pytest.raises(vh.UnsupportedConfigError):
        ctl.switch_encode_session(
            h, vh.SessionSwitchRequest(target=(dataclasses.replace(LOW, codec=vh.Codec.AV1), None))
        )
    with pytest.raises(vh.ConfigError):
        ctl.switch_encode_session(h, "not a request")
    assert ctl.session_state(h) == before
    t = ctl.telemetry(h)
    assert t["switches"] == 0 and t["switch_failures"] == 0
    ctl.submit(h, make_frame(I420, 64, 48, 1))
    h2 = ctl.switch_encode_session(h, vh.SessionSwitchRequest(target=(size_change(LOW), None)))
    assert h2.generation == 2, "refused requests took no generation number"
    ctl.submit(h2, make_frame(I420, 48, 32, 2))
    assert [p.generation for p in ctl.close_encode_session(h2)] == [1, 1, 2]


def test_encode_session_switch_follows_the_new_generation(ctl):
    with ctl.encode_session(LOW) as s:
        first = s.handle
        for t in range(3):
            s.submit(make_frame(I420, 64, 48, t))
        returned = s.switch(vh.SessionSwitchRequest(target=(size_change(LOW), None), mode=DRAIN))
        assert returned == s.handle and s.handle.generation == 2 and first.generation == 1
        assert len(s.reap()) == 3, "DRAIN_THEN_SWAP: the old packets are ready"
        for t in range(3, 6):
            s.submit(make_frame(I420, 48, 32, t))
        assert s.state()["active_generation"] == 2
    assert [p.generation for p in s.closing_packets] == [2, 2, 2]
    assert s.telemetry()["switches_drain_then_swap"] == 1


# --------------------------------------------------------------------------------------
# Failures in every mode


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_creation_failure_keeps_the_current_generation(ctl, mode):
    inject_faults(ctl, fail_create_at=1)  # #0 is the session's own encoder
    h = ctl.start_encode_session(LOW)
    for t in range(5):
        ctl.submit(h, make_frame(I420, 64, 48, t))
    with pytest.raises(vh.SwitchError, match="injected fault"):
        ctl.switch_encode_session(
            h, vh.SessionSwitchRequest(target=(new_encoder(LOW), None), mode=mode)
        )
    s = ctl.session_state(h)
    assert s["state"] == "running" and s["active_generation"] == 1
    assert s["pending_generation"] is None and (s["width"], s["height"]) == (64, 48)
    for t in range(5, 12):
        ctl.submit(h, make_frame(I420, 64, 48, t))
    # Creation #2 works: the session can still switch.
    h2 = ctl.switch_encode_session(
        h, vh.SessionSwitchRequest(target=(new_encoder(LOW), None), mode=mode)
    )
    for t in range(12, 22):
        st = ctl.session_state(h2)
        ctl.submit(h2, make_frame(I420, st["width"], st["height"], t))
    packets = ctl.close_encode_session(h2)
    assert [p.pts for p in packets] == list(range(22)), "nothing lost"
    g2 = [p.pts for p in packets if p.generation == h2.generation]
    assert g2 and g2[0] == (20 if mode is ON_KEY else 12)
    assert [p.generation for p in packets] == sorted(p.generation for p in packets)
    frames = fc.probe_frames(packets, vh.Codec.H264)
    assert [(f.width, f.height) for f in frames] == ([(64, 48)] * g2[0] + [(48, 32)] * (22 - g2[0]))
    t = ctl.telemetry(h2)
    assert t["switch_failures"] == 1
    assert "injected fault" in t["switch_fail_reason"]


def _rollback_run(ctl: vh.SessionController, mode: vh.SessionSwitchMode, path: str):
    """A switch whose activation fails; the caller follows the documented protocol: use
    the new handle until a call raises SwitchError, then the old one. In place, the target
    is a resize where the backend resizes in place (NVENC): the old encoder then gets
    frames of the new size after the rollback and must scale them."""
    if path == "new_session":
        inject_faults(ctl, fail_activation_at=1)
        target = new_encoder(LOW)
    else:
        inject_faults(ctl, fail_reconfigure=True)
        target = (
            size_change(LOW)
            if switch_in_place(ctl.backend, LOW, size_change(LOW))
            else bitrate_change(LOW)
        )
    assert switch_in_place(ctl.backend, LOW, target) == (path == "in_place")
    h = ctl.start_encode_session(LOW)
    for t in range(5):
        ctl.submit(h, make_frame(I420, 64, 48, t))
    h2 = ctl.switch_encode_session(h, vh.SessionSwitchRequest(target=(target, None), mode=mode))
    errors: list = []
    current, t = h2, 5
    while t < 16:
        if current == h2:
            state = ctl.session_state(h2)
            size = (state["width"], state["height"])
        else:
            size = (64, 48)  # rolled back to generation 1 (see the state test below)
        try:
            ctl.submit(current, make_frame(I420, *size, t))
            t += 1
        except vh.SwitchError as exc:
            errors.append(str(exc))
            current = h
    packets: list = []
    try:
        packets += ctl.flush(current)
    except vh.SwitchError as exc:
        errors.append(str(exc))
        current = h
        packets += ctl.flush(h)
    return ctl, h, h2, target, packets, errors


@pytest.mark.parametrize("path", ["in_place", "new_session"])
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_activation_failure_rolls_back_in_every_mode(ctl, mode, path):
    ctl, h, h2, target, packets, errors = _rollback_run(ctl, mode, path)
    # After the flush the encode thread has been through every frame: the rollback is done.
    with pytest.raises(vh.SwitchError, match="rolled back to generation 1"):
        ctl.reap(h2)
    with pytest.raises(vh.SwitchError):
        ctl.submit(h2, make_frame(I420, target.width, target.height, 99))
    assert all("rolled back to generation 1" in e for e in errors)
    s = ctl.session_state(h)
    assert s["state"] == "running" and s["active_generation"] == 1
    assert s["pending_generation"] is None
    for t in range(16, 20):  # the old handle works again
        ctl.submit(h, make_frame(I420, 64, 48, t))
    packets += ctl.close_encode_session(h)
    assert [p.pts for p in packets] == list(range(20)), "no frame lost"
    assert {p.generation for p in packets} == {1}
    frames = fc.probe_frames(packets, vh.Codec.H264)
    fc.check_frames(frames, 20, 64, 48)  # frames of the new size were scaled back
    t = ctl.telemetry(h)
    assert t["switch_failures"] == 1
    assert "activation of generation 2" in t["switch_fail_reason"]
    assert "injected fault" in t["switch_fail_reason"]


@pytest.mark.parametrize("path", ["in_place", "new_session"])
def test_session_state_reports_the_rolled_back_size(ctl, path):
    """Once the encode thread rolled the activation back, the session takes frames of
    generation 1's size again, so session_state must say so right away (docs/api.md:
    ``width``/``height`` is the size the next non-forced frame must have)."""
    if path == "in_place":
        if not switch_in_place(ctl.backend, LOW, size_change(LOW)):
            pytest.skip(f"{ctl.backend} never resizes in place")
        inject_faults(ctl, fail_reconfigure=True)
    else:
        inject_faults(ctl, fail_activation_at=1)
    target = size_change(LOW) if path == "in_place" else new_encoder(LOW)
    h = ctl.start_encode_session(LOW)
    for t in range(3):
        ctl.submit(h, make_frame(I420, 64, 48, t))
    h2 = ctl.switch_encode_session(h, vh.SessionSwitchRequest(target=(target, None)))
    assert ctl.session_state(h2)["active_generation"] == 2
    ctl.submit(h2, make_frame(I420, 48, 32, 3))  # fails to activate on the encode thread
    deadline = time.monotonic() + 10
    while ctl.session_state(h)["active_generation"] != 1:  # no other call in between
        assert time.monotonic() < deadline, "the rollback did not happen"
        time.sleep(0.01)
    s = ctl.session_state(h)
    ctl.submit(h, make_frame(I420, 64, 48, 4))  # the session takes 64x48 ...
    assert (s["width"], s["height"]) == (64, 48), (
        f"... but session_state said {s['width']}x{s['height']} after the rollback"
    )
    packets = ctl.close_encode_session(h)
    assert [(p.pts, p.generation) for p in packets] == [(t, 1) for t in range(5)]


def test_the_session_switches_again_after_a_rollback(ctl):
    ctl, h, h2, target, packets, errors = _rollback_run(ctl, ON_KEY, "new_session")
    h3 = ctl.switch_encode_session(h, vh.SessionSwitchRequest(target=(target, None)))
    assert h3.generation == 3
    for t in range(16, 22):
        ctl.submit(h3, make_frame(I420, target.width, target.height, t))
    packets += ctl.close_encode_session(h3)
    assert [p.pts for p in packets] == list(range(22))
    assert [p.generation for p in packets] == [1] * 16 + [3] * 6
    frames = fc.probe_frames(packets, vh.Codec.H264)
    assert [(f.width, f.height) for f in frames] == [(64, 48)] * 16 + [(48, 32)] * 6
    assert frames[16].key_frame


# --------------------------------------------------------------------------------------
# Telemetry


def test_switch_counters_per_mode_and_path(ctl, tmp_path):
    steps = [
        Step(4, bitrate_change(LOW), IMMEDIATE, idr=False),  # in place
        Step(8, size_change(LOW), ON_KEY),  # software: new, at 10
        Step(14, LOW, DRAIN),  # software: new
        Step(17, bitrate_change(LOW), IMMEDIATE),
    ]  # in place
    run = encode_checked(ctl, LOW, 24, steps, tmp_path)
    t = run.telemetry
    assert (
        t["switches"],
        t["switches_immediate"],
        t["switches_on_next_keyframe"],
        t["switches_drain_then_swap"],
    ) == (4, 2, 1, 1)
    configs = [LOW] + [s.target for s in steps]
    in_place = sum(switch_in_place(ctl.backend, a, b) for a, b in zip(configs, configs[1:]))
    assert in_place == (2 if ctl.backend == "software" else 4)
    assert (t["switches_in_place"], t["switches_new_session"]) == (in_place, 4 - in_place)
    assert (t["switches_superseded"], t["switch_failures"], t["switch_fail_reason"]) == (0, 0, "")
    assert t["encoder_opens"] == 1 + (4 - in_place)
    assert [p.generation for p in run.packets] == [1] * 4 + [2] * 6 + [3] * 4 + [4] * 3 + [5] * 7


def test_switch_latency_telemetry(ctl):
    h = ctl.start_encode_session(LOW)
    t0 = ctl.telemetry(h)
    assert t0["last_switch_activation_ns"] == 0 and t0["last_switch_first_packet_ns"] == 0
    for t in range(5):
        ctl.submit(h, make_frame(I420, 64, 48, t))
    h2 = ctl.switch_encode_session(
        h, vh.SessionSwitchRequest(target=(size_change(LOW), None), mode=ON_KEY)
    )
    pause = 0.05
    time.sleep(pause)  # request -> activation is at least this long
    for t in range(5, 11):
        s = ctl.session_state(h2)
        ctl.submit(h2, make_frame(I420, s["width"], s["height"], t))
    ctl.flush(h2)
    tel = ctl.telemetry(h2)
    assert tel["last_switch_activation_ns"] >= pause * 1e9
    assert 0 < tel["last_switch_first_packet_ns"] < 10e9
    ctl.close_encode_session(h2)
