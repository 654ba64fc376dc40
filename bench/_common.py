"""Shared pieces of the benchmark scripts: the raw source, the encoder settings, statistics,
bitstream and version facts. Private to bench/ (the scripts put their own folder on
sys.path, which Python does for a script run directly).

Every tool in a benchmark encodes the same bytes: one deterministic raw I420 file, made once
by Debian's ffmpeg from ``testsrc2`` (colour bars, gradients, moving shapes, a running
counter) with fixed-seed temporal noise (texture that changes every frame, as a camera's
does), cached in ``bench/.cache/``. In-process tools hold its frames as numpy arrays; the
ffmpeg CLI reads the file; the C++ ceiling loads it into AVFrames. Frame ``i`` of a run is
frame ``i % distinct`` of the file for every tool.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / ".cache"
DEFAULT_CEILING = ROOT / "build-bench" / "bench" / "videohw_encoder_ceiling"

# Noise strength and seed of the raw source: part of the cache file name, so a change
# makes a new file rather than silently reusing the old one.
_NOISE, _SEED = 12, 42


def progress(message: str) -> None:
    """Progress goes to stderr so stdout stays the result (table or JSON)."""
    print(message, file=sys.stderr, flush=True)


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` -> (1920, 1080); both even (4:2:0)."""
    match = re.fullmatch(r"(\d+)x(\d+)", text.strip())
    if not match:
        raise ValueError(f"size {text!r}: expected WxH, e.g. 1920x1080")
    width, height = int(match.group(1)), int(match.group(2))
    if width % 2 or height % 2 or width < 16 or height < 16:
        raise ValueError(f"size {text!r}: width and height must be even and >= 16")
    return width, height


def machine_cores() -> int:
    """Cores this process may run on: the explicit thread count every tool gets by default
    (0 = auto is resolved differently by each tool, so it is never the default)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def require(program: str) -> str:
    path = shutil.which(program)
    if not path:
        raise SystemExit(f"{program} is not on PATH (Debian: apt-get install ffmpeg)")
    return path


# -- the raw source ----------------------------------------------------------------------


def raw_path(width: int, height: int, distinct: int) -> Path:
    return CACHE_DIR / f"testsrc2_noise{_NOISE}_seed{_SEED}_{width}x{height}_{distinct}f.yuv"


def ensure_raw(width: int, height: int, distinct: int) -> Path:
    """The cached raw I420 file of ``distinct`` frames, made on first use."""
    path = raw_path(width, height, distinct)
    if path.exists() and path.stat().st_size == frame_bytes(width, height) * distinct:
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    progress(
        f"making {path.name} ({distinct} frames, "
        f"{frame_bytes(width, height) * distinct / 1e6:.0f} MB) with ffmpeg testsrc2 ..."
    )
    source = (
        f"testsrc2=size={width}x{height}:rate=30,format=yuv420p,"
        f"noise=alls={_NOISE}:allf=t+u:all_seed={_SEED}"
    )
    partial = path.with_suffix(".part")
    subprocess.run(
        [
            require("ffmpeg"),
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            source,
            "-frames:v",
            str(distinct),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(partial),
        ],
        check=True,
    )
    partial.replace(path)
    return path


def frame_bytes(width: int, height: int) -> int:
    return width * height * 3 // 2


def load_raw(path: Path, width: int, height: int) -> list[np.ndarray]:
    """Every frame of the file as its own C-contiguous ``(height*3/2, width)`` uint8 array
    (Y rows, then U, then V: videohw's I420 layout and PyAV's yuv420p ndarray layout)."""
    data = np.fromfile(path, dtype=np.uint8)
    count = data.size // frame_bytes(width, height)
    frames = data[: count * frame_bytes(width, height)].reshape(count, height * 3 // 2, width)
    return [np.ascontiguousarray(f) for f in frames]


# -- encoder settings ----------------------------------------------------------------------


@dataclass(frozen=True)
class EncodeSettings:
    """One set of libx264 settings, spelt for each tool.

    ``x264_params`` and ``private_options`` repeat what videohw's software adapter sets
    (cpp/software/encoder_options.cpp, low_latency=True, CBR); the ceiling program prints
    the adapter's own mapping, and the encode_vs_peers script checks that the two agree.
    """

    width: int
    height: int
    threads: int
    preset: str = "ultrafast"
    fps: int = 30
    gop: int = 60
    bitrate_bps: int = 8_000_000
    vbv_bits: int = 8_000_000

    @property
    def x264_params(self) -> str:
        kbps = lambda bps: str(max(1, (bps + 500) // 1000))  # noqa: E731 (as the adapter)
        return (
            f"keyint={self.gop}:min-keyint={self.gop}:scenecut=0:open-gop=0:bframes=0:"
            f"bitrate={kbps(self.bitrate_bps)}:vbv-maxrate={kbps(self.bitrate_bps)}:"
            f"vbv-bufsize={kbps(self.vbv_bits)}"
        )

    @property
    def private_options(self) -> dict[str, str]:
        """libx264 private options in the adapter's order."""
        return {
            "preset": self.preset,
            "tune": "zerolatency",
            "forced-idr": "1",
            "x264-params": self.x264_params,
        }

    def adapter_options_text(self) -> str:
        """The form the ceiling prints its mapped options in."""
        return " ".join(f"{k}={v}" for k, v in self.private_options.items())

    def videohw_configs(self, force_idr: bool = False, low_latency: bool = True):
        import videohw as vh

        common = vh.CommonEncodeConfig(
            codec=vh.Codec.H264,
            width=self.width,
            height=self.height,
            fps_num=self.fps,
            fps_den=1,
            low_latency=low_latency,
            gop_length=self.gop,
            b_frames=0,
            rate_control=vh.RateControl.cbr(self.bitrate_bps, vbv_buffer_bits=self.vbv_bits),
            force_idr=force_idr,
        )
        return common, vh.SoftwareEncodeConfig(preset=self.preset, threads=self.threads)

    def pyav_context(self):
        """A PyAV libx264 encoder context (not opened yet) set up like the adapter's:
        same avctx fields (size, rate, gop_size, max_b_frames, threads, slice threading,
        limited colour range) and the same private options."""
        from fractions import Fraction

        import av

        cc = av.CodecContext.create("libx264", "w")
        cc.width, cc.height = self.width, self.height
        cc.pix_fmt = "yuv420p"
        cc.time_base = Fraction(1, self.fps)
        cc.framerate = Fraction(self.fps, 1)
        cc.gop_size = self.gop
        cc.max_b_frames = 0
        cc.thread_count = self.threads
        cc.thread_type = "SLICE"
        cc.color_range = 1  # AVCOL_RANGE_MPEG, as the adapter sets
        cc.options = dict(self.private_options)
        return cc

    def ffmpeg_output_args(self) -> list[str]:
        """ffmpeg CLI output options matching the adapter's encoder setup."""
        args = [
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-g",
            str(self.gop),
            "-bf",
            "0",
            "-threads",
            str(self.threads),
            "-thread_type",
            "slice",
            "-color_range",
            "tv",
        ]
        for key, value in self.private_options.items():
            args += [f"-{key}", value]
        return args


# -- statistics ---------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    v = sorted(values)
    if not v:
        return math.nan
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def percentile(values: Iterable[float], q: float) -> float:
    """Linear-interpolated percentile, q in 0..100."""
    v = sorted(values)
    if not v:
        return math.nan
    pos = (len(v) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


# -- bitstream and versions ---------------------------------------------------------------

_X264_SEI = re.compile(rb"x264 - core (\d+)( r\d+ [0-9a-f]+)?[^\x00]*? - options: ([^\x00\x80]*)")


def x264_info(stream: bytes) -> Optional[dict]:
    """The build and settings libx264 writes into its SEI at the start of the stream:
    ``{"build": "core 164 r3095 baee400", "options": {key: value}}``; None if absent."""
    match = _X264_SEI.search(stream[:65536])
    if not match:
        return None
    build = "core " + match.group(1).decode() + (match.group(2) or b"").decode()
    options = {}
    for item in match.group(3).decode("ascii", "replace").split():
        key, _, value = item.partition("=")
        options[key] = value
    return {"build": build, "options": options}


def option_differences(infos: dict[str, Optional[dict]]) -> dict[str, dict[str, str]]:
    """x264 options that are not the same in every tool's stream: {option: {tool: value}}."""
    present = {tool: info["options"] for tool, info in infos.items() if info}
    keys = sorted(set().union(*present.values())) if present else []
    diff = {}
    for key in keys:
        values = {tool: opts.get(key, "(absent)") for tool, opts in present.items()}
        if len(set(values.values())) > 1:
            diff[key] = values
    return diff


def ffprobe_stream(path: Path, codec: str = "h264") -> dict:
    """Decodes ``path`` (raw Annex-B of ``codec``, h264 or hevc) with Debian's ffprobe: frame
    count, size, keyframe indices. An undecodable stream gives ``{"error": ...}``."""
    result = subprocess.run(
        [
            require("ffprobe"),
            "-v",
            "error",
            "-f",
            codec,
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height:frame=key_frame",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode:
        return {"error": result.stderr.strip() or f"ffprobe exit {result.returncode}"}
    info = json.loads(result.stdout)
    stream = (info.get("streams") or [{}])[0]
    frames = info.get("frames", [])
    return {
        "frames": len(frames),
        "width": stream.get("width"),
        "height": stream.get("height"),
        "keyframes": [i for i, f in enumerate(frames) if f.get("key_frame")],
    }


def debian_ffmpeg_version() -> str:
    try:
        out = subprocess.run(
            [require("ffmpeg"), "-hide_banner", "-version"], capture_output=True, text=True
        ).stdout
    except SystemExit:
        return "not installed"
    first = out.splitlines()[0] if out else ""
    return first.replace("ffmpeg version ", "").split(" Copyright")[0] or "unknown"


def pyav_versions() -> Optional[dict]:
    """PyAV's version and the FFmpeg it bundles (a wheel carries its own FFmpeg and libx264,
    not Debian's), or None when PyAV is not installed."""
    try:
        import av
    except ImportError:
        return None
    libs = {name: ".".join(map(str, v)) for name, v in av.library_versions.items()}
    return {
        "pyav": av.__version__,
        "ffmpeg": str(getattr(av, "ffmpeg_version_info", "unknown")),
        "libavcodec": libs.get("libavcodec", "unknown"),
        "bundled": "av.libs"
        if (Path(av.__file__).parent.parent / "av.libs").exists()
        else "system",
    }


def on_threads(work: list) -> tuple[tuple[float, int], float]:
    """Runs each callable (returning a frame count) on its own thread, all released at once:
    ((all frames / wall seconds, all frames), wall seconds). The first error is raised."""
    counts = [0] * len(work)
    errors: list = []
    barrier = threading.Barrier(len(work) + 1)

    def run(i: int) -> None:
        barrier.wait()
        try:
            counts[i] = work[i]()
        except Exception as e:  # noqa: BLE001 - raised below, on the caller's thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    return (sum(counts) / seconds, sum(counts)), seconds
