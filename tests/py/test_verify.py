"""The verifier (videohw.verify) and the synthetic pattern (videohw.synthetic).

The streams here are made with the ffmpeg CLI, not videohw, so these tests say whether the
verifier itself can be trusted: it must pass a stream that matches what is claimed and FAIL
one whose frame count, sizes, keyframes or pictures differ -- a verifier that cannot fail
is worthless.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from videohw import synthetic, verify
from videohw.verify import (
    CheckResult,
    FrameInfo,
    RawSource,
    VerifyReport,
    check_keyframes,
    expected_keyframes,
    measure_psnr,
    probe_frames,
    verify_stream,
)

HAS_FFMPEG = bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))
needs_ffmpeg = pytest.mark.skipif(not HAS_FFMPEG, reason="needs Debian's ffmpeg/ffprobe")

W, H, N, GOP = 160, 96, 30, 10


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True, timeout=120)


# ------------------------------------------------------------------------------------------
# expected_keyframes (the contract's rule)


def test_keyframes_every_gop_length_frames():
    assert expected_keyframes(25, 10) == [0, 10, 20]


def test_forced_keyframe_restarts_the_gop_count():
    assert expected_keyframes(30, 10, [5]) == [0, 5, 15, 25]


def test_forced_keyframe_on_a_gop_boundary_is_counted_once():
    assert expected_keyframes(30, 10, [0, 10]) == [0, 10, 20]


def test_forced_indices_may_be_unsorted_repeated_or_past_the_end():
    assert expected_keyframes(20, 100, [15, 3, 3, 40]) == [0, 3, 15]


def test_gop_length_one_makes_every_frame_a_keyframe():
    assert expected_keyframes(5, 1) == [0, 1, 2, 3, 4]


def test_gop_longer_than_the_stream_gives_frame_zero_only():
    assert expected_keyframes(30, 60) == [0]


def test_no_frames_no_keyframes():
    assert expected_keyframes(0, 10, [3]) == []


@pytest.mark.parametrize("gop, forced", [(0, ()), (10, (-1,))])
def test_expected_keyframes_rejects_nonsense(gop, forced):
    with pytest.raises(ValueError):
        expected_keyframes(10, gop, forced)


# ------------------------------------------------------------------------------------------
# Checks on hand-made frame lists


def frames(keys, n=6, pict=None, size=(W, H)):
    return [
        FrameInfo(i, size[0], size[1], i in keys, (pict or {}).get(i, "I" if i in keys else "P"))
        for i in range(n)
    ]


def test_keyframe_check_fails_on_a_keyframe_that_is_not_an_i_picture():
    result = check_keyframes(frames({0, 3}, pict={3: "P"}), [0, 3])
    assert not result.ok
    assert "not I pictures [3]" in result.message


def test_keyframe_check_names_missing_and_unexpected_indices():
    result = check_keyframes(frames({0, 4}), [0, 3])
    assert not result.ok
    assert "missing [3]" in result.message and "unexpected [4]" in result.message


def test_size_check_names_the_wrong_frames():
    fs = frames({0}) + [FrameInfo(6, 320, 240, False, "P")]
    result = verify.check_frame_sizes(fs, W, H)
    assert not result.ok and "#6 320x240" in result.message


def test_empty_report_is_not_ok():
    assert not VerifyReport().ok


def test_report_is_ok_only_when_every_check_is():
    report = VerifyReport([CheckResult("a", True, "fine"), CheckResult("b", False, "bad")])
    assert not report.ok
    assert report.lines == ["OK   a: fine", "FAIL b: bad"]
    assert report.to_dict()["ok"] is False


# ------------------------------------------------------------------------------------------
# Streams made by the ffmpeg CLI


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """An I420 raw source (testsrc2) and H.264 / HEVC encodes of it with keyframes exactly
    every GOP frames (no scene cuts, closed GOPs), HEVC with B-frames."""
    d = tmp_path_factory.mktemp("ffmpeg_made")
    src = d / "src.yuv"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={W}x{H}:rate=30",
        "-frames:v",
        str(N),
        "-pix_fmt",
        "yuv420p",
        "-f",
        "rawvideo",
        str(src),
    )
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-r", "30", "-i", str(src)]
    h264 = d / "gop10.h264"
    ffmpeg(*raw, "-c:v", "libx264", "-g", str(GOP), "-sc_threshold", "0", "-bf", "0", str(h264))
    hevc = d / "gop10.hevc"
    ffmpeg(
        *raw,
        "-c:v",
        "libx265",
        "-x265-params",
        f"log-level=error:keyint={GOP}:min-keyint={GOP}:scenecut=0:open-gop=0:bframes=2",
        str(hevc),
    )
    bars = d / "bars.yuv"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"smptebars=size={W}x{H}:rate=30",
        "-frames:v",
        str(N),
        "-pix_fmt",
        "yuv420p",
        "-f",
        "rawvideo",
        str(bars),
    )
    return {"src": src, "h264": h264, "hevc": hevc, "bars": bars, "dir": d}


@needs_ffmpeg
@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_probe_frames_lists_every_picture_in_presentation_order(made, codec):
    fs = probe_frames(made[codec], codec)
    assert [f.index for f in fs] == list(range(N))
    assert {(f.width, f.height) for f in fs} == {(W, H)}
    assert [f.index for f in fs if f.key_frame] == [0, 10, 20]
    assert all(f.pict_type == "I" for f in fs if f.key_frame)


@needs_ffmpeg
def test_probe_frames_guesses_the_codec_from_the_extension(made):
    assert len(probe_frames(made["hevc"])) == N


@needs_ffmpeg
@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_verify_passes_a_stream_that_matches_the_claim(made, codec):
    report = verify_stream(
        made[codec],
        codec,
        W,
        H,
        N,
        expected_keyframes(N, GOP),
        RawSource.from_file(made["src"], "i420", W, H, 30),
    )
    assert report.ok, report.lines
    assert [c.name for c in report.checks] == ["frames", "size", "keyframes", "psnr"]


@needs_ffmpeg
@pytest.mark.parametrize(
    "claimed", [expected_keyframes(N, 15), expected_keyframes(N, GOP, [5]), [0, 10]]
)
def test_verify_fails_when_keyframes_differ(made, claimed):
    report = verify_stream(made["h264"], "h264", W, H, N, claimed)
    assert not report.ok
    failed = [c.name for c in report.checks if not c.ok]
    assert failed == ["keyframes"], report.lines


@needs_ffmpeg
@pytest.mark.parametrize("claimed", [N - 1, N + 1])
def test_verify_fails_when_the_frame_count_differs(made, claimed):
    report = verify_stream(made["h264"], "h264", W, H, claimed, expected_keyframes(N, GOP))
    assert not report.ok
    assert [c.name for c in report.checks if not c.ok] == ["frames"], report.lines


@needs_ffmpeg
def test_verify_fails_when_the_size_differs(made):
    report = verify_stream(made["h264"], "h264", W + 16, H, N, expected_keyframes(N, GOP))
    assert [c.name for c in report.checks if not c.ok] == ["size"], report.lines


@needs_ffmpeg
def test_verify_fails_when_the_pictures_are_not_the_source(made):
    report = verify_stream(
        made["h264"],
        "h264",
        W,
        H,
        N,
        expected_keyframes(N, GOP),
        RawSource.from_file(made["bars"], "i420", W, H, 30),
    )
    assert [c.name for c in report.checks if not c.ok] == ["psnr"], report.lines


@needs_ffmpeg
def test_verify_fails_on_a_broken_stream(made, tmp_path):
    broken = tmp_path / "broken.h264"
    broken.write_bytes(made["h264"].read_bytes()[:3000])
    report = verify_stream(broken, "h264", W, H, N, expected_keyframes(N, GOP))
    assert not report.ok
    assert report.checks[0].name == "decode"


@needs_ffmpeg
def test_psnr_against_the_source_is_high_and_against_other_pictures_low(made):
    good = measure_psnr(made["h264"], "h264", RawSource.from_file(made["src"], "i420", W, H), N)
    bad = measure_psnr(made["h264"], "h264", RawSource.from_file(made["bars"], "i420", W, H), N)
    assert good.frames == bad.frames == N
    assert good.average > 35
    assert bad.average < 20


@needs_ffmpeg
def test_psnr_compares_only_the_first_n_source_frames(made):
    # The encode holds frames 0..19 only; the source file has 30.
    short = made["dir"] / "first20.h264"
    ffmpeg(
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-s",
        f"{W}x{H}",
        "-i",
        str(made["src"]),
        "-frames:v",
        "20",
        "-c:v",
        "libx264",
        str(short),
    )
    result = measure_psnr(short, "h264", RawSource.from_file(made["src"], "i420", W, H), 20)
    assert result.frames == 20 and result.average > 35


@needs_ffmpeg
@pytest.mark.parametrize("fmt", ["argb8888", "nv12"])
def test_psnr_streams_the_synthetic_source_into_ffmpeg(tmp_path, fmt):
    n, w, h = 24, 192, 108
    raw = tmp_path / "pattern.raw"
    with open(raw, "wb") as f:
        for i in range(n):
            f.write(synthetic.pattern_frame(i, w, h, fmt).tobytes())
    stream = tmp_path / "pattern.h264"
    ffmpeg(
        "-f",
        "rawvideo",
        "-pix_fmt",
        verify.FFMPEG_PIX_FMT[fmt],
        "-s",
        f"{w}x{h}",
        "-i",
        str(raw),
        "-c:v",
        "libx264",
        "-qp",
        "20",
        str(stream),
    )
    same = measure_psnr(stream, "h264", RawSource.synthetic(fmt, w, h, n), n)
    assert same.frames == n and same.average > 35
    # The same stream against frames shifted by one: the pattern moves, so PSNR drops.
    gen = synthetic.generator(w, h, fmt)
    shifted = RawSource(
        w, h, fmt, Fraction(30), frames=lambda: (gen.frame(i + 1) for i in range(n))
    )
    assert measure_psnr(stream, "h264", shifted, n).average < same.average - 10


@needs_ffmpeg
def test_psnr_does_not_hang_when_ffmpeg_stops_reading(tmp_path):
    # Large frames, a stream that does not exist: ffmpeg exits at once while we still
    # have frames to write; that must be an error, not a deadlock.
    source = RawSource.synthetic("argb8888", 1280, 720, 200)
    with pytest.raises(verify.ProbeError):
        measure_psnr(tmp_path / "missing.h264", "h264", source, 200)


def test_missing_ffprobe_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(verify.ToolNotFoundError, match="ffprobe not found.*apt-get install ffmpeg"):
        probe_frames(tmp_path / "x.h264")


# ------------------------------------------------------------------------------------------
# The synthetic pattern


@pytest.mark.parametrize("fmt", synthetic.FORMATS)
def test_pattern_frames_have_the_documented_layout(fmt):
    frame = synthetic.pattern_frame(3, 64, 48, fmt)
    expected = {
        "argb8888": (48, 64, 4),
        "bgra": (48, 64, 4),
        "rgb24": (48, 64, 3),
        "nv12": (72, 64),
        "i420": (72, 64),
    }[fmt]
    assert frame.shape == expected and frame.dtype == np.uint8
    assert frame.flags.c_contiguous
    assert frame.nbytes == synthetic.frame_nbytes(64, 48, fmt)


@pytest.mark.parametrize("fmt", synthetic.FORMATS)
def test_pattern_is_deterministic_and_moves(fmt):
    a = synthetic.PatternGenerator(96, 64, fmt)
    b = synthetic.PatternGenerator(96, 64, fmt)
    assert np.array_equal(a.frame(17), b.frame(17))
    assert not np.array_equal(a.frame(17), a.frame(18))


def test_packed_formats_hold_the_same_picture():
    argb = synthetic.pattern_frame(5, 64, 48, "argb8888")
    bgra = synthetic.pattern_frame(5, 64, 48, "bgra")
    rgb = synthetic.pattern_frame(5, 64, 48, "rgb24")
    assert (argb[..., 0] == 255).all() and (bgra[..., 3] == 255).all()
    assert np.array_equal(argb[..., 1:], rgb)
    assert np.array_equal(bgra[..., 2::-1], rgb)


def test_yuv_formats_hold_the_same_planes():
    nv12 = synthetic.pattern_frame(5, 64, 48, "nv12")
    i420 = synthetic.pattern_frame(5, 64, 48, "i420")
    assert np.array_equal(nv12[:48], i420[:48])
    uv = nv12[48:].reshape(24, 32, 2)
    planes = i420[48:].reshape(2, 24, 32)
    assert np.array_equal(uv[..., 0], planes[0]) and np.array_equal(uv[..., 1], planes[1])


def test_pattern_has_texture():
    luma = synthetic.pattern_frame(0, 320, 240, "i420")[:240].astype(np.float64)
    assert luma.std() > 20  # not flat
    assert np.abs(np.diff(luma, axis=1)).mean() > 1  # detail, not only a gradient
