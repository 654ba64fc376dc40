"""The ``videohw`` command, run as a subprocess (``python -m videohw``) like a user would.

Outputs are checked by the CLI's own ``--verify`` and, where positions matter, again with
ffprobe here (videohw.verify.probe_frames), against literal expectations.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys

import pytest

from videohw import synthetic
from videohw.progress import ProgressBar
from videohw.verify import probe_frames

pytestmark = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
    reason="needs Debian's ffmpeg/ffprobe for --verify",
)

W, H = 160, 96
SIZE = f"{W}x{H}"


def run_cli(cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "videohw", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=300,
    )


def assert_clean_error(proc: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    """Exit status ``code``, a one-line message naming ``needles``, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def keyframes_of(path, codec=None) -> tuple[int, list[int]]:
    frames = probe_frames(path, codec)
    return len(frames), [f.index for f in frames if f.key_frame]


# ------------------------------------------------------------------------------------------
# encode


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_encode_synthetic_and_verify(tmp_path, codec):
    proc = run_cli(
        tmp_path,
        "encode",
        "--codec",
        codec,
        "--size",
        SIZE,
        "--frames",
        "30",
        "--gop",
        "10",
        "--verify",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout
    for check in ("frames", "size", "keyframes", "psnr"):
        assert f"OK   {check}:" in proc.stdout
    out = tmp_path / f"out.{codec}"  # the default output name
    assert keyframes_of(out, codec) == (30, [0, 10, 20])


@pytest.mark.parametrize("codec", ["h264", "hevc"])
@pytest.mark.parametrize("b_frames", [0, 2])
def test_forced_keyframes_land_exactly_where_asked(tmp_path, codec, b_frames):
    out = tmp_path / f"forced.{codec}"
    proc = run_cli(
        tmp_path,
        "encode",
        "--codec",
        codec,
        "--size",
        SIZE,
        "--frames",
        "40",
        "--gop",
        "10",
        "--b-frames",
        str(b_frames),
        "--force-idr-at",
        "7,25",
        "-o",
        str(out),
        "--verify",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # frame 0; forced 7 restarts the count -> 17; forced 25 -> 35
    assert keyframes_of(out, codec) == (40, [0, 7, 17, 25, 35])


def test_low_latency_cqp_all_intra(tmp_path):
    out = tmp_path / "intra.h264"
    proc = run_cli(
        tmp_path,
        "encode",
        "--size",
        SIZE,
        "--frames",
        "6",
        "--gop",
        "1",
        "--low-latency",
        "--rc",
        "cqp:20",
        "-o",
        str(out),
        "--verify",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert keyframes_of(out) == (6, [0, 1, 2, 3, 4, 5])


@pytest.mark.parametrize("fmt", synthetic.FORMATS)
def test_raw_input_in_every_format_verifies(tmp_path, fmt):
    raw = tmp_path / f"in.{fmt}"
    with open(raw, "wb") as f:
        for i in range(20):
            f.write(synthetic.pattern_frame(100 + i, W, H, fmt).tobytes())
    out = tmp_path / "raw.h264"
    proc = run_cli(
        tmp_path,
        "encode",
        "--input",
        str(raw),
        "--input-format",
        fmt,
        "--size",
        SIZE,
        "--gop",
        "8",
        "-o",
        str(out),
        "--verify",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert keyframes_of(out) == (20, [0, 8, 16])  # frame count taken from the file


def test_frames_limits_a_raw_input(tmp_path):
    raw = tmp_path / "in.i420"
    raw.write_bytes(b"".join(synthetic.pattern_frame(i, W, H, "i420").tobytes() for i in range(20)))
    out = tmp_path / "first12.h264"
    proc = run_cli(
        tmp_path,
        "encode",
        "--input",
        str(raw),
        "--input-format",
        "i420",
        "--size",
        SIZE,
        "--frames",
        "12",
        "-o",
        str(out),
        "--verify",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert keyframes_of(out)[0] == 12


def test_raw_input_of_a_wrong_size_is_refused(tmp_path):
    raw = tmp_path / "in.nv12"
    raw.write_bytes(synthetic.pattern_frame(0, W, H, "nv12").tobytes() * 3 + b"\0" * 7)
    proc = run_cli(
        tmp_path,
        "encode",
        "--input",
        str(raw),
        "--input-format",
        "nv12",
        "--size",
        SIZE,
        "--no-progress",
    )
    assert_clean_error(proc, 2, "not a whole number", "23040 bytes each")
    assert not (tmp_path / "out.h264").exists()


def test_raw_input_needs_format_and_size(tmp_path):
    raw = tmp_path / "in.raw"
    raw.write_bytes(b"\0" * 1000)
    proc = run_cli(tmp_path, "encode", "--input", str(raw), "--no-progress")
    assert_clean_error(proc, 2, "--input-format", "--size")


def test_bad_rate_control_exits_2_with_a_message(tmp_path):
    proc = run_cli(tmp_path, "encode", "--size", SIZE, "--frames", "5", "--rc", "cbr:lots")
    assert_clean_error(proc, 2, "--rc", "cbr:lots")


def test_invalid_config_exits_2_naming_the_field(tmp_path):
    proc = run_cli(tmp_path, "encode", "--size", "161x96", "--frames", "5")
    assert_clean_error(proc, 2, "width", "161")


def test_b_frames_with_low_latency_exits_2(tmp_path):
    proc = run_cli(
        tmp_path, "encode", "--size", SIZE, "--frames", "5", "--low-latency", "--b-frames", "2"
    )
    assert_clean_error(proc, 2, "b_frames")


def test_forced_keyframe_past_the_end_exits_2(tmp_path):
    proc = run_cli(tmp_path, "encode", "--size", SIZE, "--frames", "10", "--force-idr-at", "3,10")
    assert_clean_error(proc, 2, "--force-idr-at", "10")


def test_failed_verification_exits_nonzero(tmp_path):
    proc = run_cli(
        tmp_path,
        "encode",
        "--size",
        SIZE,
        "--frames",
        "10",
        "--verify",
        "--min-psnr",
        "200",
        "--no-progress",
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL psnr:" in proc.stdout
    assert "OK   keyframes:" in proc.stdout


def test_json_summary_parses(tmp_path):
    proc = run_cli(
        tmp_path,
        "encode",
        "--size",
        SIZE,
        "--frames",
        "24",
        "--gop",
        "12",
        "--rc",
        "vbr:1M:2M",
        "--json",
        "--telemetry",
        "--verify",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["frames"] == 24 and summary["codec"] == "h264"
    assert (summary["width"], summary["height"]) == (W, H)
    assert summary["keyframes"] == [0, 12]
    assert summary["bytes"] == (tmp_path / "out.h264").stat().st_size > 0
    assert summary["bitrate_bps"] > 0 and summary["encode_fps"] > 0
    assert summary["verify"]["ok"] is True
    assert summary["telemetry"]["frames_submitted"] == 24
    assert summary["telemetry"]["keyframes_out"] == 2


def test_telemetry_is_printed_as_json(tmp_path):
    proc = run_cli(
        tmp_path, "encode", "--size", SIZE, "--frames", "5", "--telemetry", "--no-progress"
    )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.split("telemetry:\n", 1)[1]
    assert json.loads(text)["frames_encoded"] == 5


# ------------------------------------------------------------------------------------------
# caps


def test_caps_shows_software_and_why_nvidia_is_or_is_not_usable(tmp_path):
    info = json.loads(run_cli(tmp_path, "caps", "--json").stdout)
    software = info["backends"]["software"]
    assert software["available"] is True
    for codec in ("h264", "hevc"):
        caps = software["codecs"][codec]
        assert "argb8888" in caps["input_formats"] and "cbr" in caps["rate_control_modes"]
    nvidia = info["backends"]["nvidia"]
    text = run_cli(tmp_path, "caps")
    assert text.returncode == 0, text.stderr
    assert "software: usable" in text.stdout
    if nvidia["available"]:
        assert "nvidia: usable" in text.stdout
    else:
        assert nvidia["reason"]
        assert f"nvidia: unavailable: {nvidia['reason']}" in text.stdout


def test_explicit_unavailable_backend_is_a_clean_error(tmp_path):
    info = json.loads(run_cli(tmp_path, "caps", "--json").stdout)
    if info["backends"]["nvidia"]["available"]:
        pytest.skip("NVENC is usable here")
    proc = run_cli(tmp_path, "encode", "--backend", "nvidia", "--size", SIZE, "--frames", "5")
    assert_clean_error(proc, 1)


def test_help_lists_the_commands(tmp_path):
    proc = run_cli(tmp_path, "--help")
    assert proc.returncode == 0
    assert "encode" in proc.stdout and "caps" in proc.stdout


# ------------------------------------------------------------------------------------------
# progress bar (in process)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_bar_shows_percent_rate_and_eta():
    clock, stream = FakeClock(), io.StringIO()
    bar = ProgressBar(100, label="encode", stream=stream, enabled=True, clock=clock)
    clock.now = 2.0
    bar.update(50)
    assert "50%" in stream.getvalue() and "50/100" in stream.getvalue()
    assert "25.0 fps" in stream.getvalue() and "ETA 00:02" in stream.getvalue()


def test_progress_bar_redraws_at_most_ten_times_a_second():
    clock, stream = FakeClock(), io.StringIO()
    bar = ProgressBar(1000, stream=stream, enabled=True, clock=clock)
    for i in range(100):
        clock.now = i * 0.01  # 100 updates within one second
        bar.update()
    assert stream.getvalue().count("\r") <= 11


def test_progress_bar_is_off_when_not_a_terminal():
    stream = io.StringIO()  # isatty() is False
    with ProgressBar(10, stream=stream) as bar:
        bar.update(10)
    assert stream.getvalue() == ""
