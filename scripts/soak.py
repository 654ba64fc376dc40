#!/usr/bin/env python3
"""Soak test of videohw's public API: one persistent encode session through many switches,
then many decode sessions opened and closed in a row, some dropped without close.

Encode: N frames (software backend, small pictures) on ONE session, switching every K frames
to the next target of a cycle of sizes and bitrates (bitrate-only changes go in place, size
changes make a new encoder) in each of the three switch modes in turn, reaping as it goes and
flushing now and then. Every packet is checked against a model of the contract
(docs/api.md, "Switching"): exactly one packet per submitted frame, in pts order, each
tagged with the generation its frame was submitted under, keyframes where the GOP and the
switches put them; ON_NEXT_KEYFRAME activation is predicted and compared with
``session_state``.

Decode: M decode sessions in a row, each decoding a small stream fully in chunks (output
modes in turn); every ``--drop-every``-th is abandoned half way without ``close`` and must be
collected (a ResourceWarning each, threads released).

Process figures (RSS, threads, open file descriptors from /proc/self) are sampled at the
start, after the warm-up frames, after the encode and at the end. Exits 1 on any mismatch,
on RSS growth after warm-up above ``--max-rss-growth-mb``, or when threads or descriptors
do not return to their start counts; 0 otherwise.

    python scripts/soak.py --frames 300000 --switch-every 100 --decode-sessions 500
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

import videohw as vh

MODES = (
    vh.SessionSwitchMode.IMMEDIATE,
    vh.SessionSwitchMode.ON_NEXT_KEYFRAME,
    vh.SessionSwitchMode.DRAIN_THEN_SWAP,
)
OUTPUTS = (
    vh.DecodeOutputMode.METADATA_ONLY,
    vh.DecodeOutputMode.NATIVE_SURFACE,
    vh.DecodeOutputMode.CPU_RGB,
)
# Chunk sizes for the decode pushes, in turn per session: an access unit split over many
# pushes, about one per push, several per push.
CHUNKS = (7, 333, 4096)
MAX_REPORTED = 20  # mismatch messages kept; the count goes on


# ---- process figures ---------------------------------------------------------------------


@dataclass
class Sample:
    rss_bytes: int
    threads: int
    fds: int

    @property
    def rss_mb(self) -> float:
        return self.rss_bytes / 2**20


def sample() -> Sample:
    """RSS, thread count and open descriptors of this process (Linux /proc)."""
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    threads = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
                break
    # The FFmpeg log forwarder starts with FFmpeg's first line and lives until exit, by
    # design: it is not a thread a session left behind.
    if vh.ffmpeg_log_stats().get("forwarder_running"):
        threads -= 1
    # The listing includes the descriptor it is read through.
    fds = len(os.listdir("/proc/self/fd")) - 1
    return Sample(resident_pages * os.sysconf("SC_PAGE_SIZE"), threads, fds)


# ---- the packet check --------------------------------------------------------------------


class StreamCheck:
    """Compares packets, as they come out, with the frames submitted: the packet of each
    frame, in submit order (no B-frames: decode order is pts order), with the generation and
    keyframe flag the model gave the frame. Keeps only the frames still in flight."""

    def __init__(self) -> None:
        self._in_flight: collections.deque = collections.deque()
        self.frames_by_generation: collections.Counter = collections.Counter()
        self.packets_by_generation: collections.Counter = collections.Counter()
        self.frames = 0
        self.packets = 0
        self.mismatches = 0
        self.messages: list[str] = []
        self._last_generation = 0

    def fail(self, message: str) -> None:
        self.mismatches += 1
        if len(self.messages) < MAX_REPORTED:
            self.messages.append(message)

    @property
    def waiting(self) -> int:
        """Frames submitted whose packet has not come out yet."""
        return len(self._in_flight)

    def submitted(self, pts: int, generation: int, keyframe: bool) -> None:
        self._in_flight.append((pts, generation, keyframe))
        self.frames_by_generation[generation] += 1
        self.frames += 1

    def packet(self, p: vh.EncodedPacket) -> None:
        self.packets += 1
        self.packets_by_generation[p.generation] += 1
        if p.generation < self._last_generation:
            self.fail(
                f"packet pts {p.pts}: generation {p.generation} after {self._last_generation}"
            )
        self._last_generation = max(self._last_generation, p.generation)
        # A packet ahead of the oldest frame in flight means those frames' packets are
        # missing; one behind it is a duplicate or out of order.
        while self._in_flight and self._in_flight[0][0] < p.pts:
            self.fail(
                f"frame pts {self._in_flight.popleft()[0]}: no packet (next packet has pts {p.pts})"
            )
        if not self._in_flight or self._in_flight[0][0] != p.pts:
            self.fail(
                f"packet pts {p.pts} (generation {p.generation}): no frame of that pts "
                "waits (duplicate or out of order)"
            )
            return
        pts, generation, keyframe = self._in_flight.popleft()
        if p.generation != generation:
            self.fail(
                f"frame pts {pts}: packet of generation {p.generation}, submitted "
                f"under {generation}"
            )
        if p.is_keyframe != keyframe:
            self.fail(f"frame pts {pts}: keyframe {p.is_keyframe}, expected {keyframe}")

    def finish(self) -> None:
        """After the session is closed: every frame has had its packet."""
        for pts, generation, _ in self._in_flight:
            self.fail(f"frame pts {pts} (generation {generation}): no packet by close")
        self._in_flight.clear()
        for g in sorted(set(self.frames_by_generation) | set(self.packets_by_generation)):
            if self.frames_by_generation[g] != self.packets_by_generation[g]:
                self.fail(
                    f"generation {g}: {self.frames_by_generation[g]} frames submitted, "
                    f"{self.packets_by_generation[g]} packets"
                )


# ---- encode ------------------------------------------------------------------------------


def parse_size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    try:
        width, height = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r}: expected WIDTHxHEIGHT") from None
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise argparse.ArgumentTypeError(f"size {text!r}: even, at least 16x16")
    return width, height


def parse_rate(text: str) -> int:
    scale = {"k": 1000, "m": 1000_000}.get(text[-1:].lower(), 1)
    try:
        value = int(float(text[:-1] if scale != 1 else text) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bitrate {text!r}: expected e.g. 300k") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"bitrate {text!r}: must be positive")
    return value


def comma_list(parse):
    def parse_all(text: str) -> list:
        items = [parse(t) for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError("empty list")
        return items

    return parse_all


def pictures(width: int, height: int, count: int) -> list[np.ndarray]:
    """``count`` different ARGB pictures: a gradient with a box moving over it, so every
    frame differs from the previous one and the encoder has real work."""
    y, x = np.mgrid[0:height, 0:width]
    out = []
    for t in range(count):
        argb = np.empty((height, width, 4), np.uint8)
        argb[..., 0] = 255
        argb[..., 1] = (40 + 170 * x // max(1, width - 1)).astype(np.uint8)
        argb[..., 2] = (40 + 170 * y // max(1, height - 1)).astype(np.uint8)
        argb[..., 3] = (60 + 9 * t) % 256
        bx, by = (t * 5) % max(1, width - 8), (t * 3) % max(1, height - 8)
        argb[by : by + 8, bx : bx + 8, 1:] = (230, 200, 40)
        out.append(argb)
    return out


def targets(args: argparse.Namespace) -> list[vh.CommonEncodeConfig]:
    """The switch targets in cycle order: every bitrate at one size, then the next size,
    so the cycle holds in-place switches (bitrate only) and new encoders (size)."""
    return [
        vh.CommonEncodeConfig(
            codec=vh.Codec.H264,
            width=w,
            height=h,
            low_latency=True,
            gop_length=args.gop,
            rate_control=vh.RateControl.cbr(rate),
        )
        for (w, h) in args.sizes
        for rate in args.bitrates
    ]


def switch_plan(k: int, cycle: int) -> tuple[int, vh.SessionSwitchMode]:
    """Switch number ``k`` (1, 2, ...): its target's index in the cycle and its mode. The
    mode shifts by one every full cycle of targets, so every kind of change meets every mode
    even when the cycle's length is a multiple of three."""
    return k % cycle, MODES[(k + k // cycle) % len(MODES)]


@dataclass
class EncodeResult:
    frames: int = 0
    packets: int = 0
    switches: int = 0
    switches_by_mode: dict = field(default_factory=dict)
    generations: int = 0
    flushes: int = 0
    seconds: float = 0.0
    frames_per_second: float = 0.0
    telemetry: dict = field(default_factory=dict)


class Progress:
    """A line on stderr every ``every_s`` seconds: done, rate, process figures."""

    def __init__(self, every_s: float, label: str, total: int) -> None:
        self.every_s, self.label, self.total = every_s, label, total
        self.start = self.last = time.monotonic()

    def tick(self, done: int, extra: str = "") -> None:
        if self.every_s <= 0:
            return
        now = time.monotonic()
        if now - self.last < self.every_s:
            return
        self.last = now
        rate = done / max(1e-9, now - self.start)
        s = sample()
        print(
            f"[soak] {now - self.start:.0f} s: {self.label} {done}/{self.total} "
            f"({100 * done / self.total:.1f}%) {rate:,.0f}/s, {extra}rss {s.rss_mb:.1f} MB, "
            f"threads {s.threads}, fds {s.fds}",
            file=sys.stderr,
            flush=True,
        )


def run_encode(
    ctl: vh.SessionController, args: argparse.Namespace, check: StreamCheck, on_warm
) -> EncodeResult:
    cycle = targets(args)
    pics = {size: pictures(*size, args.pictures) for size in args.sizes}
    config = cycle[0]
    handle = ctl.start_encode_session(config)
    result = EncodeResult(switches_by_mode={m.value: 0 for m in MODES})
    generation = handle.generation
    # The model: the next frame is a keyframe when it starts the stream or a generation, or
    # `gop` frames after the previous keyframe (docs/api.md, "Keyframes").
    since_keyframe: Optional[int] = None
    starts_generation = True
    pending: Optional[tuple[int, vh.CommonEncodeConfig]] = None
    progress = Progress(args.progress, "encode frames", args.frames)
    start = time.monotonic()
    for i in range(args.frames):
        if i == args.warmup_frames:
            on_warm()
        if i and i % args.switch_every == 0:
            k = i // args.switch_every
            index, mode = switch_plan(k, len(cycle))
            handle = ctl.switch_encode_session(
                handle, vh.SessionSwitchRequest(target=(cycle[index], None), mode=mode)
            )
            result.switches += 1
            result.switches_by_mode[mode.value] += 1
            if mode is vh.SessionSwitchMode.ON_NEXT_KEYFRAME:
                pending = (handle.generation, cycle[index])
            else:
                pending = None
                generation, config, starts_generation = handle.generation, cycle[index], True
                if mode is vh.SessionSwitchMode.DRAIN_THEN_SWAP:
                    # Every frame before the call has its packet ready now.
                    for p in ctl.reap(handle):
                        check.packet(p)
                    if check.waiting:
                        check.fail(
                            f"DRAIN_THEN_SWAP before frame {i}: "
                            f"{check.waiting} earlier frames not ready"
                        )
        keyframe = (
            starts_generation or since_keyframe is None or since_keyframe + 1 >= config.gop_length
        )
        if pending is not None:
            state = ctl.session_state(handle)
            if state["next_frame_activates"] != keyframe:
                check.fail(
                    f"frame {i}: session_state next_frame_activates="
                    f"{state['next_frame_activates']}, the GOP says {keyframe}"
                )
            if keyframe:
                generation, config = pending
                pending = None
            if (state["width"], state["height"]) != (config.width, config.height):
                check.fail(
                    f"frame {i}: session_state size {state['width']}x"
                    f"{state['height']}, expected {config.width}x{config.height}"
                )
        size = (config.width, config.height)
        ctl.submit(handle, vh.Frame(pics[size][i % args.pictures], vh.PixelFormat.ARGB8888, pts=i))
        check.submitted(i, generation, keyframe)
        since_keyframe = 0 if keyframe else since_keyframe + 1
        starts_generation = False
        for p in ctl.reap(handle):
            check.packet(p)
        if args.flush_every and (i + 1) % args.flush_every == 0:
            for p in ctl.flush(handle):
                check.packet(p)
            result.flushes += 1
            if check.waiting:
                check.fail(f"flush after frame {i}: {check.waiting} frames without packets")
        progress.tick(i + 1, f"generation {generation}, ")
    for p in ctl.flush(handle):
        check.packet(p)
    result.flushes += 1
    for p in ctl.close_encode_session(handle):
        check.packet(p)
    result.seconds = time.monotonic() - start
    check.finish()
    t = ctl.telemetry(handle)
    result.telemetry = {
        k: t[k]
        for k in (
            "session_inits",
            "frames_submitted",
            "packets_out",
            "switches",
            "switches_immediate",
            "switches_on_next_keyframe",
            "switches_drain_then_swap",
            "switches_in_place",
            "switches_new_session",
            "switch_failures",
            "borrow_leaks",
            "generation",
        )
    }
    result.frames, result.packets = check.frames, check.packets
    result.generations = len(check.frames_by_generation)
    result.frames_per_second = result.frames / max(1e-9, result.seconds)
    expected = {
        "session_inits": 1,
        "frames_submitted": args.frames,
        "packets_out": args.frames,
        "switches": result.switches,
        "switches_immediate": result.switches_by_mode["immediate"],
        "switches_on_next_keyframe": result.switches_by_mode["on_next_keyframe"],
        "switches_drain_then_swap": result.switches_by_mode["drain_then_swap"],
        "switch_failures": 0,
        "borrow_leaks": 0,
    }
    for key, want in expected.items():
        if result.telemetry[key] != want:
            check.fail(f"telemetry {key} = {result.telemetry[key]}, expected {want}")
    return result


# ---- decode ------------------------------------------------------------------------------


@dataclass
class DecodeResult:
    sessions: int = 0
    closed: int = 0
    dropped: int = 0
    collected: int = 0
    frames: int = 0
    seconds: float = 0.0


def decode_stream(
    ctl: vh.SessionController, frames: int, gop: int
) -> tuple[bytes, list[bool], int]:
    """A small H.264 stream to decode, its keyframe flags in order, and the byte offset
    where its second half of access units starts."""
    config = vh.CommonEncodeConfig(
        codec=vh.Codec.H264, width=64, height=48, low_latency=True, gop_length=gop
    )
    pics = pictures(64, 48, frames)
    with ctl.encode_session(config) as s:
        for i, pic in enumerate(pics):
            s.submit(vh.Frame(pic, vh.PixelFormat.ARGB8888, pts=i))
        packets = s.flush()
    half = sum(len(p.data) for p in packets[: len(packets) // 2])
    return b"".join(p.data for p in packets), [p.is_keyframe for p in packets], half


def run_decode(
    ctl: vh.SessionController,
    args: argparse.Namespace,
    check: StreamCheck,
    stream: tuple[bytes, list[bool], int],
    count: int,
    label: str = "decode sessions",
) -> DecodeResult:
    """``count`` decode sessions in a row on ``stream`` (decode_stream's result)."""
    stream, keyframes, half = stream
    result = DecodeResult()
    progress = Progress(args.progress, label, count)
    start = time.monotonic()
    with warnings.catch_warnings():
        # Counted, not recorded: a list of every warning would itself grow with the run.
        warnings.simplefilter("always", ResourceWarning)
        show = warnings.showwarning

        def count_collected(message, category, *rest, **kwargs) -> None:
            if (
                issubclass(category, ResourceWarning)
                and "decode session" in str(message)
                and "never closed" in str(message)
            ):
                result.collected += 1
            else:
                show(message, category, *rest, **kwargs)

        warnings.showwarning = count_collected
        for j in range(count):
            output = OUTPUTS[j % len(OUTPUTS)]
            chunk = CHUNKS[(j // len(OUTPUTS)) % len(CHUNKS)]
            s = ctl.decode_session(vh.CommonDecodeConfig(codec=vh.Codec.H264, output=output))
            result.sessions += 1
            drop = args.drop_every and (j + 1) % args.drop_every == 0
            # Dropped after whole access units only: what is tested is the collection of
            # an abandoned session, not a cut stream.
            end = half if drop else len(stream)
            got = []
            for at in range(0, end, chunk):
                s.push(stream[at : min(end, at + chunk)])
                got += s.reap()
            if drop:
                # Abandoned half way: nothing refers to the session any more.
                del s, got
                result.dropped += 1
                continue
            got += s.flush()
            got += s.close()
            result.closed += 1
            result.frames += len(got)
            flags = [f.is_keyframe for f in got]
            sizes = {(f.width, f.height) for f in got}
            if flags != keyframes or sizes != {(64, 48)} or any(f.damaged for f in got):
                check.fail(
                    f"decode session {j} ({output.value}, chunks of {chunk}): "
                    f"{len(got)} frames, keyframes at "
                    f"{[n for n, k in enumerate(flags) if k]}, sizes {sorted(sizes)}, "
                    f"damaged {sum(f.damaged for f in got)}; expected "
                    f"{len(keyframes)} undamaged 64x48 frames, keyframes at "
                    f"{[n for n, k in enumerate(keyframes) if k]}"
                )
            if output is vh.DecodeOutputMode.CPU_RGB and got and got[0].rgb.shape != (48, 64, 3):
                check.fail(f"decode session {j}: rgb shape {got[0].rgb.shape}")
            del got
            progress.tick(j + 1)
        gc.collect()
    if result.collected != result.dropped:
        check.fail(
            f"{result.dropped} decode sessions dropped without close, "
            f"{result.collected} collected (ResourceWarning 'never closed')"
        )
    result.seconds = time.monotonic() - start
    return result


# ---- main --------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--frames", type=int, default=20_000, help="frames to encode")
    p.add_argument(
        "--switch-every",
        type=int,
        default=100,
        metavar="K",
        help="switch to the next target every K frames",
    )
    p.add_argument(
        "--sizes",
        type=comma_list(parse_size),
        default=[(64, 48), (96, 64)],
        help="frame sizes to cycle through (WxH,...)",
    )
    p.add_argument(
        "--bitrates",
        type=comma_list(parse_rate),
        default=[300_000, 200_000, 450_000],
        help="CBR bitrates to cycle through",
    )
    p.add_argument("--gop", type=int, default=30, help="GOP length of every generation")
    p.add_argument(
        "--flush-every",
        type=int,
        default=1000,
        metavar="F",
        help="flush every F frames (0: only at the end)",
    )
    p.add_argument(
        "--pictures", type=int, default=16, help="different pictures per size, used in turn"
    )
    p.add_argument(
        "--warmup-frames",
        type=int,
        default=None,
        help="frames before the warm-up sample (default: a tenth of --frames, at "
        "least one full cycle of switch targets and modes)",
    )
    p.add_argument(
        "--decode-sessions",
        type=int,
        default=50,
        metavar="M",
        help="decode sessions opened in a row after the encode",
    )
    p.add_argument(
        "--warmup-decode-sessions",
        type=int,
        default=len(OUTPUTS) * len(CHUNKS) + 1,
        help="decode sessions before the encode, part of the warm-up (default: "
        "each output mode with each chunk size, and one more)",
    )
    p.add_argument(
        "--decode-frames",
        type=int,
        default=30,
        help="frames in the stream each decode session decodes",
    )
    p.add_argument(
        "--drop-every",
        type=int,
        default=5,
        help="every n-th decode session is dropped half way without close (0: none)",
    )
    p.add_argument(
        "--max-rss-growth-mb",
        type=float,
        default=30.0,
        help="fail when RSS at the end exceeds RSS after warm-up by more",
    )
    p.add_argument(
        "--progress",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="a progress line on stderr this often (0: none)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the summary as JSON here")
    return p


def check_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for name in ("frames", "switch_every", "gop", "pictures", "decode_frames"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("flush_every", "decode_sessions", "warmup_decode_sessions", "drop_every"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must not be negative")
    full_cycle = len(args.sizes) * len(args.bitrates) * len(MODES) * args.switch_every
    if args.warmup_frames is None:
        args.warmup_frames = min(args.frames, max(args.frames // 10, full_cycle))
    if not 0 <= args.warmup_frames <= args.frames:
        p.error("--warmup-frames must be within 0..--frames")


def main(argv: Optional[list[str]] = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    check_args(p, args)
    if not os.path.exists("/proc/self/statm"):
        print("soak: needs Linux /proc for RSS, threads and descriptors", file=sys.stderr)
        return 2

    ctl = vh.SessionController("software")
    samples: dict[str, Sample] = {"start": sample()}

    def on_warm() -> None:
        gc.collect()
        samples["warm"] = sample()

    check = StreamCheck()
    stream = decode_stream(ctl, args.decode_frames, args.gop)
    if len(stream[1]) != args.decode_frames:
        check.fail(f"decode stream: {len(stream[1])} packets for {args.decode_frames} frames")
    # Decoders' first allocations (libavcodec's tables, the allocator's arenas of their
    # threads) belong to the warm-up, as the encoder's do.
    warm_dec = run_decode(
        ctl, args, check, stream, args.warmup_decode_sessions, "warm-up decode sessions"
    )
    if args.warmup_frames == 0:
        on_warm()
    enc = run_encode(ctl, args, check, on_warm)
    if "warm" not in samples:  # --warmup-frames == --frames
        on_warm()
    gc.collect()
    samples["encoded"] = sample()
    dec = run_decode(ctl, args, check, stream, args.decode_sessions)
    ctl.close()
    gc.collect()
    samples["end"] = sample()

    growth_mb = samples["end"].rss_mb - samples["warm"].rss_mb
    failures = list(check.messages)
    if check.mismatches > len(check.messages):
        failures.append(f"... {check.mismatches - len(check.messages)} more mismatches")
    if growth_mb > args.max_rss_growth_mb:
        failures.append(
            f"RSS grew {growth_mb:.1f} MB after warm-up (bound {args.max_rss_growth_mb:g} MB)"
        )
    for what in ("threads", "fds"):
        start, end = getattr(samples["start"], what), getattr(samples["end"], what)
        if end != start:
            failures.append(f"{what}: {start} at the start, {end} at the end")

    summary = {
        "args": {k: v for k, v in vars(args).items() if k != "json"},
        "encode": asdict(enc),
        "decode": asdict(dec),
        "warmup_decode": asdict(warm_dec),
        "samples": {
            k: {"rss_mb": round(v.rss_mb, 2), "threads": v.threads, "fds": v.fds}
            for k, v in samples.items()
        },
        "rss_growth_after_warmup_mb": round(growth_mb, 2),
        "frames_by_generation_match": check.frames_by_generation == check.packets_by_generation,
        "mismatches": check.mismatches,
        "failures": failures,
        "ok": not failures,
    }
    s = samples
    print(
        f"soak: encode {enc.frames} frames -> {enc.packets} packets, {enc.generations} "
        f"generations ({enc.switches} switches: {enc.switches_by_mode}; in place "
        f"{enc.telemetry['switches_in_place']}, new encoder "
        f"{enc.telemetry['switches_new_session']}), {enc.flushes} flushes, "
        f"{enc.seconds:.1f} s, {enc.frames_per_second:,.0f} frames/s"
    )
    print(
        f"soak: decode {dec.sessions} sessions ({dec.closed} closed, {dec.dropped} dropped, "
        f"{dec.collected} collected), {dec.frames} frames, {dec.seconds:.1f} s"
    )
    print(
        f"soak: RSS start {s['start'].rss_mb:.1f} MB, after warm-up "
        f"({warm_dec.sessions} decode sessions, {args.warmup_frames} frames) "
        f"{s['warm'].rss_mb:.1f} MB, after encode "
        f"{s['encoded'].rss_mb:.1f} MB, end {s['end'].rss_mb:.1f} MB: growth after warm-up "
        f"{growth_mb:+.1f} MB (bound {args.max_rss_growth_mb:g} MB)"
    )
    print(
        f"soak: threads {s['start'].threads} / {s['warm'].threads} / "
        f"{s['encoded'].threads} / {s['end'].threads}, fds {s['start'].fds} / "
        f"{s['warm'].fds} / {s['encoded'].fds} / {s['end'].fds} (start / warm / encoded / "
        "end)"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    for line in failures:
        print(f"soak: FAIL: {line}")
    print("soak: OK" if not failures else f"soak: FAILED ({len(failures)})")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
