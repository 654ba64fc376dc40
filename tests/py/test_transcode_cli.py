"""``videohw transcode IN OUT`` run as a subprocess (``python -m videohw``) like a user would:
--verify, ladders with switches, --json, and clean errors (docs/cli.md, docs/transcode.md).

Outputs are checked again here with ffprobe where it matters.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from ffprobe_check import ffprobe_json

pytestmark = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
    reason="needs the ffmpeg / ffprobe tools to make sources and for --verify",
)

FRAMES = 60  # 2 s at 30 fps


def _ffmpeg(*args: str) -> None:
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> dict[str, str]:
    """320x180, 60 frames with B-frames and AAC audio: in.mp4, and in.ts (its remux)."""
    d = tmp_path_factory.mktemp("transcode_cli_sources")
    mp4, ts = str(d / "in.mp4"), str(d / "in.ts")
    _ffmpeg(
        *["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=2"],
        *["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2"],
        *["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-bf", "2"],
        *["-c:a", "aac", "-b:a", "64k", mp4],
    )
    _ffmpeg("-i", mp4, "-c", "copy", "-f", "mpegts", ts)
    return {"mp4": mp4, "ts": ts}


def transcode(cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "videohw", "transcode", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_clean_error(proc: subprocess.CompletedProcess, codes, *needles: str) -> str:
    """Exit status in ``codes``, one error line on stderr naming ``needles``, no traceback."""
    assert proc.returncode in codes, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def ffprobe_frames(path) -> list[dict]:
    return ffprobe_json(path, "frame=width,height,key_frame")["frames"]


def stream_types(path) -> list[str]:
    return [
        s["codec_type"] for s in ffprobe_json(path, "stream=codec_type", stream=None)["streams"]
    ]


def test_verify_passes(src, tmp_path):
    proc = transcode(
        tmp_path, src["mp4"], "out.mp4", "--size", "160x90", "--backend", "software", "--verify"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verify: ok" in proc.stdout
    assert "audio_bit_exact True" in proc.stdout
    frames = ffprobe_frames(tmp_path / "out.mp4")
    assert len(frames) == FRAMES and frames[0]["key_frame"] == 1
    assert Counter((f["width"], f["height"]) for f in frames) == Counter({(160, 90): FRAMES})
    assert sorted(os.listdir(tmp_path)) == ["out.mp4"]


@pytest.mark.parametrize("out", ["out.mp4", "out.mkv"])
def test_verify_passes_for_a_ts_source(src, tmp_path, out):
    """AAC from MPEG-TS is ADTS-framed; MP4 and Matroska store it raw (the muxer strips the
    headers, as `ffmpeg -c copy` does). The audio is copied correctly, so --verify must not
    call it different from the source's."""
    proc = transcode(tmp_path, src["ts"], out, "--size", "160x90", "--backend", "software",
                     "--verify")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verify: ok" in proc.stdout


def test_verify_fails_below_min_psnr(src, tmp_path):
    proc = transcode(
        tmp_path,
        src["mp4"],
        "out.mp4",
        *["--size", "160x90", "--backend", "software", "--verify", "--min-psnr", "99"],
    )
    line = assert_clean_error(proc, (1,), "PSNR")
    assert "verify failed" in line
    assert "verify: FAILED" in proc.stdout


def test_ladder_with_switch_and_json(src, tmp_path):
    proc = transcode(
        tmp_path,
        src["mp4"],
        "out.mkv",
        *["--backend", "software", "--gop", "30", "--no-progress", "--json"],
        *["--ladder", "320x180:600k,160x90:200k"],
        *["--switch", "1s:rc=cbr:300k:immediate"],
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["frames"] == FRAMES
    assert report["audio"] == "copied: aac"
    outputs = report["outputs"]
    assert [o["path"] for o in outputs] == ["out_320x180.mkv", "out_160x90.mkv"]
    assert [(o["width"], o["height"]) for o in outputs] == [(320, 180), (160, 90)]
    for o in outputs:
        assert o["frames"] == FRAMES and o["files"] == [o["path"]]
        frames = ffprobe_frames(tmp_path / o["path"])
        assert len(frames) == FRAMES
        assert {(f["width"], f["height"]) for f in frames} == {(o["width"], o["height"])}
        assert "audio" in stream_types(tmp_path / o["path"])
    # The switch is on rung 0, at 1 s = frame 30 (IMMEDIATE); JSON keys are strings.
    assert outputs[0]["switches"] == 1
    assert outputs[0]["packets_per_generation"] == {"1": 30, "2": 30}
    assert outputs[1]["switches"] == 0
    assert outputs[1]["packets_per_generation"] == {"1": FRAMES}
    assert sorted(os.listdir(tmp_path)) == ["out_160x90.mkv", "out_320x180.mkv"]


def test_size_switch_by_frame_makes_segments(src, tmp_path):
    proc = transcode(
        tmp_path,
        src["mp4"],
        "out.mp4",
        *["--backend", "software", "--size", "160x90", "--gop", "15", "--json"],
        *["--switch", "20:size=96x54:on_next_keyframe"],
    )
    assert proc.returncode == 0, proc.stderr
    o = json.loads(proc.stdout)["outputs"][0]
    assert o["files"] == ["out.mp4", "out.seg2.mp4"]
    assert o["packets_per_generation"] == {"1": 30, "2": 30}
    first, second = (ffprobe_frames(tmp_path / f) for f in o["files"])
    assert len(first) == 30 and {(f["width"], f["height"]) for f in first} == {(160, 90)}
    assert len(second) == 30 and {(f["width"], f["height"]) for f in second} == {(96, 54)}
    assert second[0]["key_frame"] == 1


def test_frames_and_audio_none(src, tmp_path):
    proc = transcode(
        tmp_path,
        src["mp4"],
        "out.ts",
        *["--backend", "software", "--frames", "12", "--audio", "none", "--no-progress"],
    )
    assert proc.returncode == 0, proc.stderr
    assert len(ffprobe_frames(tmp_path / "out.ts")) == 12
    assert stream_types(tmp_path / "out.ts") == ["video"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--ladder", "320x180"], "--ladder"),
        (["--ladder", "320x180:fast"], "bitrate"),
        (["--ladder", "320:1M"], "--ladder"),
        (["--switch", "1s:rc=cbr:300k:sometimes"], "--switch"),
        (["--switch", "xs:rc=cbr:300k:immediate"], "--switch"),
        (["--size", "big"], "--size"),
        (["--frames", "0"], "--frames"),
        (["--audio", "mp3"], "--audio"),
    ],
)
def test_bad_arguments_exit_2(src, tmp_path, args, needle):
    proc = transcode(tmp_path, src["mp4"], "out.mp4", "--backend", "software", *args)
    assert_clean_error(proc, (2,), needle)
    assert os.listdir(tmp_path) == []


def test_missing_input(tmp_path):
    proc = transcode(tmp_path, "missing.mp4", "out.mp4", "--backend", "software")
    assert_clean_error(proc, (1, 2), "missing.mp4")
    assert os.listdir(tmp_path) == []


def test_annexb_output_with_audio(src, tmp_path):
    proc = transcode(tmp_path, src["mp4"], "out.h264", "--backend", "software")
    assert_clean_error(proc, (1, 2), "audio")
    assert os.listdir(tmp_path) == []


def test_fps_repeats_frames_and_verifies(src, tmp_path):
    proc = transcode(
        tmp_path,
        src["mp4"],
        "out.mp4",
        "--size",
        "160x90",
        "--fps",
        "60",
        "--backend",
        "software",
        "--verify",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verify: ok" in proc.stdout and "frames repeated" in proc.stdout
    assert len(ffprobe_frames(tmp_path / "out.mp4")) == 2 * FRAMES
