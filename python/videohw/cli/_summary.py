"""The ``encode`` summary: per generation and per segment file, as text or as the entries
of the JSON summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from .. import verify
from ._encode_loop import _EncodeResult
from ._output import _FORMAT_NAMES
from ._segments import _Segment
from ._switch import SwitchSpec


def _rate_text(bps: float) -> str:
    return f"{bps / 1e6:.2f} Mb/s" if bps >= 1e6 else f"{bps / 1e3:.1f} kb/s"


def _rc_text(rc: Any) -> str:
    mode = rc.mode.value
    if mode == "cqp":
        return f"cqp I{rc.qp_intra} P{rc.qp_inter_p} B{rc.qp_inter_b}"
    if mode == "vbr":
        return f"vbr {_rate_text(rc.bitrate_bps)} avg, {_rate_text(rc.max_bitrate_bps)} max"
    return f"{mode} {_rate_text(rc.bitrate_bps)}"


def _generation_summary(
    common: Any, switches: Sequence[SwitchSpec], targets: Sequence, result: _EncodeResult
) -> list:
    """One entry per generation that encoded frames, from the packets that came out (their
    generation and pts) and the path each switch took (telemetry)."""
    configs = {1: common}
    paths = {1: "initial"}
    modes: dict[int, Optional[str]] = {1: None}
    for sw, target, (generation, in_place, _) in zip(switches, targets, result.switches):
        configs[generation] = target
        paths[generation] = "in_place" if in_place else "new_session"
        modes[generation] = sw.mode
    frames: dict[int, list[int]] = {}
    for pts, generation in result.packet_generations:
        frames.setdefault(generation, []).append(pts)
    out = []
    for generation in sorted(frames):
        config = configs.get(generation, common)
        pts = sorted(frames[generation])
        seconds = len(pts) * config.fps_den / config.fps_num
        nbytes = result.generation_bytes.get(generation, 0)
        out.append(
            {
                "generation": generation,
                "first_frame": pts[0],
                "last_frame": pts[-1],
                "frames": len(pts),
                "size": f"{config.width}x{config.height}",
                "codec": config.codec.value,
                "fps": f"{config.fps_num}/{config.fps_den}",
                "rate_control": _rc_text(config.rate_control),
                "gop_length": config.gop_length,
                "b_frames": config.b_frames,
                "mode": modes.get(generation),
                "path": paths.get(generation),
                "bytes": nbytes,
                "bitrate_bps": nbytes * 8 / seconds if seconds else 0.0,
            }
        )
    return out


def _segment_summary(segments: Sequence[_Segment]) -> list:
    """One entry per file written: the output, then one per segment the container needed."""
    out = []
    for n, seg in enumerate(segments, 1):
        pts = [p for p, _ in seg.packet_generations]
        out.append(
            {
                "segment": n,
                "path": seg.path,
                "codec": seg.codec,
                "first_frame": min(pts, default=None),
                "last_frame": max(pts, default=None),
                "frames": len(pts),
                "bytes": seg.bytes,
                "stream_bytes": seg.stream_bytes,
            }
        )
    return out


def _generation_line(g: dict) -> str:
    line = (
        f"generation {g['generation']:<2} frames {g['first_frame']}..{g['last_frame']} "
        f"({g['frames']}), {g['size']}, {g['codec']}, {g['rate_control']}, gop "
        f"{g['gop_length']}: {_rate_text(g['bitrate_bps'])} achieved, {g['path']}"
    )
    if g["mode"]:
        line += f" ({g['mode']})"
    if g.get("psnr") is not None:
        line += f", psnr {g['psnr']:.2f} dB"
    return line


def _print_summary(s: dict) -> None:
    backend = s["backend"]
    if s["requested_backend"] != backend:
        backend += f" ({s['requested_backend']}"
        backend += f": {s['fallback_reason']})" if s["fallback_reason"] else ")"
    segments = s.get("segments", [])
    kind = "" if s["format"] == "annexb" else f" ({_FORMAT_NAMES[s['format']]})"
    output = f"{s['output']}{kind}: {s['bytes']} bytes"
    if len(segments) > 1:
        why = "codec changes" if s["format"] in ("annexb", "ts") else "new parameter sets"
        output = (
            f"{s['output']}{kind} and {len(segments) - 1} more segment file"
            f"{'s' if len(segments) > 2 else ''} ({why}): {s['bytes']} bytes in all"
        )
    rows = [
        ("backend", backend),
        (
            "codec",
            f"{s['codec']} {s['width']}x{s['height']} @ {s['fps'].removesuffix('/1')} "
            f"fps, {s['rate_control']}, gop {s['gop_length']}, b-frames {s['b_frames']}"
            + (", low latency" if s["low_latency"] else ""),
        ),
        ("input", f"{s['input']} ({s['input_format']})"),
        ("frames", f"{s['frames']} in, {s['packets']} packets out"),
        ("output", output),
        ("bitrate", f"{_rate_text(s['bitrate_bps'])} achieved over {s['duration_s']:.2f} s"),
        (
            "encode",
            (f"{s['encode_fps']:.1f} fps" if s["encode_fps"] else "n/a")
            + f" ({s['encode_s']:.2f} s in videohw, {s['wall_s']:.2f} s wall)",
        ),
        ("keyframes", f"{len(s['keyframes'])} at {verify.short_list(s['keyframes'])}"),
    ]
    for name, value in rows:
        print(f"{name:<10} {value}")
    if len(segments) > 1:
        for seg in segments:
            print(
                f"segment {seg['segment']:<2} {seg['path']}: {seg['codec']}, frames "
                f"{seg['first_frame']}..{seg['last_frame']} ({seg['frames']}), "
                f"{seg['bytes']} bytes"
            )
