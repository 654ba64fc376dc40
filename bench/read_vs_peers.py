#!/usr/bin/env python3
"""videohw's VideoReader against PyAV, decord and torchcodec: an MP4 file read into RGB24
numpy arrays on the CPU, sequentially and at random frame indices, in one run.

Files (made once by Debian's ffmpeg from ``testsrc2`` plus fixed-seed temporal noise, libx264
preset medium, CRF 23 capped at 12 Mbit/s at 1080p, 3 B-frames with pyramid, closed GOPs of
60 frames = 2 s at 30 fps, MP4 with faststart; cached in ``bench/.cache/``):

    sequential   --seconds (10) s at --size (1920x1080)
    random       --random-seconds (60) s, same settings; --count (50) indices, --seed (1)

Rows (a tool family in --tools selects all of its rows):

    sequential   videohw          for f in vh.VideoReader(path, backend="software"): f.rgb
                 pyav             container.decode(stream) + frame.to_ndarray(format="rgb24"),
                                  PyAV's default threading
                 pyav-auto        the same with stream.thread_type = "AUTO" (PyAV's fast
                                  setting: frame + slice threads)
                 decord           VideoReader(path, ctx=cpu(0)).next().asnumpy()
                 decord-batch     get_batch(32 consecutive indices).asnumpy()
                 torchcodec       VideoDecoder(path, dimension_order="NHWC") (its default
                                  num_ffmpeg_threads=1), decoder[i].numpy()
                 torchcodec-threads  the same with num_ffmpeg_threads=0 (FFmpeg picks)
    random       videohw          r.get_frames_at(indices) (exact mode, the default)
                 videohw-1by1     [r[i] for i in indices], in the given order
                 pyav, pyav-auto  per index: container.seek(pts of frame i, backward=True) to
                                  the keyframe at or before it, decode forward to the frame
                                  whose pts is i's (pts from start_time + i / average_rate,
                                  the usual recipe); only that frame is converted to RGB
                 decord           get_batch(indices).asnumpy()
                 torchcodec(-threads)  VideoDecoder(path, seek_mode="exact").get_frames_at(
                                  indices)

Every tool's frames are touched the same way: the middle row of each (H, W, 3) uint8 array is
summed, so no tool wins by laziness. Each run opens the file itself (the open, with any index
or frame-table scan a tool makes, is timed and also shown on its own). One untimed round of
every row first (libraries, page cache; its frames are the ones checked), then --repeats
timed rounds, the row order rotated each round; the median is shown. The ratio is videohw
against the fastest peer row that returned the right frames.

Checks (from the untimed round): frame counts against the file's packet count; pixels of
checked frames (sequential: first, second, middle, last two; random: all of them) against
the frame ffmpeg decodes at that index (``-vf select``, rows 0, 16, 32, ... of the RGB24
image, cached in bench/.cache/). Tools convert YUV to RGB slightly differently, so a small
difference is reported (max and mean |diff| against ffmpeg) and not failed; a frame that is
closer to its neighbour (index -1 or +1) than to the reference is a WRONG FRAME: the row says
so, it is not counted as a peer, and the exit status is 1.

Setup (the peers live in their own venv, ignored by git as /.venv*/):

    python3.11 -m venv .venv-bench
    .venv-bench/bin/pip install -r bench/requirements-media.txt
    # videohw as built in .venv (no rebuild): link the installed package into .venv-bench
    ln -s ../../../../.venv/lib/python3.11/site-packages/videohw \\
          .venv-bench/lib/python3.11/site-packages/videohw

Run:  .venv-bench/bin/python bench/read_vs_peers.py                 # 1080p, 3 rounds
      .venv-bench/bin/python bench/read_vs_peers.py --json > read.json
      .venv-bench/bin/python bench/read_vs_peers.py --size 640x360 --seconds 3 \\
          --random-seconds 10 --repeats 1                           # a quick look
See docs/bench_media.md.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional

import _common as bc
import numpy as np

FPS = 30
GOP = 60
STRIP = 16  # reference rows kept: 0, STRIP, 2 * STRIP, ...
DECORD_BATCH = 32  # decord-batch: frames per get_batch call

SEQ_ROWS = [
    "videohw",
    "pyav",
    "pyav-auto",
    "decord",
    "decord-batch",
    "torchcodec",
    "torchcodec-threads",
]
RANDOM_ROWS = [
    "videohw",
    "videohw-1by1",
    "pyav",
    "pyav-auto",
    "decord",
    "torchcodec",
    "torchcodec-threads",
]
FAMILIES = ("videohw", "pyav", "decord", "torchcodec")
GOAL_SEQUENTIAL, GOAL_RANDOM = 1.2, 1.5  # issue 9: against the fastest peer


def family(row: str) -> str:
    return row.split("-")[0]


# ---- files ---------------------------------------------------------------------------------


def media_path(width: int, height: int, seconds: int) -> Path:
    return (
        bc.CACHE_DIR / f"testsrc2_noise{bc._NOISE}_seed{bc._SEED}_{width}x{height}_"
        f"{seconds}s_h264_medium_crf23_bf3_gop{GOP}.mp4"
    )


def max_bitrate(width: int, height: int) -> int:
    """12 Mbit/s at 1080p, scaled by the pixel count."""
    return max(500_000, 12_000_000 * width * height // (1920 * 1080))


def ensure_media(width: int, height: int, seconds: int) -> Path:
    path = media_path(width, height, seconds)
    if path.exists():
        return path
    bc.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    rate = max_bitrate(width, height)
    bc.progress(f"making {path.name} ({seconds} s) with ffmpeg testsrc2 + libx264 medium ...")
    source = (
        f"testsrc2=size={width}x{height}:rate={FPS},format=yuv420p,"
        f"noise=alls={bc._NOISE}:allf=t+u:all_seed={bc._SEED}"
    )
    partial = path.with_name(path.stem + ".part.mp4")
    start = time.perf_counter()
    subprocess.run(
        [
            bc.require("ffmpeg"),
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            source,
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "medium",
            "-crf",
            "23",
            "-maxrate",
            str(rate),
            "-bufsize",
            str(2 * rate),
            "-g",
            str(GOP),
            "-keyint_min",
            str(GOP),
            "-sc_threshold",
            "0",
            "-bf",
            "3",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            "-an",
            "-y",
            str(partial),
        ],
        check=True,
    )
    partial.replace(path)
    bc.progress(f"  made in {time.perf_counter() - start:.0f} s")
    return path


def file_facts(path: Path) -> dict:
    """What ffprobe says of the file: size, packets (= frames), keyframes, B-frames."""
    out = subprocess.run(
        [
            bc.require("ffprobe"),
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,profile,width,height,avg_frame_rate,has_b_frames,bit_rate:"
            "packet=flags",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(out.stdout)
    s = info["streams"][0]
    packets = info.get("packets", [])
    return {
        "path": str(path),
        "bytes": path.stat().st_size,
        "codec": s.get("codec_name"),
        "profile": s.get("profile"),
        "width": s["width"],
        "height": s["height"],
        "avg_frame_rate": s.get("avg_frame_rate"),
        "has_b_frames": s.get("has_b_frames"),
        "bit_rate": int(s["bit_rate"]) if s.get("bit_rate") else None,
        "frames": len(packets),
        "keyframes": sum(1 for p in packets if "K" in p.get("flags", "")),
    }


def select_expression(indices: list[int]) -> str:
    """``select`` filter expression true for exactly these (sorted) frame numbers: runs of
    consecutive numbers as ``between``, summed as a balanced tree (FFmpeg's expression parser
    refuses a flat sum of more than 100 terms)."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    terms = [f"eq(n,{a})" if a == b else f"between(n,{a},{b})" for a, b in runs]

    def tree(items: list[str]) -> str:
        if len(items) == 1:
            return items[0]
        half = len(items) // 2
        return f"({tree(items[:half])}+{tree(items[half:])})"

    return tree(terms)


def reference_strips(path: Path, width: int, height: int, indices: set[int]) -> dict:
    """{index: rows 0, STRIP, ... of ffmpeg's RGB24 decode of frame ``index``}, from one
    ``-vf select`` pass (cached: decoding a 60 s 1080p file takes a while on 2 cores)."""
    wanted = sorted(indices)
    key = hashlib.sha1(f"{path.name}:{STRIP}:{wanted}".encode()).hexdigest()[:12]
    cache = bc.CACHE_DIR / f"ref_{path.stem}_{key}.npz"
    if cache.exists():
        with np.load(cache) as z:
            return {i: z[f"f{i}"] for i in wanted}
    bc.progress(
        f"reference frames from ffmpeg -vf select ({len(wanted)} frames of {path.name}) ..."
    )
    expr = select_expression(wanted)
    proc = subprocess.Popen(
        [
            bc.require("ffmpeg"),
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-vf",
            f"select='{expr}'",
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        stdout=subprocess.PIPE,
    )
    size = width * height * 3
    strips = {}
    for i in wanted:
        data = proc.stdout.read(size)
        if len(data) != size:
            break
        strips[i] = np.frombuffer(data, np.uint8).reshape(height, width, 3)[::STRIP].copy()
    proc.stdout.close()
    if proc.wait() or len(strips) != len(wanted):
        raise SystemExit(f"ffmpeg gave {len(strips)} of {len(wanted)} reference frames of {path}")
    np.savez(cache, **{f"f{i}": s for i, s in strips.items()})
    return strips


# ---- tools ---------------------------------------------------------------------------------


class Skip(Exception):
    """A tool that cannot run here; the message says why."""


def touch(a: np.ndarray) -> int:
    """The same read for every tool: the sum of the middle row."""
    return int(a[a.shape[0] // 2].sum())


@dataclass
class Result:
    frames: int
    open_s: float
    total_s: float
    cpu_s: float
    kept: dict = field(default_factory=dict)  # index -> strip, for the checks
    extra: dict = field(default_factory=dict)


class Clock:
    def __init__(self) -> None:
        self.start, self.cpu = time.perf_counter(), time.process_time()
        self.opened = self.start

    def open_done(self) -> None:
        self.opened = time.perf_counter()

    def result(self, frames: int, kept: dict, **extra) -> Result:
        now = time.perf_counter()
        return Result(
            frames,
            self.opened - self.start,
            now - self.start,
            time.process_time() - self.cpu,
            kept,
            extra,
        )


def _import(name: str, family_name: str):
    try:
        return __import__(name, fromlist=["_"])
    except Exception as e:  # noqa: BLE001 - ImportError, or an ABI/library error
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise Skip(f"{family_name} cannot be imported: {text}") from None


def need_videohw():
    vh = _import("videohw", "videohw")
    if not hasattr(vh, "VideoReader"):
        where = Path(vh.__file__).resolve().parent
        raise Skip(f"this videohw ({vh.__version__}, {where}) has no VideoReader yet")
    return vh


# -- sequential: fn(path, limit, keep) -> Result; ``keep``: indices whose strips to keep


def seq_videohw(path, limit, keep):
    vh = need_videohw()
    clock = Clock()
    kept, n, check, mismatch = {}, 0, 0, []
    with vh.VideoReader(str(path), backend="software") as r:
        clock.open_done()
        for f in r:
            if n >= limit:
                break
            if getattr(f, "index", n) != n and len(mismatch) < 5:
                mismatch.append((n, f.index))
            a = f.rgb
            check += touch(a)
            if n in keep:
                kept[n] = a[::STRIP].copy()
            n += 1
        inits = r.telemetry().get("session_inits")
    extra = {"index_mismatch": mismatch} if mismatch else {}
    return clock.result(n, kept, checksum=check, session_inits=inits, **extra)


def seq_pyav(auto):
    def run(path, limit, keep):
        av = _import("av", "PyAV")
        clock = Clock()
        kept, n, check = {}, 0, 0
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            if auto:
                s.thread_type = "AUTO"
            clock.open_done()
            for frame in c.decode(s):
                if n >= limit:
                    break
                a = frame.to_ndarray(format="rgb24")
                check += touch(a)
                if n in keep:
                    kept[n] = a[::STRIP].copy()
                n += 1
        return clock.result(n, kept, checksum=check)

    return run


def seq_decord(batch):
    def run(path, limit, keep):
        decord = _import("decord", "decord")
        clock = Clock()
        kept, n, check = {}, 0, 0
        vr = decord.VideoReader(str(path), ctx=decord.cpu(0))
        clock.open_done()
        total = min(limit, len(vr))
        if batch:
            for start in range(0, total, DECORD_BATCH):
                frames = vr.get_batch(list(range(start, min(total, start + DECORD_BATCH))))
                for a in frames.asnumpy():
                    check += touch(a)
                    if n in keep:
                        kept[n] = a[::STRIP].copy()
                    n += 1
        else:
            for _ in range(total):
                a = vr.next().asnumpy()
                check += touch(a)
                if n in keep:
                    kept[n] = a[::STRIP].copy()
                n += 1
        del vr
        return clock.result(n, kept, checksum=check)

    return run


def seq_torchcodec(threads):
    def run(path, limit, keep):
        decoders = _import("torchcodec.decoders", "torchcodec")
        clock = Clock()
        kept, n, check = {}, 0, 0
        d = decoders.VideoDecoder(str(path), dimension_order="NHWC", num_ffmpeg_threads=threads)
        clock.open_done()
        for i in range(min(limit, len(d))):
            a = d[i].numpy()
            check += touch(a)
            if n in keep:
                kept[n] = a[::STRIP].copy()
            n += 1
        del d
        return clock.result(n, kept, checksum=check)

    return run


SEQUENTIAL: dict[str, Callable] = {
    "videohw": seq_videohw,
    "pyav": seq_pyav(False),
    "pyav-auto": seq_pyav(True),
    "decord": seq_decord(False),
    "decord-batch": seq_decord(True),
    "torchcodec": seq_torchcodec(1),
    "torchcodec-threads": seq_torchcodec(0),
}


# -- random: fn(path, indices, keep) -> Result


def _finish_random(clock: Clock, indices, arrays, keep, **extra) -> Result:
    kept, check = {}, 0
    for i, a in zip(indices, arrays):
        if a is None:
            continue
        check += touch(a)
        if i in keep:
            kept[i] = a[::STRIP].copy()
    return clock.result(sum(a is not None for a in arrays), kept, checksum=check, **extra)


def rnd_videohw(one_by_one):
    def run(path, indices, keep):
        vh = need_videohw()
        clock = Clock()
        with vh.VideoReader(str(path), backend="software") as r:
            clock.open_done()
            frames = [r[i] for i in indices] if one_by_one else r.get_frames_at(indices)
            arrays = [f.rgb for f in frames]
            reported = [getattr(f, "index", None) for f in frames]
            result = _finish_random(clock, indices, arrays, keep)
            result.extra["session_inits"] = r.telemetry().get("session_inits")
        wrong = [(i, got) for i, got in zip(indices, reported) if got is not None and got != i]
        if wrong:
            result.extra["index_mismatch"] = wrong[:5]
        return result

    return run


def rnd_pyav(auto):
    def run(path, indices, keep):
        av = _import("av", "PyAV")
        clock = Clock()
        arrays = []
        reseeks = 0
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            if auto:
                s.thread_type = "AUTO"
            tb, rate, start = s.time_base, s.average_rate, s.start_time or 0
            clock.open_done()
            for i in indices:
                target = start + round(Fraction(i) / Fraction(rate) / Fraction(tb))
                offset, found = target, None
                for _ in range(4):  # a keyframe whose dts is before but pts after the target
                    c.seek(offset, stream=s, backward=True, any_frame=False)
                    first = None
                    for frame in c.decode(s):
                        if frame.pts is None:
                            continue
                        first = frame.pts if first is None else first
                        if frame.pts >= target:
                            found = frame if frame.pts == target else None
                            break
                    if first is not None and first > target and offset > start:
                        offset = min(offset, first) - 1  # seek to the keyframe before it
                        reseeks += 1
                        continue
                    break
                arrays.append(found.to_ndarray(format="rgb24") if found is not None else None)
        return _finish_random(clock, indices, arrays, keep, reseeks=reseeks)

    return run


def rnd_decord(path, indices, keep):
    decord = _import("decord", "decord")
    clock = Clock()
    vr = decord.VideoReader(str(path), ctx=decord.cpu(0))
    clock.open_done()
    arrays = list(vr.get_batch(list(indices)).asnumpy())
    del vr
    return _finish_random(clock, indices, arrays, keep)


def rnd_torchcodec(threads):
    def run(path, indices, keep):
        decoders = _import("torchcodec.decoders", "torchcodec")
        clock = Clock()
        d = decoders.VideoDecoder(
            str(path), seek_mode="exact", dimension_order="NHWC", num_ffmpeg_threads=threads
        )
        clock.open_done()
        batch = d.get_frames_at(list(indices))
        arrays = list(batch.data.numpy())
        del d
        return _finish_random(clock, indices, arrays, keep)

    return run


RANDOM: dict[str, Callable] = {
    "videohw": rnd_videohw(False),
    "videohw-1by1": rnd_videohw(True),
    "pyav": rnd_pyav(False),
    "pyav-auto": rnd_pyav(True),
    "decord": rnd_decord,
    "torchcodec": rnd_torchcodec(1),
    "torchcodec-threads": rnd_torchcodec(0),
}


# ---- measuring -----------------------------------------------------------------------------


@dataclass
class Row:
    tool: str
    runs: list = field(default_factory=list)  # per timed run: frames, open_s, total_s, cpu_s
    frames: Optional[int] = None
    extra: dict = field(default_factory=dict)
    check: dict = field(default_factory=dict)
    skipped: Optional[str] = None

    def median(self, key: str) -> Optional[float]:
        return statistics.median(r[key] for r in self.runs) if self.runs else None


def call(row: Row, fn: Callable, *args) -> Optional[Result]:
    gc.collect()
    try:
        return fn(*args)
    except Skip as e:
        row.skipped = str(e)
    except Exception as e:  # noqa: BLE001 - a tool's own failure is a result too
        text = str(e).strip().splitlines()[0] if str(e).strip() else ""
        row.skipped = f"{type(e).__name__}: {text}"
    return None


def check_frames(kept: dict, refs: dict, expected: list[int]) -> dict:
    """Each kept strip against ffmpeg's frame at that index and its neighbours."""
    problems, max_diff, means = [], 0, []
    for i in expected:
        got = kept.get(i)
        if got is None:
            problems.append(f"frame {i}: missing")
            continue
        if got.shape != refs[i].shape:
            problems.append(f"frame {i}: shape {got.shape}, expected {refs[i].shape}")
            continue
        diff = np.abs(got.astype(np.int16) - refs[i].astype(np.int16))
        mean = float(diff.mean())
        max_diff, means = max(max_diff, int(diff.max())), means + [mean]
        for j in (i - 1, i + 1):
            if j not in refs:
                continue
            other = float(np.abs(got.astype(np.int16) - refs[j].astype(np.int16)).mean())
            apart = float(np.abs(refs[i].astype(np.int16) - refs[j].astype(np.int16)).mean())
            if other <= mean:
                problems.append(
                    f"frame {i}: closer to frame {j} (mean |diff| {other:.2f}) "
                    f"than to {i} ({mean:.2f})"
                )
                break
            if mean > apart / 2:  # not a neighbour, but no nearer to i than half-way either
                problems.append(
                    f"frame {i}: mean |diff| {mean:.2f} to ffmpeg's frame {i}, "
                    f"more than half of {i} to {j} ({apart:.2f})"
                )
                break
    return {
        "ok": not problems,
        "checked": len(expected),
        "max_abs_diff": max_diff,
        "mean_abs_diff": max(means) if means else None,
        "problems": problems,
    }


def measure(
    rows: list[str],
    table: dict[str, Callable],
    args_for_run: Callable[[set], tuple],
    keep: set[int],
    refs: dict,
    repeats: int,
    what: str,
) -> dict[str, Row]:
    out = {t: Row(t) for t in rows}
    live = list(rows)
    for t in rows:  # the untimed round; its frames are checked
        row = out[t]
        result = call(row, table[t], *args_for_run(keep))
        if result is None:
            bc.progress(f"  {what} {t:18s} skipped: {row.skipped}")
            live.remove(t)
            continue
        row.frames, row.extra = result.frames, dict(result.extra)
        row.check = check_frames(result.kept, refs, sorted(keep))
        if result.extra.get("index_mismatch"):  # videohw: frame.index must be the one asked
            row.check["ok"] = False
            row.check["problems"].insert(
                0, f"frame.index differs (asked, got): {result.extra['index_mismatch']}"
            )
        if result.extra.get("session_inits", 1) != 1:  # videohw: one decoder, however many seeks
            row.check["ok"] = False
            row.check["problems"].insert(
                0, f"session_inits {result.extra['session_inits']}, expected 1"
            )
        bc.progress(
            f"  {what} {t:18s} warm-up {result.total_s:7.2f} s, {result.frames} "
            f"frames, check {'ok' if row.check['ok'] else 'FAILED'}, max |diff| "
            f"{row.check['max_abs_diff']}"
        )
    for r in range(repeats):
        order = live[r % len(live) :] + live[: r % len(live)] if live else []
        for t in order:
            row = out[t]
            if row.skipped:
                continue
            result = call(row, table[t], *args_for_run(set()))
            if result is None:
                bc.progress(f"  {what} {t:18s} failed in round {r + 1}: {row.skipped}")
                continue
            row.runs.append(
                {
                    "frames": result.frames,
                    "open_s": result.open_s,
                    "total_s": result.total_s,
                    "cpu_s": result.cpu_s,
                }
            )
            row.extra.update({k: v for k, v in result.extra.items() if k != "checksum"})
            if result.extra.get("session_inits", 1) != 1 and row.check.get("ok"):
                row.check["ok"] = False
                row.check["problems"].append(
                    f"session_inits {result.extra['session_inits']} in round {r + 1}, expected 1"
                )
            bc.progress(
                f"  {what} round {r + 1}/{repeats} {t:18s} {result.total_s:7.2f} s "
                f"({result.frames / result.total_s:7.1f} frames/s)"
            )
    for row in out.values():
        if row.skipped:
            row.runs = []
    return out


# ---- report --------------------------------------------------------------------------------


def fastest_peer(rows: dict[str, Row], speed: Callable[[Row], float]) -> Optional[Row]:
    peers = [
        r for r in rows.values() if family(r.tool) != "videohw" and r.runs and r.check.get("ok")
    ]
    return max(peers, key=speed, default=None)


def summarise_sequential(rows: dict[str, Row], expected_frames: int) -> dict:
    fps = lambda r: statistics.median(x["frames"] / x["total_s"] for x in r.runs)  # noqa: E731
    out = {}
    for t, r in rows.items():
        if r.skipped or not r.runs:
            out[t] = {"skipped": r.skipped or "no timed run"}
            continue
        runs_fps = [x["frames"] / x["total_s"] for x in r.runs]
        out[t] = {
            "fps_median": fps(r),
            "fps_runs": runs_fps,
            "frames": r.frames,
            "frames_ok": r.frames == expected_frames,
            "open_ms_median": 1e3 * r.median("open_s"),
            "cpu_ms_per_frame_median": 1e3
            * statistics.median(x["cpu_s"] / x["frames"] for x in r.runs),
            "check": r.check,
            **r.extra,
        }
    peer = fastest_peer({t: r for t, r in rows.items() if r.frames == expected_frames}, fps)
    ratio = {}
    if peer:
        for t, r in rows.items():
            if family(t) == "videohw" and r.runs:
                ratio[t] = fps(r) / fps(peer)
    return {"rows": out, "fastest_peer": peer.tool if peer else None, "ratio_vs_fastest": ratio}


def summarise_random(rows: dict[str, Row], count: int) -> dict:
    total = lambda r: r.median("total_s")  # noqa: E731
    access = lambda r: statistics.median(x["total_s"] - x["open_s"] for x in r.runs)  # noqa
    out = {}
    for t, r in rows.items():
        if r.skipped or not r.runs:
            out[t] = {"skipped": r.skipped or "no timed run"}
            continue
        out[t] = {
            "total_s_median": total(r),
            "total_s_runs": [x["total_s"] for x in r.runs],
            "open_ms_median": 1e3 * r.median("open_s"),
            "access_s_median": access(r),
            "ms_per_frame_median": 1e3 * total(r) / count,
            "access_ms_per_frame_median": 1e3 * access(r) / count,
            "cpu_s_median": r.median("cpu_s"),
            "frames": r.frames,
            "check": r.check,
            **r.extra,
        }
    ok = {t: r for t, r in rows.items() if r.frames == count}
    peer = fastest_peer(ok, lambda r: -total(r))
    peer_access = fastest_peer(ok, lambda r: -access(r))
    ratio, ratio_access = {}, {}
    for t, r in rows.items():
        if family(t) == "videohw" and r.runs:
            if peer:
                ratio[t] = total(peer) / total(r)
            if peer_access:
                ratio_access[t] = access(peer_access) / access(r)
    return {
        "rows": out,
        "fastest_peer": peer.tool if peer else None,
        "ratio_vs_fastest": ratio,
        "fastest_peer_access_only": peer_access.tool if peer_access else None,
        "ratio_vs_fastest_access_only": ratio_access,
    }


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": bc.machine_cores(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_start": os.getloadavg(),
    }


def versions() -> dict:
    v: dict = {"numpy": np.__version__, "debian_ffmpeg": bc.debian_ffmpeg_version()}
    try:
        import videohw

        v["videohw"] = (
            f"{videohw.__version__} ({Path(videohw.__file__).resolve().parent}; "
            "Debian's FFmpeg libraries)"
        )
    except Exception as e:  # noqa: BLE001
        v["videohw"] = f"not importable: {e}"
    v["pyav"] = bc.pyav_versions()
    try:
        import decord

        libs = Path(decord.__file__).parent.parent / "decord.libs"
        codec = sorted(p.name for p in libs.glob("libavcodec*")) if libs.exists() else []
        v["decord"] = {
            "decord": decord.__version__,
            "libavcodec": codec[0].split(".so.")[-1] + " (bundled in the wheel)"
            if codec
            else "system",
        }
    except Exception as e:  # noqa: BLE001
        v["decord"] = f"not importable: {str(e).splitlines()[0] if str(e) else e}"
    try:
        import torch
        import torchcodec
        from torchcodec import _core as tcc

        ff = tcc.get_ffmpeg_library_versions()
        v["torchcodec"] = {
            "torchcodec": torchcodec.__version__,
            "torch": torch.__version__,
            "ffmpeg": f"{ff.get('ffmpeg_version')} (the system's, "
            f"libavcodec {'.'.join(map(str, ff['libavcodec']))})",
        }
    except Exception as e:  # noqa: BLE001
        v["torchcodec"] = f"not importable: {str(e).splitlines()[0] if str(e) else e}"
    return v


def fmt(value, spec: str, width: int) -> str:
    return f"{value:{width}{spec}}" if value is not None else f"{'-':>{width}s}"


def check_text(c: dict) -> str:
    if not c:
        return "-"
    if c["ok"]:
        return f"ok ({c['checked']})"
    return "WRONG: " + "; ".join(c["problems"][:2])


def print_report(r: dict) -> None:
    m, s = r["machine"], r["settings"]
    print(
        f"machine: {m['cores']} cores, {m['cpu']}, Python {m['python']}; load average "
        f"{' '.join(f'{x:.2f}' for x in m['load_avg_start'])} at start, "
        f"{' '.join(f'{x:.2f}' for x in m['load_avg_end'])} at end"
    )
    print(
        f"median of {s['repeats']} timed rounds after one untimed, row order rotated each "
        "round; every frame's middle row summed; times include opening the file"
    )
    if "sequential" in r:
        q, f = r["sequential"], r["files"]["sequential"]
        print(
            f"\n== sequential: {f['width']}x{f['height']} H.264 MP4, {f['frames']} frames "
            f"({s['frames_read']} read), {f['bit_rate'] / 1e6 if f['bit_rate'] else 0:.1f} "
            f"Mbit/s, B-frames, GOP {GOP} -> RGB24 numpy =="
        )
        print(
            f"{'tool':19s} {'fps':>7s} {'min':>7s} {'max':>7s} {'open ms':>8s} "
            f"{'cpu ms/f':>8s} {'frames':>6s} {'max|d|':>6s}  check"
        )
        for t, row in q["rows"].items():
            if "skipped" in row:
                continue
            frames = f"{row['frames']}{'' if row['frames_ok'] else '!'}"
            print(
                f"{t:19s} {row['fps_median']:7.1f} {min(row['fps_runs']):7.1f} "
                f"{max(row['fps_runs']):7.1f} {row['open_ms_median']:8.1f} "
                f"{row['cpu_ms_per_frame_median']:8.2f} {frames:>6s} "
                f"{row['check'].get('max_abs_diff', '-'):>6}  {check_text(row['check'])}"
                + (f"  session_inits={row['session_inits']}" if "session_inits" in row else "")
            )
        for t, ratio in q["ratio_vs_fastest"].items():
            print(
                f"{t} / fastest peer ({q['fastest_peer']}): {ratio:.2f}x   goal "
                f">= {GOAL_SEQUENTIAL}x: {'MET' if ratio >= GOAL_SEQUENTIAL else 'NOT MET'}"
            )
    if "random" in r:
        q, f = r["random"], r["files"]["random"]
        print(
            f"\n== random access: {s['count']} indices (seed {s['seed']}) of a "
            f"{f['width']}x{f['height']} H.264 MP4, {f['frames']} frames, {f['keyframes']} "
            f"keyframes (GOP {GOP}), B-frames -> RGB24 numpy =="
        )
        print(
            f"{'tool':19s} {'total s':>8s} {'ms/frame':>8s} {'open ms':>8s} "
            f"{'access s':>8s} {'cpu s':>7s} {'frames':>6s} {'max|d|':>6s}  check"
        )
        for t, row in q["rows"].items():
            if "skipped" in row:
                continue
            notes = []
            if "session_inits" in row:
                notes.append(f"session_inits={row['session_inits']}")
            if row.get("reseeks"):
                notes.append(f"{row['reseeks']} re-seeks")
            print(
                f"{t:19s} {row['total_s_median']:8.3f} {row['ms_per_frame_median']:8.1f} "
                f"{row['open_ms_median']:8.1f} {row['access_s_median']:8.3f} "
                f"{row['cpu_s_median']:7.2f} {row['frames']:6d} "
                f"{row['check'].get('max_abs_diff', '-'):>6}  {check_text(row['check'])}"
                + (f"  {', '.join(notes)}" if notes else "")
            )
        for t, ratio in q["ratio_vs_fastest"].items():
            access = q["ratio_vs_fastest_access_only"].get(t)
            print(
                f"{t} / fastest peer ({q['fastest_peer']}): {ratio:.2f}x   goal >= "
                f"{GOAL_RANDOM}x: {'MET' if ratio >= GOAL_RANDOM else 'NOT MET'}"
                + (
                    f"   (without the open: {access:.2f}x against {q['fastest_peer_access_only']})"
                    if access
                    else ""
                )
            )
    print()
    for t, why in r["skipped"].items():
        print(f"skipped {t}: {why}")
    v = r["versions"]
    print(f"videohw: {v['videohw']}")
    if v["pyav"]:
        p = v["pyav"]
        print(
            f"PyAV {p['pyav']}: its own bundled FFmpeg {p['ffmpeg']} (libavcodec {p['libavcodec']})"
        )
    d = v["decord"]
    print(
        f"decord: {d['decord']}, libavcodec {d['libavcodec']}"
        if isinstance(d, dict)
        else f"decord: {d}"
    )
    tc = v["torchcodec"]
    print(
        f"torchcodec {tc['torchcodec']} on torch {tc['torch']}, FFmpeg {tc['ffmpeg']}"
        if isinstance(tc, dict)
        else f"torchcodec: {tc}"
    )
    print(
        f"numpy {v['numpy']}; Debian ffmpeg {v['debian_ffmpeg']} (made the files and the "
        "reference frames)"
    )


# ---- main ----------------------------------------------------------------------------------


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--tools",
        default=",".join(FAMILIES),
        help="comma-separated families (videohw, pyav, decord, torchcodec) or rows "
        f"({', '.join(dict.fromkeys(SEQ_ROWS + RANDOM_ROWS))})",
    )
    p.add_argument("--repeats", type=int, default=3, help="timed rounds (3)")
    p.add_argument("--size", default="1920x1080", help="WxH of both files (1920x1080)")
    p.add_argument("--seconds", type=int, default=10, help="sequential file length (10)")
    p.add_argument(
        "--frames",
        type=int,
        default=None,
        help="read only the first N frames of the sequential file (all)",
    )
    p.add_argument("--random-seconds", type=int, default=60, help="random file length (60)")
    p.add_argument("--count", type=int, default=50, help="random indices (50)")
    p.add_argument("--seed", type=int, default=1, help="seed of the random indices (1)")
    p.add_argument("--no-sequential", action="store_true")
    p.add_argument("--no-random", action="store_true")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = p.parse_args(argv)
    wanted = [t.strip() for t in args.tools.split(",") if t.strip()]
    known = set(FAMILIES) | set(SEQ_ROWS) | set(RANDOM_ROWS)
    for t in wanted:
        if t not in known:
            p.error(f"--tools: unknown {t!r}; families: {', '.join(FAMILIES)}")
    pick = lambda rows: [r for r in rows if r in wanted or family(r) in wanted]  # noqa: E731
    args.seq_rows, args.random_rows = pick(SEQ_ROWS), pick(RANDOM_ROWS)
    if args.repeats < 1 or args.seconds < 1 or args.random_seconds < 1 or args.count < 1:
        p.error("--repeats, --seconds, --random-seconds and --count must be >= 1")
    if args.frames is not None and args.frames < 1:
        p.error("--frames must be >= 1")
    return args


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    width, height = bc.parse_size(args.size)
    report: dict = {
        "machine": machine(),
        "versions": versions(),
        "files": {},
        "settings": {
            "size": f"{width}x{height}",
            "repeats": args.repeats,
            "count": args.count,
            "seed": args.seed,
        },
    }
    bc.progress(
        f"{report['machine']['cores']} cores, load average {report['machine']['load_avg_start']}"
    )
    skipped: dict[str, str] = {}
    wrong = False

    if not args.no_sequential and args.seq_rows:
        path = ensure_media(width, height, args.seconds)
        facts = file_facts(path)
        report["files"]["sequential"] = facts
        n = min(args.frames or facts["frames"], facts["frames"])
        report["settings"]["frames_read"] = n
        keep = {i for i in (0, 1, n // 2, n - 2, n - 1) if 0 <= i < n}
        refs = reference_strips(
            path,
            width,
            height,
            {j for i in keep for j in (i - 1, i, i + 1) if 0 <= j < facts["frames"]},
        )
        bc.progress(f"sequential: {path.name}, {n} of {facts['frames']} frames")
        rows = measure(
            args.seq_rows, SEQUENTIAL, lambda k: (path, n, k), keep, refs, args.repeats, "seq"
        )
        report["sequential"] = summarise_sequential(rows, n)
        skipped.update({f"sequential {t}": r.skipped for t, r in rows.items() if r.skipped})
        wrong |= any(r.check and not r.check["ok"] for r in rows.values() if not r.skipped)

    if not args.no_random and args.random_rows:
        path = ensure_media(width, height, args.random_seconds)
        facts = file_facts(path)
        report["files"]["random"] = facts
        count = min(args.count, facts["frames"])
        indices = random.Random(args.seed).sample(range(facts["frames"]), count)
        report["settings"]["indices"] = indices
        refs = reference_strips(
            path,
            width,
            height,
            {j for i in indices for j in (i - 1, i, i + 1) if 0 <= j < facts["frames"]},
        )
        bc.progress(f"random: {path.name}, {count} indices")
        rows = measure(
            args.random_rows,
            RANDOM,
            lambda k: (path, indices, k),
            set(indices),
            refs,
            args.repeats,
            "rnd",
        )
        report["random"] = summarise_random(rows, count)
        skipped.update({f"random {t}": r.skipped for t, r in rows.items() if r.skipped})
        wrong |= any(r.check and not r.check["ok"] for r in rows.values() if not r.skipped)

    report["skipped"] = skipped
    report["machine"]["load_avg_end"] = os.getloadavg()
    report["wrong_frames"] = wrong
    if args.json:
        json.dump(report, sys.stdout, indent=1, default=str)
        print()
    else:
        print_report(report)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
