"""vh.Transcoder: packets pushed one at a time (a network source), each output's packets
pulled (docs/transcode.md, Incremental)."""

from __future__ import annotations

import subprocess
import threading
import time
from fractions import Fraction

import pytest

import videohw as vh

FRAMES = 60


@pytest.fixture(scope="module")
def packets(tmp_path_factory):
    """The video packets of a 320x180 H.264 file with B-frames, as MediaReader gives them
    (Annex-B), and its time base."""
    path = str(tmp_path_factory.mktemp("transcoder") / "src.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30"]
        + ["-frames:v", str(FRAMES), "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", path],
        check=True,
    )
    with vh.MediaReader(path) as reader:
        found = list(reader)
        time_base = reader.stream.time_base
    return found, time_base


def common(width: int = 160, height: int = 90, b_frames: int = 0) -> vh.CommonEncodeConfig:
    return vh.CommonEncodeConfig(
        width=width, height=height, b_frames=b_frames, rate_control=vh.RateControl.cbr(300_000)
    )


def decoded_frames(packets: list[vh.EncodedPacket]) -> int:
    ctl = vh.SessionController("software")
    with ctl.decode_session(vh.CommonDecodeConfig(output=vh.DecodeOutputMode.METADATA_ONLY)) as s:
        count = 0
        for p in packets:
            s.push(p.data)
            count += len(s.reap())
        return count + len(s.flush())


def push_all(tc: vh.Transcoder, packets, rungs: int = 1) -> list[list[vh.EncodedPacket]]:
    out: list[list[vh.EncodedPacket]] = [[] for _ in range(rungs)]
    for p in packets:
        tc.push(p.data, p.pts, p.dts, p.is_keyframe)
        for r in range(rungs):
            out[r] += tc.pull(r)
    tc.end()
    while not tc.done:
        for r in range(rungs):
            out[r] += tc.pull(r, timeout=0.05)
    return out


def test_pushed_packets_come_out_with_the_source_timestamps(packets):
    found, time_base = packets
    with vh.Transcoder(vh.Codec.H264, common(b_frames=2), time_base=time_base) as tc:
        (out,) = push_all(tc, found)
        report = tc.close()
    assert report.frames == FRAMES and report.outputs[0].frames == FRAMES
    assert len(out) == FRAMES
    assert out[0].is_keyframe
    assert sorted(p.pts for p in out) == sorted(p.pts for p in found)
    dts = [p.dts for p in out]
    assert dts == sorted(dts) and len(set(dts)) == len(dts)
    assert decoded_frames(out) == FRAMES


def test_a_ladder_of_pulled_outputs(packets):
    found, time_base = packets
    rungs = [vh.Rung(320, 180, 600_000), vh.Rung(160, 90, 200_000)]
    with vh.Transcoder(vh.Codec.H264, common(), time_base=time_base, rungs=rungs) as tc:
        out = push_all(tc, found, rungs=2)
        report = tc.close()
    assert [len(o) for o in out] == [FRAMES, FRAMES]
    assert [(o.width, o.height) for o in report.outputs] == [(320, 180), (160, 90)]
    assert sum(len(p.data) for p in out[0]) > sum(len(p.data) for p in out[1])


def test_one_thread_with_small_queues_never_waits_forever(packets):
    """Nobody pulls: the queues fill up to the input, and push(block=False) says
    BackpressureError with nothing taken. Pulling makes room again; nothing is lost."""
    found, time_base = packets
    out: list[vh.EncodedPacket] = []
    with vh.Transcoder(vh.Codec.H264, common(), time_base=time_base, queue_packets=2) as tc:
        pushed = 0
        refused = False
        deadline = time.monotonic() + 30
        while pushed < len(found) and not refused and time.monotonic() < deadline:
            p = found[pushed]
            try:
                tc.push(p.data, p.pts, p.dts, p.is_keyframe, block=False)
                pushed += 1
            except vh.BackpressureError:
                refused = True  # every queue behind the input is full
        assert refused, f"all {pushed} packets were taken with nobody pulling"
        assert pushed < len(found)
        for p in found[pushed:]:
            while True:
                try:
                    tc.push(p.data, p.pts, p.dts, p.is_keyframe, block=False)
                    break
                except vh.BackpressureError:
                    out += tc.pull(timeout=0.01)
        tc.end()
        while not tc.done:
            out += tc.pull(timeout=0.05)
        tc.close()
    assert len(out) == FRAMES


def test_pushing_and_pulling_on_two_threads(packets):
    found, time_base = packets
    out: list[vh.EncodedPacket] = []
    with vh.Transcoder(vh.Codec.H264, common(), time_base=time_base, queue_packets=4) as tc:

        def reader() -> None:
            while not tc.done:
                out.extend(tc.pull(timeout=0.05))

        thread = threading.Thread(target=reader)
        thread.start()
        for p in found:
            tc.push(p.data, p.pts, p.dts, p.is_keyframe)
        tc.end()
        thread.join(timeout=60)
        assert not thread.is_alive()
        tc.close()
    assert len(out) == FRAMES


def test_misuse_is_refused(packets):
    found, time_base = packets
    with pytest.raises(vh.ConfigError, match="extradata"):
        vh.Transcoder(vh.Codec.H264, common(), layout=vh.EncodedLayout.AVCC)
    with pytest.raises(vh.InvalidTypeError):
        vh.Transcoder(vh.Codec.H264, common(), time_base=0.5)  # type: ignore[arg-type]
    with pytest.raises(vh.InvalidTypeError):
        vh.Transcoder(vh.Codec.H264, "720p")  # type: ignore[arg-type]
    tc = vh.Transcoder(vh.Codec.H264, common(), time_base=time_base)
    with pytest.raises(vh.InvalidTypeError):
        tc.push("not bytes")  # type: ignore[arg-type]
    with pytest.raises(vh.ConfigError):
        tc.pull(rung=3)
    tc.push(found[0].data, found[0].pts, found[0].dts, True)
    tc.end()
    with pytest.raises(vh.ConfigError, match="end"):
        tc.push(found[1].data)
    report = tc.close()
    assert report.frames == 1
    with pytest.raises(vh.ConfigError, match="closed"):
        tc.pull()


def test_cancel_and_an_exception_inside_with_end_it(packets):
    found, time_base = packets
    tc = vh.Transcoder(vh.Codec.H264, common(), time_base=time_base)
    for p in found[:10]:
        tc.push(p.data, p.pts, p.dts, p.is_keyframe)
    tc.cancel()
    with pytest.raises(vh.VideoHwError, match="cancelled"):
        tc.close()
    with pytest.raises(RuntimeError, match="boom"):
        with vh.Transcoder(vh.Codec.H264, common(), time_base=time_base) as tc2:
            tc2.push(found[0].data, found[0].pts, found[0].dts, True)
            raise RuntimeError("boom")


def test_garbage_input_is_a_decode_error_not_a_hang(packets):
    _, time_base = packets
    tc = vh.Transcoder(vh.Codec.H264, common(), time_base=Fraction(1, 90_000))
    for i in range(20):
        tc.push(bytes([0, 0, 1, 0x65]) + bytes(range(256)) * 4, pts=i * 3000)
    with pytest.raises(vh.DecodeError):
        tc.close()


def test_a_blocked_push_ends_when_the_transcode_fails():
    """Garbage fills a one-packet queue while the decoder fails: the waiting push does not
    wait forever, it raises the transcode's error."""
    tc = vh.Transcoder(vh.Codec.H264, common(), queue_packets=1)
    garbage = bytes([0, 0, 1, 0x65]) + bytes(range(256)) * 64
    with pytest.raises(vh.VideoHwError):
        for i in range(2000):
            tc.push(garbage, pts=i * 3000)
        tc.end()
        tc.close()
