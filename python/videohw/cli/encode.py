"""``videohw encode``: a synthetic pattern or a raw file to H.264/HEVC in a container or an
Annex-B stream, with session switches and ``--verify`` (docs/cli.md)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from .. import synthetic, verify
from ._argtypes import _float, _fps, _index_list, _int, _positive_int, _size
from ._encode_loop import _encode, _EncodeResult
from ._errors import EXIT_FAIL, EXIT_OK, CliError, _warn
from ._input import _Input, _make_input
from ._output import OUTPUT_FORMATS, output_target, refuse_input_as_output
from ._summary import (
    _generation_line,
    _generation_summary,
    _print_summary,
    _rc_text,
    _segment_summary,
)
from ._switch import SwitchSpec, _one_switch_per_frame, _switch_spec, _switch_targets


def add_encode_parser(sub: Any) -> None:
    enc = sub.add_parser(
        "encode",
        help="encode a synthetic pattern or a raw file to MP4/MKV/TS or Annex-B",
        description="Encode a synthetic moving pattern (default) or a raw video file to "
        "H.264/HEVC in an MP4, Matroska or MPEG-TS file or an Annex-B elementary "
        "stream; --verify checks it with ffmpeg.",
    )
    src = enc.add_argument_group("input")
    src.add_argument(
        "--input",
        metavar="FILE",
        help="raw video file (frames back to back, minimum pitch); default: "
        "a synthetic moving pattern",
    )
    src.add_argument(
        "--input-format",
        choices=synthetic.FORMATS,
        help="pixel format of the input (required with --input; "
        "default argb8888 for the synthetic pattern)",
    )
    src.add_argument(
        "--size",
        type=_size,
        metavar="WxH",
        help="frame size (required with --input; default 1280x720)",
    )
    src.add_argument(
        "--fps",
        type=_fps,
        default=(30, 1),
        metavar="N[/D]",
        help="frame rate, e.g. 30 or 30000/1001 (default 30)",
    )
    src.add_argument(
        "--frames",
        type=_positive_int,
        metavar="N",
        help="frames to encode (default 300 for the synthetic pattern; every "
        "frame of --input, at most N)",
    )

    cfg = enc.add_argument_group("encoder")
    cfg.add_argument(
        "--backend",
        choices=("auto", "software", "nvidia"),
        default="auto",
        help="auto: NVIDIA where usable, else software (default auto)",
    )
    cfg.add_argument(
        "--codec", choices=("h264", "hevc"), default="h264", help="output codec (default h264)"
    )
    cfg.add_argument(
        "--gop",
        type=_int,
        metavar="N",
        help="keyframe interval in frames (default 60; 1 = all intra)",
    )
    cfg.add_argument(
        "--frame-interval-p",
        type=_int,
        metavar="N",
        help="distance between P frames; must be --b-frames + 1",
    )
    cfg.add_argument(
        "--b-frames", type=_int, metavar="N", help="B-frames between P frames (default 0)"
    )
    cfg.add_argument(
        "--rc",
        metavar="SPEC",
        help="rate control: cbr:RATE | vbr:AVG[:MAX] | cqp:I[:P[:B]], rates "
        "with k/M suffixes, e.g. cbr:4M, vbr:4M:6M, cqp:22:24:26 "
        "(default cbr:4M)",
    )
    cfg.add_argument(
        "--low-latency",
        action="store_true",
        help="no B-frames, no lookahead, one packet out per frame in",
    )
    cfg.add_argument(
        "--force-idr",
        action="store_true",
        help="config force_idr: the first frame after every flush is an IDR",
    )
    cfg.add_argument(
        "--force-idr-at",
        type=_index_list,
        metavar="I,J,...",
        help="frame indices submitted with force_keyframe=True, e.g. 10,50",
    )
    cfg.add_argument(
        "--preset", help="software: ultrafast..placebo (default veryfast); nvidia: p1..p7"
    )
    cfg.add_argument(
        "--tune", help="software only: film, animation, grain, stillimage, psnr, ssim, fastdecode"
    )
    cfg.add_argument("--tuning", help="nvidia only: hq, ll, ull, lossless")
    cfg.add_argument(
        "--threads", type=_int, metavar="N", help="software only: encoder threads (0 = auto)"
    )

    cfg.add_argument(
        "--switch",
        type=_switch_spec,
        action="append",
        metavar="FRAME:SPEC:MODE",
        help="switch the session just before frame FRAME; SPEC is key=value,... "
        "with size=WxH, rc=<--rc form>, gop=N, b-frames=N, fps=N[/D], "
        "codec=h264|hevc (Annex-B and TS: from then on written to a new "
        "segment file <stem>.seg<N>.<ext>; MP4/MKV start one at any new "
        "parameter sets), "
        "idr=0|1 (force_idr_on_activate, default 1); MODE is immediate, "
        "on_next_keyframe or drain_then_swap. Repeatable, one per frame, e.g. "
        "--switch 300:size=1280x720:immediate "
        "--switch 450:rc=cbr:2M:on_next_keyframe",
    )
    out = enc.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="output file; the container comes from the extension: .mp4 .m4v "
        ".mov (MP4, faststart), .mkv, .ts .m2ts, .h264 .264 .avc .hevc "
        ".h265 .265 (raw Annex-B). Default out.h264 or out.hevc (out.mp4, "
        "... with --format). Never the --input file",
    )
    out.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        help="container, whatever the extension: mp4, fmp4 (fragmented MP4), mkv, ts, annexb",
    )
    out.add_argument(
        "--verify",
        action="store_true",
        help="decode the output with ffprobe/ffmpeg and check frame count, "
        "sizes, keyframe positions and PSNR, and for a container its "
        "timestamps, duration and a clean decode; exit 1 on any mismatch",
    )
    out.add_argument(
        "--min-psnr",
        type=_float,
        default=30.0,
        metavar="DB",
        help="PSNR threshold for --verify (default 30)",
    )
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    out.add_argument(
        "--telemetry", action="store_true", help="print the session telemetry as JSON at the end"
    )
    out.add_argument(
        "--json", action="store_true", help="print one JSON summary on stdout instead of text"
    )
    enc.set_defaults(func=cmd_encode)


def _common_config(vh: Any, args: argparse.Namespace, width: int, height: int) -> Any:
    kwargs: dict[str, Any] = dict(
        codec=vh.Codec(args.codec),
        width=width,
        height=height,
        fps_num=args.fps[0],
        fps_den=args.fps[1],
        low_latency=args.low_latency,
        force_idr=args.force_idr,
    )
    if args.gop is not None:
        kwargs["gop_length"] = args.gop
    if args.frame_interval_p is not None:
        kwargs["frame_interval_p"] = args.frame_interval_p
    if args.b_frames is not None:
        kwargs["b_frames"] = args.b_frames
    if args.rc is not None:
        try:
            kwargs["rate_control"] = vh.RateControl.parse(args.rc)
        except vh.ConfigError as exc:
            raise CliError(f"--rc {args.rc}: {exc}") from exc
    return vh.CommonEncodeConfig(**kwargs)


_BACKEND_FLAGS = {"software": ("preset", "tune", "threads"), "nvidia": ("preset", "tuning")}


def _backend_config(vh: Any, backend: str, args: argparse.Namespace) -> Any:
    """The backend config of the resolved backend, from the flags that apply to it; flags
    of another backend are reported and ignored."""
    own = _BACKEND_FLAGS.get(backend, ())
    for flag in ("preset", "tune", "tuning", "threads"):
        if getattr(args, flag) is not None and flag not in own:
            _warn(f"--{flag} does not apply to the {backend} backend; ignored")
    given = {f: getattr(args, f) for f in own if getattr(args, f) is not None}
    if backend == "software":
        return vh.SoftwareEncodeConfig(**given)
    if backend == "nvidia":
        return vh.NvidiaEncodeConfig(**given)
    return None


def cmd_encode(args: argparse.Namespace) -> int:
    import videohw as vh

    _one_switch_per_frame(args.switch or [])
    source = _make_input(args)
    output, out_format = output_target(args.output, args.format, args.codec)
    refuse_input_as_output(source.path, output)  # before anything is opened for writing
    forced = sorted(set(args.force_idr_at or ()))
    late = [i for i in forced if i >= source.n_frames]
    if late:
        raise CliError(
            f"--force-idr-at: {verify.short_list(late)} not frame indices of this "
            f"encode (0..{source.n_frames - 1})"
        )
    try:
        common = _common_config(vh, args, source.width, source.height)
    except vh.ConfigError as exc:
        raise CliError(str(exc)) from exc
    if args.verify:  # fail before encoding, not after
        try:
            verify.find_tool("ffprobe"), verify.find_tool("ffmpeg")
        except verify.ToolNotFoundError as exc:
            raise CliError(str(exc), EXIT_FAIL) from exc
    try:
        ctl = vh.SessionController(args.backend)
    except vh.ConfigError as exc:
        raise CliError(str(exc)) from exc
    except vh.BackendUnavailableError as exc:
        raise CliError(str(exc), EXIT_FAIL) from exc
    switches = sorted(args.switch or [], key=lambda sw: sw.frame)
    targets = _switch_targets(vh, common, switches, source)
    fmt = vh.PixelFormat(source.format)
    for codec in dict.fromkeys([common.codec, *(t.codec for t in targets)]):
        try:
            caps = ctl.capabilities(codec)
        except vh.ConfigError as exc:
            raise CliError(str(exc)) from exc
        if fmt not in caps.input_formats:
            takes = " ".join(f.value for f in vh.PixelFormat if f in caps.input_formats)
            raise CliError(
                f"--input-format {fmt.value}: the {ctl.backend} backend does not take "
                f"it for {codec.value} (it takes: {takes})"
            )
    try:
        backend_cfg = _backend_config(vh, ctl.backend, args)
    except vh.ConfigError as exc:
        raise CliError(str(exc)) from exc

    result = _encode(
        vh,
        ctl,
        common,
        backend_cfg,
        source,
        fmt,
        forced,
        output,
        progress=not args.no_progress,
        switches=list(zip(switches, targets)),
        out_format=out_format,
    )

    seconds = source.n_frames * common.fps_den / common.fps_num
    summary = {
        "backend": ctl.backend,
        "requested_backend": args.backend,
        "fallback_reason": ctl.fallback_reason,
        "codec": common.codec.value,
        "width": common.width,
        "height": common.height,
        "fps": f"{common.fps_num}/{common.fps_den}",
        "input": source.path or "synthetic",
        "input_format": source.format,
        "rate_control": _rc_text(common.rate_control),
        "gop_length": common.gop_length,
        "b_frames": common.b_frames,
        "low_latency": common.low_latency,
        "frames": source.n_frames,
        "packets": result.packets,
        "output": output,
        "format": out_format,
        "files": result.paths,
        "bytes": sum(seg.bytes for seg in result.segments),
        "stream_bytes": result.bytes,
        "duration_s": seconds,
        "bitrate_bps": result.bytes * 8 / seconds,
        "encode_s": result.api_s,
        "wall_s": result.wall_s,
        "encode_fps": source.n_frames / result.api_s if result.api_s > 0 else None,
        "keyframes": result.keyframes,
        "forced_keyframes": forced,
    }
    report = None
    if switches:
        summary["generations"] = _generation_summary(common, switches, targets, result)
    if switches or len(result.segments) > 1:
        summary["segments"] = _segment_summary(result.segments)
    if args.verify:
        report = _verify(
            common, switches, targets, result, source, forced, out_format, args.min_psnr
        )
        summary["verify"] = report.to_dict()
        psnr = {
            c.data["generation"]: c.data["average"]
            for c in report.checks
            if "generation" in c.data and "average" in c.data
        }
        for g in summary.get("generations", []):
            g["psnr"] = psnr.get(g["generation"])
    if args.telemetry:
        summary["telemetry"] = result.telemetry

    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        _print_summary(summary)
        for g in summary.get("generations", []):
            print(_generation_line(g))
        if report is not None:
            print(f"verify ({'OK' if report.ok else 'FAILED'}; decoded by ffprobe/ffmpeg):")
            for line in report.lines:
                print("  " + line)
        if args.telemetry:
            print("telemetry:")
            print(json.dumps(result.telemetry, indent=2, default=str))
    return EXIT_FAIL if report is not None and not report.ok else EXIT_OK


def _verify(
    common: Any,
    switches: Sequence[SwitchSpec],
    targets: Sequence,
    result: _EncodeResult,
    source: _Input,
    forced: Sequence[int],
    out_format: str,
    min_psnr: float,
) -> verify.VerifyReport:
    """Checks the files written with ffprobe/ffmpeg: one stream against the expected
    keyframes, or, with switches or several files, generation by generation and segment by
    segment (docs/cli.md)."""
    fps = Fraction(common.fps_num, common.fps_den)
    try:
        if not switches and len(result.segments) == 1:
            expected = verify.expected_keyframes(source.n_frames, common.gop_length, forced)
            return verify.verify_stream(
                result.segments[0].path,
                common.codec.value,
                common.width,
                common.height,
                source.n_frames,
                expected,
                source.raw_source(fps),
                min_psnr,
                fps=fps,
            )
        planned = [
            verify.PlannedSwitch(
                sw.frame,
                generation,
                t.width,
                t.height,
                t.gop_length,
                sw.mode,
                sw.idr,
                in_place,
                reopened,
                t.b_frames > 0,
                t.codec.value,
            )
            for sw, t, (generation, in_place, reopened) in zip(switches, targets, result.switches)
        ]
        plan = verify.switch_timeline(
            source.n_frames,
            common.width,
            common.height,
            common.gop_length,
            planned,
            forced,
            common.codec.value,
        )

        def source_for(width: int, height: int) -> verify.RawSource:
            if source.path is None:  # regenerated at the size of that generation
                return verify.RawSource.synthetic(
                    source.format, width, height, source.n_frames, fps
                )
            return source.raw_source(fps)  # size switches are refused for files

        cuts = "codec" if out_format in ("annexb", "ts") else "parameters"
        return verify.verify_segments(
            [
                verify.StreamSegment(s.path, s.codec, s.packet_generations, s.delayed)
                for s in result.segments
            ],
            plan,
            source_for,
            min_psnr,
            cuts=cuts,
            fps=fps,
        )
    except verify.ToolNotFoundError as exc:
        raise CliError(str(exc), EXIT_FAIL) from exc
