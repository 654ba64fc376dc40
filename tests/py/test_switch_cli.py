"""`videohw encode --switch`: the issue's example at small scale, verified per generation."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import sys

import pytest

from videohw import synthetic, verify


def encode(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "videohw",
            "encode",
            "--no-progress",
            "-o",
            str(tmp_path / "out.h264"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_size_then_bitrate_switch_verifies_every_generation(tmp_path):
    # The issue's example (1920x1080 -> 1280x720 IMMEDIATE at 300, then a bitrate change
    # ON_NEXT_KEYFRAME at 450), scaled down.
    proc = encode(
        tmp_path,
        "--size",
        "192x108",
        "--frames",
        "80",
        "--gop",
        "20",
        "--switch",
        "30:size=128x72:immediate",
        "--switch",
        "45:rc=cbr:1M:on_next_keyframe",
        "--verify",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["verify"]["ok"]
    assert [g["size"] for g in summary["generations"]] == ["192x108", "128x72", "128x72"]
    assert [g["path"] for g in summary["generations"]] == ["initial", "new_session", "in_place"]
    # generation 2 starts with an IDR at 30, so its GOP boundary (and g3) is at 50
    assert [g["frames"] for g in summary["generations"]] == [30, 20, 30]


def test_drain_then_swap_with_frame_threads_keeps_packets_with_their_generation(tmp_path):
    # Not low latency: x264 holds frames back; an in-place switch must not relabel them.
    proc = encode(
        tmp_path,
        "--size",
        "160x96",
        "--frames",
        "60",
        "--gop",
        "15",
        "--switch",
        "20:rc=vbr:1M:2M,idr=0:drain_then_swap",
        "--switch",
        "40:gop=10:immediate",
        "--verify",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "generation 3" in proc.stdout and "FAIL" not in proc.stdout


def test_verification_fails_on_a_wrong_plan(tmp_path):
    proc = encode(
        tmp_path,
        "--size",
        "128x72",
        "--frames",
        "40",
        "--gop",
        "10",
        "--switch",
        "15:size=96x64:immediate",
        "--json",
        "--verify",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Claim the switch happened one frame later than it did: the verifier must say no.
    wrong = verify.switch_timeline(
        40, 128, 72, 10, [verify.PlannedSwitch(16, 2, 96, 64, 10, "immediate", True, False)]
    )
    pairs = [(i, 1 if i < 15 else 2) for i in range(40)]
    report = verify.verify_switched_stream(tmp_path / "out.h264", "h264", wrong, pairs)
    assert not report.ok
    assert any("generation 2" in line and "FAIL" in line for line in report.lines)


@pytest.mark.parametrize(
    "spec",
    [
        "10:size=99x64:immediate",
        "10:codec=vp9:immediate",
        "10:size=96x64:sometimes",
        "x:size=96x64:immediate",
    ],
)
def test_bad_switch_spec_exits_2_with_a_message(tmp_path, spec):
    proc = encode(tmp_path, "--size", "128x72", "--frames", "20", "--switch", spec)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip() and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------
# Per-generation PSNR, the summary per generation, and a verifier that can say no


ISSUE_EXAMPLE = (
    "--size",
    "160x96",
    "--frames",
    "80",
    "--gop",
    "20",
    "--switch",
    "30:size=96x64:immediate",
    "--switch",
    "45:rc=cbr:1M:on_next_keyframe",
)


def test_issue_example_summary_and_psnr_per_generation(tmp_path):
    proc = encode(tmp_path, *ISSUE_EXAMPLE, "--verify", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["verify"]["ok"]
    gens = summary["generations"]
    assert [g["generation"] for g in gens] == [1, 2, 3]
    assert [(g["first_frame"], g["last_frame"], g["frames"]) for g in gens] == [
        (0, 29, 30),
        (30, 49, 20),
        (50, 79, 30),
    ]
    assert [g["size"] for g in gens] == ["160x96", "96x64", "96x64"]
    assert [g["codec"] for g in gens] == ["h264"] * 3
    assert [g["path"] for g in gens] == ["initial", "new_session", "in_place"]
    assert [g["mode"] for g in gens] == [None, "immediate", "on_next_keyframe"]
    assert [g["rate_control"] for g in gens][2] == "cbr 1.00 Mb/s"
    assert sum(g["bytes"] for g in gens) == summary["bytes"]
    assert all(g["bitrate_bps"] > 0 and g["psnr"] >= 30 for g in gens)
    names = [c["name"] for c in summary["verify"]["checks"]]
    for name in (
        "frames",
        "packets",
        "generations",
        "generation 1",
        "generation 2",
        "generation 3",
        "psnr generation 1",
        "psnr generation 2",
        "psnr generation 3",
    ):
        assert name in names
    psnr = {
        c["generation"]: c
        for c in summary["verify"]["checks"]
        if c["name"].startswith("psnr generation")
    }
    assert [psnr[g]["frames"] for g in (1, 2, 3)] == [30, 20, 30]


def test_issue_example_text_output_has_one_line_per_generation(tmp_path):
    proc = encode(tmp_path, *ISSUE_EXAMPLE, "--verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("generation ")]
    assert len(lines) == 3
    assert "frames 30..49 (20), 96x64, h264" in lines[1] and "new_session" in lines[1]
    assert "in_place (on_next_keyframe)" in lines[2] and "psnr" in lines[2]
    assert "verify (OK" in proc.stdout and "FAIL" not in proc.stdout


def test_verify_fails_through_the_cli_when_the_psnr_bar_is_out_of_reach(tmp_path):
    proc = encode(tmp_path, *ISSUE_EXAMPLE, "--verify", "--min-psnr", "99")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "verify (FAILED" in proc.stdout
    assert sum("FAIL psnr generation" in line for line in proc.stdout.splitlines()) == 3


@pytest.fixture(scope="module")
def issue_example(tmp_path_factory):
    """The issue's example encoded once; the switches as they happened (generation 3 was
    in place with an IDR asked for) and (pts, generation) of every packet."""
    tmp = tmp_path_factory.mktemp("issue")
    proc = encode(tmp, *ISSUE_EXAMPLE, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    planned = [
        verify.PlannedSwitch(30, 2, 96, 64, 20, "immediate", True, False),
        verify.PlannedSwitch(45, 3, 96, 64, 20, "on_next_keyframe", True, True),
    ]
    pairs = [(i, 1 if i < 30 else 2 if i < 50 else 3) for i in range(80)]
    return tmp / "out.h264", planned, pairs


def _synthetic(width, height):
    return verify.RawSource.synthetic("argb8888", width, height, 80, 30)


def test_verify_functions_pass_on_the_right_plan(issue_example):
    path, planned, pairs = issue_example
    plan = verify.switch_timeline(80, 160, 96, 20, planned)
    report = verify.verify_switched_stream(path, "h264", plan, pairs, _synthetic)
    assert report.ok, str(report)
    assert len([c for c in report.checks if c.name.startswith("psnr generation")]) == 3


@pytest.mark.parametrize(
    "wrong, failing",
    [
        ("size", "generation 2"),
        ("activation frame", "generation 3"),
        ("keyframes", "generation 2"),
        ("lost packet", "packets"),
        ("duplicate packet", "packets"),
        ("generation order", "generations"),
        ("source", "psnr generation 1"),
        ("frame count", "frames"),
    ],
)
def test_verify_functions_fail_on_a_wrong_expectation(issue_example, wrong, failing):
    path, planned, pairs = issue_example
    planned, pairs = list(planned), list(pairs)
    n, source_for = 80, _synthetic
    if wrong == "size":  # claim generation 2 kept the first size
        planned = [dataclasses.replace(p, width=160, height=96) for p in planned]
    elif wrong == "activation frame":  # ON_NEXT_KEYFRAME activating at once
        planned[1] = dataclasses.replace(planned[1], mode="immediate")
    elif wrong == "keyframes":  # claim generation 2 had a GOP of 10
        planned[0] = dataclasses.replace(planned[0], gop_length=10)
    elif wrong == "lost packet":
        pairs = pairs[:40] + pairs[41:]
    elif wrong == "duplicate packet":
        pairs = pairs[:40] + [pairs[39]] + pairs[41:]
    elif wrong == "generation order":
        pairs[10], pairs[40] = pairs[40], pairs[10]
    elif wrong == "source":  # the source one frame off

        def source_for(width, height):
            src = verify.RawSource.synthetic("argb8888", width, height, 81, 30)
            return dataclasses.replace(src, frames=lambda: itertools.islice(src.frames(), 1, None))
    elif wrong == "frame count":
        n = 81
    plan = verify.switch_timeline(n, 160, 96, 20, planned)
    report = verify.verify_switched_stream(path, "h264", plan, pairs, source_for)
    assert not report.ok, f"{wrong}: the verifier did not notice\n{report}"
    failed = [c.name for c in report.checks if not c.ok]
    assert failing in failed, f"{wrong}: expected {failing!r} to fail, failed: {failed}"


def test_on_next_keyframe_activates_on_a_forced_keyframe(tmp_path):
    proc = encode(
        tmp_path,
        "--size",
        "128x72",
        "--frames",
        "50",
        "--gop",
        "20",
        "--force-idr-at",
        "27",
        "--switch",
        "23:size=96x64,idr=0:on_next_keyframe",
        "--verify",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert [(g["first_frame"], g["size"]) for g in summary["generations"]] == [
        (0, "128x72"),
        (27, "96x64"),
    ]
    assert summary["keyframes"] == [0, 20, 27, 47]


def test_raw_input_rate_switches_verify_psnr_against_the_file(tmp_path):
    raw = tmp_path / "in.nv12"
    with open(raw, "wb") as f:
        for i in range(40):
            f.write(synthetic.pattern_frame(i, 128, 72, "nv12").tobytes())
    proc = encode(
        tmp_path,
        "--input",
        str(raw),
        "--input-format",
        "nv12",
        "--size",
        "128x72",
        "--gop",
        "10",
        "--switch",
        "12:rc=cbr:500k,idr=0:immediate",
        "--switch",
        "25:gop=7:drain_then_swap",
        "--verify",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert [g["path"] for g in summary["generations"]] == ["initial", "in_place", "new_session"]
    assert summary["keyframes"] == [0, 10, 20, 25, 32, 39]
    assert all(g["psnr"] >= 30 for g in summary["generations"])


def test_raw_input_size_switch_is_refused(tmp_path):
    raw = tmp_path / "in.i420"
    raw.write_bytes(bytes(64 * 48 * 3 // 2 * 4))
    proc = encode(
        tmp_path,
        "--input",
        str(raw),
        "--input-format",
        "i420",
        "--size",
        "64x48",
        "--switch",
        "2:size=32x32:immediate",
    )
    assert proc.returncode == 2
    assert "size change" in proc.stderr and "Traceback" not in proc.stderr


def test_hevc_switches_verify(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "videohw",
            "encode",
            "--no-progress",
            "--codec",
            "hevc",
            "-o",
            str(tmp_path / "out.hevc"),
            "--size",
            "128x72",
            "--frames",
            "40",
            "--gop",
            "10",
            "--b-frames",
            "2",
            "--switch",
            "12:size=96x64:on_next_keyframe",
            "--switch",
            "31:rc=vbr:400k:800k,idr=0:immediate",
            "--verify",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    # HEVC switches are always new sessions, so generation 3 starts with an IDR anyway.
    assert [g["path"] for g in summary["generations"]] == ["initial", "new_session", "new_session"]
    assert [g["first_frame"] for g in summary["generations"]] == [0, 20, 31]
    assert summary["keyframes"] == [0, 10, 20, 30, 31]


def test_a_superseded_switch_never_shows(tmp_path):
    proc = encode(
        tmp_path,
        "--size",
        "128x72",
        "--frames",
        "60",
        "--gop",
        "20",
        "--switch",
        "25:size=96x64:on_next_keyframe",
        "--switch",
        "30:rc=cbr:1M:on_next_keyframe",
        "--verify",
        "--json",
        "--telemetry",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    # Generation 2 was replaced while pending; generation 3 (96x64 at 1 Mb/s: the SPECs
    # build on each other) activates at the GOP boundary.
    assert [(g["generation"], g["first_frame"], g["size"]) for g in summary["generations"]] == [
        (1, 0, "128x72"),
        (3, 40, "96x64"),
    ]
    assert summary["telemetry"]["switches_superseded"] == 1


def test_in_place_switch_on_a_b_frame_encoder_verifies(tmp_path):
    # With B-frames an in-place activation is an IDR even with idr=0 (docs/api.md), so the
    # generations stay in decode order; the verifier's model knows it.
    proc = encode(
        tmp_path,
        "--size",
        "128x72",
        "--frames",
        "30",
        "--gop",
        "10",
        "--b-frames",
        "2",
        "--rc",
        "vbr:2M:3M",
        "--switch",
        "13:rc=vbr:1M:2M,idr=0:immediate",
        "--verify",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert [g["path"] for g in summary["generations"]] == ["initial", "in_place"]
    assert summary["keyframes"] == [0, 10, 13, 23]


# --------------------------------------------------------------------------------------
# Codec switches: one file per run of generations of one codec (<stem>.seg<N>.<codec>)


def ffprobe_segment(path):
    """(codec name, [(width, height, key_frame)] per decoded picture) straight from ffprobe,
    which finds the demuxer from the file name, as a user's player would."""
    proc = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name:frame=width,height,key_frame",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and not proc.stderr.strip(), f"{path}: {proc.stderr}"
    data = json.loads(proc.stdout)
    assert len(data["streams"]) == 1, data["streams"]
    return data["streams"][0]["codec_name"], [
        (int(f["width"]), int(f["height"]), int(f["key_frame"])) for f in data["frames"]
    ]


def check_segments(tmp_path, summary, expected):
    """``expected``: (file name, codec, first frame, frames, WxH, keyframes relative to the
    segment's start) per segment; checks the summary, the files and the verify report."""
    assert summary["verify"]["ok"], json.dumps(summary["verify"], indent=1)
    segs = summary["segments"]
    assert [
        (os.path.basename(s["path"]), s["codec"], s["first_frame"], s["frames"]) for s in segs
    ] == [e[:4] for e in expected]
    assert sum(s["frames"] for s in segs) == summary["frames"]
    assert sum(s["bytes"] for s in segs) == summary["bytes"]
    for seg, (name, codec, _first, count, size, keys) in zip(segs, expected):
        assert os.path.getsize(tmp_path / name) == seg["bytes"] > 0
        probed_codec, frames = ffprobe_segment(tmp_path / name)
        assert probed_codec == codec, name
        assert len(frames) == count, name
        assert {f"{w}x{h}" for w, h, _ in frames} == {size}, name
        assert frames[0][2] == 1, f"{name} does not start with a keyframe"
        assert [i for i, (_, _, k) in enumerate(frames) if k] == keys, name
    # nothing else was written beside the output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(e[0] for e in expected)
    names = [c["name"] for c in summary["verify"]["checks"]]
    assert "segments" in names and "frames" in names
    for n in range(1, len(expected) + 1):
        assert f"segment {n} frames" in names and f"segment {n} packets" in names


@pytest.mark.parametrize(
    "mode, first", [("immediate", 15), ("on_next_keyframe", 20), ("drain_then_swap", 15)]
)
def test_codec_switch_h264_to_hevc_writes_a_second_segment(tmp_path, mode, first):
    proc = encode(
        tmp_path,
        "--size",
        "128x72",
        "--frames",
        "40",
        "--gop",
        "10",
        "--switch",
        f"15:codec=hevc:{mode}",
        "--verify",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    rest = 40 - first
    check_segments(
        tmp_path,
        summary,
        [
            ("out.h264", "h264", 0, first, "128x72", list(range(0, first, 10))),
            ("out.seg2.hevc", "hevc", first, rest, "128x72", list(range(0, rest, 10))),
        ],
    )
    gens = summary["generations"]
    assert [(g["generation"], g["codec"], g["first_frame"], g["path"]) for g in gens] == [
        (1, "h264", 0, "initial"),
        (2, "hevc", first, "new_session"),
    ]
    assert all(g["psnr"] >= 30 for g in gens)


def test_immediate_h264_hevc_h264_writes_three_segments(tmp_path):
    proc = encode(
        tmp_path,
        "--size",
        "128x72",
        "--frames",
        "40",
        "--gop",
        "10",
        "--switch",
        "10:codec=hevc:immediate",
        "--switch",
        "25:codec=h264:immediate",
        "--verify",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    check_segments(
        tmp_path,
        summary,
        [
            ("out.h264", "h264", 0, 10, "128x72", [0]),
            ("out.seg2.hevc", "hevc", 10, 15, "128x72", [0, 10]),
            ("out.seg3.h264", "h264", 25, 15, "128x72", [0, 10]),
        ],
    )
    assert [g["codec"] for g in summary["generations"]] == ["h264", "hevc", "h264"]
    assert summary["keyframes"] == [0, 10, 20, 25, 35]


def test_size_and_codec_in_one_spec_then_a_same_codec_switch_stays_in_the_segment(tmp_path):
    proc = encode(
        tmp_path,
        "--size",
        "128x72",
        "--frames",
        "40",
        "--gop",
        "10",
        "--switch",
        "12:size=96x64,codec=hevc:immediate",
        "--switch",
        "30:rc=cbr:500k:immediate",
        "--verify",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    # Generation 3 is still HEVC, so it goes on in segment 2 (with its IDR at 30).
    check_segments(
        tmp_path,
        summary,
        [
            ("out.h264", "h264", 0, 12, "128x72", [0, 10]),
            ("out.seg2.hevc", "hevc", 12, 28, "96x64", [0, 10, 18]),
        ],
    )
    gens = summary["generations"]
    assert [(g["generation"], g["size"], g["codec"]) for g in gens] == [
        (1, "128x72", "h264"),
        (2, "96x64", "hevc"),
        (3, "96x64", "hevc"),
    ]
    assert [g["frames"] for g in gens] == [12, 18, 10]
    checks = {c["name"]: c for c in summary["verify"]["checks"]}
    assert checks["segment 2 generation 2"]["ok"] and checks["segment 2 generation 3"]["ok"]
    assert checks["segment 2 psnr generation 3"]["frames"] == 10


def test_codec_switch_text_output_lists_the_segments(tmp_path):
    proc = encode(
        tmp_path,
        "--size",
        "128x72",
        "--frames",
        "30",
        "--gop",
        "10",
        "--codec",
        "hevc",
        "--switch",
        "10:codec=h264:immediate",
        "--verify",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    # -o out.h264 names segment 1 even though it holds HEVC: the flag wins over the codec
    assert any(line.startswith("output") and "1 more segment file" in line for line in lines)
    seg = [line for line in lines if line.startswith("segment ")]
    assert len(seg) == 2
    assert "out.h264: hevc, frames 0..9 (10)" in seg[0]
    assert "out.seg2.h264: h264, frames 10..29 (20)" in seg[1]
    assert "verify (OK" in proc.stdout and "FAIL" not in proc.stdout


def test_no_codec_change_writes_one_file(tmp_path):
    proc = encode(
        tmp_path,
        "--size",
        "128x72",
        "--frames",
        "20",
        "--gop",
        "10",
        "--switch",
        "5:size=96x64:immediate",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert [(s["segment"], s["codec"], s["frames"]) for s in summary["segments"]] == [
        (1, "h264", 20)
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["out.h264"]


# The verify functions on an h264 -> hevc -> h264 encode, with a truncated or misordered
# segment and a source read from the wrong frame.

THREE = [
    verify.PlannedSwitch(10, 2, 128, 72, 10, "immediate", True, False, codec="hevc"),
    verify.PlannedSwitch(25, 3, 128, 72, 10, "immediate", True, False, codec="h264"),
]


@pytest.fixture(scope="module")
def three_segments(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("three")
    proc = encode(
        tmp,
        "--size",
        "128x72",
        "--frames",
        "40",
        "--gop",
        "10",
        "--switch",
        "10:codec=hevc:immediate",
        "--switch",
        "25:codec=h264:immediate",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plan = verify.switch_timeline(40, 128, 72, 10, THREE, codec="h264")
    segments = [
        verify.StreamSegment(tmp / "out.h264", "h264", [(i, 1) for i in range(10)]),
        verify.StreamSegment(tmp / "out.seg2.hevc", "hevc", [(i, 2) for i in range(10, 25)]),
        verify.StreamSegment(tmp / "out.seg3.h264", "h264", [(i, 3) for i in range(25, 40)]),
    ]
    return plan, segments


def _source40(width, height):
    return verify.RawSource.synthetic("argb8888", width, height, 40, 30)


def test_segment_spans_follow_the_codec_runs():
    plan = verify.switch_timeline(40, 128, 72, 10, THREE, codec="h264")
    assert verify.segment_spans(plan) == [("h264", 0, 10), ("hevc", 10, 15), ("h264", 25, 15)]
    # without codecs the whole plan is one span, as before
    assert verify.segment_spans(verify.switch_timeline(40, 128, 72, 10, [])) == [(None, 0, 40)]


def test_verify_segments_passes_on_the_real_files(three_segments):
    plan, segments = three_segments
    report = verify.verify_segments(segments, plan, _source40)
    assert report.ok, str(report)
    psnr = [c for c in report.checks if "psnr generation" in c.name]
    assert [(c.name, c.data["frames"]) for c in psnr] == [
        ("segment 1 psnr generation 1", 10),
        ("segment 2 psnr generation 2", 15),
        ("segment 3 psnr generation 3", 15),
    ]


def test_verify_segments_fails_on_a_truncated_segment(three_segments, tmp_path):
    plan, segments = three_segments
    data = open(segments[1].path, "rb").read()
    # Cut segment 2 at its last start code: its last picture's slice is gone.
    cut = data.rfind(b"\x00\x00\x01")
    assert cut > 0
    short = tmp_path / "out.seg2.hevc"
    short.write_bytes(data[:cut])
    broken = [segments[0], dataclasses.replace(segments[1], path=short), segments[2]]
    report = verify.verify_segments(broken, plan, _source40)
    assert not report.ok
    failed = [c.name for c in report.checks if not c.ok]
    assert "frames" in failed, failed  # the segments no longer add up to 40 frames
    assert any(name.startswith("segment 2 ") for name in failed), failed
    assert not any(name.startswith(("segment 1 ", "segment 3 ")) for name in failed), failed


def test_verify_segments_fails_when_the_files_do_not_match_the_plan(three_segments):
    plan, segments = three_segments
    for wrong in ([segments[0], segments[2], segments[1]], segments[:2]):
        report = verify.verify_segments(wrong, plan)
        assert not report.ok
        assert [c.name for c in report.checks if not c.ok] == ["segments"]


def test_verify_segments_fails_on_a_packet_in_the_wrong_segment(three_segments):
    plan, segments = three_segments
    first, second = segments[0].packet_generations, segments[1].packet_generations
    # frame 10's packet (generation 2) written to segment 1 instead of segment 2
    moved = [
        dataclasses.replace(segments[0], packet_generations=first + [second[0]]),
        dataclasses.replace(segments[1], packet_generations=second[1:]),
        segments[2],
    ]
    report = verify.verify_segments(moved, plan)
    failed = [c.name for c in report.checks if not c.ok]
    assert "segment 1 packets" in failed and "segment 2 packets" in failed, failed


def test_segment_psnr_reads_the_source_from_the_segment_start(three_segments):
    plan, segments = three_segments
    seg = segments[1]
    pairs = [(pts - 10, g) for pts, g in seg.packet_generations]
    right = verify.verify_switched_stream(
        seg.path, "hevc", plan[10:25], pairs, _source40, first_frame=10
    )
    assert right.ok, str(right)
    wrong = verify.verify_switched_stream(seg.path, "hevc", plan[10:25], pairs, _source40)
    assert [c.name for c in wrong.checks if not c.ok] == ["psnr generation 2"], str(wrong)
