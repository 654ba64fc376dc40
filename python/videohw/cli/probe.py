"""``videohw probe FILE``: the container and its streams as a table, or ``--json``.
Registered by videohw.cli.build_parser; see docs/cli.md."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_probe_parser(sub: Any) -> None:
    p = sub.add_parser(
        "probe",
        help="describe a media file (container, streams, counts)",
        description="Describe a media file: container, every stream, and for "
        "video streams codec, size, pixel format, frame rate, exact "
        "frame and keyframe counts (from a packet scan).",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_probe)


def _fps(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f} ({value.numerator}/{value.denominator})"


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{value:.3f} s"


def cmd_probe(args: argparse.Namespace) -> int:
    import videohw as vh

    info = vh.probe(args.file)
    if args.json:
        print(json.dumps(info.as_dict(), indent=2))
        return 0
    size = f"{info.size_bytes} bytes" if info.size_bytes >= 0 else "size unknown"
    print(
        f"{info.path}: {info.format_long_name} ({info.format_name}), "
        f"{_seconds(info.duration_seconds)}, {size}, {info.bit_rate // 1000} kb/s"
    )
    for s in info.streams:
        print(f"  stream {s.index}: {s.kind} {s.codec_name} {_seconds(s.duration_seconds)}")
    for v in info.video_streams:
        best = " (best)" if info.best_video is not None and v.index == info.best_video.index else ""
        rows = [
            ("codec", f"{v.codec_name}" + ("" if v.codec else " (no videohw decoder)")),
            ("size", f"{v.width}x{v.height}"),
            ("pixel format", f"{v.pixel_format or '-'}, {v.bit_depth or '-'} bit"),
            ("frame rate", f"avg {_fps(v.avg_fps)}, real {_fps(v.real_fps)}"),
            ("time base", "-" if v.time_base is None else str(v.time_base)),
            ("start / duration", f"{_seconds(v.start_seconds)} / {_seconds(v.duration_seconds)}"),
            ("frames", f"{v.frame_count}" + ("" if v.frame_count_exact else " (not exact)")),
            ("keyframes", str(v.keyframe_count)),
            (
                "colour",
                f"{v.color.primaries} / {v.color.transfer} / {v.color.matrix}, "
                f"{'full' if v.color.full_range else 'limited'} range",
            ),
            ("rotation", "-" if v.rotation is None else f"{v.rotation:g} degrees"),
            ("samples", v.layout.value + ("" if v.timed else ", no timestamps")),
        ]
        print(f"  video stream {v.index}{best}:")
        for name, value in rows:
            print(f"    {name:<17}{value}")
    return 0
