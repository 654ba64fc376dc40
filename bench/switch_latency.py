"""Switch latency: what a switch costs the submitting thread and the packet stream.

For each mode (IMMEDIATE, ON_NEXT_KEYFRAME with the switch frame forced to a keyframe,
DRAIN_THEN_SWAP) and the naive path (close the session, open a new one: what this library
replaces), on two paths (a size change: new encoder; a bitrate change: in place on H.264):

- stall: how much longer the submitting thread was held by the switch than by an ordinary
  submit (the switch call plus the first submit after it, minus the steady-state submit);
- gap: time between the last packet of the old generation and the first packet of the new
  one, as seen by a consumer thread that reaps continuously;
- the steady-state frame time for reference (the configured frame interval, the median
  interval between packets of one generation, and the measured encode time per frame).

The producer is paced at --fps like a live source; unpaced, it would sit in backpressure
all the time and hide what the switch itself costs.

    .venv/bin/python bench/switch_latency.py [--size 1280x720] [--switches 10] [--spacing 30]

Goal (issue 3): IMMEDIATE with prewarm stalls the submitter for less than one frame time.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import threading
import time

import numpy as np

import videohw as vh

MODES = {
    "immediate": vh.SessionSwitchMode.IMMEDIATE,
    "on_next_keyframe": vh.SessionSwitchMode.ON_NEXT_KEYFRAME,
    "drain_then_swap": vh.SessionSwitchMode.DRAIN_THEN_SWAP,
}


def frames_for(width: int, height: int, count: int = 8) -> list[np.ndarray]:
    rng = np.random.default_rng(width * height)
    base = rng.integers(0, 255, (height * 3 // 2 + count, width), dtype=np.uint8)
    return [np.ascontiguousarray(base[i : i + height * 3 // 2]) for i in range(count)]


class Consumer(threading.Thread):
    """Reaps continuously, stamping each packet with the time reap returned it."""

    def __init__(self, ctl: vh.SessionController) -> None:
        super().__init__(daemon=True)
        self.ctl, self.handle, self.stop = ctl, None, False
        self.session_index = 0  # bumped by the producer when the naive path opens a session
        self.stamps: list[tuple[float, int]] = []

    def run(self) -> None:
        while not self.stop:
            handle = self.handle
            if handle is None:
                time.sleep(0.001)
                continue
            try:
                packets = self.ctl.reap(handle, min_packets=1, timeout=0.01)
            except (vh.StaleSessionError, vh.SessionClosedError):
                continue  # the producer moved to a new handle
            now = time.perf_counter()
            self.stamps += [(now, self.tag(p)) for p in packets]

    def tag(self, packet: vh.EncodedPacket) -> int:
        # A new session starts at generation 1 again: tell sessions apart as well.
        return self.session_index * 1000 + packet.generation


def gaps(stamps: list[tuple[float, int]]) -> list[float]:
    out = []
    for (t0, g0), (t1, g1) in zip(stamps, stamps[1:]):
        if g1 != g0:
            out.append(t1 - t0)
    return out


def run_mode(args, mode: str, path: str) -> dict:
    w, h = args.width, args.height
    base = vh.CommonEncodeConfig(
        width=w,
        height=h,
        low_latency=True,
        gop_length=args.spacing,
        rate_control=vh.RateControl.cbr(4_000_000),
    )
    if path == "new_session":
        other = dataclasses.replace(base, width=w * 3 // 4 // 2 * 2, height=h * 3 // 4 // 2 * 2)
    else:
        other = dataclasses.replace(base, rate_control=vh.RateControl.cbr(2_000_000))
    pictures = {(c.width, c.height): frames_for(c.width, c.height) for c in (base, other)}
    sw = vh.SoftwareEncodeConfig(preset=args.preset)
    ctl = vh.SessionController("software")
    handle = ctl.start_encode_session(base, sw)
    consumer = Consumer(ctl)
    consumer.handle = handle
    consumer.start()
    submits, stalls, config, targets = [], [], base, [other, base]
    total = (args.switches + 1) * args.spacing
    interval = 1.0 / args.fps
    next_due = time.perf_counter()
    for t in range(total):
        # Paced like a live source: an unpaced producer sits in backpressure all the time,
        # which would hide what the switch itself costs.
        next_due += interval
        switching = t > 0 and t % args.spacing == 0
        start = time.perf_counter()
        if switching:
            config = targets[(t // args.spacing - 1) % 2]
            if mode == "naive":
                consumer.handle = None
                tail = ctl.close_encode_session(handle)
                now = time.perf_counter()
                consumer.stamps += [(now, consumer.tag(p)) for p in tail]
                handle = ctl.start_encode_session(config, sw)
                consumer.session_index += 1
            else:
                handle = ctl.switch_encode_session(
                    handle, vh.SessionSwitchRequest(target=(config, None), mode=MODES[mode])
                )
            consumer.handle = handle
        frame = vh.Frame(
            pictures[(config.width, config.height)][t % 8],
            vh.PixelFormat.I420,
            force_keyframe=switching,
        )
        ctl.submit(handle, frame)
        took = time.perf_counter() - start
        (stalls if switching else submits).append(took)
        delay = next_due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    consumer.handle = None
    ctl.close_encode_session(handle)
    consumer.stop = True
    consumer.join()
    telemetry = ctl.telemetry(handle)
    steady = statistics.median(submits)
    stall = [s - steady for s in stalls]
    stamps = consumer.stamps
    same = [(t1 - t0) * 1e3 for (t0, g0), (t1, g1) in zip(stamps, stamps[1:]) if g0 == g1]
    return {
        "mode": mode,
        "path": path,
        "steady_submit_ms": steady * 1e3,
        "stall_ms": [x * 1e3 for x in stall],
        "gap_ms": [g * 1e3 for g in gaps(stamps) if g >= 0],
        "steady_packet_interval_ms": statistics.median(same) if same else float("nan"),
        "encode_ms_per_frame": telemetry["encode_ns"] / 1e6 / max(1, telemetry["frames_encoded"]),
        "telemetry": telemetry,
    }


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"{statistics.median(values):8.2f} {p95:8.2f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1280x720")
    p.add_argument("--switches", type=int, default=8)
    p.add_argument("--spacing", type=int, default=15, help="frames between switches (= GOP)")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--preset", default="veryfast")
    args = p.parse_args()
    args.width, args.height = (int(v) for v in args.size.split("x"))
    frame_ms = 1000 / args.fps
    print(
        f"{args.size} libx264 {args.preset} low_latency, {args.switches} switches every "
        f"{args.spacing} frames; frame time at {args.fps} fps: {frame_ms:.1f} ms"
    )
    print(
        f"{'mode':17s} {'path':12s} {'stall ms':>8s} {'p95':>8s} {'gap ms':>8s} {'p95':>8s}"
        f" {'pkt gap':>8s} {'submit ms':>9s} {'encode ms/f':>11s}"
    )
    results = []
    for path in ("new_session", "in_place"):
        for mode in ("naive", *MODES):
            print(f"  running {mode} / {path} ...", file=sys.stderr)
            r = run_mode(args, mode, path)
            results.append(r)
            print(
                f"{mode:17s} {path:12s} {summary(r['stall_ms'])} {summary(r['gap_ms'])}"
                f" {r['steady_packet_interval_ms']:8.2f} {r['steady_submit_ms']:9.2f}"
                f" {r['encode_ms_per_frame']:11.2f}"
            )
    for r in results:
        if r["mode"] == "naive":
            continue
        t = r["telemetry"]
        print(
            f"telemetry {r['mode']}/{r['path']}: switches_in_place={t['switches_in_place']} "
            f"switches_new_session={t['switches_new_session']} encoder_opens={t['encoder_opens']}"
            f" last_switch_activation_ns={t['last_switch_activation_ns']}"
            f" last_switch_first_packet_ns={t['last_switch_first_packet_ns']}"
        )
    for r in results:
        if r["mode"] == "immediate":
            stall = statistics.median(r["stall_ms"])
            limit = min(frame_ms, r["encode_ms_per_frame"])
            print(
                f"goal ({r['path']}): IMMEDIATE stall {stall:.2f} ms < one frame time "
                f"(min of {frame_ms:.1f} ms interval, {r['encode_ms_per_frame']:.2f} ms encode):"
                f" {'MET' if stall < limit else 'NOT MET'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
