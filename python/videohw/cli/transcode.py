"""``videohw transcode IN OUT``: re-encode a file's video (one output or a ladder), switch
mid-stream, copy the audio, verify against the source."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional

from ._argtypes import _fps, _int, _positive_int, _size
from ._errors import EXIT_FAIL, EXIT_OK, CliError
from ._switch import _SWITCH_MODES, switch_changes

_RATE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([kKmM]?)")


def _rate(text: str) -> int:
    match = _RATE.fullmatch(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a bitrate like 3M, 800k or 1200000")
    scale = {"": 1, "k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}[match[2]]
    value = int(float(match[1]) * scale)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the bitrate must be positive")
    return value


def _ladder(text: str) -> list[tuple[int, int, int]]:
    """1920x1080:6M,1280x720:3M -> [(w, h, bps), ...]."""
    rungs = []
    for item in text.split(","):
        size, sep, rate = item.partition(":")
        if not sep:
            raise argparse.ArgumentTypeError(f"--ladder {item!r}: expected WIDTHxHEIGHT:RATE")
        w, h = _size(size)
        rungs.append((w, h, _rate(rate)))
    return rungs


@dataclass
class _Switch:
    seconds: Optional[float]
    frame: Optional[int]
    changes: dict
    mode: str
    idr: bool
    text: str


def _switch(text: str) -> _Switch:
    """AT:SPEC:MODE with AT = 10s (source seconds) or 300 (frame)."""
    head, _, rest = text.partition(":")
    spec, _, mode = rest.rpartition(":")
    if not head or not spec or mode not in _SWITCH_MODES:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected AT:SPEC:MODE (AT: 10s or a frame number) with MODE one of "
            + ", ".join(_SWITCH_MODES)
        )
    seconds: Optional[float] = None
    frame: Optional[int] = None
    if head.endswith("s"):
        try:
            seconds = float(head[:-1])
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {head!r} is not a time") from None
        if not seconds >= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: the time must be >= 0")
    else:
        frame = _int(head)
        if frame < 0:
            raise argparse.ArgumentTypeError(f"{text!r}: the frame must be >= 0")
    changes, idr = switch_changes(spec, text)
    return _Switch(seconds, frame, changes, mode, idr, text)


def add_transcode_parser(sub: Any) -> None:
    tc = sub.add_parser(
        "transcode",
        help="re-encode a video file (ladders, switches, audio copy)",
        description="Decode IN, scale, encode and write OUT with IN's audio copied. "
        "Every stage runs on its own thread; the output appears only when complete.",
    )
    tc.add_argument("input", metavar="IN", help="video file (MP4, MKV, TS, ...)")
    tc.add_argument(
        "output",
        metavar="OUT",
        help="output file; the container comes from the extension (.mp4 .mkv .ts ...). "
        "With --ladder, each rung is OUT's name plus _WIDTHxHEIGHT",
    )
    cfg = tc.add_argument_group("encoder")
    cfg.add_argument("--backend", choices=("auto", "software", "nvidia"), default="auto")
    cfg.add_argument(
        "--decode-backend",
        choices=("auto", "software", "nvidia"),
        help="default: software with --backend software, else auto (NVDEC where usable)",
    )
    cfg.add_argument("--codec", choices=("h264", "hevc"), default="h264")
    cfg.add_argument("--size", type=_size, metavar="WxH", help="output size (default: the input's)")
    cfg.add_argument("--rc", metavar="SPEC", help="cbr:RATE | vbr:AVG[:MAX] | cqp:I[:P[:B]]")
    cfg.add_argument("--gop", type=_positive_int, metavar="N", help="default: two seconds")
    cfg.add_argument(
        "--fps",
        type=_fps,
        metavar="N[/D]",
        help="output frame rate: frames repeated or dropped to it (default: the input's frames)",
    )
    cfg.add_argument("--b-frames", type=_int, metavar="N", help="default 0")
    cfg.add_argument(
        "--preset", help="software: ultrafast..placebo (default veryfast); nvidia: p1..p7"
    )
    cfg.add_argument("--tune", help="software only: film, animation, grain, ...")
    cfg.add_argument("--threads", type=_int, metavar="N", help="software encoder threads")
    cfg.add_argument(
        "--ladder",
        type=_ladder,
        metavar="WxH:RATE,...",
        help="one output per rung from one decode, e.g. 1920x1080:6M,1280x720:3M,854x480:1.2M",
    )
    cfg.add_argument(
        "--switch",
        type=_switch,
        action="append",
        metavar="AT:SPEC:MODE",
        help="at AT (10s: source time; 300: frame) switch the output (rung 0 with --ladder): "
        "SPEC as for encode --switch (size=WxH, rc=..., gop=N, b-frames=N, codec=...), MODE "
        "immediate, on_next_keyframe or drain_then_swap. Repeatable",
    )
    out = tc.add_argument_group("output")
    out.add_argument("--audio", choices=("copy", "none"), default="copy")
    out.add_argument("--format", choices=("mp4", "fmp4", "mkv", "ts", "annexb"))
    out.add_argument("--frames", type=_positive_int, metavar="N", help="at most N frames")
    out.add_argument("--stream", type=_int, metavar="INDEX", help="video stream (default: best)")
    out.add_argument(
        "--verify",
        action="store_true",
        help="check every output with ffprobe/ffmpeg: frames, keyframes, timestamps, audio bit "
        "for bit, PSNR/SSIM against the input; exit 1 on a problem",
    )
    out.add_argument("--min-psnr", type=float, default=30.0, metavar="DB")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    out.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    tc.set_defaults(func=cmd_transcode)


def encoder_changes(vh: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The CommonEncodeConfig fields the options set, over the input's defaults (also for
    ``videohw batch transcode``, whose parser has no --fps)."""
    changes: dict[str, Any] = {}
    fps = getattr(args, "fps", None)
    if fps:
        changes["fps_num"], changes["fps_den"] = fps
        if args.gop is None:
            changes["gop_length"] = max(1, round(2 * fps[0] / fps[1]))
    if args.size:
        changes["width"], changes["height"] = args.size
    if args.gop is not None:
        changes["gop_length"] = args.gop
    if args.b_frames is not None:
        changes["b_frames"] = args.b_frames
        changes["frame_interval_p"] = None
    if args.rc is not None:
        changes["rate_control"] = vh.RateControl.parse(args.rc)
    return changes


def _common(vh: Any, args: argparse.Namespace, video: Any) -> Any:
    from ..transcode import default_common

    common = default_common(video, vh.Codec(args.codec))
    changes = encoder_changes(vh, args)
    return dataclasses.replace(common, **changes) if changes else common


def _backend_config(vh: Any, args: argparse.Namespace) -> Any:
    if args.backend == "nvidia" or (args.preset or "").startswith("p"):
        if args.preset or args.tune:
            return vh.NvidiaEncodeConfig(preset=args.preset or "p4")
        return None
    kwargs: dict[str, Any] = {}
    if args.preset:
        kwargs["preset"] = args.preset
    if args.tune:
        kwargs["tune"] = args.tune
    if args.threads is not None:
        kwargs["threads"] = args.threads
    return vh.SoftwareEncodeConfig(**kwargs) if kwargs else None


def _switches(vh: Any, args: argparse.Namespace, common: Any, rung_commons: list) -> list:
    out = []
    configs = list(rung_commons) or [common]
    for sw in args.switch or []:
        changes = dict(sw.changes)
        if "rate_control" in changes:
            changes["rate_control"] = vh.RateControl.parse(changes["rate_control"])
        if "codec" in changes:
            changes["codec"] = vh.Codec(changes["codec"])
        target = dataclasses.replace(configs[0], **changes)
        configs[0] = target
        out.append(
            vh.TranscodeSwitch(
                target,
                at_seconds=sw.seconds,
                at_frame=sw.frame,
                mode=vh.SessionSwitchMode(sw.mode),
                force_idr_on_activate=sw.idr,
            )
        )
    return out


def _report_json(report: Any) -> dict[str, Any]:
    out = dataclasses.asdict(report)
    out.pop("decode_telemetry", None)
    for o in out["outputs"]:
        o.pop("telemetry", None)
        o["codec"] = o["codec"].value if hasattr(o["codec"], "value") else o["codec"]
    return out


def cmd_transcode(args: argparse.Namespace) -> int:
    import videohw as vh

    from ..media import probe, select_video_stream

    info = probe(args.input)
    video = select_video_stream(info, args.stream)
    common = _common(vh, args, video)
    rungs = [vh.Rung(w, h, rate) for w, h, rate in args.ladder] if args.ladder else None
    from ..transcode import _rung_common

    rung_commons = [_rung_common(common, r) for r in rungs] if rungs else []
    report = vh.transcode(
        args.input,
        args.output,
        common,
        backend=args.backend,
        rungs=rungs,
        switches=_switches(vh, args, common, rung_commons),
        progress=not args.no_progress and sys.stderr.isatty(),
        backend_config=_backend_config(vh, args),
        decode_backend=args.decode_backend,
        audio=args.audio,
        format=args.format,
        video_stream=video.index,
        max_frames=args.frames,
        fps=None if not args.fps else Fraction(*args.fps),
    )
    status = EXIT_OK
    if args.verify:
        from ..transcode_check import check_transcode

        quality = check_transcode(report)
        report = dataclasses.replace(report, quality=quality)
        for result in quality.values():
            psnr = result.get("psnr_db")
            if psnr is not None and psnr < args.min_psnr:
                result["problems"].append(f"PSNR {psnr} dB is below {args.min_psnr}")
            if result["problems"]:
                status = EXIT_FAIL
    if args.json:
        print(json.dumps(_report_json(report), indent=2, default=str))
    else:
        print(report.summary())
        if args.verify:
            print("verify: " + ("ok" if status == EXIT_OK else "FAILED"))
    if status != EXIT_OK:
        problems = [f"{p}: {m}" for p, r in (report.quality or {}).items() for m in r["problems"]]
        raise CliError("verify failed: " + "; ".join(problems), EXIT_FAIL)
    return status
