#!/usr/bin/env python3
"""videohw's software encode against its peers on the same frames and the same libx264
settings: PyAV, the ffmpeg CLI, and the encoder-only ceiling (bench/encoder_ceiling.cpp).

Every tool encodes the same raw I420 frames (bench/_common.py makes them once) with libx264
``ultrafast`` + ``zerolatency``, CBR at --bitrate with a VBV of --vbv bits, a GOP of --gop
frames with no scene-cut keyframes and no B-frames, and --threads slice threads (an explicit
number: "0 = auto" is resolved differently by each tool). The settings each tool really ran
with are read back from the SEI libx264 writes into every stream and compared.

    tool      path timed
    videohw   numpy I420 -> vh.Frame -> submit -> reap (bytes out), then flush
    pyav      numpy -> av.VideoFrame.from_ndarray -> CodecContext.encode -> bytes(packet)
    ffmpeg    the whole `ffmpeg -f rawvideo -i FILE ... -f h264 /dev/null` process
    ceiling   avcodec_send_frame/receive_packet on frames already in AVFrames (C++)

In-process tools and the ceiling encode --warmup untimed frames in the same session before
the --frames timed ones (the session start is not timed); the ffmpeg CLI cannot separate
them, so its fps includes process start, encoder open and reading the file (its own
-benchmark real time is shown too). One untimed round of every tool comes first; then
--repeats rounds, the tool order rotated each round; medians are reported.

With ``--backend nvidia`` videohw encodes through NVENC instead, against FFmpeg's
h264_nvenc / hevc_nvenc through PyAV and the ffmpeg CLI (``--codec``, bench/_nvenc.py has
the settings). Where NVENC cannot be used (no driver, a GPU without an encode engine such as
H100/H200, an FFmpeg built without nvenc) each tool is reported as skipped with the reason:
for videohw, the BackendUnavailableError text.

Run:  .venv/bin/python bench/encode_vs_peers.py [--frames N] [--threads N] [--verify]
      .venv/bin/python bench/encode_vs_peers.py --backend nvidia [--codec hevc] [--verify]
See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Callable, Optional

import _common as bc
import _nvenc as nv
import numpy as np

GOAL_VS_PYAV = 1.20  # the issue: videohw at least 1.2x PyAV's fps
GOAL_VS_CEILING = 0.97  # the issue: videohw within 3 % of the encoder-only ceiling
TOOLS = ("videohw", "pyav", "ffmpeg", "ceiling")
OPTIONAL_TOOLS = ("pyav-buffer",)  # PyAV without the ndarray copy (from_numpy_buffer)
NVENC_TOOLS = nv.PEERS  # FFmpeg's h264_nvenc / hevc_nvenc, PyAV and ffmpeg CLI


class Sink:
    """Counts the bytes of a run's packets; keeps them too when the stream is wanted."""

    def __init__(self, keep: bool) -> None:
        self.size = 0
        self.chunks: Optional[list[bytes]] = [] if keep else None

    def add(self, packets: Iterable[bytes]) -> None:
        for data in packets:
            self.size += len(data)
            if self.chunks is not None:
                self.chunks.append(data)

    def write(self, path: Optional[Path]) -> None:
        if path is not None and self.chunks is not None:
            path.write_bytes(b"".join(self.chunks))


class Bench:
    """What every tool's run needs: settings, frames in memory, the raw file."""

    def __init__(
        self,
        args: argparse.Namespace,
        settings: bc.EncodeSettings,
        raw: Path,
        frames: list[np.ndarray],
    ) -> None:
        self.args, self.settings, self.raw, self.frames = args, settings, raw, frames

    def nvenc(self, codec: Optional[str] = None) -> nv.NvencSettings:
        return nvenc_settings(self.args, codec)

    def frame(self, index: int) -> np.ndarray:
        return self.frames[index % len(self.frames)]

    # Each runner encodes warmup + frames (ffmpeg: frames), times the --frames part, and
    # returns {"fps", "seconds", "cpu_seconds", "bytes", ...}; `output` keeps the stream.

    def run_videohw(self, output: Optional[Path]) -> dict:
        import videohw as vh

        if self.args.backend == "nvidia":
            common, backend_config = self.nvenc().videohw_configs()
        else:
            common, backend_config = self.settings.videohw_configs()
        warmup, count = self.args.warmup, self.args.frames
        sink = Sink(keep=output is not None)
        ctl = vh.SessionController(self.args.backend)
        with ctl.encode_session(common, backend_config) as s:
            for i in range(warmup):
                s.submit(vh.Frame(self.frame(i), vh.PixelFormat.I420, pts=i))
                sink.add(p.data for p in s.reap())
            sink.size = 0
            cpu0, t0 = time.process_time(), time.perf_counter()
            for i in range(warmup, warmup + count):
                s.submit(vh.Frame(self.frame(i), vh.PixelFormat.I420, pts=i))
                sink.add(p.data for p in s.reap())
            sink.add(p.data for p in s.flush())
            seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            telemetry = s.telemetry()
        sink.write(output)
        encoded = telemetry["frames_encoded"]
        return {
            "fps": count / seconds,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "bytes": sink.size,
            # Time inside the adapter's encode (borrow + send + receive + packet copy),
            # over every frame of the session: the Python and binding cost is the rest.
            "core_fps": encoded / (telemetry["encode_ns"] * 1e-9)
            if telemetry["encode_ns"]
            else None,
            "frames_converted": telemetry["frames_converted"],
            "encoder_opens": telemetry["encoder_opens"],
        }

    def run_pyav(
        self, output: Optional[Path], zero_copy: bool = False, nvenc_codec: Optional[str] = None
    ) -> dict:
        import av

        make = av.VideoFrame.from_numpy_buffer if zero_copy else av.VideoFrame.from_ndarray
        warmup, count = self.args.warmup, self.args.frames
        sink = Sink(keep=output is not None)
        cc = (self.nvenc(nvenc_codec) if nvenc_codec else self.settings).pyav_context()

        def encode(i: int) -> list:
            frame = make(self.frame(i), format="yuv420p")
            frame.pts = i
            return cc.encode(frame)

        for i in range(warmup):
            sink.add(bytes(p) for p in encode(i))
        sink.size = 0
        cpu0, t0 = time.process_time(), time.perf_counter()
        for i in range(warmup, warmup + count):
            # The packet's bytes in Python, as videohw's reap gives them.
            sink.add(bytes(p) for p in encode(i))
        sink.add(bytes(p) for p in cc.encode(None))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        sink.write(output)
        return {"fps": count / seconds, "seconds": seconds, "cpu_seconds": cpu, "bytes": sink.size}

    def run_pyav_buffer(self, output: Optional[Path]) -> dict:
        return self.run_pyav(output, zero_copy=True)

    def run_ffmpeg(self, output: Optional[Path], nvenc_codec: Optional[str] = None) -> dict:
        s, count = self.settings, self.args.frames
        encoder = self.nvenc(nvenc_codec) if nvenc_codec else s
        cmd = [
            bc.require("ffmpeg"),
            "-nostdin",
            "-hide_banner",
            "-nostats",
            "-benchmark",
            "-loglevel",
            "info",
            # -stream_loop cycles the file exactly as the other tools cycle its frames.
            "-stream_loop",
            "-1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-s",
            f"{s.width}x{s.height}",
            "-r",
            str(s.fps),
            "-i",
            str(self.raw),
            "-frames:v",
            str(count),
            "-an",
            *encoder.ffmpeg_output_args(),
            "-f",
            nvenc_codec or "h264",
            "-y",
            str(output or "/dev/null"),
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode:
            raise RuntimeError(f"ffmpeg failed ({result.returncode}): {result.stderr[-2000:]}")
        rtime = re.search(r"bench: utime=[\d.]+s stime=[\d.]+s rtime=([\d.]+)s", result.stderr)
        video = re.search(r"video:(\d+)kB", result.stderr)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {
            "fps": count / seconds,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "bytes": int(video.group(1)) * 1024 if video else None,
            # ffmpeg's own real time, from transcode start (encoder open and file
            # reading included, process start and option parsing not).
            "rtime_fps": count / float(rtime.group(1)) if rtime else None,
        }

    def run_ceiling(self, output: Optional[Path]) -> dict:
        s, a = self.settings, self.args
        cmd = [
            str(a.ceiling),
            "--input",
            str(self.raw),
            "--size",
            f"{s.width}x{s.height}",
            "--fps",
            str(s.fps),
            "--frames",
            str(a.frames),
            "--warmup",
            str(a.warmup),
            "--distinct",
            str(len(self.frames)),
            "--threads",
            str(s.threads),
            "--preset",
            s.preset,
            "--gop",
            str(s.gop),
            "--bitrate",
            str(s.bitrate_bps),
            "--vbv",
            str(s.vbv_bits),
        ]
        if output:
            cmd += ["--output", str(output)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"ceiling failed ({result.returncode}): {result.stderr[-2000:]}")
        return json.loads(result.stdout)

    def runner(self, tool: str) -> Callable[[Optional[Path]], dict]:
        if tool in NVENC_TOOLS:
            run = self.run_pyav if tool.startswith("pyav") else self.run_ffmpeg
            return lambda output: run(output, nvenc_codec=nv.peer_codec(tool))
        return getattr(self, "run_" + tool.replace("-", "_"))


def nvenc_settings(args: argparse.Namespace, codec: Optional[str] = None) -> nv.NvencSettings:
    width, height = bc.parse_size(args.size)
    return nv.NvencSettings(
        width,
        height,
        codec or args.codec,
        preset=args.nv_preset,
        tuning=args.nv_tuning,
        gop=args.gop,
        bitrate_bps=args.bitrate,
        vbv_bits=args.vbv,
    )


def tool_codec(tool: str, args: argparse.Namespace) -> str:
    """The codec of a tool's stream: the NVENC peers' own, videohw's per --backend."""
    if tool in NVENC_TOOLS:
        return nv.peer_codec(tool)
    return args.codec if tool == "videohw" and args.backend == "nvidia" else "h264"


def unavailable(tool: str, args: argparse.Namespace) -> Optional[str]:
    """Why a tool cannot run here, or None."""
    if tool == "videohw" and args.backend == "nvidia":
        return nv.videohw_unavailable()
    if tool in NVENC_TOOLS:
        settings = nvenc_settings(args, nv.peer_codec(tool))
        return (
            nv.pyav_unavailable(settings)
            if tool.startswith("pyav")
            else nv.ffmpeg_unavailable(settings)
        )
    if tool == "videohw":
        try:
            import videohw  # noqa: F401
        except ImportError as e:
            return f"videohw is not importable ({e}); run scripts/dev_install.sh"
    elif tool.startswith("pyav"):
        try:
            import av
        except ImportError:
            return "PyAV is not installed (.venv/bin/pip install av)"
        if tool == "pyav-buffer" and not hasattr(av.VideoFrame, "from_numpy_buffer"):
            return f"PyAV {av.__version__} has no VideoFrame.from_numpy_buffer"
    elif tool == "ffmpeg":
        try:
            bc.require("ffmpeg")
        except SystemExit as e:
            return str(e)
    elif tool == "ceiling" and not Path(args.ceiling).is_file():
        return (
            f"{args.ceiling} is not built (cmake -S . -B build-bench -G Ninja "
            "-DVIDEOHW_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release && cmake --build "
            "build-bench)"
        )
    return None


def summarise(tool: str, runs: list[dict], settings: bc.EncodeSettings) -> dict:
    fps = [r["fps"] for r in runs]
    cpu = [r["cpu_seconds"] / r["frames_timed"] * 1e3 for r in runs]
    sizes = [r["bytes"] for r in runs if r.get("bytes")]
    out = {
        "tool": tool,
        "runs": len(runs),
        "fps_median": bc.median(fps),
        "fps_min": min(fps),
        "fps_max": max(fps),
        "fps_all": fps,
        "cpu_ms_per_frame_median": bc.median(cpu),
        "mbps": bc.median(sizes) * 8 / (runs[0]["frames_timed"] / settings.fps) / 1e6
        if sizes
        else None,
    }
    for extra in ("rtime_fps", "core_fps"):
        values = [r[extra] for r in runs if r.get(extra)]
        if values:
            out[extra + "_median"] = bc.median(values)
    return out


def verify(outputs: dict[str, Path], args: argparse.Namespace) -> dict[str, dict]:
    """Decodes each stream of the untimed round with Debian's ffprobe and checks the frame
    count, the size and the keyframe positions (every --gop frames from frame 0)."""
    width, height = bc.parse_size(args.size)
    checks = {}
    for tool, path in outputs.items():
        expected = args.frames + (0 if tool == "ffmpeg" else args.warmup)
        got = bc.ffprobe_stream(path, tool_codec(tool, args))
        problems = []
        if "error" in got:
            problems.append(got["error"])
        else:
            if got["frames"] != expected:
                problems.append(f"{got['frames']} frames decoded, {expected} expected")
            if (got["width"], got["height"]) != (width, height):
                problems.append(f"size {got['width']}x{got['height']}, {width}x{height} expected")
            keys = list(range(0, expected, args.gop))
            if got["keyframes"] != keys:
                problems.append(
                    f"keyframes at {got['keyframes'][:8]}..., expected at {keys[:8]}..."
                )
        checks[tool] = {
            "ok": not problems,
            "problems": problems,
            "expected_frames": expected,
            **{k: v for k, v in got.items() if k != "keyframes"},
        }
    return checks


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--frames", type=int, default=600, help="timed frames per run (600)")
    p.add_argument(
        "--warmup",
        type=int,
        default=30,
        help="untimed frames before the timed ones, in-process and ceiling (30)",
    )
    p.add_argument("--size", default="1920x1080", help="WxH (1920x1080)")
    p.add_argument(
        "--threads",
        type=int,
        default=bc.machine_cores(),
        help=f"encoder threads for every tool (this machine's cores: {bc.machine_cores()})",
    )
    p.add_argument("--repeats", type=int, default=3, help="timed rounds (3)")
    p.add_argument(
        "--distinct",
        type=int,
        default=60,
        help="distinct source frames, cycled (60: 187 MB at 1080p)",
    )
    p.add_argument("--preset", default="ultrafast")
    p.add_argument("--bitrate", type=int, default=8_000_000, help="CBR bits/s (8000000)")
    p.add_argument("--vbv", type=int, default=8_000_000, help="VBV buffer bits (8000000)")
    p.add_argument("--gop", type=int, default=60)
    p.add_argument(
        "--backend",
        choices=("software", "nvidia"),
        default="software",
        help="videohw's backend (software: libx264 against the x264 peers; "
        "nvidia: NVENC against FFmpeg's nvenc peers)",
    )
    p.add_argument(
        "--codec",
        choices=nv.CODECS,
        default="h264",
        help="--backend nvidia: the codec of videohw and its default peers (h264)",
    )
    p.add_argument("--nv-preset", default="p1", help="NVENC preset p1..p7 (p1)")
    p.add_argument(
        "--nv-tuning", default="ull", choices=("hq", "ll", "ull"), help="NVENC tuning (ull)"
    )
    p.add_argument(
        "--tools",
        default=None,
        help="comma-separated subset of "
        f"{', '.join(TOOLS + OPTIONAL_TOOLS + NVENC_TOOLS)} (default: "
        f"{','.join(TOOLS)}; with --backend nvidia: "
        "videohw,pyav-<codec>_nvenc,ffmpeg-<codec>_nvenc)",
    )
    p.add_argument(
        "--ceiling",
        type=Path,
        default=bc.DEFAULT_CEILING,
        help="the videohw_encoder_ceiling program (build-bench/bench/...)",
    )
    p.add_argument(
        "--verify", action="store_true", help="decode every tool's stream with ffprobe and check it"
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = p.parse_args(argv)
    if args.tools is None:
        args.tools = (
            f"videohw,pyav-{args.codec}_nvenc,ffmpeg-{args.codec}_nvenc"
            if args.backend == "nvidia"
            else ",".join(TOOLS)
        )
    elif args.codec != "h264" and args.backend != "nvidia":
        p.error("--codec hevc needs --backend nvidia (the software peers are libx264)")
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    for t in args.tools:
        if t not in TOOLS + OPTIONAL_TOOLS + NVENC_TOOLS:
            p.error(f"--tools: unknown tool {t!r}")
    if not re.fullmatch(r"p[1-7]", args.nv_preset):
        p.error(f"--nv-preset: {args.nv_preset!r}; expected p1..p7")
    if args.frames < 1 or args.warmup < 0 or args.repeats < 1 or args.distinct < 1:
        p.error("--frames, --repeats and --distinct must be >= 1, --warmup >= 0")
    if not 1 <= args.threads <= 64:
        p.error("--threads must be 1..64 (an explicit count; 0 = auto differs per tool)")
    return args


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    width, height = bc.parse_size(args.size)
    settings = bc.EncodeSettings(
        width,
        height,
        args.threads,
        preset=args.preset,
        gop=args.gop,
        bitrate_bps=args.bitrate,
        vbv_bits=args.vbv,
    )
    skipped = {t: why for t in args.tools if (why := unavailable(t, args))}
    tools = [t for t in args.tools if t not in skipped]
    for tool, why in skipped.items():
        bc.progress(f"skipping {tool}: {why}")
    if not tools:
        # Still a report: which tool could not run here, and why.
        report = build_report(args, settings, {}, {}, {}, None, skipped)
        if args.json:
            json.dump(report, sys.stdout, indent=2)
            print()
        else:
            print_report(report)
        bc.progress("no tool can run")
        return 1

    raw = bc.ensure_raw(width, height, args.distinct)
    frames = bc.load_raw(raw, width, height)
    bench = Bench(args, settings, raw, frames)
    bc.progress(
        f"{len(frames)} distinct {width}x{height} frames from {raw}; "
        f"{args.frames} timed frames, {args.threads} threads, tools: {', '.join(tools)}"
    )

    with tempfile.TemporaryDirectory(prefix="videohw-bench-") as tmp:
        # The untimed round: loads libraries and caches, and its streams tell which x264
        # build and settings each tool really ran (and are what --verify decodes).
        outputs = {t: Path(tmp) / f"{t}.h264" for t in tools}
        first = {}
        for tool in tools:
            bc.progress(f"warm-up round: {tool}")
            first[tool] = bench.runner(tool)(outputs[tool])
        x264 = {t: bc.x264_info(outputs[t].read_bytes()) for t in tools}
        checks = verify(outputs, args) if args.verify else None

    runs: dict[str, list[dict]] = {t: [] for t in tools}
    for r in range(args.repeats):
        order = tools[r % len(tools) :] + tools[: r % len(tools)]
        for tool in order:
            result = bench.runner(tool)(None)
            result["frames_timed"] = args.frames
            runs[tool].append(result)
            bc.progress(f"round {r + 1}/{args.repeats} {tool:8s} {result['fps']:8.1f} fps")

    summary = {t: summarise(t, runs[t], settings) for t in tools}
    report = build_report(args, settings, summary, first, x264, checks, skipped)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print_report(report)
    failed = checks and not all(c["ok"] for c in checks.values())
    return 1 if failed else 0


def build_report(args, settings, summary, first, x264, checks, skipped) -> dict:
    fps = {t: s["fps_median"] for t, s in summary.items()}
    ratios, goals = {}, {}
    if "videohw" in fps:
        for peer in ("pyav", "pyav-buffer", "ffmpeg", "ceiling") + NVENC_TOOLS:
            if peer in fps:
                ratios[f"videohw/{peer}"] = fps["videohw"] / fps[peer]
        # The goals are the software adapter's, against libx264 peers.
        if args.backend == "software" and "videohw/pyav" in ratios:
            goals["videohw >= 1.2x pyav"] = ratios["videohw/pyav"] >= GOAL_VS_PYAV
        if args.backend == "software" and "videohw/ceiling" in ratios:
            goals["videohw within 3% of ceiling"] = ratios["videohw/ceiling"] >= GOAL_VS_CEILING
    ceiling_options = first.get("ceiling", {}).get("options")
    pyav = bc.pyav_versions()
    return {
        "settings": {
            "size": f"{settings.width}x{settings.height}",
            "fps": settings.fps,
            "frames_timed": args.frames,
            "warmup_frames": args.warmup,
            "repeats": args.repeats,
            "distinct_frames": args.distinct,
            "threads": settings.threads,
            "thread_type": "slice",
            "x264_private_options": settings.private_options,
            "cores": bc.machine_cores(),
            "backend": args.backend,
            "nvenc": _nvenc_settings_report(args),
        },
        # The ceiling prints the adapter's own mapping; the peers use bench/_common.py's.
        "adapter_options_match": (ceiling_options == settings.adapter_options_text())
        if ceiling_options
        else None,
        "adapter_options": ceiling_options,
        "results": summary,
        "ratios": ratios,
        "goals": goals,
        "x264_builds": {t: (i["build"] if i else None) for t, i in x264.items()},
        "x264_option_differences": bc.option_differences(x264),
        "videohw_frames_converted": first.get("videohw", {}).get("frames_converted"),
        "verify": checks,
        "skipped": skipped,
        "versions": {
            "videohw": _videohw_version(),
            "debian_ffmpeg": bc.debian_ffmpeg_version(),
            "debian_libavcodec_used_by_videohw_and_ceiling": first.get("ceiling", {}).get(
                "libavcodec"
            ),
            "pyav": pyav,
        },
    }


def _nvenc_settings_report(args: argparse.Namespace) -> Optional[dict]:
    """The NVENC settings, when some tool in the run uses NVENC."""
    codecs = sorted(
        {
            tool_codec(t, args)
            for t in args.tools
            if t in NVENC_TOOLS or (t == "videohw" and args.backend == "nvidia")
        }
    )
    if not codecs:
        return None
    s = nvenc_settings(args)
    return {
        "codecs": codecs,
        "preset": s.preset,
        "tuning": s.tuning,
        "rate_control": "cbr",
        "bitrate_bps": s.bitrate_bps,
        "vbv_bits": s.vbv_bits,
        "gop": s.gop,
        "b_frames": 0,
        "ffmpeg_options": s.private_options(),
    }


def _videohw_version() -> Optional[str]:
    try:
        import videohw

        return videohw.__version__
    except ImportError:
        return None


def print_report(r: dict) -> None:
    s = r["settings"]
    if s["backend"] == "nvidia":
        n = s["nvenc"]
        print(
            f"NVENC {'/'.join(n['codecs'])} {n['preset']} tuning {n['tuning']}, CBR "
            f"{n['bitrate_bps']} bit/s, {s['size']} @{s['fps']}, gop {n['gop']}, no "
            f"B-frames, {s['frames_timed']} timed frames (+{s['warmup_frames']} warm-up "
            f"in-process), {s['repeats']} rounds"
        )
        print(f"FFmpeg nvenc options: {n['ffmpeg_options']}")
    else:
        print(
            f"libx264 {s['x264_private_options']['preset']} + zerolatency, {s['size']} "
            f"@{s['fps']}, {s['frames_timed']} timed frames (+{s['warmup_frames']} warm-up "
            f"in-process), {s['threads']} slice threads, {s['repeats']} rounds, "
            f"{s['cores']} cores"
        )
        print(f"x264 options: {s['x264_private_options']}")
    print()
    print(
        f"{'tool':18s} {'median fps':>10s} {'min':>8s} {'max':>8s} {'cpu ms/frame':>13s} "
        f"{'Mbps':>6s}  notes"
    )
    for tool, t in r["results"].items():
        notes = {
            "ffmpeg": "wall time of the whole process (start, open, file read included)"
            + (
                f"; its -benchmark rtime: {t['rtime_fps_median']:.1f} fps"
                if t.get("rtime_fps_median")
                else ""
            ),
            "videohw": (
                f"adapter encode() alone, whole session: {t['core_fps_median']:.1f} fps"
                if t.get("core_fps_median")
                else ""
            ),
            "pyav": "from_ndarray (copies the frame) + bytes(packet)",
            "pyav-buffer": "from_numpy_buffer (no copy) + bytes(packet)",
            "ceiling": "C++, send_frame/receive_packet only",
            **{
                t: (
                    "from_ndarray + bytes(packet)"
                    if t.startswith("pyav")
                    else "wall time of the whole process"
                )
                for t in NVENC_TOOLS
            },
        }.get(tool, "")
        mbps = f"{t['mbps']:6.2f}" if t["mbps"] else "     ?"
        print(
            f"{tool:18s} {t['fps_median']:10.1f} {t['fps_min']:8.1f} {t['fps_max']:8.1f} "
            f"{t['cpu_ms_per_frame_median']:13.2f} {mbps}  {notes}"
        )
    print()
    for name, ratio in r["ratios"].items():
        print(f"{name:20s} {ratio:6.3f}x")
    for goal, met in r["goals"].items():
        print(f"goal: {goal:30s} {'MET' if met else 'NOT MET'}")
    for tool, why in r["skipped"].items():
        print(f"skipped {tool}: {why}")
    print()
    v = r["versions"]
    print(
        f"videohw {v['videohw']} and the ceiling: Debian's libavcodec "
        f"{v['debian_libavcodec_used_by_videohw_and_ceiling'] or '?'} "
        f"(ffmpeg CLI {v['debian_ffmpeg']})"
    )
    if v["pyav"]:
        p = v["pyav"]
        print(
            f"PyAV {p['pyav']}: its OWN bundled FFmpeg {p['ffmpeg']} (libavcodec "
            f"{p['libavcodec']}, from {p['bundled']}) and its own libx264 build, not "
            "Debian's: part of any difference is the library, not the binding"
        )
    print(
        "x264 builds (from each stream's SEI): "
        + ", ".join(f"{t}: {b or 'no SEI'}" for t, b in r["x264_builds"].items())
    )
    match = r["adapter_options_match"]
    if match is not None:
        print(
            "peers' options = the adapter's mapping (from the ceiling): "
            + ("yes" if match else f"NO, adapter: {r['adapter_options']}")
        )
    diff = r["x264_option_differences"]
    print("x264 settings that differ between streams: " + ("none" if not diff else ""))
    for key, values in diff.items():
        print(f"  {key}: " + ", ".join(f"{t}={v}" for t, v in values.items()))
    if r["videohw_frames_converted"]:
        print(
            f"WARNING: videohw converted {r['videohw_frames_converted']} frames (I420 "
            "should be borrowed, not converted)"
        )
    if r["verify"]:
        print()
        for tool, c in r["verify"].items():
            print(
                f"verify {tool:12s} {'ok' if c['ok'] else 'FAILED'}: {c.get('frames')} "
                f"frames {c.get('width')}x{c.get('height')}"
                + ("" if c["ok"] else " -- " + "; ".join(c["problems"]))
            )


if __name__ == "__main__":
    sys.exit(main())
