"""`videohw encode -o out.mp4|.mkv|.ts|...`: containers by extension or --format, their
verification, segments with --switch, atomic output and the input/output rule (docs/cli.md).

The command runs as a subprocess like a user's; files are checked again here with ffprobe
where it matters, and the verify functions are shown to say no on broken files.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction

import pytest

import videohw as vh
from videohw import cli, synthetic, verify
from videohw.cli import _errors, _input

pytestmark = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
    reason="needs Debian's ffmpeg/ffprobe for --verify",
)

W, H = 160, 96
SIZE = f"{W}x{H}"
FPS = 30


def encode(cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "videohw", "encode", "--no-progress", "--size", SIZE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_clean_error(proc: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    """Exit status ``code``, one error line naming ``needles``, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def ffprobe(path) -> dict:
    """Format, stream and decoded frames straight from ffprobe (container found by content)."""
    proc = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=format_name:stream=codec_name:frame=width,height,key_frame",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and not proc.stderr.strip(), f"{path}: {proc.stderr}"
    return json.loads(proc.stdout)


def listing(folder) -> list[str]:
    """Every name in the folder, hidden temporary files included."""
    return sorted(os.listdir(folder))


def checks_of(summary: dict) -> dict:
    return {c["name"]: c for c in summary["verify"]["checks"]}


def raw_file(path, frames: int = 10, fmt: str = "i420") -> bytes:
    data = b"".join(synthetic.pattern_frame(i, W, H, fmt).tobytes() for i in range(frames))
    path.write_bytes(data)
    return data


# ------------------------------------------------------------------------------------------
# Containers by extension and by --format, verified


# (-o, --format or None, codec, b-frames, ffprobe's format name, summary format)
CASES = [
    ("out.mp4", None, "h264", 2, "mov,mp4,m4a,3gp,3g2,mj2", "mp4"),
    ("out.m4v", None, "hevc", 0, "mov,mp4,m4a,3gp,3g2,mj2", "mp4"),
    ("out.MOV", None, "h264", 0, "mov,mp4,m4a,3gp,3g2,mj2", "mp4"),
    ("out.mp4", "fmp4", "h264", 2, "mov,mp4,m4a,3gp,3g2,mj2", "fmp4"),
    ("out.mkv", None, "h264", 2, "matroska,webm", "mkv"),
    ("out.mkv", None, "hevc", 2, "matroska,webm", "mkv"),
    ("out.ts", None, "h264", 2, "mpegts", "ts"),
    ("out.m2ts", None, "hevc", 0, "mpegts", "ts"),
    ("clip.h264", "mkv", "h264", 0, "matroska,webm", "mkv"),  # --format wins
]


@pytest.mark.parametrize("output, fmt, codec, b_frames, format_name, summary_format", CASES)
def test_container_round_trip_verifies(
    tmp_path, output, fmt, codec, b_frames, format_name, summary_format
):
    args = [
        "--codec",
        codec,
        "--frames",
        "25",
        "--gop",
        "10",
        "--b-frames",
        str(b_frames),
        "-o",
        output,
        "--verify",
        "--json",
    ]
    if fmt:
        args += ["--format", fmt]
    proc = encode(tmp_path, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["verify"]["ok"], json.dumps(summary["verify"], indent=1)
    assert summary["format"] == summary_format and summary["files"] == [output]
    checks = checks_of(summary)
    for name in (
        "frames",
        "size",
        "keyframes",
        "container",
        "timestamps",
        "duration",
        "playback",
        "psnr",
    ):
        assert checks[name]["ok"], checks[name]
    assert checks["keyframes"]["decoded"] == [0, 10, 20]
    assert checks["timestamps"]["packets"] == 25
    # the file itself, by an independent look, and nothing else beside it
    assert listing(tmp_path) == [output]
    info = ffprobe(tmp_path / output)
    assert info["format"]["format_name"] == format_name
    assert info["streams"][0]["codec_name"] == codec
    assert len(info["frames"]) == 25
    assert summary["bytes"] == os.path.getsize(tmp_path / output)
    assert summary["stream_bytes"] > 0


def test_annexb_by_format_whatever_the_extension(tmp_path):
    proc = encode(
        tmp_path,
        "--frames",
        "12",
        "--gop",
        "6",
        "--format",
        "annexb",
        "-o",
        "stream.bin",
        "--verify",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK   keyframes: 2 at [0, 6]" in proc.stdout
    assert "container" not in proc.stdout  # an elementary stream: no container checks
    assert (tmp_path / "stream.bin").read_bytes()[:4] == b"\0\0\0\1"
    assert listing(tmp_path) == ["stream.bin"]


def test_format_without_output_names_the_default_file(tmp_path):
    proc = encode(tmp_path, "--frames", "5", "--format", "mkv", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["output"] == "out.mkv"
    assert listing(tmp_path) == ["out.mkv"]


@pytest.mark.parametrize("output, needle", [("out.avi", "'.avi'"), ("out", "no extension")])
def test_an_unknown_extension_exits_2_and_names_the_choices(tmp_path, output, needle):
    proc = encode(tmp_path, "--frames", "5", "-o", output)
    assert_clean_error(proc, 2, f"-o {output}", needle, ".mp4", "--format")
    assert listing(tmp_path) == []


def test_text_summary_names_the_container(tmp_path):
    proc = encode(tmp_path, "--frames", "10", "-o", "a.ts", "--verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "output     a.ts (MPEG-TS): " in proc.stdout
    for check in ("container", "timestamps", "duration", "playback"):
        assert f"OK   {check}:" in proc.stdout


# ------------------------------------------------------------------------------------------
# The verify functions say no on broken containers


@pytest.fixture(scope="module")
def packets():
    ctl = vh.SessionController("software")
    h = ctl.start_encode_session(
        vh.CommonEncodeConfig(codec=vh.Codec.H264, width=W, height=H, gop_length=10)
    )
    out = []
    for i in range(30):
        ctl.submit(
            h, vh.Frame(synthetic.pattern_frame(i, W, H, "i420"), vh.PixelFormat.I420, pts=i)
        )
        out += ctl.reap(h)
    return out + ctl.close_encode_session(h)


def write(path, packets, skip=()) -> str:
    with vh.MediaWriter(str(path), vh.Codec.H264, W, H) as w:
        for p in packets:
            if p.pts not in skip:
                w.write_packet(p)
    return str(path)


def verify_30(path) -> verify.VerifyReport:
    return verify.verify_stream(
        path,
        "h264",
        W,
        H,
        30,
        [0, 10, 20],
        verify.RawSource.synthetic("i420", W, H, 30, FPS),
        fps=FPS,
    )


def failed(report) -> list[str]:
    return [c.name for c in report.checks if not c.ok]


def test_verify_passes_on_the_whole_file(tmp_path, packets):
    report = verify_30(write(tmp_path / "full.mp4", packets))
    assert report.ok, str(report)


def test_verify_fails_on_a_file_with_a_frame_removed(tmp_path, packets):
    report = verify_30(write(tmp_path / "short.mp4", packets, skip={15}))
    assert not report.ok
    assert {"frames", "keyframes", "psnr"} <= set(failed(report)), str(report)


def test_verify_fails_on_a_truncated_file(tmp_path, packets):
    data = open(write(tmp_path / "full.mp4", packets), "rb").read()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    report = verify_30(cut)
    assert failed(report) == ["decode"], str(report)


def test_verify_fails_on_repeated_timestamps(tmp_path, packets):
    # One packet's pts and dts moved back onto the previous one's (matroska accepts equal
    # dts; the ffmpeg tool does not, when it decodes the file).
    good = write(tmp_path / "good.mp4", packets)
    bad = tmp_path / "dup.mkv"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            good,
            "-c",
            "copy",
            "-bsf:v",
            r"setts=pts=if(eq(N\,5)\,PTS-512\,PTS):dts=if(eq(N\,5)\,DTS-512\,DTS)",
            str(bad),
        ],
        check=True,
        timeout=60,
    )
    report = verify_30(bad)
    assert {"timestamps", "playback"} <= set(failed(report)), str(report)
    assert "pts repeated" in next(c.message for c in report.checks if c.name == "timestamps")


def test_check_functions_on_numbers():
    P = verify.PacketInfo
    assert verify.check_timestamps([P(0, -1, True), P(2, 0, False), P(1, 1, False)]).ok
    assert verify.check_timestamps([P(0, None, True), P(1, None, False), P(2, 1, False)]).ok
    assert not verify.check_timestamps([P(0, 0, True), P(1, 0, False)]).ok  # dts repeats
    assert not verify.check_timestamps([P(0, 0, True), P(0, 1, False)]).ok  # pts repeats
    assert not verify.check_timestamps([P(None, 0, True)]).ok
    assert not verify.check_timestamps([]).ok
    assert verify.check_duration(Fraction(1), 30, 30).ok
    assert verify.check_duration(Fraction(31, 30), 30, 30).ok  # one frame off
    assert not verify.check_duration(Fraction(32, 30), 30, 30).ok  # two frames off
    assert verify.check_duration(Fraction(32, 30), 30, 30, delayed=2).ok
    assert not verify.check_duration(None, 30, 30).ok


def test_is_container_reads_the_bytes_not_the_name(tmp_path, packets):
    for name, fmt in (("a.h264", "mp4"), ("b.mp4", "mkv"), ("c.bin", "ts")):
        with vh.MediaWriter(str(tmp_path / name), vh.Codec.H264, W, H, format=fmt) as w:
            for p in packets[:10]:
                w.write_packet(p)
        assert verify.is_container(tmp_path / name), name
    raw = tmp_path / "d.mp4"
    raw.write_bytes(b"".join(p.data for p in packets[:10]))
    assert not verify.is_container(raw)
    assert not verify.is_container(tmp_path / "missing.mp4")


# ------------------------------------------------------------------------------------------
# --switch: MP4/MKV start a new file where the parameter sets change; TS goes on


SWITCHED = (
    "--frames",
    "40",
    "--gop",
    "10",
    "--switch",
    "15:size=96x64:immediate",
    "--switch",
    "25:rc=cbr:1M:on_next_keyframe",
    "--verify",
    "--json",
)


def test_size_switch_to_mp4_writes_two_verified_segments(tmp_path):
    proc = encode(tmp_path, "-o", "out.mp4", *SWITCHED)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["verify"]["ok"], json.dumps(summary["verify"], indent=1)
    assert summary["files"] == ["out.mp4", "out.seg2.mp4"]
    assert listing(tmp_path) == ["out.mp4", "out.seg2.mp4"]
    segs = summary["segments"]
    assert [(s["path"], s["first_frame"], s["frames"]) for s in segs] == [
        ("out.mp4", 0, 15),
        ("out.seg2.mp4", 15, 25),
    ]
    assert [s["bytes"] for s in segs] == [os.path.getsize(tmp_path / s["path"]) for s in segs]
    assert summary["bytes"] == sum(s["bytes"] for s in segs)
    checks = checks_of(summary)
    for n in (1, 2):
        for name in ("frames", "packets", "container", "timestamps", "duration", "playback"):
            assert checks[f"segment {n} {name}"]["ok"], name
    assert checks["segments"]["ok"] and checks["frames"]["decoded"] == 40
    assert checks["segment 2 psnr generation 2"]["frames"] == 10
    for name, size, count in (("out.mp4", (W, H), 15), ("out.seg2.mp4", (96, 64), 25)):
        frames = ffprobe(tmp_path / name)["frames"]
        assert len(frames) == count
        assert {(f["width"], f["height"]) for f in frames} == {size}
        assert frames[0]["key_frame"] == 1


def test_size_switch_to_ts_stays_in_one_verified_file(tmp_path):
    proc = encode(tmp_path, "-o", "out.ts", *SWITCHED)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["verify"]["ok"], json.dumps(summary["verify"], indent=1)
    assert summary["files"] == ["out.ts"] and listing(tmp_path) == ["out.ts"]
    assert [(s["path"], s["frames"]) for s in summary["segments"]] == [("out.ts", 40)]
    checks = checks_of(summary)
    assert "segments" not in checks  # one file, cut at no codec change
    for name in ("generation 1", "generation 2", "timestamps", "duration", "playback"):
        assert checks[name]["ok"], name
    frames = ffprobe(tmp_path / "out.ts")["frames"]
    assert [(f["width"], f["height"]) for f in frames] == [(W, H)] * 15 + [(96, 64)] * 25


def test_text_summary_lists_every_mp4_segment(tmp_path):
    proc = encode(tmp_path, "-o", "out.mkv", *SWITCHED[:-1])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "out.mkv (Matroska) and 1 more segment file (new parameter sets)" in proc.stdout
    lines = [line for line in proc.stdout.splitlines() if line.startswith("segment ")]
    assert "out.mkv: h264, frames 0..14 (15)" in lines[0]
    assert "out.seg2.mkv: h264, frames 15..39 (25)" in lines[1]
    assert "verify (OK" in proc.stdout and "FAIL" not in proc.stdout


def test_codec_switch_to_ts_starts_a_second_ts_file(tmp_path):
    proc = encode(
        tmp_path,
        "-o",
        "out.ts",
        "--frames",
        "30",
        "--gop",
        "10",
        "--switch",
        "12:codec=hevc:immediate",
        "--verify",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["verify"]["ok"], json.dumps(summary["verify"], indent=1)
    assert summary["files"] == ["out.ts", "out.seg2.ts"]
    assert [ffprobe(tmp_path / f)["streams"][0]["codec_name"] for f in summary["files"]] == [
        "h264",
        "hevc",
    ]


def test_a_deeper_reordering_switch_in_ts_is_allowed_its_delay(tmp_path):
    # The writer moves the pictures after a switch to 2 B-frames 2 frames later in a file
    # that goes on (docs/media_writer.md); the duration check knows it.
    proc = encode(
        tmp_path,
        "-o",
        "out.ts",
        "--frames",
        "30",
        "--gop",
        "10",
        "--switch",
        "10:b-frames=2:immediate",
        "--verify",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    duration = checks_of(json.loads(proc.stdout))["duration"]
    assert duration["ok"] and duration["delayed_frames"] == 2, duration


def test_verify_segments_says_no_to_files_cut_in_the_wrong_place(tmp_path):
    proc = encode(tmp_path, "-o", "out.mp4", *SWITCHED[:-2], "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pairs = [(i, 1 if i < 15 else 2 if i < 25 else 3) for i in range(40)]
    segments = [
        verify.StreamSegment(tmp_path / "out.mp4", "h264", pairs[:15]),
        verify.StreamSegment(tmp_path / "out.seg2.mp4", "h264", pairs[15:]),
    ]
    planned = [
        verify.PlannedSwitch(15, 2, 96, 64, 10, "immediate", True, False),
        verify.PlannedSwitch(25, 3, 96, 64, 10, "on_next_keyframe", True, True),
    ]
    plan = verify.switch_timeline(40, W, H, 10, planned, codec="h264")
    right = verify.verify_segments(segments, plan, cuts="parameters", fps=FPS)
    assert right.ok, str(right)
    # a plan whose size change comes later: segment 2 would start inside generation 1
    late = verify.switch_timeline(
        40,
        W,
        H,
        10,
        [verify.PlannedSwitch(18, 2, 96, 64, 10, "immediate", True, False)],
        codec="h264",
    )
    report = verify.verify_segments(segments, late, cuts="parameters", fps=FPS)
    assert failed(report) == ["segments"], str(report)
    # the files in the wrong order
    report = verify.verify_segments(segments[::-1], plan, cuts="parameters", fps=FPS)
    assert failed(report) == ["segments"], str(report)
    # one file claimed for both sizes
    both = [verify.StreamSegment(tmp_path / "out.mp4", "h264", pairs)]
    report = verify.verify_segments(both, plan, cuts="parameters", fps=FPS)
    assert failed(report) == ["segments"], str(report)


# ------------------------------------------------------------------------------------------
# Never over the input


@pytest.mark.parametrize("how", ["same name", "another spelling", "symlink", "hard link"])
def test_output_over_the_input_is_refused_and_the_input_is_untouched(tmp_path, how):
    # The raw input is named like an output on purpose, so only the same-file rule stops it.
    source = tmp_path / "in.h264"
    data = raw_file(source)
    output = {
        "same name": "in.h264",
        "another spelling": "./sub/../in.h264",
        "symlink": "link.mp4",
        "hard link": "hard.ts",
    }[how]
    (tmp_path / "sub").mkdir()
    if how == "symlink":
        (tmp_path / output).symlink_to("in.h264")
    elif how == "hard link":
        os.link(source, tmp_path / output)
    before = listing(tmp_path)
    proc = encode(tmp_path, "--input", "in.h264", "--input-format", "i420", "-o", output)
    assert_clean_error(proc, 2, f"-o {output}", "--input in.h264", "same file")
    assert source.read_bytes() == data
    assert listing(tmp_path) == before  # no temporary file either


def test_an_output_symlink_to_another_file_is_written_through(tmp_path):
    source = tmp_path / "in.i420"
    raw_file(source)
    (tmp_path / "target.h264").write_bytes(b"old")
    (tmp_path / "link.h264").symlink_to("target.h264")
    proc = encode(
        tmp_path, "--input", "in.i420", "--input-format", "i420", "-o", "link.h264", "--verify"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.path.islink(tmp_path / "link.h264")
    assert (tmp_path / "target.h264").read_bytes()[:4] == b"\0\0\0\1"
    assert listing(tmp_path) == ["in.i420", "link.h264", "target.h264"]


# ------------------------------------------------------------------------------------------
# Atomic output, and I/O errors that name the path


@pytest.mark.parametrize("output", ["out.mp4", "out.h264"])
def test_an_unwritable_folder_names_the_path(tmp_path, output):
    target = tmp_path / "missing" / output
    proc = encode(tmp_path, "--frames", "5", "-o", str(target))
    assert_clean_error(proc, 1, str(target))
    (tmp_path / "file").write_bytes(b"")
    target = tmp_path / "file" / output  # a file where a folder should be
    proc = encode(tmp_path, "--frames", "5", "-o", str(target))
    assert_clean_error(proc, 1, str(target))
    assert listing(tmp_path) == ["file"]


@pytest.mark.parametrize("output", ["out.mp4", "out.h264", "out.ts"])
def test_a_failed_write_names_the_path_and_leaves_no_file(tmp_path, output):
    def small_files() -> None:  # writes past 40 kB fail with EFBIG (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "videohw",
            "encode",
            "--no-progress",
            "--size",
            SIZE,
            "--frames",
            "60",
            "-o",
            output,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_files,
    )  # noqa: PLW1509 -- sets a limit, no threads
    assert_clean_error(proc, 1, output, "File too large")
    assert listing(tmp_path) == []


@pytest.mark.parametrize("output", ["out.mp4", "out.h264"])
def test_ctrl_c_mid_encode_leaves_no_file_and_keeps_an_old_one(tmp_path, output):
    (tmp_path / output).write_bytes(b"an earlier run")
    # SIGINT back to its default in the child: a test run started in the background (CI
    # runners, nohup) ignores it, the child inherits that, and Python then never raises
    # KeyboardInterrupt.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "videohw",
            "encode",
            "--no-progress",
            "--size",
            SIZE,
            "--frames",
            "1000000",
            "-o",
            output,
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while not any(n.startswith(f".{output}.tmp-") for n in os.listdir(tmp_path)):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.3)  # well into the encode
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    assert listing(tmp_path) == [output]
    assert (tmp_path / output).read_bytes() == b"an earlier run"


@pytest.mark.parametrize("output", ["out.mkv", "out.h264"])
def test_an_input_that_fails_mid_encode_leaves_no_file(tmp_path, monkeypatch, capsys, output):
    source = tmp_path / "in.i420"
    raw_file(source, 20)
    real = _input._Input.frames

    def frames_then_error(self):
        for i, frame in enumerate(real(self)):
            if i == 12:
                raise _errors.CliError(f"{self.path}: ended early, at frame {i}", _errors.EXIT_FAIL)
            yield frame

    monkeypatch.setattr(_input._Input, "frames", frames_then_error)
    monkeypatch.chdir(tmp_path)
    code = cli.main(
        [
            "encode",
            "--no-progress",
            "--input",
            "in.i420",
            "--input-format",
            "i420",
            "--size",
            SIZE,
            "-o",
            output,
        ]
    )
    assert code == 1
    assert "ended early, at frame 12" in capsys.readouterr().err
    assert listing(tmp_path) == ["in.i420"]


def test_ctrl_c_in_process_leaves_no_segment_file(tmp_path, monkeypatch, capsys):
    # A codec switch has made a second Annex-B segment by the time Ctrl-C comes.
    real = _input._Input.frames

    def interrupted(self):
        for i, frame in enumerate(real(self)):
            if i == 20:
                raise KeyboardInterrupt
            yield frame

    monkeypatch.setattr(_input._Input, "frames", interrupted)
    monkeypatch.chdir(tmp_path)
    code = cli.main(
        [
            "encode",
            "--no-progress",
            "--size",
            SIZE,
            "--frames",
            "30",
            "--gop",
            "5",
            "--low-latency",
            "--switch",
            "10:codec=hevc:immediate",
            "-o",
            "out.h264",
        ]
    )
    assert code == 130
    assert listing(tmp_path) == []
