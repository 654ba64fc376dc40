"""``vh.transcode`` / ``vh.Transcode`` (docs/transcode.md) on the software backends: sources in
MP4, Matroska and MPEG-TS with B-frames and AAC audio, ladders, switches in every mode,
audio copy, cancel / Ctrl-C, backpressure and hostile input.

Every output is checked with the ffmpeg tools (ffprobe frame lists, the ffmpeg streamhash of
the audio packets, PSNR against the source: videohw.transcode_check), never by reading it
back with videohw. Sources are small (320x180 and 640x360, 2-3 s at 30 fps) and made once
per module with the ffmpeg CLI.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import shutil
import subprocess
import threading
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

import videohw as vh
from ffprobe_check import ffprobe_json, packet_count
from videohw import transcode_check as tc

pytestmark = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
    reason="needs the ffmpeg / ffprobe tools to make sources and check outputs",
)

S = vh.SessionSwitchMode
FPS = 30
SRC_FRAMES = 60  # 2 s at 30 fps
W, H = 320, 180  # source size
OW, OH = 160, 90  # output size (a size change)

# --------------------------------------------------------------------------------------
# Sources


def _ffmpeg(*args: str) -> None:
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


def _video_in(size: str, seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={FPS}:duration={seconds}"]


def _audio_in(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]


_X264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-x264-params"]
_H264_BF = "keyint=30:min-keyint=30:scenecut=0:bframes=3:b-adapt=0"
_HEVC_BF = "keyint=30:min-keyint=30:scenecut=0:bframes=3:b-adapt=0:log-level=error"
_AAC = ["-c:a", "aac", "-b:a", "64k"]


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> dict[str, str]:
    """Name -> path of every source: h264.{mp4,mkv,ts} and hevc.{mp4,mkv,ts} (320x180,
    60 frames, 3 B-frames, AAC), and the special ones named below."""
    d = tmp_path_factory.mktemp("transcode_sources")
    p = {}

    def path(name: str) -> str:
        p[name] = str(d / name)
        return p[name]

    _ffmpeg(*_video_in(f"{W}x{H}", 2), *_audio_in(2), *_X264, _H264_BF, *_AAC, path("h264.mp4"))
    _ffmpeg(
        *_video_in(f"{W}x{H}", 2),
        *_audio_in(2),
        *["-c:v", "libx265", "-preset", "superfast", "-pix_fmt", "yuv420p", "-tag:v", "hvc1"],
        *["-x265-params", _HEVC_BF],
        *_AAC,
        path("hevc.mp4"),
    )
    for codec in ("h264", "hevc"):
        _ffmpeg("-i", p[f"{codec}.mp4"], "-c", "copy", path(f"{codec}.mkv"))
        _ffmpeg("-i", p[f"{codec}.mp4"], "-c", "copy", "-f", "mpegts", path(f"{codec}.ts"))
    # The same video without audio.
    _ffmpeg("-i", p["h264.mp4"], "-c", "copy", "-an", path("noaudio.mp4"))
    # MP4 with the moov up front, for truncation.
    _ffmpeg("-i", p["h264.mp4"], "-c", "copy", "-movflags", "+faststart", path("faststart.mp4"))
    # Pictures the transform stage does not take.
    for name, pix in (("yuv444.mp4", "yuv444p"), ("10bit.mp4", "yuv420p10le")):
        _ffmpeg(
            *_video_in(f"{W}x{H}", 1),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            pix,
            path(name),
        )
    # A 90-degree display matrix on h264.mp4 (a phone's portrait video).
    _ffmpeg("-i", p["h264.mp4"], "-c", "copy", "-metadata:s:v", "rotate=90", path("rot90.mp4"))
    # 640x360, 3 s with audio: for backpressure and the slow runs that get interrupted.
    _ffmpeg(*_video_in("640x360", 3), *_audio_in(3), *_X264, "bframes=2", *_AAC, path("big.mp4"))
    return p


def frames_of(path) -> list[tuple[int, bool]]:
    return tc.video_frames(str(path))


def frame_times(path) -> list[float]:
    """pts_time of every video frame in display order (ffprobe)."""
    return [float(f["pts_time"]) for f in ffprobe_json(path, "frame=pts_time")["frames"]]


def frame_sizes(path) -> Counter:
    frames = ffprobe_json(path, "frame=width,height")["frames"]
    return Counter((f["width"], f["height"]) for f in frames)


def streams_of(path) -> list[dict]:
    entries = "stream=codec_type,codec_name,time_base,width,height,r_frame_rate"
    return ffprobe_json(path, entries, stream=None)["streams"]


def remuxed_audio_hash(source, ref: Path) -> str:
    """The audio packets as ``ffmpeg -c copy`` puts them into ``ref``'s container: the
    bit-exact reference where containers package a codec differently (AAC from MPEG-TS
    carries ADTS headers, MP4 and Matroska store it raw)."""
    _ffmpeg("-i", str(source), "-map", "0:a:0", "-c", "copy", str(ref))
    digest = tc.audio_hash(str(ref))
    ref.unlink()
    assert digest is not None
    return digest


def listing(folder) -> list[str]:
    """Every name in the folder, hidden temporary files included."""
    return sorted(os.listdir(folder))


def temporaries(folder) -> list[str]:
    return [n for n in listing(folder) if n.startswith(".") and ".tmp-" in n]


def common(width=OW, height=OH, **kw) -> vh.CommonEncodeConfig:
    kw.setdefault("gop_length", 30)
    kw.setdefault("rate_control", vh.RateControl.cbr(600_000))
    return vh.CommonEncodeConfig(width=width, height=height, fps_num=FPS, fps_den=1, **kw)


def run(src_path, dst, c=None, **kw) -> vh.TranscodeReport:
    kw.setdefault("backend", "software")
    kw.setdefault("progress", False)
    return vh.transcode(src_path, dst, c if c is not None else common(), **kw)


def assert_constant_offset(out_times, src_times, tolerance=0.002):
    """Output frame times are the source's, moved by one constant (a container may rebase
    the start: MP4 and TS output start near 0 / 1.4 s, Matroska moves by the audio's
    priming); tolerance covers Matroska's millisecond time base."""
    assert len(out_times) == len(src_times)
    offsets = [o - s for o, s in zip(out_times, src_times)]
    assert max(offsets) - min(offsets) <= tolerance, (offsets[:5], offsets[-5:])


def test_sources_have_b_frames_and_audio(src):
    """The premise of the matrix below: B-frames (pts != dts order) and an AAC stream."""
    for name in ("h264.mp4", "hevc.mp4", "h264.ts", "hevc.mkv"):
        pts = [p for p, _ in frames_of(src[name])]
        assert len(pts) == SRC_FRAMES
        types = {s["codec_type"]: s["codec_name"] for s in streams_of(src[name])}
        assert types.get("audio") == "aac", types
    frames = ffprobe_json(src["hevc.mp4"], "frame=pict_type")["frames"]
    assert "B" in {f["pict_type"] for f in frames}


# --------------------------------------------------------------------------------------
# 1. Sources: H.264 / HEVC in MP4, MKV, TS with B-frames and AAC -> MP4 with a size change


@pytest.mark.parametrize("container", ["mp4", "mkv", "ts"])
@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_source_matrix_size_change(src, tmp_path, codec, container):
    source = src[f"{codec}.{container}"]
    dst = tmp_path / "out.mp4"
    report = run(source, dst, common(b_frames=2))

    src_frames = frames_of(source)
    out_frames = frames_of(dst)
    assert len(src_frames) == SRC_FRAMES
    assert report.frames == SRC_FRAMES
    assert report.outputs[0].frames == SRC_FRAMES
    assert report.outputs[0].files == (str(dst),)
    assert len(out_frames) == SRC_FRAMES
    assert out_frames[0][1], "the first frame is not a keyframe"
    assert frame_sizes(dst) == Counter({(OW, OH): SRC_FRAMES})

    if container == "mp4":
        # Same container, same time base: the pts are the source's, number for number.
        tb = [s["time_base"] for s in streams_of(dst) if s["codec_type"] == "video"]
        assert tb == [s["time_base"] for s in streams_of(source) if s["codec_type"] == "video"]
        assert [p for p, _ in out_frames] == [p for p, _ in src_frames]
    else:
        assert_constant_offset(frame_times(dst), frame_times(source))

    q = tc.quality(str(dst), source, OW, OH)
    assert q["psnr_db"] > 30, q
    assert report.audio == "copied: aac"
    assert report.outputs[0].audio_dropped == 0
    assert tc.audio_hash(str(dst)) == remuxed_audio_hash(source, tmp_path / "ref.mp4"), (
        "the audio packets are not the source's"
    )
    if container == "mp4":
        assert tc.audio_hash(str(dst)) == tc.audio_hash(source)
    assert report.decode_errors == 0 and report.timestamps_repaired == 0
    assert listing(tmp_path) == ["out.mp4"]


@pytest.mark.parametrize("container", ["mkv", "ts"])
def test_same_container_keeps_frame_times(src, tmp_path, container):
    """MKV -> MKV and TS -> TS: the frame times are the source's (seconds, exactly up to the
    container's time base). TS output without audio here: see test_output_containers."""
    source = src[f"h264.{container}"]
    dst = tmp_path / f"out.{container}"
    audio = "copy" if container == "mkv" else "none"
    run(source, dst, common(b_frames=2), audio=audio)
    out_t, src_t = frame_times(dst), frame_times(source)
    assert len(out_t) == SRC_FRAMES
    assert max(abs(a - b) for a, b in zip(out_t, src_t)) <= 0.0011


# --------------------------------------------------------------------------------------
# 2. Output containers


@pytest.mark.parametrize(
    "name, fmt, audio",
    [
        ("out.mp4", None, "copy"),
        ("out.mp4", "fmp4", "copy"),
        ("out.mkv", None, "copy"),
        # MPEG-TS carries AAC (ADTS) natively: `ffmpeg -i h264.mp4 -c copy out.ts` does it.
        ("out.ts", None, "copy"),
        ("out.ts", None, "none"),
        ("out.h264", None, "none"),
    ],
)
def test_output_containers(src, tmp_path, name, fmt, audio):
    dst = tmp_path / name
    report = run(src["h264.mp4"], dst, audio=audio, format=fmt)
    assert report.outputs[0].frames == SRC_FRAMES
    frames = frames_of(dst)
    assert len(frames) == SRC_FRAMES and frames[0][1]
    kinds = [s["codec_type"] for s in streams_of(dst)]
    assert kinds.count("video") == 1
    if audio == "copy":
        assert kinds.count("audio") == 1, kinds
        reference = remuxed_audio_hash(src["h264.mp4"], tmp_path / ("ref" + dst.suffix))
        assert tc.audio_hash(str(dst)) == reference
    else:
        assert "audio" not in kinds
    assert listing(tmp_path) == [name]


# --------------------------------------------------------------------------------------
# 3. Ladder


def test_ladder_three_rungs_from_one_decode(src, tmp_path):
    rungs = [vh.Rung(320, 180, 800_000), vh.Rung(160, 90, 300_000), vh.Rung(96, 54, 120_000)]
    report = run(src["h264.mkv"], tmp_path / "out.mkv", common(b_frames=2), rungs=rungs)
    assert len(report.outputs) == 3
    assert report.frames == SRC_FRAMES
    # One decode: the decoder saw every frame once.
    assert report.decode_telemetry["frames_out"] == SRC_FRAMES
    assert report.decode_telemetry["session_inits"] == 1
    src_t = frame_times(src["h264.mkv"])
    src_hash = tc.audio_hash(src["h264.mkv"])
    for rung, o in zip(rungs, report.outputs):
        expected = str(tmp_path / f"out_{rung.width}x{rung.height}.mkv")
        assert o.path == expected and o.files == (expected,)
        assert (o.width, o.height) == (rung.width, rung.height)
        assert o.frames == SRC_FRAMES and o.packets == SRC_FRAMES
        assert frame_sizes(expected) == Counter({(rung.width, rung.height): SRC_FRAMES})
        assert frames_of(expected)[0][1]
        assert_constant_offset(frame_times(expected), src_t)
        assert tc.audio_hash(expected) == src_hash
    assert sorted(listing(tmp_path)) == sorted(os.path.basename(o.path) for o in report.outputs)
    # Their bitrates follow the rungs (CBR): the largest rung is the largest file.
    sizes = [o.bytes for o in report.outputs]
    assert sizes[0] > sizes[1] > sizes[2]


def test_ladder_rung_paths_and_codecs(src, tmp_path):
    rungs = [
        vh.Rung(160, 90, 300_000, path=tmp_path / "a.mkv"),
        vh.Rung(96, 54, 150_000, path=str(tmp_path / "b.mp4"), codec=vh.Codec.HEVC),
    ]
    report = run(src["h264.mp4"], None, rungs=rungs)
    assert [o.path for o in report.outputs] == [str(tmp_path / "a.mkv"), str(tmp_path / "b.mp4")]
    assert [o.codec for o in report.outputs] == [vh.Codec.H264, vh.Codec.HEVC]
    for o in report.outputs:
        names = [s["codec_name"] for s in streams_of(o.path) if s["codec_type"] == "video"]
        assert names == [o.codec.value]
        assert len(frames_of(o.path)) == SRC_FRAMES


# --------------------------------------------------------------------------------------
# 4. Switches


def _first_of_generation_two(report_output) -> int:
    """Display index of generation 2's first frame (no B-frames: decode order = display)."""
    gens = report_output.packets_per_generation
    return gens[1]


AT = [
    pytest.param({"at_frame": 25}, 25, id="frame25"),
    pytest.param({"at_seconds": 1.0}, 30, id="1.0s"),
]


@pytest.mark.parametrize("at, point", AT)
@pytest.mark.parametrize("mode", list(S), ids=lambda m: m.value)
def test_bitrate_switch_stays_in_one_file(src, tmp_path, mode, at, point):
    c = common(gop_length=20, b_frames=0)
    low = dataclasses.replace(c, rate_control=vh.RateControl.cbr(150_000))
    dst = tmp_path / "out.mp4"
    report = run(src["h264.mp4"], dst, c, switches=[vh.TranscodeSwitch(low, mode=mode, **at)])
    o = report.outputs[0]
    assert o.switches == 1
    assert o.files == (str(dst),)
    assert sorted(o.packets_per_generation) == [1, 2], o.packets_per_generation
    assert sum(o.packets_per_generation.values()) == SRC_FRAMES
    frames = frames_of(dst)
    assert len(frames) == SRC_FRAMES
    first = _first_of_generation_two(o)
    if mode == S.ON_NEXT_KEYFRAME:
        # At the old encoder's next keyframe at or after the point (GOP 20: frame 40).
        assert first >= point
        assert first == 40
    else:
        assert first == point
    # Generation 2 starts on a keyframe (forced IDR; for ON_NEXT_KEYFRAME the GOP's own).
    assert frames[first][1], [i for i, (_, k) in enumerate(frames) if k]
    assert [p for p, _ in frames] == [p for p, _ in frames_of(src["h264.mp4"])]


def test_on_next_keyframe_without_forced_idr_lands_on_a_keyframe(src, tmp_path):
    c = common(gop_length=20, b_frames=0)
    low = dataclasses.replace(c, rate_control=vh.RateControl.cbr(150_000))
    dst = tmp_path / "out.mkv"
    sw = vh.TranscodeSwitch(low, at_frame=5, mode=S.ON_NEXT_KEYFRAME, force_idr_on_activate=False)
    report = run(src["h264.mp4"], dst, c, switches=[sw])
    first = _first_of_generation_two(report.outputs[0])
    frames = frames_of(dst)
    assert first == 20
    assert frames[first][1]
    assert [i for i, (_, k) in enumerate(frames) if k] == [0, 20, 40]


@pytest.mark.parametrize("at, point", AT)
@pytest.mark.parametrize("mode", list(S), ids=lambda m: m.value)
def test_size_switch_makes_a_segment(src, tmp_path, mode, at, point):
    c = common(gop_length=20, b_frames=0)
    small = dataclasses.replace(c, width=96, height=54)
    dst = tmp_path / "out.mp4"
    report = run(src["h264.mp4"], dst, c, switches=[vh.TranscodeSwitch(small, mode=mode, **at)])
    o = report.outputs[0]
    seg2 = str(tmp_path / "out.seg2.mp4")
    assert o.files == (str(dst), seg2)
    assert listing(tmp_path) == ["out.mp4", "out.seg2.mp4"]
    first = _first_of_generation_two(o)
    expected_first = 40 if mode == S.ON_NEXT_KEYFRAME else point
    assert first == expected_first
    assert o.packets_per_generation == {1: first, 2: SRC_FRAMES - first}
    assert frame_sizes(dst) == Counter({(OW, OH): first})
    assert frame_sizes(seg2) == Counter({(96, 54): SRC_FRAMES - first})
    seg_frames = frames_of(seg2)
    assert seg_frames[0][1], "a segment starts with a keyframe"
    assert len(frames_of(dst)) + len(seg_frames) == SRC_FRAMES


def test_size_switch_in_ts_stays_in_one_file(src, tmp_path):
    c = common(gop_length=20)
    small = dataclasses.replace(c, width=96, height=54)
    dst = tmp_path / "out.ts"
    sw = vh.TranscodeSwitch(small, at_frame=30, mode=S.IMMEDIATE)
    report = run(src["h264.mp4"], dst, c, switches=[sw], audio="none")
    assert report.outputs[0].files == (str(dst),)
    assert frame_sizes(dst) == Counter({(OW, OH): 30, (96, 54): 30})


def test_codec_switch_and_switch_on_a_later_rung(src, tmp_path):
    c = common(gop_length=20)
    rungs = [vh.Rung(160, 90, 300_000), vh.Rung(96, 54, 120_000)]
    hevc = dataclasses.replace(c, width=96, height=54, codec=vh.Codec.HEVC)
    report = run(
        src["h264.mp4"],
        tmp_path / "out.mkv",
        c,
        rungs=rungs,
        switches=[vh.TranscodeSwitch(hevc, at_frame=30, mode=S.IMMEDIATE, rung=1)],
    )
    first, second = report.outputs
    assert first.switches == 0 and first.packets_per_generation == {1: SRC_FRAMES}
    assert second.switches == 1 and second.packets_per_generation == {1: 30, 2: 30}
    assert len(second.files) == 2
    codecs = [
        [s["codec_name"] for s in streams_of(f) if s["codec_type"] == "video"] for f in second.files
    ]
    assert codecs == [["h264"], ["hevc"]]
    assert sum(len(frames_of(f)) for f in second.files) == SRC_FRAMES


def test_switch_by_time_counts_from_the_start_of_the_source(src, tmp_path):
    """at_seconds is source time from the start of the file, as progress().seconds_done is:
    an MPEG-TS whose first frame has pts 1.47 s switches "at 1 s" at frame 30, as the MP4
    and Matroska copies of the same video do."""
    c = common(gop_length=20)
    low = dataclasses.replace(c, rate_control=vh.RateControl.cbr(150_000))
    gens = {}
    for container in ("mp4", "mkv", "ts"):
        report = run(
            src[f"h264.{container}"],
            tmp_path / f"out_{container}.mkv",
            c,
            switches=[vh.TranscodeSwitch(low, at_seconds=1.0, mode=S.IMMEDIATE)],
        )
        gens[container] = report.outputs[0].packets_per_generation
    assert gens["mp4"] == {1: 30, 2: 30}
    assert gens["mkv"] == {1: 30, 2: 30}
    assert gens["ts"] == {1: 30, 2: 30}, gens


def test_switch_after_the_end_never_happens(src, tmp_path):
    c = common()
    low = dataclasses.replace(c, rate_control=vh.RateControl.cbr(150_000))
    report = run(
        src["h264.mp4"], tmp_path / "out.mp4", c, switches=[vh.TranscodeSwitch(low, at_frame=1000)]
    )
    assert report.outputs[0].switches == 0
    assert report.outputs[0].packets_per_generation == {1: SRC_FRAMES}


# --------------------------------------------------------------------------------------
# 5. Audio


def test_audio_none_writes_no_audio_stream(src, tmp_path):
    dst = tmp_path / "out.mp4"
    report = run(src["h264.mp4"], dst, audio="none")
    assert report.audio == "none"
    assert [s["codec_type"] for s in streams_of(dst)] == ["video"]
    assert report.outputs[0].audio_packets == 0
    assert len(frames_of(dst)) == SRC_FRAMES


def test_source_without_audio(src, tmp_path):
    dst = tmp_path / "out.mkv"
    report = run(src["noaudio.mp4"], dst)
    assert report.audio == "no audio stream"
    assert [s["codec_type"] for s in streams_of(dst)] == ["video"]
    assert len(frames_of(dst)) == SRC_FRAMES


def test_annexb_output_with_audio_copy_is_refused(src, tmp_path):
    with pytest.raises(vh.ConfigError, match="audio"):
        run(src["h264.mp4"], tmp_path / "out.h264")
    assert listing(tmp_path) == []
    report = run(src["h264.mp4"], tmp_path / "out.h264", audio="none")
    assert report.outputs[0].frames == SRC_FRAMES
    assert len(frames_of(tmp_path / "out.h264")) == SRC_FRAMES


def test_audio_copied_into_every_rung_and_segment(src, tmp_path):
    c = common(gop_length=20)
    small = dataclasses.replace(c, width=96, height=54)
    report = run(
        src["h264.mp4"],
        tmp_path / "out.mkv",
        c,
        switches=[vh.TranscodeSwitch(small, at_frame=30, mode=S.IMMEDIATE)],
    )
    o = report.outputs[0]
    assert len(o.files) == 2
    src_packets = packet_count(src["h264.mp4"], "a:0")
    # Written + dropped (those before the second segment's first keyframe) = the source's.
    assert o.audio_packets + o.audio_dropped == src_packets
    for f in o.files:
        assert "audio" in [s["codec_type"] for s in streams_of(f)]


# --------------------------------------------------------------------------------------
# 6. Interrupt, cancel, drop


def _slow() -> dict:
    """A run that takes over a second (640x360 at the veryslow preset), to interrupt."""
    return dict(
        c=common(640, 360, rate_control=vh.RateControl.cbr(1_000_000)),
        backend_config=vh.SoftwareEncodeConfig(preset="veryslow"),
    )


def _slow_job(src, dst, **kw) -> vh.Transcode:
    """A ``vh.Transcode`` of the big source on the slow settings, not started."""
    slow = _slow()
    return vh.Transcode(
        src["big.mp4"], dst, slow["c"], "software", backend_config=slow["backend_config"], **kw
    )


def test_keyboard_interrupt_from_progress_callback_leaves_nothing(src, tmp_path):
    seen = []

    def callback(p: vh.TranscodeProgress) -> None:
        seen.append(p.frames)
        raise KeyboardInterrupt

    slow = _slow()
    with pytest.raises(KeyboardInterrupt):
        run(
            src["big.mp4"],
            tmp_path / "out.mp4",
            slow["c"],
            progress=callback,
            backend_config=slow["backend_config"],
        )
    assert seen, "the callback was never called"
    assert listing(tmp_path) == []


def test_keyboard_interrupt_in_the_last_progress_call_leaves_nothing(src, tmp_path):
    """The callback is called once more after the run; Ctrl-C there must not leave the
    output behind either (docs/transcode.md: Ctrl-C cancels and removes the outputs)."""
    calls = []

    def callback(p: vh.TranscodeProgress) -> None:
        calls.append(p.frames)
        if p.frames == SRC_FRAMES:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(src["h264.mp4"], tmp_path / "out.mp4", progress=callback)
    assert calls and calls[-1] == SRC_FRAMES
    assert listing(tmp_path) == [], "KeyboardInterrupt propagated, yet the output was kept"


def test_progress_callback_sees_the_run(src, tmp_path):
    seen: list[vh.TranscodeProgress] = []
    run(src["big.mp4"], tmp_path / "out.mp4", common(640, 360), progress=seen.append)
    assert seen
    frames = [p.frames for p in seen]
    assert frames == sorted(frames)
    assert frames[-1] == 90
    assert seen[-1].total_frames == 90
    assert abs(seen[-1].duration_seconds - 3.0) < 0.1


def test_transcode_cancel_then_finish_raises_and_leaves_nothing(src, tmp_path):
    job = _slow_job(src, tmp_path / "out.mp4")
    job.start()
    assert job.wait(0.05) is False
    job.cancel()
    assert job.wait(10.0) is True
    with pytest.raises(vh.VideoHwError, match="cancelled"):
        job.finish()
    assert listing(tmp_path) == []


def test_transcode_cancel_from_another_thread(src, tmp_path):
    job = _slow_job(
        src, tmp_path / "out.mkv", rungs=[vh.Rung(640, 360, 900_000), vh.Rung(320, 180, 300_000)]
    )
    job.start()
    timer = threading.Timer(0.2, job.cancel)
    timer.start()
    try:
        with pytest.raises(vh.VideoHwError, match="cancelled"):
            job.finish()
    finally:
        timer.join()
    assert listing(tmp_path) == []


def test_dropping_a_started_transcode_leaves_nothing(src, tmp_path):
    job = _slow_job(src, tmp_path / "out.mp4")
    job.start()
    assert job.wait(0.05) is False
    assert temporaries(tmp_path), "a running transcode writes a temporary file"
    del job
    gc.collect()
    assert listing(tmp_path) == []


def test_dropping_a_transcode_that_ended_without_finish_leaves_nothing(src, tmp_path):
    """Every stage ended, finish() never called: nothing under the requested name."""
    job = vh.Transcode(src["h264.mp4"], tmp_path / "out.mp4", common(), "software")
    job.start()
    assert job.wait(30.0)
    del job
    gc.collect()
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------------------
# 7. Backpressure


def test_slow_rung_holds_the_others_without_drops(src, tmp_path):
    rungs = [vh.Rung(640, 360, 1_500_000), vh.Rung(64, 36, 40_000)]
    report = run(src["big.mp4"], tmp_path / "out.mp4", common(640, 360), rungs=rungs)
    big, small = report.outputs
    for o in report.outputs:
        assert o.frames == 90 and o.packets == 90
        assert len(frames_of(o.path)) == 90
        assert o.audio_dropped == 0
    # The dispatch waited for room in the large rung's pipeline.
    assert big.submit_wait_seconds > 0
    assert big.submit_wait_seconds > small.submit_wait_seconds


# --------------------------------------------------------------------------------------
# 8. Hostile input and arguments


def test_missing_source_names_the_path(tmp_path):
    missing = str(tmp_path / "nope.mp4")
    with pytest.raises((FileNotFoundError, vh.VideoHwError)) as info:
        run(missing, tmp_path / "out.mp4")
    assert "nope.mp4" in str(info.value)
    assert listing(tmp_path) == []


def test_directory_as_source(tmp_path):
    folder = tmp_path / "adir"
    folder.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(vh.MediaError, match="adir"):
        run(str(folder), out / "out.mp4")
    assert listing(out) == []


def test_garbage_source(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(bytes(range(256)) * 100)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(vh.InvalidMediaError, match="garbage.mp4"):
        run(str(garbage), out / "out.mp4")
    assert listing(out) == []


def _cut(data: bytes, size: int, path: Path) -> str:
    path.write_bytes(data[:size])
    return str(path)


def _video_packet_end(path: str, index: int) -> int:
    """Byte offset just after the video packet that is ``index``-th in file order."""
    listed = ffprobe_json(path, "packet=pos,size")["packets"]
    packets = sorted((int(p["pos"]), int(p["size"])) for p in listed if "pos" in p)
    pos, size = packets[index]
    return pos + size


@pytest.mark.parametrize("how", ["moov_at_end_half", "faststart_half", "faststart_at_a_sample"])
def test_truncated_mp4(src, tmp_path, how):
    """Either a valid output with fewer frames that the report owns up to, or a videohw
    error; never a partial file."""
    if how == "moov_at_end_half":
        data = Path(src["h264.mp4"]).read_bytes()
        cut = _cut(data, len(data) // 2, tmp_path / "cut.mp4")
    elif how == "faststart_half":
        data = Path(src["faststart.mp4"]).read_bytes()
        cut = _cut(data, len(data) // 2, tmp_path / "cut.mp4")
    else:
        # Cut exactly after a sample: every packet read is whole, the rest are missing.
        data = Path(src["faststart.mp4"]).read_bytes()
        cut = _cut(data, _video_packet_end(src["faststart.mp4"], 29), tmp_path / "cut.mp4")
    out = tmp_path / "out"
    out.mkdir()
    dst = out / "out.mkv"
    try:
        report = run(cut, dst)
    except vh.VideoHwError:
        assert listing(out) == []
        return
    frames = frames_of(dst)
    assert 0 < len(frames) < SRC_FRAMES
    assert len(frames) == report.frames
    assert report.decode_errors > 0 or report.input_warning, (
        f"{len(frames)} of the container's {SRC_FRAMES} frames were transcoded and the "
        f"report says nothing: decode_errors={report.decode_errors}, "
        f"input_warning={report.input_warning!r}"
    )
    assert listing(out) == ["out.mkv"]


@pytest.mark.parametrize("name", ["yuv444.mp4", "10bit.mp4"])
def test_pictures_the_transform_does_not_take(src, tmp_path, name):
    with pytest.raises(vh.UnsupportedConfigError) as info:
        run(src[name], tmp_path / "out.mp4", common(W, H))
    assert "4:2:0" in str(info.value)
    assert listing(tmp_path) == []


def displayed_size(path) -> tuple[int, int]:
    """The size a player shows: the stored size turned by the display matrix, if any."""
    entries = "stream=width,height:stream_side_data=rotation"
    stream = ffprobe_json(path, entries)["streams"][0]
    rotation = next(
        (int(d["rotation"]) for d in stream.get("side_data_list", []) if "rotation" in d), 0
    )
    w, h = stream["width"], stream["height"]
    return (h, w) if abs(rotation) % 180 == 90 else (w, h)


def test_rotated_source_keeps_its_orientation(src, tmp_path):
    """A phone video: stored 320x180 with a 90-degree display matrix, shown 180x320.
    Players (and ffmpeg's own transcode) show it upright; the output must show the same
    pictures, whether it keeps the matrix or turns the pixels."""
    assert displayed_size(src["rot90.mp4"]) == (H, W)
    dst = tmp_path / "out.mp4"
    report = run(src["rot90.mp4"], dst, common(W, H, rate_control=vh.RateControl.cbr(1_500_000)))
    assert report.frames == SRC_FRAMES
    shown = displayed_size(dst)
    assert shown == (H, W), (
        f"the source shows {H}x{W} pictures, the output {shown[0]}x{shown[1]}: the display "
        "matrix was dropped (and the pixels not turned), so the output plays sideways"
    )
    # quality() decodes both with ffmpeg, which applies display matrices (autorotate).
    q = tc.quality(str(dst), src["rot90.mp4"], H, W)
    assert q["psnr_db"] > 30, q


@pytest.mark.parametrize(
    "kwargs, error, needle",
    [
        (dict(src=5), vh.InvalidTypeError, "src"),
        (dict(src=None), vh.InvalidTypeError, "src"),
        (dict(c="320x180"), vh.InvalidTypeError, "common"),
        (dict(rungs=[(160, 90, 300_000)]), vh.InvalidTypeError, "rungs[0]"),
        (dict(rungs="abc"), vh.InvalidTypeError, "rungs[0]"),
        (dict(switches=[1]), vh.InvalidTypeError, "switches[0]"),
        (dict(switches="x"), vh.InvalidTypeError, "switches[0]"),
        (dict(audio="aac"), vh.ConfigError, "audio"),
        (dict(format="avi"), vh.ConfigError, "format"),
        (dict(backend="quantum"), vh.ConfigError, "backend"),
        (dict(max_frames=-1), vh.ConfigError, "max_frames"),
        (dict(max_frames=2.5), vh.ConfigError, "max_frames"),
        (dict(c=vh.CommonEncodeConfig(width=160, height=90, fps_num=25)), vh.ConfigError, "fps"),
    ],
    ids=lambda v: repr(v)[:40] if not isinstance(v, type) else v.__name__,
)
def test_bad_arguments(src, tmp_path, kwargs, error, needle):
    kwargs = dict(kwargs)
    source = kwargs.pop("src", src["h264.mp4"])
    c = kwargs.pop("c", common())
    with pytest.raises(error) as info:
        run(source, tmp_path / "out.mp4", c, **kwargs)
    assert needle in str(info.value)
    assert listing(tmp_path) == []


def test_bad_switches(src, tmp_path):
    c = common()
    with pytest.raises(vh.ConfigError, match="rung 2"):
        run(
            src["h264.mp4"],
            tmp_path / "out.mp4",
            c,
            switches=[vh.TranscodeSwitch(c, at_frame=3, rung=2)],
        )
    with pytest.raises(vh.ConfigError, match="exactly one"):
        vh.TranscodeSwitch(c, at_frame=3, at_seconds=1.0)
    with pytest.raises(vh.ConfigError, match="exactly one"):
        vh.TranscodeSwitch(c)
    with pytest.raises(vh.ConfigError, match="at_seconds"):
        vh.TranscodeSwitch(c, at_seconds=-1.0)
    with pytest.raises(vh.ConfigError, match="at_seconds"):
        vh.TranscodeSwitch(c, at_seconds=float("nan"))
    with pytest.raises(vh.ConfigError, match="at_frame"):
        vh.TranscodeSwitch(c, at_frame=-2)
    with pytest.raises(vh.InvalidTypeError, match="mode"):
        vh.TranscodeSwitch(c, at_frame=3, mode="immediate")
    with pytest.raises(vh.ConfigError, match="fps"):
        run(
            src["h264.mp4"],
            tmp_path / "out.mp4",
            c,
            switches=[vh.TranscodeSwitch(dataclasses.replace(c, fps_num=60), at_frame=3)],
        )
    assert listing(tmp_path) == []


def test_output_over_the_source_is_refused(src, tmp_path):
    copy = tmp_path / "in.mp4"
    shutil.copy(src["h264.mp4"], copy)
    before = copy.read_bytes()
    for dst in (copy, f"{tmp_path}/./in.mp4", f"{tmp_path}/../{tmp_path.name}/in.mp4"):
        with pytest.raises(vh.ConfigError, match="source"):
            run(str(copy), dst)
    with pytest.raises(vh.ConfigError, match="source"):
        run(str(copy), None, rungs=[vh.Rung(160, 90, 300_000, path=copy)])
    assert copy.read_bytes() == before
    assert listing(tmp_path) == ["in.mp4"]


def test_two_rungs_with_one_path(src, tmp_path):
    same = tmp_path / "x.mp4"
    with pytest.raises(vh.ConfigError, match="same file"):
        run(
            src["h264.mp4"],
            None,
            rungs=[vh.Rung(160, 90, 300_000, path=same), vh.Rung(96, 54, 100_000, path=same)],
        )
    # Rungs named after dst with the same size collide too.
    with pytest.raises(vh.ConfigError, match="same file"):
        run(
            src["h264.mp4"],
            tmp_path / "out.mp4",
            rungs=[vh.Rung(160, 90, 300_000), vh.Rung(160, 90, 100_000)],
        )
    assert listing(tmp_path) == []


def test_output_in_a_missing_folder(src, tmp_path):
    with pytest.raises(vh.MediaError, match="nofolder"):
        run(src["h264.mp4"], tmp_path / "nofolder" / "out.mp4")
    assert listing(tmp_path) == []


def test_ladder_with_one_rung_in_a_missing_folder_leaves_no_other_rung(src, tmp_path):
    rungs = [
        vh.Rung(160, 90, 300_000, path=tmp_path / "ok.mp4"),
        vh.Rung(96, 54, 100_000, path=tmp_path / "nofolder" / "bad.mp4"),
    ]
    with pytest.raises(vh.MediaError, match="nofolder"):
        run(src["h264.mp4"], None, rungs=rungs)
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------------------
# 9. max_frames


@pytest.mark.parametrize("n", [1, 7, 59])
def test_max_frames(src, tmp_path, n):
    dst = tmp_path / "out.mp4"
    report = run(src["hevc.mkv"], dst, common(b_frames=2), max_frames=n)
    assert report.frames == n
    assert report.outputs[0].frames == n
    frames = frames_of(dst)
    assert len(frames) == n and frames[0][1]
    # The first n frames of the source, at their times.
    assert_constant_offset(frame_times(dst), frame_times(src["hevc.mkv"])[:n])


def test_max_frames_beyond_the_end(src, tmp_path):
    report = run(src["h264.mp4"], tmp_path / "out.mp4", max_frames=1000)
    assert report.frames == SRC_FRAMES


def test_max_frames_zero(src, tmp_path):
    """max_frames=0 is accepted by the argument check; what it gives must not blame the
    input ("no picture could be decoded") and must leave no file."""
    try:
        report = run(src["h264.mp4"], tmp_path / "out.mp4", max_frames=0)
    except vh.DecodeError as e:
        pytest.fail(f"max_frames=0 blames the input: DecodeError({e})")
    except vh.ConfigError as e:
        assert "max_frames" in str(e)
        assert listing(tmp_path) == []
    else:
        assert report.frames == 0


# --------------------------------------------------------------------------------------
# 10. Two at once


def test_two_transcodes_on_two_threads(src, tmp_path):
    jobs = [
        (src["h264.mp4"], tmp_path / "a.mp4", common(b_frames=2)),
        (src["hevc.mkv"], tmp_path / "b.mkv", common(96, 54, codec=vh.Codec.HEVC)),
    ]
    results: dict[int, object] = {}
    start = threading.Barrier(len(jobs))

    def work(i, source, dst, c):
        try:
            start.wait()
            results[i] = run(source, dst, c)
        except BaseException as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=work, args=(i, *job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for i, (source, dst, c) in enumerate(jobs):
        report = results[i]
        assert isinstance(report, vh.TranscodeReport), report
        frames = frames_of(dst)
        assert len(frames) == SRC_FRAMES and frames[0][1]
        assert_constant_offset(frame_times(dst), frame_times(source))
        assert tc.quality(str(dst), source, c.width, c.height)["psnr_db"] > 30
        assert tc.audio_hash(str(dst)) == tc.audio_hash(source)


# --------------------------------------------------------------------------------------
# The checker itself says no


def test_check_transcode_passes_and_catches_a_wrong_file(src, tmp_path):
    dst = tmp_path / "out.mp4"
    report = run(src["h264.mp4"], dst)
    result = tc.check_transcode(report)[str(dst)]
    assert result["problems"] == [] and result["frames"] == SRC_FRAMES
    assert result["audio_bit_exact"] is True and result["psnr_db"] > 30
    # Another video under the output's name: frames and audio are still right, PSNR is not.
    _ffmpeg(
        *_video_in(f"{OW}x{OH}", 2),
        "-vf",
        "negate",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(tmp_path / "neg.mp4"),
    )
    wrong = dataclasses.replace(report.outputs[0], files=(str(tmp_path / "neg.mp4"),))
    result = tc.check_output(report, wrong)
    assert result["psnr_db"] < 20
    assert result["problems"], result  # no audio in it


def test_queue_peaks_stay_within_their_bounds(src, tmp_path):
    """The report's queue peaks: decoded frames within decoded_frames (8) plus what the
    final flush drains, each output's frames in flight within the encoder's max_in_flight,
    audio within its 512 packets."""
    report = run(
        src["h264.mp4"],
        tmp_path / "out.mp4",
        rungs=[vh.Rung(320, 180, 400_000), vh.Rung(160, 90, 100_000)],
        backend_config=vh.SoftwareEncodeConfig(max_in_flight=3),
    )
    peaks = report.queue_peaks
    assert set(peaks) == {
        "decoded",
        "rung 0 in flight",
        "rung 0 audio",
        "rung 1 in flight",
        "rung 1 audio",
    }
    # The decode stage stops at 8; the flush at the end of the input may add what the
    # decoder holds: its frame threads (libavcodec: cores + 1) and reorder buffer (<= 16).
    assert 1 <= peaks["decoded"] <= 8 + 16 + (os.cpu_count() or 1) + 1, peaks
    assert 1 <= peaks["rung 0 in flight"] <= 3 and 1 <= peaks["rung 1 in flight"] <= 3
    assert 1 <= peaks["rung 0 audio"] <= 512
    assert "queue peaks:" in report.summary()


@pytest.mark.parametrize(
    "fps, expected, repeated, dropped",
    [(60, 120, 60, 0), (24, 48, 0, 12), (15, 30, 0, 30), (Fraction(30000, 1001), 60, 0, 0)],
)
def test_frame_rate_change_repeats_or_drops_to_the_rate(
    src, tmp_path, fps, expected, repeated, dropped
):
    """fps=: output slot k shows the latest source frame at or before it; the file plays
    at the new rate, as long as the source (2 s), frames one slot apart."""
    dst = tmp_path / "out.mp4"
    report = vh.transcode(src["h264.mp4"], dst, None, backend="software", progress=False, fps=fps)
    assert report.frames == report.outputs[0].frames == expected
    assert (report.frames_repeated, report.frames_dropped) == (repeated, dropped)
    times = frame_times(dst)
    assert len(times) == expected
    step = 1 / float(Fraction(fps))
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(abs(g - step) < 0.001 for g in gaps), gaps[:5]
    info = next(s for s in streams_of(dst) if s["codec_type"] == "video")
    assert Fraction(info["r_frame_rate"]) == Fraction(fps)
    if report.frames_repeated or report.frames_dropped:
        assert "frame rate:" in report.summary()


def test_a_config_at_another_rate_needs_fps(src, tmp_path):
    at_60 = dataclasses.replace(common(), fps_num=60)
    with pytest.raises(vh.ConfigError, match="fps="):
        run(src["h264.mp4"], tmp_path / "out.mp4", at_60)
    with pytest.raises(vh.ConfigError, match="converts to"):
        run(src["h264.mp4"], tmp_path / "out.mp4", common(), fps=60)
    with pytest.raises(vh.InvalidTypeError):
        run(src["h264.mp4"], tmp_path / "out.mp4", fps="fast")
    with pytest.raises(vh.ConfigError):
        run(src["h264.mp4"], tmp_path / "out.mp4", fps=0)
    assert listing(tmp_path) == []
