#!/usr/bin/env python3
"""What a flush costs on one persistent videohw session against the behaviour it replaces:
a new encoder for every segment.

K cycles (--cycles) of M frames (--frames) at --size, each cycle one independently
decodable segment, in three ways:

    persistent   one videohw session for every cycle: submit M frames (reaping), flush.
                 force_idr=True, so every segment starts with an IDR as a fresh encoder's does.
    new-session  videohw, a session per cycle: start_encode_session, submit M frames, close
                 (what a caller without a resumable flush does).
    pyav-naive   PyAV, a codec context per cycle: create, encode M frames (the first opens
                 the encoder), encode(None) to drain, drop it (the ffmpeg-style naive path;
                 PyAV's own FFmpeg and libx264, so for reference only).

All use libx264 --preset + zerolatency (low_latency), CBR, --threads slice threads. The three
modes are interleaved cycle by cycle after --warmup untimed cycles each, so machine noise
hits them alike. Reported per mode: the cycle cost (median and p95 ms, segment start
included), the first-frame latency (segment start until the first packet is in hand: after
a flush for persistent, including the session start for new-session), and videohw's init
counts from telemetry (session_inits, encoder_opens, encoder_reopens, flush_mode).

Run:  .venv/bin/python bench/flush_reinit.py [--cycles 50] [--frames 10] [--json]
See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Callable, Optional

import _common as bc
import numpy as np

MODES = ("persistent", "new-session", "pyav-naive")


class Segment:
    """Timing and packet facts of one cycle."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first_packet_s: Optional[float] = None
        self.packets = 0
        self.first_is_key: Optional[bool] = None

    def got(self, keyframes: list[bool]) -> None:
        if keyframes and self.first_packet_s is None:
            self.first_packet_s = time.perf_counter() - self.start
            self.first_is_key = keyframes[0]
        self.packets += len(keyframes)

    def done(self) -> dict:
        return {
            "cycle_s": time.perf_counter() - self.start,
            "first_packet_s": self.first_packet_s,
            "packets": self.packets,
            "first_is_key": self.first_is_key,
        }


class FlushBench:
    def __init__(
        self, args: argparse.Namespace, settings: bc.EncodeSettings, frames: list[np.ndarray]
    ) -> None:
        import videohw as vh

        self.vh, self.args, self.settings, self.frames = vh, args, settings, frames
        self.common, self.software = settings.videohw_configs(
            force_idr=True, low_latency=not args.no_low_latency
        )
        self.ctl = vh.SessionController("software")
        self.persistent = self.ctl.start_encode_session(self.common, self.software)
        self.fresh_telemetry: list[dict] = []

    def _frames(self, cycle: int):
        """(pts, frame) of cycle ``cycle``: source frames cycle*M .. cycle*M+M-1, the same
        for every mode; pts rise from cycle to cycle, as one session needs."""
        for i in range(cycle * self.args.frames, (cycle + 1) * self.args.frames):
            yield i, self.frames[i % len(self.frames)]

    def _vh_frame(self, pts: int, data: np.ndarray):
        return self.vh.Frame(data, self.vh.PixelFormat.I420, pts=pts)

    def cycle_persistent(self, cycle: int) -> dict:
        ctl, h = self.ctl, self.persistent
        seg = Segment()
        for pts, data in self._frames(cycle):
            ctl.submit(h, self._vh_frame(pts, data))
            seg.got([p.is_keyframe for p in ctl.reap(h)])
        seg.got([p.is_keyframe for p in ctl.flush(h)])
        return seg.done()

    def cycle_new_session(self, cycle: int) -> dict:
        ctl = self.ctl
        seg = Segment()
        h = ctl.start_encode_session(self.common, self.software)
        start_s = time.perf_counter() - seg.start
        for pts, data in self._frames(cycle):
            ctl.submit(h, self._vh_frame(pts, data))
            seg.got([p.is_keyframe for p in ctl.reap(h)])
        seg.got([p.is_keyframe for p in ctl.close_encode_session(h)])
        result = seg.done()
        self.fresh_telemetry.append(ctl.telemetry(h))
        result["start_s"] = start_s
        return result

    def cycle_pyav_naive(self, cycle: int) -> dict:
        import av

        seg = Segment()
        cc = self.settings.pyav_context()
        for pts, data in self._frames(cycle):
            frame = av.VideoFrame.from_ndarray(data, format="yuv420p")
            frame.pts = pts
            seg.got([p.is_keyframe for p in cc.encode(frame)])
        seg.got([p.is_keyframe for p in cc.encode(None)])
        del cc
        return seg.done()

    def runner(self, mode: str) -> Callable[[int], dict]:
        return getattr(self, "cycle_" + mode.replace("-", "_"))

    def close(self) -> dict:
        self.ctl.close_encode_session(self.persistent)
        return self.ctl.telemetry(self.persistent)


INIT_KEYS = ("session_inits", "encoder_opens", "encoder_reopens", "flushes", "in_place_flushes")


def summarise(mode: str, cycles: list[dict], args: argparse.Namespace) -> dict:
    ms = lambda key: [c[key] * 1e3 for c in cycles if c.get(key) is not None]  # noqa: E731
    cost, first = ms("cycle_s"), ms("first_packet_s")
    out = {
        "mode": mode,
        "cycles": len(cycles),
        "cycle_ms_median": bc.median(cost),
        "cycle_ms_p95": bc.percentile(cost, 95),
        "first_packet_ms_median": bc.median(first),
        "first_packet_ms_p95": bc.percentile(first, 95),
        "segments_with_all_packets": sum(c["packets"] == args.frames for c in cycles),
        "segments_starting_with_keyframe": sum(bool(c["first_is_key"]) for c in cycles),
    }
    starts = ms("start_s")
    if starts:
        out["session_start_ms_median"] = bc.median(starts)
    return out


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--cycles", type=int, default=50, help="timed flush cycles (50)")
    p.add_argument("--frames", type=int, default=10, help="frames per cycle (10)")
    p.add_argument("--warmup", type=int, default=3, help="untimed cycles per mode first (3)")
    p.add_argument("--size", default="1280x720", help="WxH (1280x720)")
    p.add_argument(
        "--threads",
        type=int,
        default=bc.machine_cores(),
        help=f"encoder threads (this machine's cores: {bc.machine_cores()})",
    )
    p.add_argument("--preset", default="ultrafast")
    p.add_argument("--bitrate", type=int, default=4_000_000, help="CBR bits/s (4000000)")
    p.add_argument("--distinct", type=int, default=30, help="distinct source frames (30)")
    p.add_argument(
        "--no-low-latency",
        action="store_true",
        help="low_latency=False for videohw (flushes reopen the encoder: "
        "flush_mode 'reopen'); PyAV keeps zerolatency",
    )
    p.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated subset of {', '.join(MODES)}"
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = p.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in args.modes:
        if m not in MODES:
            p.error(f"--modes: unknown mode {m!r}")
    if min(args.cycles, args.frames, args.distinct) < 1 or args.warmup < 0:
        p.error("--cycles, --frames and --distinct must be >= 1, --warmup >= 0")
    if not 1 <= args.threads <= 64:
        p.error("--threads must be 1..64")
    return args


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    width, height = bc.parse_size(args.size)
    settings = bc.EncodeSettings(
        width,
        height,
        args.threads,
        preset=args.preset,
        bitrate_bps=args.bitrate,
        vbv_bits=args.bitrate,
    )
    modes = list(args.modes)
    if "pyav-naive" in modes:
        try:
            import av  # noqa: F401
        except ImportError:
            bc.progress("skipping pyav-naive: PyAV is not installed (.venv/bin/pip install av)")
            modes.remove("pyav-naive")
    frames = bc.load_raw(bc.ensure_raw(width, height, args.distinct), width, height)
    bench = FlushBench(args, settings, frames)
    bc.progress(
        f"{args.cycles} cycles x {args.frames} frames at {width}x{height}, "
        f"{args.threads} threads, modes: {', '.join(modes)}"
    )

    # Cycle numbers (warm-up first) pick the source frames and pts: every mode encodes the
    # same frames in cycle k.
    for mode in modes:
        for cycle in range(args.warmup):
            bench.runner(mode)(cycle)
    warm_fresh = len(bench.fresh_telemetry)
    cycles: dict[str, list[dict]] = {m: [] for m in modes}
    for k in range(args.cycles):
        for mode in modes:
            cycles[mode].append(bench.runner(mode)(args.warmup + k))
        if (k + 1) % 10 == 0 or k + 1 == args.cycles:
            bc.progress(f"cycle {k + 1}/{args.cycles}")
    persistent_tel = bench.close()

    summary = {m: summarise(m, cycles[m], args) for m in modes}
    inits = {}
    if "persistent" in modes:
        # The one session served the warm-up cycles too; its counters cover all of them.
        inits["persistent"] = {k: persistent_tel.get(k) for k in INIT_KEYS}
        inits["persistent"]["flush_mode"] = persistent_tel.get("flush_mode")
        inits["persistent"]["cycles_served"] = args.cycles + args.warmup
    if "new-session" in modes:
        timed = bench.fresh_telemetry[warm_fresh:]
        inits["new-session"] = {k: sum(t.get(k, 0) for t in timed) for k in INIT_KEYS}
        inits["new-session"]["cycles_served"] = len(timed)
    ratios = {}
    if "persistent" in summary:
        base = summary["persistent"]
        for other in ("new-session", "pyav-naive"):
            if other in summary:
                ratios[f"{other}/persistent cycle cost"] = (
                    summary[other]["cycle_ms_median"] / base["cycle_ms_median"]
                )
                ratios[f"{other}/persistent first-frame latency"] = (
                    summary[other]["first_packet_ms_median"] / base["first_packet_ms_median"]
                )
    report = {
        "settings": {
            "size": f"{width}x{height}",
            "cycles": args.cycles,
            "frames_per_cycle": args.frames,
            "warmup_cycles": args.warmup,
            "threads": args.threads,
            "preset": args.preset,
            "low_latency": not args.no_low_latency,
            "force_idr": True,
            "bitrate_bps": args.bitrate,
        },
        "results": summary,
        "telemetry": inits,
        "ratios": ratios,
        "versions": {"debian_ffmpeg": bc.debian_ffmpeg_version(), "pyav": bc.pyav_versions()},
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print_report(report)
    return 0


def print_report(r: dict) -> None:
    s = r["settings"]
    print(
        f"{s['cycles']} flush cycles x {s['frames_per_cycle']} frames, {s['size']}, "
        f"libx264 {s['preset']}, low_latency={s['low_latency']}, force_idr=True, "
        f"{s['threads']} slice threads"
    )
    print()
    print(
        f"{'mode':12s} {'cycle ms':>9s} {'p95':>8s} {'1st pkt ms':>11s} {'p95':>8s} "
        f"{'start ms':>9s} {'segments ok':>12s}"
    )
    for mode, m in r["results"].items():
        start = m.get("session_start_ms_median")
        ok = min(m["segments_with_all_packets"], m["segments_starting_with_keyframe"])
        print(
            f"{mode:12s} {m['cycle_ms_median']:9.2f} {m['cycle_ms_p95']:8.2f} "
            f"{m['first_packet_ms_median']:11.2f} {m['first_packet_ms_p95']:8.2f} "
            f"{(f'{start:9.2f}' if start is not None else '        -')} "
            f"{ok:>5d}/{m['cycles']:<6d}"
        )
    print("(segments ok: every frame's packet came back and the segment starts with a keyframe)")
    print()
    for mode, t in r["telemetry"].items():
        print(f"telemetry {mode:12s} " + ", ".join(f"{k}={v}" for k, v in t.items()))
    for name, ratio in r["ratios"].items():
        print(f"{name:45s} {ratio:6.2f}x")
    p = r["versions"]["pyav"]
    if p and "pyav-naive" in r["results"]:
        print(
            f"pyav-naive runs PyAV {p['pyav']}'s bundled FFmpeg {p['ffmpeg']} and libx264, "
            f"not Debian's ({r['versions']['debian_ffmpeg']}): reference only"
        )


if __name__ == "__main__":
    sys.exit(main())
