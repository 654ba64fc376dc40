"""``videohw caps``: what each encode backend can do on this machine, or why it cannot be
used (docs/cli.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._errors import EXIT_OK


def add_caps_parser(sub: Any) -> None:
    caps = sub.add_parser(
        "caps",
        help="capabilities of each backend",
        description="Show what each encode backend can do on this machine, "
        "or why it cannot be used.",
    )
    caps.add_argument("--json", action="store_true", help="machine-readable output")
    caps.set_defaults(func=cmd_caps)


def _caps_dict(vh: Any, caps: Any) -> dict:
    return {
        "min_width": caps.min_width,
        "min_height": caps.min_height,
        "max_width": caps.max_width,
        "max_height": caps.max_height,
        "max_b_frames": caps.max_b_frames,
        "max_gop_length": caps.max_gop_length,
        "rate_control_modes": [m.value for m in vh.RateControlMode if m in caps.rate_control_modes],
        "input_formats": [f.value for f in vh.PixelFormat if f in caps.input_formats],
        "low_latency": caps.low_latency,
        "dynamic_bitrate": caps.dynamic_bitrate,
        "dynamic_resolution": caps.dynamic_resolution,
        "presets": list(caps.presets),
        "tunes": list(caps.tunes),
    }


_CAPS_CODECS = ("h264", "hevc")


def collect_capabilities() -> dict:
    """{"auto": {...}, "backends": {name: {"available", "reason", "codecs"}}}."""
    import videohw as vh

    backends: dict[str, dict] = {}
    for name, reason in vh.available_backends().items():
        entry: dict[str, Any] = {"available": reason is None, "reason": reason}
        if reason is None:
            try:
                ctl = vh.SessionController(name)
            except vh.VideoHwError as exc:
                entry = {"available": False, "reason": str(exc)}
            else:
                entry["codecs"] = {}
                for codec in _CAPS_CODECS:
                    try:
                        entry["codecs"][codec] = _caps_dict(vh, ctl.capabilities(vh.Codec(codec)))
                    except vh.VideoHwError as exc:
                        entry["codecs"][codec] = {"unsupported": str(exc)}
        backends[name] = entry
    try:
        auto_ctl = vh.SessionController("auto")
        auto = {"backend": auto_ctl.backend, "fallback_reason": auto_ctl.fallback_reason}
    except vh.VideoHwError as exc:
        auto = {"backend": None, "fallback_reason": str(exc)}
    return {"auto": auto, "backends": backends}


def _yes(v: bool) -> str:
    return "yes" if v else "no"


_CAPS_ROWS = (
    ("size", lambda c: f"{c['min_width']}x{c['min_height']}..{c['max_width']}x{c['max_height']}"),
    ("B-frames (max)", lambda c: str(c["max_b_frames"])),
    ("GOP length (max)", lambda c: str(c["max_gop_length"])),
    ("rate control", lambda c: " ".join(c["rate_control_modes"])),
    ("input formats", lambda c: " ".join(c["input_formats"])),
    ("low latency", lambda c: _yes(c["low_latency"])),
    ("dynamic bitrate", lambda c: _yes(c["dynamic_bitrate"])),
    ("dynamic resolution", lambda c: _yes(c["dynamic_resolution"])),
)


def _print_caps(info: dict) -> None:
    auto = info["auto"]
    line = f"auto -> {auto['backend'] or 'none'}"
    if auto["fallback_reason"]:
        line += f" ({auto['fallback_reason']})"
    print(line)
    for name, entry in info["backends"].items():
        print()
        if not entry["available"]:
            print(f"{name}: unavailable: {entry['reason']}")
            continue
        print(f"{name}: usable")
        codecs = entry["codecs"]
        supported = [c for c in codecs if "unsupported" not in codecs[c]]
        for c in codecs:
            if c not in supported:
                print(f"  {c}: not supported: {codecs[c]['unsupported']}")
        if not supported:
            continue
        table = [["", *supported]]
        for label, cell in _CAPS_ROWS:
            table.append([label, *(cell(codecs[c]) for c in supported)])
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            print("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        for key in ("presets", "tunes"):
            values = {c: " ".join(codecs[c][key]) or "-" for c in supported}
            if len(set(values.values())) == 1:
                print(f"  {key}: {next(iter(values.values()))}")
            else:
                for c, v in values.items():
                    print(f"  {key} ({c}): {v}")


def cmd_caps(args: argparse.Namespace) -> int:
    info = collect_capabilities()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print_caps(info)
    return EXIT_OK
