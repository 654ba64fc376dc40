"""`videohw encode --switch`: the issue's example at small scale, verified per generation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from videohw import verify


def encode(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "videohw", "encode", "--no-progress",
                           "-o", str(tmp_path / "out.h264"), *args],
                          capture_output=True, text=True, timeout=120)


def test_size_then_bitrate_switch_verifies_every_generation(tmp_path):
    # The example (1920x1080 -> 1280x720 IMMEDIATE at 300, then a bitrate change
    # ON_NEXT_KEYFRAME at 450), scaled down.
    proc = encode(tmp_path, "--size", "192x108", "--frames", "80", "--gop", "20",
                  "--switch", "30:size=128x72:immediate",
                  "--switch", "45:rc=cbr:1M:on_next_keyframe", "--verify", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["verify"]["ok"]
    assert [g["size"] for g in summary["generations"]] == ["192x108", "128x72", "128x72"]
    assert [g["path"] for g in summary["generations"]] == ["initial", "new_session", "in_place"]
    # generation 2 starts with an IDR at 30, so its GOP boundary (and g3) is at 50
    assert [g["frames"] for g in summary["generations"]] == [30, 20, 30]


def test_drain_then_swap_with_frame_threads_keeps_packets_with_their_generation(tmp_path):
    # Not low latency: x264 holds frames back; an in-place switch must not relabel them.
    proc = encode(tmp_path, "--size", "160x96", "--frames", "60", "--gop", "15",
                  "--switch", "20:rc=vbr:1M:2M,idr=0:drain_then_swap",
                  "--switch", "40:gop=10:immediate", "--verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "generation 3" in proc.stdout and "FAIL" not in proc.stdout


def test_verification_fails_on_a_wrong_plan(tmp_path):
    proc = encode(tmp_path, "--size", "128x72", "--frames", "40", "--gop", "10",
                  "--switch", "15:size=96x64:immediate", "--json", "--verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Claim the switch happened one frame later than it did: the verifier must say no.
    wrong = verify.switch_timeline(40, 128, 72, 10, [verify.PlannedSwitch(
        16, 2, 96, 64, 10, "immediate", True, False)])
    pairs = [(i, 1 if i < 15 else 2) for i in range(40)]
    report = verify.verify_switched_stream(tmp_path / "out.h264", "h264", wrong, pairs)
    assert not report.ok
    assert any("generation 2" in line and "FAIL" in line for line in report.lines)


@pytest.mark.parametrize("spec", ["10:size=99x64:immediate", "10:codec=hevc:immediate",
                                  "10:size=96x64:sometimes", "x:size=96x64:immediate"])
def test_bad_switch_spec_exits_2_with_a_message(tmp_path, spec):
    proc = encode(tmp_path, "--size", "128x72", "--frames", "20", "--switch", spec)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip() and "Traceback" not in proc.stderr
