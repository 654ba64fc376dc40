"""Checks of a finished transcode against its source, with the ffmpeg tools: frames,
keyframes and timestamps of every output (ffprobe), the audio stream bit for bit, and
PSNR / SSIM of the video against the source scaled to the output's size."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from fractions import Fraction
from typing import Any, Optional

from .transcode import TranscodeOutput, TranscodeReport
from .verify import find_tool

_PSNR = re.compile(r"PSNR .*average:(\S+)")
_SSIM = re.compile(r"SSIM .*All:(\S+)")


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def video_frames(path: str) -> list[tuple[int, bool]]:
    """(pts, keyframe) of every video frame as ffprobe decodes them."""
    out = _run(
        [
            find_tool("ffprobe"),
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=pts,key_frame",
            "-of",
            "csv=p=0",
            path,
        ],
        600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"ffprobe {path}: {out.stderr.strip()[-300:]}")
    frames = []
    for line in out.stdout.splitlines():
        parts = [p for p in line.strip().split(",") if p]
        if len(parts) >= 2:
            key, pts = parts[0], parts[1]
            frames.append((int(pts) if pts.lstrip("-").isdigit() else -1, key == "1"))
    return frames


def audio_hash(path: str) -> Optional[str]:
    """MD5 of the first audio stream's packets as stored; None without audio."""
    out = _run(
        [find_tool("ffmpeg"), "-v", "error", "-i", path, "-map", "0:a:0?", "-c", "copy"]
        + ["-f", "streamhash", "-hash", "md5", "-"],
        600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"ffmpeg streamhash {path}: {out.stderr.strip()[-300:]}")
    for line in out.stdout.splitlines():
        if ",a," in line:
            return line.rsplit("=", 1)[-1]
    return None


def audio_hash_as_copied(source: str, like: str) -> Optional[str]:
    """``audio_hash`` of the source's first audio stream after `ffmpeg -c copy` into the
    container of ``like``: where a container stores a codec's packets its own way (AAC in
    MPEG-TS with ADTS headers, in MP4 without), this is what a bit-exact copy looks like."""
    with tempfile.TemporaryDirectory(prefix="videohw-audio-") as folder:
        ref = os.path.join(folder, "ref" + os.path.splitext(like)[1])
        out = _run(
            [find_tool("ffmpeg"), "-v", "error", "-i", source, "-map", "0:a:0", "-c", "copy", ref],
            600,
        )
        if out.returncode != 0:
            raise RuntimeError(f"ffmpeg -c copy {source}: {out.stderr.strip()[-300:]}")
        return audio_hash(ref)


def quality(
    output: str, source: str, width: int, height: int, rate: Optional[Fraction] = None
) -> dict[str, float]:
    """PSNR (dB, average of the planes) and SSIM (All) of ``output`` against ``source``
    scaled to its size (and brought to ``rate`` by ffmpeg's fps filter when the transcode
    changed the rate), frames paired in order."""
    to_rate = f"fps={rate.numerator}/{rate.denominator}," if rate is not None else ""
    graph = (
        "[0:v]settb=1,setpts=N,split[d0][d1];"
        f"[1:v]{to_rate}scale={width}:{height}:flags=bicubic,settb=1,setpts=N,split[r0][r1];"
        "[d0][r0]psnr=shortest=1;[d1][r1]ssim=shortest=1"
    )
    out = _run(
        [find_tool("ffmpeg"), "-nostats", "-i", output, "-i", source]
        + ["-filter_complex", graph, "-f", "null", "-"],
        1800,
    )
    if out.returncode != 0:
        raise RuntimeError(f"ffmpeg psnr/ssim {output}: {out.stderr.strip()[-300:]}")
    result: dict[str, float] = {}
    psnr, ssim = _PSNR.search(out.stderr), _SSIM.search(out.stderr)
    if psnr:
        result["psnr_db"] = float("inf") if psnr[1] == "inf" else round(float(psnr[1]), 2)
    if ssim:
        result["ssim"] = round(float(ssim[1]), 4)
    return result


def check_output(report: TranscodeReport, output: TranscodeOutput) -> dict[str, Any]:
    """What ffprobe and ffmpeg say about one output; ``problems`` lists what is wrong."""
    problems: list[str] = []
    frames: list[tuple[int, bool]] = []
    for path in output.files:
        frames += video_frames(path)
    if len(frames) != output.frames:
        problems.append(f"{len(frames)} frames decode from the files; {output.frames} were encoded")
    if frames and not frames[0][1]:
        problems.append("the first frame is not a keyframe")
    if len(output.files) == 1:
        pts = [p for p, _ in frames]
        if any(b <= a for a, b in zip(pts, pts[1:])):
            problems.append("frame timestamps do not increase")
    result: dict[str, Any] = {
        "frames": len(frames),
        "keyframes": sum(1 for _, k in frames if k),
    }
    if report.audio.startswith("copied") and len(output.files) == 1:
        out_hash = audio_hash(output.files[0])
        result["audio_bit_exact"] = out_hash == audio_hash(report.source)
        if not result["audio_bit_exact"]:
            # A container may store the codec's packets its own way (AAC: ADTS headers in
            # MPEG-TS, none in MP4); libavformat converts them, as `ffmpeg -c copy` does.
            result["audio_as_ffmpeg_copies"] = out_hash == audio_hash_as_copied(
                report.source, output.files[0]
            )
            if not result["audio_as_ffmpeg_copies"] and not output.audio_dropped:
                problems.append("the audio packets differ from the source's")
    if len(output.files) == 1:
        result.update(
            quality(output.files[0], report.source, output.width, output.height, report.rate)
        )
    else:
        result["note"] = "PSNR/SSIM is measured on single-file outputs only"
    result["problems"] = problems
    return result


def check_transcode(report: TranscodeReport) -> dict[str, dict[str, Any]]:
    """``check_output`` for every output, by path."""
    return {o.path: check_output(report, o) for o in report.outputs}
