#!/usr/bin/env python3
"""Where a decode session's time goes, from its own telemetry: for each codec, output mode,
feed and bound on the frames waiting to be reaped, the fps of the whole decode, the decode
stage's time per frame (decode_ns, convert_ns), output buffers allocated after the first
file (pool_allocations: flat once the pools reached the stream's steady state), and the
peaks of the ready and input queues.

The stream is a 1080p Annex-B file made by the software encoder (H.264 with 2 B-frames,
HEVC), decoded twice per row through one session (flush between): the second pass is timed.

Run:  python bench/decode_stages.py [--backend nvidia] [--frames 300] [--ready 1024,8]
      python bench/decode_stages.py --sessions 1,7,14,21 --feeds 1m \
          --modes METADATA_ONLY,NATIVE_SURFACE
      (many sessions at once: where aggregate throughput stops growing, and whether the
      decode stages or the calling threads are what stops it)
"""

from __future__ import annotations

import argparse
import functools
import time

from _common import on_threads
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


def row(ctl, codec, mode, data: bytes, feed: str, ready: int, fresh: bool = False) -> str:
    """The second pass of one session (fresh: the first pass of a session made before the
    clock, after an untimed session on the same file left its decoder and buffers)."""
    config = vh.CommonDecodeConfig(codec=codec, output=mode, max_ready_frames=ready)
    if fresh:
        with ctl.decode_session(config) as s:
            one_pass(s, data, FEEDS[feed])
    with ctl.decode_session(config) as s:
        if not fresh:
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
        f"{t['ready_peak_frames']:6} {t['backlog_peak_bytes'] >> 10:9} "
        f"{(t['decoder_setup_ns'] - before['decoder_setup_ns']) / 1e6:8.1f}  "
        f"({frames} frames{', fresh session' if fresh else ''})"
    )


def rows_parallel(ctl, codec, mode, data: bytes, feed: str, ready: int, sessions: int) -> str:
    """`sessions` threads, each on its own session (made and warmed before the clock), decode
    the file at once: aggregate fps, the decode stage's time per frame, and the share of
    the pass the stages were busy decoding (decode_ns over wall time, all sessions). Near 1
    with fps flat: the decode stage itself (the driver, the engines) stops scaling; well
    below 1: the stages wait on something else (the calling threads, the reaps)."""
    config = vh.CommonDecodeConfig(codec=codec, output=mode, max_ready_frames=ready)
    opened = [ctl.decode_session(config) for _ in range(sessions)]
    for s in opened:
        s.__enter__()
    try:
        for s in opened:
            one_pass(s, data, FEEDS[feed])
        before = [s.telemetry() for s in opened]
        spans = [0.0] * sessions

        def run(i: int) -> int:
            t0 = time.perf_counter()
            frames = one_pass(opened[i], data, FEEDS[feed])
            spans[i] = time.perf_counter() - t0
            return frames

        (_, frames), seconds = on_threads([functools.partial(run, i) for i in range(sessions)])
        after = [s.telemetry() for s in opened]
    finally:
        for s in opened:
            s.__exit__(None, None, None)
    decoded = sum(a["frames_decoded"] - b["frames_decoded"] for a, b in zip(after, before))
    dec_ms = sum(a["decode_ns"] - b["decode_ns"] for a, b in zip(after, before)) / max(1, decoded)
    busy = sum(a["decode_ns"] - b["decode_ns"] for a, b in zip(after, before)) / 1e9
    return (
        f"{codec.name:5} {mode.name:15} {feed:6} {sessions:8} {frames / seconds:9.1f} "
        f"{frames / seconds / sessions:8.1f} {dec_ms / 1e6:9.3f} "
        f"{busy / max(1e-9, sum(spans)):9.2f}  ({frames} frames)"
    )


def cases(args, width: int, height: int):
    """(codec, mode, stream, feed) of every row, each codec's stream made once."""
    for codec in (vh.Codec.H264, vh.Codec.HEVC):
        data = make_stream(codec, args.frames, width, height)
        for mode in args.modes.split(","):
            for feed in args.feeds.split(","):
                yield codec, vh.DecodeOutputMode[mode], data, feed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="nvidia")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--feeds", default="64k,1m,whole")
    p.add_argument("--ready", default="1024,8", help="max_ready_frames values")
    p.add_argument("--modes", default="NATIVE_SURFACE,CPU_RGB")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="also time a new session's first pass (made before the clock)",
    )
    p.add_argument(
        "--sessions",
        default="",
        help="e.g. 1,7,14,21: instead of the table above, that many sessions decoding at once",
    )
    args = p.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    try:
        ctl = vh.SessionController(args.backend)
    except vh.BackendUnavailableError:
        ctl = vh.SessionController("auto")  # H100/H200: NVDEC without NVENC
    print(f"decode backend: {ctl.decode_backend}; {args.size}, {args.frames} frames")
    if args.sessions:
        print(
            f"{'codec':5} {'mode':15} {'feed':6} {'sessions':>8} {'agg fps':>9} {'fps/sess':>8} "
            f"{'dec ms/f':>9} {'dec/wall':>9}"
        )
        ready = int(args.ready.split(",")[0])
        for codec, mode, data, feed in cases(args, width, height):
            for n in (int(v) for v in args.sessions.split(",")):
                print(rows_parallel(ctl, codec, mode, data, feed, ready, n), flush=True)
        ctl.close()
        return
    print(
        f"{'codec':5} {'mode':15} {'feed':6} {'ready':>6} {'fps':>8} {'dec ms/f':>9} "
        f"{'conv ms/f':>10} {'allocs':>7} {'rpeak':>6} {'inpeak KiB':>9} {'setup ms':>8}"
    )
    for codec, mode, data, feed in cases(args, width, height):
        for ready in (int(r) for r in args.ready.split(",")):
            print(row(ctl, codec, mode, data, feed, ready), flush=True)
            if args.fresh:
                print(row(ctl, codec, mode, data, feed, ready, fresh=True), flush=True)
    ctl.close()


if __name__ == "__main__":
    main()
