"""Hostile and careless command lines for ``videohw encode`` (docs/cli.md): switches that
collide, raw input files whose size does not match ``--size``. Run as a subprocess, like a
user would; none of these needs ffmpeg."""

from __future__ import annotations

import subprocess
import sys

import pytest

from videohw import synthetic


def run_cli(cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "videohw",
            "encode",
            "--no-progress",
            "--backend",
            "software",
            *args,
        ],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=300,
    )


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The one error line of a usage error (exit 2), no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def warnings_of(proc: subprocess.CompletedProcess) -> list[str]:
    return [
        line
        for line in proc.stderr.splitlines()
        if line.startswith("videohw: warning:") and "--input" in line
    ]


def raw_file(path, width: int, height: int, fmt: str, frames: int, tail: bytes = b""):
    path.write_bytes(
        b"".join(synthetic.pattern_frame(i, width, height, fmt).tobytes() for i in range(frames))
        + tail
    )
    return path


# ---- two --switch entries at one frame ---------------------------------------------------


@pytest.mark.parametrize(
    "first, second",
    [
        ("5:size=96x64:immediate", "5:size=32x32:immediate"),
        ("8:rc=cbr:1M:on_next_keyframe", "08:gop=4:drain_then_swap"),
    ],
)
def test_two_switches_at_one_frame_are_a_usage_error_naming_both(tmp_path, first, second):
    # Before: the later entry silently replaced the earlier one in the plan while the
    # report and --verify described another generation (a 96x64 one, the frames 32x32).
    proc = run_cli(
        tmp_path,
        "--size",
        "160x96",
        "--frames",
        "20",
        "--gop",
        "10",
        "--switch",
        first,
        "--switch",
        second,
        "-o",
        "out.h264",
    )
    line = error_line(proc)
    assert repr(first) in line and repr(second) in line, line
    assert "both at frame" in line
    assert not (tmp_path / "out.h264").exists()


def test_switches_at_different_frames_still_run(tmp_path):
    proc = run_cli(
        tmp_path,
        "--size",
        "160x96",
        "--frames",
        "20",
        "--gop",
        "10",
        "--switch",
        "5:size=96x64:immediate",
        "--switch",
        "6:size=64x48:immediate",
        "-o",
        "out.h264",
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.h264").stat().st_size > 0


# ---- --input of a size --size does not describe -----------------------------------------


@pytest.mark.parametrize("fmt", synthetic.FORMATS)
def test_a_file_of_bigger_frames_read_at_half_size_warns(tmp_path, fmt):
    # One 64x64 picture is also four 32x32 ones: before, it encoded a scrambled picture
    # with exit 0 and no word.
    raw = raw_file(tmp_path / "in.raw", 64, 64, fmt, 1)
    proc = run_cli(
        tmp_path, "--input", str(raw), "--input-format", fmt, "--size", "32x32", "-o", "out.h264"
    )
    assert proc.returncode == 0, proc.stderr  # a warning, not a refusal
    [warning] = warnings_of(proc)
    assert "4 frames of 32x32" in warning
    assert "also exactly 1 frame of 64x64" in warning
    assert "is --size right?" in warning


@pytest.mark.parametrize(
    "true_size, declared, fmt, frames, expected",
    [
        ((32, 32), "64x64", "argb8888", 4, "also exactly 4 frames of 32x32"),  # half
        ((160, 96), "96x160", "rgb24", 2, "also exactly 2 frames of 160x96"),  # turned
        ((320, 192), "160x96", "nv12", 1, "also exactly 1 frame of 320x192"),  # double
        ((1920, 1080), "1280x720", "i420", 4, "also exactly 4 frames of 1920x1080"),  # common
    ],
)
def test_other_plausible_sizes_that_fit_better_warn(
    tmp_path, true_size, declared, fmt, frames, expected
):
    raw = raw_file(tmp_path / "in.raw", *true_size, fmt, frames)
    proc = run_cli(
        tmp_path,
        "--input",
        str(raw),
        "--input-format",
        fmt,
        "--size",
        declared,
        "--frames",
        "1",
        "-o",
        "out.h264",
    )
    assert proc.returncode == 0, proc.stderr
    [warning] = warnings_of(proc)
    assert expected in warning and "is --size right?" in warning


@pytest.mark.parametrize("fmt", synthetic.FORMATS)
@pytest.mark.parametrize("size, frames", [((160, 96), 20), ((64, 64), 4)])
def test_a_file_of_the_declared_size_gives_no_warning(tmp_path, fmt, size, frames):
    # 20 frames of 160x96 are also 5 of 320x192, 80 of 80x48 and 20 of 96x160; 4 frames of
    # 64x64 are 1 of 128x128 and 16 of 32x32: the size fits, the rows say it is not those.
    raw = raw_file(tmp_path / "in.raw", *size, fmt, frames)
    proc = run_cli(
        tmp_path,
        "--input",
        str(raw),
        "--input-format",
        fmt,
        "--size",
        f"{size[0]}x{size[1]}",
        "-o",
        "out.h264",
    )
    assert proc.returncode == 0, proc.stderr
    assert warnings_of(proc) == []


def test_a_file_that_is_no_whole_number_of_frames_is_refused_naming_the_numbers(tmp_path):
    raw = raw_file(tmp_path / "in.nv12", 160, 96, "nv12", 3, tail=b"\0" * 7)
    proc = run_cli(
        tmp_path,
        "--input",
        str(raw),
        "--input-format",
        "nv12",
        "--size",
        "160x96",
        "-o",
        "out.h264",
    )
    line = error_line(proc)
    for needle in (
        "69127 bytes",
        "not a whole number of 160x96 nv12 frames",
        "23040 bytes each",
        "3 frames and 7 bytes left over",
    ):
        assert needle in line, line
    assert not (tmp_path / "out.h264").exists()


def test_the_refusal_names_a_plausible_size_the_file_is_made_of(tmp_path):
    raw = raw_file(tmp_path / "in.rgb", 1280, 720, "rgb24", 1)
    proc = run_cli(
        tmp_path,
        "--input",
        str(raw),
        "--input-format",
        "rgb24",
        "--size",
        "1920x1080",
        "-o",
        "out.h264",
    )
    line = error_line(proc)
    assert "2764800 bytes is not a whole number of 1920x1080 rgb24 frames" in line
    assert "6220800 bytes each; 0 frames and 2764800 bytes left over" in line
    assert "it is exactly 1 frame of 1280x720" in line
