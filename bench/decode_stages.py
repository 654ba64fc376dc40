#!/usr/bin/env python3
"""Where a decode session's time goes, from its own telemetry: for each codec, output mode,
feed and bound on the frames waiting to be reaped, the fps of the whole decode, the decode
stage's time per frame (decode_ns, convert_ns), output buffers allocated after the first
file (pool_allocations: flat once the pools reached the stream's steady state), and the
peaks of the ready and input queues.

The stream is a 1080p Annex-B file made by the software encoder (H.264 with 2 B-frames,
HEVC), decoded twice per row through one session (flush between): the second pass is timed.

Run:  python bench/decode_stages.py [--backend nvidia] [--frames 300] [--ready 1024,8]
"""

from __future__ import annotations

import argparse
import time

from decode_startup import make_stream  # the same 1080p streams

import videohw as vh

FEEDS = {"64k": 64 << 10, "1m": 1 << 20, "whole": None}


def one_pass(session, data: bytes, chunk: int | None) -> int:
    """Pushes the file, reaping as it goes (each RGB frame's first row is read); frames."""
    frames = 0
    step = chunk or len(data)
    for offset in range(0, len(data), step):
        session.push(data[offset : offset + step], block=True)
        for f in session.reap():
            if f.rgb is not None:
                int(f.rgb[0, :, 0].sum())
            frames += 1
    while got := session.reap(1):  # until everything pushed is decoded
        for f in got:
            if f.rgb is not None:
                int(f.rgb[0, :, 0].sum())
            frames += 1
    for f in session.flush():
        if f.rgb is not None:
            int(f.rgb[0, :, 0].sum())
        frames += 1
    return frames


def row(ctl, codec, mode, data: bytes, feed: str, ready: int) -> str:
    config = vh.CommonDecodeConfig(codec=codec, output=mode, max_ready_frames=ready)
    with ctl.decode_session(config) as s:
        one_pass(s, data, FEEDS[feed])
        before = s.telemetry()
        start = time.perf_counter()
        frames = one_pass(s, data, FEEDS[feed])
        seconds = time.perf_counter() - start
        t = s.telemetry()
    decoded = max(1, t["frames_decoded"] - before["frames_decoded"])
    per = lambda key: (t[key] - before[key]) / decoded / 1e6  # noqa: E731
    return (
        f"{codec.name:5} {mode.name:15} {feed:6} {ready:6} {frames / seconds:8.1f} "
        f"{per('decode_ns'):9.3f} {per('convert_ns'):10.3f} "
        f"{t['pool_allocations'] - before['pool_allocations']:7} "
        f"{t['ready_peak_frames']:6} {t['backlog_peak_bytes'] >> 10:9}  ({frames} frames)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="nvidia")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--feeds", default="64k,1m,whole")
    p.add_argument("--ready", default="1024,8", help="max_ready_frames values")
    p.add_argument("--modes", default="NATIVE_SURFACE,CPU_RGB")
    args = p.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    try:
        ctl = vh.SessionController(args.backend)
    except vh.BackendUnavailableError:
        ctl = vh.SessionController("auto")  # H100/H200: NVDEC without NVENC
    print(f"decode backend: {ctl.decode_backend}; {args.size}, {args.frames} frames")
    print(
        f"{'codec':5} {'mode':15} {'feed':6} {'ready':>6} {'fps':>8} {'dec ms/f':>9} "
        f"{'conv ms/f':>10} {'allocs':>7} {'rpeak':>6} {'inpeak KiB':>9}"
    )
    for codec in (vh.Codec.H264, vh.Codec.HEVC):
        data = make_stream(codec, args.frames, width, height)
        for mode in args.modes.split(","):
            for feed in args.feeds.split(","):
                for ready in (int(r) for r in args.ready.split(",")):
                    print(row(ctl, codec, vh.DecodeOutputMode[mode], data, feed, ready), flush=True)
    ctl.close()


if __name__ == "__main__":
    main()
