"""``videohw decode``: decodes a media file (any container videohw reads, found by content)
through a VideoReader, or with ``--codec`` a raw Annex-B H.264/HEVC stream pushed in chunks
through a decode session; a progress bar on stderr, a summary on stdout, optional PNG / raw
frame dumps, and ``--frames`` / ``--at`` for exactly those frames.
Registered by videohw.cli.build_parser; see docs/decode.md and docs/media.md.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import time
import zlib
from typing import Any, Optional

import numpy as np

from ..progress import ProgressBar
from ._argtypes import _positive_int
from ._errors import EXIT_FAIL, EXIT_OK, CliError
from ._log import ffmpeg_summary

_OUTPUT_MODES = {"metadata": "METADATA_ONLY", "native": "NATIVE_SURFACE", "rgb": "CPU_RGB"}


def _index_list(text: str) -> list[int]:
    try:
        values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected frame indices like 0,10,250"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r}: expected frame indices like 0,10,250")
    return values


def _time_list(text: str) -> list[float]:
    try:
        values = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected times in seconds like 1.5,3.0"
        ) from None
    if not values or any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: expected times in seconds like 1.5,3.0")
    return values


def add_decode_parser(sub: Any) -> None:
    dec = sub.add_parser(
        "decode",
        help="decode a media file (MP4, MKV, TS, raw H.264/HEVC, ...)",
        description="Decode a media file through a persistent decode session and print a "
        "summary; the container and codec are found from the file's content. "
        "--frames / --at decode exactly those frames; --dump writes frames as PNG "
        "or raw bytes.",
    )
    dec.add_argument(
        "file",
        metavar="FILE",
        help="a media file (or, with --codec, a raw Annex-B stream pushed in chunks)",
    )
    dec.add_argument(
        "--codec",
        choices=("h264", "hevc"),
        help="push FILE as a raw Annex-B stream of this codec in --chunk-bytes "
        "chunks instead of opening it as a media file",
    )
    sel = dec.add_mutually_exclusive_group()
    sel.add_argument(
        "--frames",
        type=_index_list,
        metavar="I,J,...",
        help="only these display indices (negative: from the end)",
    )
    sel.add_argument(
        "--at",
        type=_time_list,
        metavar="T1,T2,...",
        help="only the frames shown at these times (seconds)",
    )
    dec.add_argument(
        "--stream", type=int, metavar="N", help="video stream index (default: the best one)"
    )
    dec.add_argument("--backend", default="auto", choices=("auto", "software", "nvidia"))
    dec.add_argument(
        "--output-mode",
        default="metadata",
        choices=tuple(_OUTPUT_MODES),
        help="metadata: no pixels; native: the decoder's own planes; "
        "rgb: packed RGB (default metadata)",
    )
    dec.add_argument(
        "--chunk-bytes",
        type=_positive_int,
        default=65536,
        metavar="N",
        help="bytes per push_bitstream call (default 65536)",
    )
    dec.add_argument("--dump", metavar="DIR", help="write every frame into DIR")
    dec.add_argument(
        "--dump-format",
        default="png",
        choices=("png", "raw"),
        help="png: RGB pictures (any mode with pixels); raw: the frame's planes "
        "back to back, rows without padding (default png)",
    )
    dec.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help="progress bar on stderr (auto: when stderr is a terminal)",
    )
    dec.add_argument(
        "--telemetry",
        action="store_true",
        help="print the session telemetry as JSON at the end (the same keys "
        "as encode's --telemetry for what both sides count)",
    )
    dec.set_defaults(func=cmd_decode)


# ------------------------------------------------------------------------------------------
# Frame dumps


def png_bytes(rgb: np.ndarray) -> bytes:
    """A PNG file of an (height, width, 3) uint8 array: 8-bit truecolour, no filtering."""
    height, width, _ = rgb.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = np.ascontiguousarray(rgb, dtype=np.uint8).reshape(height, width * 3)
    # Filter type 0 (None) in front of every row.
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _yuv420p_to_rgb(planes: tuple, full_range: bool) -> np.ndarray:
    """BT.601 conversion for PNG dumps of NATIVE_SURFACE frames (a preview, not a reference:
    use --output-mode rgb for libswscale's exact conversion)."""
    y = planes[0].astype(np.float32)
    u = np.repeat(np.repeat(planes[1], 2, axis=0), 2, axis=1)[: y.shape[0], : y.shape[1]]
    v = np.repeat(np.repeat(planes[2], 2, axis=0), 2, axis=1)[: y.shape[0], : y.shape[1]]
    u = u.astype(np.float32) - 128
    v = v.astype(np.float32) - 128
    if not full_range:
        y = (y - 16) * (255 / 219)
        u, v = u * (255 / 224), v * (255 / 224)
    rgb = np.stack([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u], axis=-1)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def _frame_rgb(frame: Any) -> Optional[np.ndarray]:
    if frame.rgb is not None:
        return frame.rgb
    if frame.planes and frame.pixel_format in ("yuv420p", "yuvj420p") and not frame.on_device:
        return _yuv420p_to_rgb(frame.planes, frame.color.full_range)
    return None


def _dump(frame: Any, index: int, directory: str, fmt: str) -> None:
    if fmt == "raw":
        if not frame.planes or frame.on_device:
            raise CliError(
                "--dump-format raw needs pixels on the host: use --output-mode native or rgb"
            )
        name = f"frame_{index:06d}_{frame.width}x{frame.height}_{frame.pixel_format}.raw"
        with open(os.path.join(directory, name), "wb") as out:
            for plane in frame.planes:
                out.write(np.ascontiguousarray(plane).tobytes())
        return
    rgb = _frame_rgb(frame)
    if rgb is None:
        raise CliError(
            "--dump-format png needs pixels: use --output-mode rgb (or native for yuv420p streams)"
        )
    with open(os.path.join(directory, f"frame_{index:06d}.png"), "wb") as out:
        out.write(png_bytes(rgb))


# ------------------------------------------------------------------------------------------
# The command


def cmd_decode(args: argparse.Namespace) -> int:
    if not os.path.exists(args.file):
        raise CliError(f"{args.file}: no such file")
    if os.path.isdir(args.file):
        raise CliError(f"{args.file}: is a directory, not a media file")
    if args.dump and args.dump_format == "png" and args.output_mode == "metadata":
        raise CliError("--dump needs pixels: use --output-mode rgb or native")
    if args.codec and (args.frames or args.at):
        raise CliError(
            "--frames / --at need a media file; with --codec the stream is only pushed in order"
        )
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
    if args.codec:
        return _decode_annexb(args)
    return _decode_media(args)


def _summary(summary: dict, frame: Any) -> None:
    summary["frames"] += 1
    summary["damaged"] += frame.damaged
    summary["keyframes"] += frame.is_keyframe
    key = f"{frame.width}x{frame.height}"
    summary["sizes"][key] = summary["sizes"].get(key, 0) + 1


def _print_ffmpeg_summary(telemetry: dict, args: argparse.Namespace) -> None:
    line = ffmpeg_summary(telemetry, getattr(args, "verbose", 0))
    if line:
        print(line)


def _decode_media(args: argparse.Namespace) -> int:
    import videohw as vh

    output = vh.DecodeOutputMode[_OUTPUT_MODES[args.output_mode]]
    enabled = {"auto": None, "on": True, "off": False}[args.progress]
    summary: dict[str, Any] = {"frames": 0, "damaged": 0, "keyframes": 0, "sizes": {}}
    start = time.perf_counter()
    with vh.VideoReader(
        args.file, backend=args.backend, output=output, stream=args.stream
    ) as reader:
        stream = (
            reader.info.best_video
            if args.stream is None
            else next(v for v in reader.info.video_streams if v.index == args.stream)
        )
        assert stream is not None  # the reader opened it
        if args.frames or args.at:
            if args.frames:
                count = len(reader)
                bad = [i for i in args.frames if not -count <= i < count]
                if bad:
                    raise CliError(
                        f"--frames {bad[0]}: out of range; {args.file} has {count} frames",
                        EXIT_FAIL,
                    )
                frames = reader.get_frames_at(args.frames)
            else:
                try:
                    frames = reader.get_frames_played_at(args.at)
                except IndexError as exc:
                    raise CliError(f"--at: {exc}", EXIT_FAIL) from exc
            for frame in frames:
                print(
                    f"frame {frame.index}: pts {frame.pts}, {frame.seconds:.6f} s, "
                    f"{frame.width}x{frame.height}"
                    + (", keyframe" if frame.is_keyframe else "")
                    + (", DAMAGED" if frame.damaged else "")
                )
                if args.dump:
                    assert frame.index is not None  # VideoReader numbers its frames
                    _dump(frame, frame.index, args.dump, args.dump_format)
                _summary(summary, frame)
        else:
            total = stream.frame_count if stream is not None else 0
            with ProgressBar(total, label="decode", enabled=enabled) as bar:
                for frame in reader:
                    if args.dump:
                        assert frame.index is not None  # VideoReader numbers its frames
                        _dump(frame, frame.index, args.dump, args.dump_format)
                    _summary(summary, frame)
                    bar.update()
        telemetry = reader.telemetry()
        backend = reader.backend
    container = f"container: {reader.info.format_name}, stream {stream.index}: {stream.codec_name}"
    return _report(
        args,
        summary,
        time.perf_counter() - start,
        backend,
        telemetry,
        container,
        f"seeks: {telemetry['reader_seeks']}, session inits: {telemetry['session_inits']}",
    )


def _report(
    args: argparse.Namespace,
    summary: dict,
    elapsed: float,
    backend: str,
    telemetry: dict,
    where: Optional[str],
    counters: str,
) -> int:
    """The closing lines both kinds of input print; EXIT_FAIL when no frame came out."""
    fps = summary["frames"] / elapsed if elapsed > 0 else 0.0
    sizes = ", ".join(f"{k} ({n})" for k, n in summary["sizes"].items()) or "none"
    print(
        f"decoded {args.file}: {summary['frames']} frames in {elapsed:.2f} s "
        f"({fps:.1f} fps), backend {backend}, output {args.output_mode}"
    )
    if where:
        print(f"  {where}")
    print(f"  sizes: {sizes}")
    print(
        f"  keyframes: {summary['keyframes']}, damaged: {summary['damaged']}, "
        f"decode errors: {telemetry['decode_errors']}, {counters}"
    )
    _print_ffmpeg_summary(telemetry, args)
    if args.dump:
        print(f"  frames written to {args.dump} ({args.dump_format})")
    if args.telemetry:
        print("telemetry:")
        print(json.dumps(telemetry, indent=2, default=str))
    if summary["frames"] == 0:
        print(f"videohw decode: error: {args.file}: no frame decoded", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def _decode_annexb(args: argparse.Namespace) -> int:
    import videohw as vh

    size = os.path.getsize(args.file)
    ctl = vh.SessionController(args.backend)
    common = vh.CommonDecodeConfig(
        codec=vh.Codec(args.codec), output=vh.DecodeOutputMode[_OUTPUT_MODES[args.output_mode]]
    )
    enabled = {"auto": None, "on": True, "off": False}[args.progress]
    summary: dict[str, Any] = {"frames": 0, "damaged": 0, "keyframes": 0, "sizes": {}}

    def take(frames: list) -> None:
        for frame in frames:
            if args.dump:
                _dump(frame, summary["frames"], args.dump, args.dump_format)
            _summary(summary, frame)

    start = time.perf_counter()
    with (
        ctl.decode_session(common) as session,
        open(args.file, "rb") as stream,
        ProgressBar(size, label="decode", unit="B/s", enabled=enabled) as bar,
    ):
        while True:
            chunk = stream.read(args.chunk_bytes)
            if not chunk:
                break
            try:
                session.push(chunk)
            except vh.DecodeError as exc:  # counted in telemetry; decoding goes on
                print(f"\nvideohw decode: {exc}", file=sys.stderr)
            take(session.reap())
            bar.update(len(chunk))
        try:
            take(session.flush())
        except vh.DecodeError as exc:
            print(f"videohw decode: {exc}", file=sys.stderr)
        telemetry = session.telemetry()
    elapsed = time.perf_counter() - start
    take(session.closing_frames)
    return _report(
        args,
        summary,
        elapsed,
        ctl.decode_backend,
        telemetry,
        None,
        f"bytes in: {telemetry['bytes_in']}",
    )
