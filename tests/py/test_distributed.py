"""videohw.distributed on one local Ray (2 CPUs, started once per test session: the
``ray_local`` fixture in conftest.py): batch transcodes equal to single-process ones, a
worker killed mid-file, segments split and joined, frame datasets, misuse.

Sources are made with the ffmpeg CLI; outputs are read back with ffprobe / ffmpeg, never
with videohw.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import videohw as vh
from ffprobe_check import ffprobe_json, packet_count

pytestmark = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
    reason="needs the ffmpeg / ffprobe tools to make sources and check outputs",
)

FPS = 30
# Deterministic x264 (no B-frames, no lookahead threads): equal settings give equal bytes.
LOW = vh.CommonEncodeConfig(
    codec=vh.Codec.H264,
    width=160,
    height=90,
    fps_num=FPS,
    fps_den=1,
    gop_length=30,
    low_latency=True,
    b_frames=0,
    rate_control=vh.RateControl.cbr(400_000),
)


def _ffmpeg(*args: str) -> None:
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr


def _source(
    path, size: str, seconds: float, codec: str = "libx264", audio: bool = True, gop: int = 30
):
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={FPS}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    params = f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2:b-adapt=0"
    args += ["-c:v", codec, "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    args += ["-x264-params" if codec == "libx264" else "-x265-params", params]
    if codec == "libx265":
        args[-1] = f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2:log-level=error"
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k"]
    _ffmpeg(*args, str(path))
    return str(path)


def _packets(path) -> list[tuple[str, str, str]]:
    """The video packets as ffprobe lists them: (pts, dts, flags)."""
    listed = ffprobe_json(path, "packet=pts,dts,flags", timeout=120)["packets"]
    return [(p.get("pts"), p.get("dts"), p["flags"]) for p in listed]


def _audio_count(path) -> int:
    return packet_count(path, "a:0", timeout=120)


def _video_bytes(path) -> bytes:
    """The video elementary stream, Annex-B, as ffmpeg copies it out."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy",
         "-bsf:v", "h264_mp4toannexb", "-f", "h264", "-"],
        capture_output=True, check=True, timeout=120,
    ).stdout  # fmt: skip


def _frames(path) -> int:
    return len(_packets(path))


def _listing(folder) -> list[str]:
    out = []
    for root, dirs, names in os.walk(folder):
        out += [os.path.relpath(os.path.join(root, n), folder) for n in names]
        out += [os.path.relpath(os.path.join(root, d), folder) + "/" for d in dirs]
    return sorted(out)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Eight short clips: H.264 and HEVC, four sizes, MP4 / MKV / TS, most with AAC."""
    folder = tmp_path_factory.mktemp("clips")
    specs = [
        ("a.mp4", "320x180", "libx264", True),
        ("b.mkv", "256x144", "libx265", True),
        ("c.ts", "320x180", "libx264", True),
        ("d.mp4", "192x108", "libx264", False),
        ("e.mp4", "256x144", "libx265", True),
        ("f.mp4", "320x180", "libx264", True),
        ("g.mkv", "192x108", "libx264", True),
        ("h.mp4", "256x144", "libx264", False),
    ]
    return [_source(folder / name, size, 1.5, codec, audio) for name, size, codec, audio in specs]


# --------------------------------------------------------------------------------------
# Batch = single process, with sessions kept


def test_batch_outputs_equal_single_process_transcodes(ray_local, clips, tmp_path):
    report = transcode_many_quiet(clips, tmp_path / "batch", LOW, workers=2)
    assert report.ok, report.summary()
    (tmp_path / "single").mkdir()
    assert len(report.done) == len(clips) and not report.retried
    for f in report.files:
        name = os.path.basename(f.outputs[0])
        single = tmp_path / "single" / name
        vh.transcode(f.source, single, LOW, backend="software", progress=False)
        assert _packets(f.outputs[0]) == _packets(single), f.source
        assert _video_bytes(f.outputs[0]) == _video_bytes(single), f.source
        assert _audio_count(f.outputs[0]) == _audio_count(single), f.source
    # Every worker started one decode and one encode session, whatever it was given.
    workers = report.telemetry
    assert sum(t["files"] for t in workers.values()) == len(clips)
    for name, t in workers.items():
        assert t["session_inits"] == 2, (name, t)
        if t["files"] >= 3:
            assert t["session_inits"] < t["files"], (name, t)
        assert t["encode_restarts"] == t["files"] - 1 and t["decode_switches"] == t["files"] - 1


def test_new_sessions_per_file_start_a_session_pair_per_file(ray_local, clips, tmp_path):
    report = transcode_many_quiet(
        clips[:4], tmp_path / "out", LOW, workers=2, persistent_sessions=False
    )
    assert report.ok, report.summary()
    assert report.session_inits == 2 * 4
    kept = transcode_many_quiet(clips[:4], tmp_path / "kept", LOW, workers=2)
    assert kept.session_inits == 2 * len([t for t in kept.telemetry.values() if t["files"]])
    for a, b in zip(report.files, kept.files):
        assert _video_bytes(a.outputs[0]) == _video_bytes(b.outputs[0])


def transcode_many_quiet(*args, **kwargs):
    from videohw.distributed import transcode_many

    kwargs.setdefault("backend", "software")
    kwargs.setdefault("progress", False)
    return transcode_many(*args, **kwargs)


def test_a_ladder_gives_every_rung_per_file(ray_local, clips, tmp_path):
    rungs = [vh.Rung(160, 90, 300_000), vh.Rung(96, 54, 150_000)]
    report = transcode_many_quiet(clips[:3], tmp_path, LOW, ladder=rungs, workers=2)
    assert report.ok, report.summary()
    for f in report.files:
        assert [os.path.basename(p) for p in f.outputs] == [
            os.path.splitext(os.path.basename(f.source))[0] + s
            for s in ("_160x90.mp4", "_96x54.mp4")
        ]
        for path in f.outputs:
            assert _frames(path) == 45


def test_progress_reaches_every_file_and_frame(ray_local, clips, tmp_path):
    seen = []
    report = transcode_many_quiet(clips[:4], tmp_path, LOW, workers=2, progress=seen.append)
    assert report.ok
    last = seen[-1]
    assert last.files_done == last.files_total == 4
    assert last.frames == last.frames_total == 4 * 45
    assert all(a.frames <= b.frames for a, b in zip(seen, seen[1:]))


# --------------------------------------------------------------------------------------
# A worker killed mid-file


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("long")
    return [_source(folder / f"l{i}.mp4", "640x360", 8, audio=i % 2 == 0) for i in range(3)]


def test_a_killed_worker_loses_no_file(ray_local, long_clips, tmp_path):
    out = tmp_path / "out"
    killed = []

    def kill_one(progress):
        if killed or not progress.in_flight:
            return
        worker, key = sorted(progress.in_flight.items())[0]
        ray_local.kill(ray_local.get_actor(worker))
        killed.append((worker, key))

    common = vh.CommonEncodeConfig(
        codec=vh.Codec.H264, width=320, height=180, fps_num=FPS, fps_den=1, gop_length=60
    )
    report = transcode_many_quiet(long_clips, out, common, workers=2, progress=kill_one)
    assert killed, "the batch ended before a worker could be killed"
    assert report.ok, report.summary()
    retried = report.retried
    assert [os.path.splitext(os.path.basename(f.source))[0] for f in retried] == [killed[0][1]]
    assert retried[0].attempts == 2 and "died" in retried[0].retry_reasons[0]
    assert report.telemetry[killed[0][0]]["died"]
    for f in report.files:
        assert _frames(f.outputs[0]) == 8 * FPS, f.source
        if _audio_count(f.source):
            assert _audio_count(f.outputs[0]) == _audio_count(f.source)
    # Only the finished outputs: no temporary file or folder is left.
    assert _listing(out) == ["l0.mp4", "l1.mp4", "l2.mp4"]


def test_ctrl_c_stops_the_batch_and_leaves_only_whole_outputs(ray_local, long_clips, tmp_path):
    out = tmp_path / "out"
    names = []

    def interrupt(progress):
        if progress.in_flight:
            names.extend(progress.in_flight)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        transcode_many_quiet(long_clips, out, LOW, workers=2, progress=interrupt)
    assert names
    # No temporary folder; whatever is in place is whole.
    for name in _listing(out):
        assert not name.startswith("."), name
        assert _frames(out / name) == 8 * FPS
    # The batch's workers were stopped (ray.kill is asynchronous: give it a moment).
    import time

    from ray.util import list_named_actors

    for _ in range(50):
        if not set(names) & set(list_named_actors()):
            break
        time.sleep(0.1)
    assert not set(names) & set(list_named_actors())


def test_a_broken_input_fails_alone_and_leaves_nothing(ray_local, clips, tmp_path):
    bad = tmp_path / "bad.mp4"
    data = open(clips[0], "rb").read()
    bad.write_bytes(data[: len(data) // 3])  # the moov atom is at the end: unreadable
    out = tmp_path / "out"
    # One that cannot be probed fails in the driver, one that probes but cannot be decoded
    # fails in its worker; the others are done.
    garbage = tmp_path / "garbage.h264"
    garbage.write_bytes(b"\x00\x00\x00\x01\x65" + os.urandom(4000))
    report = transcode_many_quiet([clips[0], str(bad), clips[3], str(garbage)], out, LOW, workers=2)
    by_name = {os.path.basename(f.source): f for f in report.files}
    assert by_name["bad.mp4"].status == "failed" and "MediaError" in by_name["bad.mp4"].error
    assert by_name["garbage.h264"].status == "failed" and by_name["garbage.h264"].error
    assert by_name["garbage.h264"].outputs == ()
    assert by_name["a.mp4"].status == "done" and by_name["d.mp4"].status == "done"
    assert _listing(out) == ["a.mp4", "d.mp4"]


# --------------------------------------------------------------------------------------
# Segments


@pytest.fixture(scope="module")
def sixty_seconds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sixty")
    return _source(folder / "sixty.mp4", "160x90", 60, gop=60)


@pytest.mark.parametrize("b_frames", [0, 2])
def test_segments_join_into_the_single_process_output(ray_local, sixty_seconds, tmp_path, b_frames):
    common = vh.CommonEncodeConfig(
        codec=vh.Codec.H264,
        width=128,
        height=72,
        fps_num=FPS,
        fps_den=1,
        gop_length=60,
        b_frames=b_frames,
        rate_control=vh.RateControl.cbr(200_000),
    )
    report = transcode_many_quiet([sixty_seconds], tmp_path / "seg", common, segment_seconds=10)
    assert report.ok, report.summary()
    (f,) = report.files
    assert f.segments == 6, f.note
    whole = tmp_path / "whole.mp4"
    vh.transcode(sixty_seconds, whole, common, backend="software", progress=False)
    joined = _packets(f.outputs[0])
    single = _packets(whole)
    assert len(joined) == len(single) == 60 * FPS
    # Same keyframes, same presentation times (decode times may differ by the B-frame delay
    # the encoder chose, so they are not compared).
    assert sorted((p[0], "K" in p[2]) for p in joined) == sorted(
        (p[0], "K" in p[2]) for p in single
    )
    assert _audio_count(f.outputs[0]) == _audio_count(whole) == _audio_count(sixty_seconds)


def test_segments_are_joined_in_order_whatever_order_they_arrive(sixty_seconds, tmp_path):
    """The driver writes each segment as soon as those before it are written, and holds
    only the ones that came early (the join runs without Ray: the worker is a plain class)."""
    from videohw.distributed import Job, TranscodeWorker, plan_segments
    from videohw.distributed.batch import _File, _Joiner

    video = vh.probe(sixty_seconds).best_video
    segments, _ = plan_segments(sixty_seconds, video.index, video.time_base, 20, LOW.gop_length)
    assert len(segments) == 3
    worker = TranscodeWorker("w", "software")
    results = {
        s.index: worker.run(
            Job("sixty", sixty_seconds, LOW, segment=s.core_range(), segment_index=s.index)
        )
        for s in segments
    }
    worker.close()

    def plan(name):
        return _File(0, sixty_seconds, name, video, LOW, [str(tmp_path / f"{name}.mp4")],
                     segments, "")  # fmt: skip

    in_order = _Joiner(plan("in_order"), None, "copy", None)
    # Copies: a joiner lets go of a segment's packets once written.
    assert in_order.feed({i: dataclasses.replace(r) for i, r in results.items()})
    late = plan("late")
    joiner = _Joiner(late, None, "copy", None)
    held = {2: results[2]}
    assert not joiner.feed(held) and held[2].packets, "segment 2 waits for 0 and 1"
    assert not (tmp_path / "late.mp4").exists()
    held[0] = results[0]
    assert not joiner.feed(held) and held[0].packets == [] and held[2].packets
    held[1] = results[1]
    assert joiner.feed(held) and all(r.packets == [] for r in held.values())
    assert _packets(tmp_path / "late.mp4") == _packets(tmp_path / "in_order.mp4")
    assert len(_packets(tmp_path / "late.mp4")) == 60 * FPS
    assert _audio_count(tmp_path / "late.mp4") == _audio_count(sixty_seconds)


def test_short_inputs_go_whole(ray_local, clips, tmp_path):
    report = transcode_many_quiet(clips[:1], tmp_path, LOW, segment_seconds=10)
    assert report.files[0].segments == 1 and report.files[0].note.startswith("whole")


# --------------------------------------------------------------------------------------
# Frame datasets


@pytest.fixture(scope="module")
def frame_sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frames")
    return [
        _source(folder / "x.mp4", "160x96", 2, audio=False),
        _source(folder / "y.mkv", "128x72", 2, codec="libx265", audio=False),
    ]


def _reference(path, vf=None):
    info = ffprobe_json(path, "stream=width,height")["streams"][0]
    w, h = info["width"], info["height"]
    args = ["ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough"]
    if vf:
        args += ["-vf", vf[0]]
        w, h = vf[1]
    raw = subprocess.run(
        [*args, "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], capture_output=True, check=True
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def test_read_frames_gives_exactly_the_requested_frames(ray_local, frame_sources):
    from videohw.distributed import read_frames

    wanted = [0, 7, 31, 59, 12]
    rows = read_frames(frame_sources, indices=wanted, backend="software").take_all()
    assert len(rows) == len(wanted) * 2
    for path in frame_sources:
        ref = _reference(path)
        got = sorted((r for r in rows if r["path"] == path), key=lambda r: r["index"])
        assert [r["index"] for r in got] == sorted(wanted)
        for r in got:
            assert r["frame"].dtype == np.uint8
            np.testing.assert_array_equal(r["frame"], ref[r["index"]])


def test_read_frames_clips_fps_and_size(ray_local, frame_sources):
    from videohw.distributed import read_frames

    path = frame_sources[0]
    ref = _reference(path)
    clips = read_frames(path, indices=[3, 40], clip_len=4, backend="software").take_all()
    for c in sorted(clips, key=lambda r: r["index"][0]):
        first = int(c["index"][0])
        assert list(c["index"]) == list(range(first, first + 4))
        np.testing.assert_array_equal(c["frames"], ref[first : first + 4])
    every = read_frames(path, fps=10, backend="software").take_all()
    assert sorted(r["index"] for r in every) == list(range(0, 60, 3))
    small = read_frames(path, indices=[5], size=(80, 48), backend="software").take_all()
    # Scaled as RGB, as read_frames does (ffmpeg scales YUV unless told otherwise).
    scaled = _reference(path, ("format=rgb24,scale=80:48:flags=bilinear", (80, 48)))
    assert small[0]["frame"].shape == (48, 80, 3)
    diff = np.abs(small[0]["frame"].astype(int) - scaled[5].astype(int))
    assert diff.mean() < 2.0, diff.mean()


def test_read_frames_refuses_what_the_file_does_not_have(ray_local, frame_sources):
    from videohw.distributed import read_frames

    with pytest.raises(vh.ConfigError, match="60 frames"):
        read_frames(frame_sources[0], indices=[60])
    with pytest.raises(vh.ConfigError, match="not both"):
        read_frames(frame_sources[0], indices=[1], fps=2)
    with pytest.raises(vh.InvalidTypeError):
        read_frames(frame_sources[0], indices=["a"])
    with pytest.raises(vh.ConfigError):
        read_frames(frame_sources[0], size=(80,))


# --------------------------------------------------------------------------------------
# Misuse and the command line


def test_misuse_is_refused_before_any_work(ray_local, clips, tmp_path):
    from videohw.distributed import transcode_many

    with pytest.raises(vh.InvalidTypeError):
        transcode_many(42, tmp_path, LOW)
    with pytest.raises(vh.ConfigError):
        transcode_many(clips[:1], tmp_path, LOW, workers=0)
    with pytest.raises(vh.ConfigError, match="segment_seconds"):
        transcode_many(clips[:1], tmp_path, LOW, segment_seconds=-1)
    with pytest.raises(vh.ConfigError, match="several inputs"):
        transcode_many([clips[0], clips[0]], tmp_path, LOW)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(vh.ConfigError, match="no video files"):
        transcode_many(str(empty), tmp_path / "out", LOW)
    with pytest.raises(vh.ConfigError, match="no GPU"):
        transcode_many(clips[:1], tmp_path, LOW, backend="nvidia", progress=False)
    with pytest.raises(vh.ConfigError, match="need 8 CPUs"):
        transcode_many(clips[:1], tmp_path, LOW, workers=8, progress=False)


def test_an_output_folder_inside_the_input_folder_is_not_read(ray_local, clips, tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(clips[0], folder / "a.mp4")
    for _ in range(2):  # the second run finds the first run's outputs inside the folder
        report = transcode_many_quiet(str(folder), folder / "out", LOW)
        assert [os.path.basename(f.source) for f in report.files] == ["a.mp4"]
    # An output that would replace its source fails that file alone.
    same = transcode_many_quiet([str(folder / "a.mp4")], folder, LOW)
    assert same.files[0].status == "failed" and "replace" in same.files[0].error
    assert _frames(folder / "a.mp4") == 45


def test_without_ray_the_error_says_how_to_install_it(monkeypatch, clips, tmp_path):
    from videohw.distributed import transcode_many

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(vh.BackendUnavailableError, match=r"videohw\[ray\]"):
        transcode_many(clips[:1], tmp_path, LOW)


def test_cli_batch_transcode_a_folder_and_a_manifest(ray_local, clips, tmp_path, capsys):
    from videohw.cli import main

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(clips[0], folder / "one.mp4")
    shutil.copy(clips[1], folder / "sub" / "two.mkv")
    code = main(
        ["batch", "transcode", str(folder), str(tmp_path / "out"), "--size", "128x72",
         "--backend", "software", "--workers", "2", "--verify", "--json"]
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verify"] == {"ran": True, "problems": []}
    assert sorted(f["status"] for f in report["files"]) == ["done", "done"]
    assert _listing(tmp_path / "out") == ["one.mp4", "sub/", "sub/two.mp4"]
    manifest = tmp_path / "list.txt"
    manifest.write_text(f"# two files\n{clips[2]}\n\n{os.path.relpath(clips[3], tmp_path)}\n")
    assert main(["batch", "transcode", str(manifest), str(tmp_path / "m"), "--backend",
                 "software", "--no-progress"]) == 0  # fmt: skip
    assert _listing(tmp_path / "m") == ["c.mp4", "d.mp4"]
    assert "2/2 files done" in capsys.readouterr().out
    # A missing input is a usage error with one line, no traceback.
    assert main(["batch", "transcode", str(tmp_path / "nope.txt"), str(tmp_path / "x")]) == 2
