#!/usr/bin/env python3
"""Decode start-up and a realistic feed: what issue 12 ("Decode on stage threads") measures
first, videohw only.

For each codec and output mode: the time `start_decode_session` takes on a warm controller,
the time from it to the first decoded frame when the file's bytes are pushed in chunks of
--chunk bytes (as a caller holding a file would push them, not pre-split access units), and
the frames per second of the whole decode. The stream is a 1080p Annex-B file made by the
software encoder (H.264 8 Mb/s with 2 B-frames, HEVC), so no ffmpeg is needed.

Run:  python bench/decode_startup.py [--backend nvidia] [--frames 120] [--chunk 1048576]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import videohw as vh


def make_stream(codec: vh.Codec, frames: int, width: int, height: int) -> bytes:
    ctl = vh.SessionController("software")
    common = vh.CommonEncodeConfig(
        codec=codec,
        width=width,
        height=height,
        b_frames=2 if codec == vh.Codec.H264 else 0,
        rate_control=vh.RateControl(vh.RateControlMode.CBR, bitrate_bps=8_000_000),
    )
    y = np.arange(width * height, dtype=np.uint32).reshape(height, width)
    out = bytearray()
    with ctl.encode_session(common, vh.SoftwareEncodeConfig(preset="ultrafast")) as s:
        for t in range(frames):
            picture = np.empty(width * height * 3 // 2, dtype=np.uint8)
            picture[: width * height] = ((y + 7 * t) % 251).astype(np.uint8).ravel()
            picture[width * height :] = (128 + t) % 256
            s.submit(vh.Frame(picture, vh.PixelFormat.I420))
            out += b"".join(p.data for p in s.reap())
        out += b"".join(p.data for p in s.flush())
    ctl.close()
    return bytes(out)


def decode_once(ctl, data: bytes, codec, mode, chunk: int) -> tuple[float, float, float, int]:
    """(start ms, first frame ms after start returned, fps of the whole decode, frames)."""
    t0 = time.perf_counter()
    h = ctl.start_decode_session(vh.CommonDecodeConfig(codec=codec, output=mode))
    t1 = time.perf_counter()
    first = None
    frames = 0
    for offset in range(0, len(data), chunk):
        ctl.push_bitstream(h, data[offset : offset + chunk])
        got = ctl.reap(h)
        if got and first is None:
            first = time.perf_counter()
        frames += len(got)
    tail = ctl.flush(h)
    if tail and first is None:
        first = time.perf_counter()
    frames += len(tail)
    frames += len(ctl.close_decode_session(h))
    t2 = time.perf_counter()
    first_ms = ((first or t2) - t1) * 1e3
    return (t1 - t0) * 1e3, first_ms, frames / (t2 - t1), frames


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="nvidia")
    p.add_argument("--frames", type=int, default=120)
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--chunk", type=int, default=1 << 20, help="bytes per push (1 MiB)")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    ctl = vh.SessionController(args.backend) if args.backend != "nvidia" else None
    if ctl is None:
        try:
            ctl = vh.SessionController("nvidia")
        except vh.BackendUnavailableError:
            ctl = vh.SessionController("auto")  # H100/H200: NVDEC without NVENC
    print(
        f"decode backend: {ctl.decode_backend}; {args.size}, {args.frames} frames, "
        f"chunks of {args.chunk} bytes, first run cold, then median of {args.repeats}"
    )
    print(f"{'codec':6} {'mode':15} {'run':6} {'start ms':>9} {'first ms':>9} {'fps':>8}")
    for codec in (vh.Codec.H264, vh.Codec.HEVC):
        data = make_stream(codec, args.frames, width, height)
        for mode in (vh.DecodeOutputMode.NATIVE_SURFACE, vh.DecodeOutputMode.CPU_RGB):
            cold = decode_once(ctl, data, codec, mode, args.chunk)
            warm = [decode_once(ctl, data, codec, mode, args.chunk) for _ in range(args.repeats)]
            rows = [("cold", cold)] + [
                ("warm", tuple(statistics.median(r[i] for r in warm) for i in range(4)))
            ]
            for label, (start, first, fps, frames) in rows:
                print(
                    f"{codec.name:6} {mode.name:15} {label:6} {start:9.1f} {first:9.1f} "
                    f"{fps:8.1f}  ({int(frames)} frames)"
                )
    ctl.close()


if __name__ == "__main__":
    main()
