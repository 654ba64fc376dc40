"""``videohw decode`` (docs/decode.md): summary, exit codes, dumps, checked against the
stream the software encoder wrote and against ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zlib

import numpy as np
import pytest

import videohw as vh
from conftest import common, encode_frames, make_frame, stream_of
from videohw.cli import main
from videohw.cli.decode import png_bytes

I420 = vh.PixelFormat.I420


@pytest.fixture
def h264_file(ctl, tmp_path):
    frames = [make_frame(I420, 64, 48, t, pts=t) for t in range(10)]
    path = tmp_path / "in.h264"
    path.write_bytes(stream_of(encode_frames(ctl, common(gop_length=5, b_frames=1), frames)))
    return path


def run(args, capsys):
    code = main(["decode", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_summary_counts_frames_sizes_and_keyframes(h264_file, capsys):
    code, out, _ = run([h264_file, "--codec", "h264", "--progress", "off"], capsys)
    assert code == 0
    assert "10 frames" in out and "64x48 (10)" in out and "keyframes: 2, damaged: 0" in out


def test_one_byte_chunks_give_the_same_summary(h264_file, capsys):
    code, out, _ = run(
        [h264_file, "--codec", "h264", "--chunk-bytes", "1", "--progress", "off"], capsys
    )
    assert code == 0 and "10 frames" in out


def test_progress_bar_goes_to_stderr(h264_file, capsys):
    code, out, err = run([h264_file, "--codec", "h264", "--progress", "on"], capsys)
    assert code == 0 and "100%" in err and "100%" not in out


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg CLI")
def test_png_dump_equals_ffmpeg_rgb24(h264_file, tmp_path, capsys):
    dump = tmp_path / "png"
    code, _, _ = run(
        [h264_file, "--codec", "h264", "--output-mode", "rgb", "--dump", dump, "--progress", "off"],
        capsys,
    )
    assert code == 0
    files = sorted(dump.iterdir())
    assert len(files) == 10
    # ffmpeg reads our PNG back; it must be the same picture ffmpeg decodes from the stream.
    ours = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(files[3]), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        stdout=subprocess.PIPE,
        check=True,
    ).stdout
    ref = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(h264_file), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        stdout=subprocess.PIPE,
        check=True,
    ).stdout
    frame = 64 * 48 * 3
    assert ours == ref[3 * frame : 4 * frame]


def test_raw_dump_writes_the_native_planes(h264_file, tmp_path, capsys):
    dump = tmp_path / "raw"
    code, _, _ = run(
        [
            h264_file,
            "--codec",
            "h264",
            "--output-mode",
            "native",
            "--dump",
            dump,
            "--dump-format",
            "raw",
            "--progress",
            "off",
        ],
        capsys,
    )
    assert code == 0
    files = sorted(dump.iterdir())
    assert len(files) == 10 and files[0].name == "frame_000000_64x48_yuv420p.raw"
    assert files[0].stat().st_size == 64 * 48 * 3 // 2


def test_png_dump_in_metadata_mode_is_a_usage_error(h264_file, tmp_path, capsys):
    code, _, err = run([h264_file, "--codec", "h264", "--dump", tmp_path / "x"], capsys)
    assert code == 2 and "--output-mode" in err


def test_garbage_file_fails_with_a_decode_error_and_no_traceback(tmp_path, capsys):
    path = tmp_path / "garbage.h264"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, np.uint8).tobytes())
    code, out, err = run([path, "--codec", "h264", "--progress", "off"], capsys)
    assert code == 1 and "0 frames" in out and "Traceback" not in err


def test_missing_file_is_a_usage_error(tmp_path, capsys):
    code, _, err = run([tmp_path / "none.h264", "--codec", "h264"], capsys)
    assert code == 2 and "no such file" in err


def test_png_writer_output_is_a_valid_png():
    rgb = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    data = png_bytes(rgb)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # IDAT holds one filter byte (0) per row, then the row's pixels.
    idat_len = int.from_bytes(data[33:37], "big")
    raw = zlib.decompress(data[41 : 41 + idat_len])
    rows = np.frombuffer(raw, np.uint8).reshape(5, 1 + 7 * 3)
    assert (rows[:, 0] == 0).all()
    np.testing.assert_array_equal(rows[:, 1:].reshape(5, 7, 3), rgb)


def test_module_entry_point_runs_decode(h264_file):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "videohw",
            "decode",
            str(h264_file),
            "--codec",
            "h264",
            "--progress",
            "off",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert out.returncode == 0 and "10 frames" in out.stdout
