"""``videohw decode``: decodes an Annex-B H.264/HEVC file through a decode session, with a
progress bar on stderr, a summary on stdout and optional PNG / raw frame dumps.
Registered by cli.build_parser; see docs/decode.md.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import time
import zlib
from typing import Any, Optional

import numpy as np

from .progress import ProgressBar

_OUTPUT_MODES = {"metadata": "METADATA_ONLY", "native": "NATIVE_SURFACE", "rgb": "CPU_RGB"}


def _chunk_bytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be >= 1")
    return value


def add_decode_parser(sub: Any) -> None:
    dec = sub.add_parser(
        "decode", help="decode an Annex-B H.264/HEVC file",
        description="Decode an Annex-B H.264/HEVC elementary stream through a decode session "
                    "and print a summary; optionally dump every frame as PNG or raw bytes.")
    dec.add_argument("file", metavar="FILE", help="Annex-B elementary stream")
    dec.add_argument("--codec", required=True, choices=("h264", "hevc"))
    dec.add_argument("--backend", default="auto", choices=("auto", "software", "nvidia"))
    dec.add_argument("--output-mode", default="metadata", choices=tuple(_OUTPUT_MODES),
                     help="metadata: no pixels; native: the decoder's own planes; "
                          "rgb: packed RGB (default metadata)")
    dec.add_argument("--chunk-bytes", type=_chunk_bytes, default=65536, metavar="N",
                     help="bytes per push_bitstream call (default 65536)")
    dec.add_argument("--dump", metavar="DIR", help="write every frame into DIR")
    dec.add_argument("--dump-format", default="png", choices=("png", "raw"),
                     help="png: RGB pictures (any mode with pixels); raw: the frame's planes "
                          "back to back, rows without padding (default png)")
    dec.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                     help="progress bar on stderr (auto: when stderr is a terminal)")
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
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


def _yuv420p_to_rgb(planes: tuple, full_range: bool) -> np.ndarray:
    """BT.601 conversion for PNG dumps of NATIVE_SURFACE frames (a preview, not a reference:
    use --output-mode rgb for libswscale's exact conversion)."""
    y = planes[0].astype(np.float32)
    u = np.repeat(np.repeat(planes[1], 2, axis=0), 2, axis=1)[:y.shape[0], :y.shape[1]]
    v = np.repeat(np.repeat(planes[2], 2, axis=0), 2, axis=1)[:y.shape[0], :y.shape[1]]
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
            raise _cli().CliError("--dump-format raw needs pixels on the host: use "
                                  "--output-mode native or rgb")
        name = f"frame_{index:06d}_{frame.width}x{frame.height}_{frame.pixel_format}.raw"
        with open(os.path.join(directory, name), "wb") as out:
            for plane in frame.planes:
                out.write(np.ascontiguousarray(plane).tobytes())
        return
    rgb = _frame_rgb(frame)
    if rgb is None:
        raise _cli().CliError("--dump-format png needs pixels: use --output-mode rgb (or "
                              "native for yuv420p streams)")
    with open(os.path.join(directory, f"frame_{index:06d}.png"), "wb") as out:
        out.write(png_bytes(rgb))


def _cli() -> Any:
    from . import cli
    return cli


# ------------------------------------------------------------------------------------------
# The command


def cmd_decode(args: argparse.Namespace) -> int:
    import videohw as vh
    cli = _cli()
    if not os.path.isfile(args.file):
        raise cli.CliError(f"{args.file}: no such file")
    if args.dump and args.dump_format == "png" and args.output_mode == "metadata":
        raise cli.CliError("--dump needs pixels: use --output-mode rgb or native")
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
    size = os.path.getsize(args.file)
    ctl = vh.SessionController(args.backend)
    common = vh.CommonDecodeConfig(codec=vh.Codec(args.codec),
                                   output=vh.DecodeOutputMode[_OUTPUT_MODES[args.output_mode]])
    enabled = {"auto": None, "on": True, "off": False}[args.progress]
    summary = {"frames": 0, "damaged": 0, "keyframes": 0, "sizes": {}}

    def take(frames: list) -> None:
        for frame in frames:
            if args.dump:
                _dump(frame, summary["frames"], args.dump, args.dump_format)
            summary["frames"] += 1
            summary["damaged"] += frame.damaged
            summary["keyframes"] += frame.is_keyframe
            key = f"{frame.width}x{frame.height}"
            summary["sizes"][key] = summary["sizes"].get(key, 0) + 1

    start = time.perf_counter()
    with ctl.decode_session(common) as session, open(args.file, "rb") as stream, \
            ProgressBar(size, label="decode", unit="B/s", enabled=enabled) as bar:
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
    fps = summary["frames"] / elapsed if elapsed > 0 else 0.0
    sizes = ", ".join(f"{k} ({n})" for k, n in summary["sizes"].items()) or "none"
    print(f"decoded {args.file}: {summary['frames']} frames in {elapsed:.2f} s "
          f"({fps:.1f} fps), backend {ctl.decode_backend}, output {args.output_mode}")
    print(f"  sizes: {sizes}")
    print(f"  keyframes: {summary['keyframes']}, damaged: {summary['damaged']}, "
          f"decode errors: {telemetry['decode_errors']}, bytes in: {telemetry['bytes_in']}")
    if args.dump:
        print(f"  frames written to {args.dump} ({args.dump_format})")
    return cli.EXIT_FAIL if summary["frames"] == 0 else cli.EXIT_OK
