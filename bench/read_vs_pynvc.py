#!/usr/bin/env python3
"""videohw's VideoReader on NVDEC against PyNvVideoCodec: an MP4 file read sequentially, at
random frame indices, and the time from the constructor to the first frame (issue 9,
Benchmarks, "On the GPU machine").

Files (made at run time when missing, cached in ``bench/.cache/``; the name carries every
setting): --seconds (60) s at --size (1920x1080), 30 fps, H.264 and HEVC (--codecs),
closed GOPs of 60 frames (2 s), 2 B-frames (fixed pattern), VBR 10 Mbit/s at 1080p (scaled
by the pixel count), preset ultrafast; the picture is ``videohw.synthetic``'s moving
pattern (it scrolls 4 px a frame, so neighbouring frames differ everywhere). Made by
``vh.VideoWriter`` with the software encoder (libx264 / libx265) where this videohw has
it, else by the ffmpeg CLI from the same frames and settings; ``--input FILE`` (repeatable)
reads given files instead.

Rows (``--tools`` picks families; outputs: ``rgb`` = (H, W, 3) uint8 RGB in host memory,
``native`` = the decoder's NV12 picture in device memory):

    sequential  videohw         for f in vh.VideoReader(path, backend="nvidia", output=...)
                                (CPU_RGB: f.rgb; NATIVE_SURFACE: f.planes[0], an Nv12Surface)
                pynvc-decoder   CreateDemuxer(filename=path) + CreateDecoder(codec=...,
                                usedevicememory=native, outputColorType=RGB|NATIVE);
                                for packet in demuxer: decoder.Decode(packet)
                pynvc-simple    SimpleDecoder(path, use_device_memory=native,
                                output_color_type=RGB|NATIVE).get_batch_frames(16) until
                                len(decoder) frames
                pynvc-threaded  ThreadedDecoder(path, buffer_size=32, ...) .get_batch_frames(16)
                                (its background-thread sequential decoder; native only)
    random      videohw         r.get_frames_at(indices) (exact mode) and [r[i] for i in
                                indices] (one at a time, in the given order); both outputs
                pynvc-simple    decoder.get_batch_frames_by_index(indices) and [decoder[i] for
                                i in indices]; both outputs
    first frame videohw         VideoReader(path, backend="nvidia", output=...)[0]; warm also
                                with a new SessionController per reader ("videohw-newctl":
                                a new decode session instead of the process's idle one)
                pynvc-simple    SimpleDecoder(path, ...)[0]
                pynvc-decoder   CreateDemuxer + CreateDecoder + Decode until the first frame

Every frame is read the same way, so no tool wins by laziness: the middle row of the
picture's first plane (RGB, or NV12's Y) is summed. Host arrays with numpy; device
pictures through DLPack (``torch.from_dlpack``, or CuPy with --touch cupy) as a sum on the
GPU, collected and synchronised inside the timed span. PyNvVideoCodec's host frames are
read in place (``GetPtrToPlane(0)``, as its samples do: valid until its next call);
videohw's CPU_RGB frames are arrays the caller owns.

Timing: each run opens the file itself; its time runs from the constructor to the last
frame read (the open is also shown on its own, and random access without it). One untimed
round of every row first (CUDA context, PTX JIT, page cache; its frames are the ones
checked), then --repeats timed rounds, the row order rotated each round; medians are shown.
Readers after the first reuse the process-wide controller's idle decode session (videohw's
persistent-session design); PyNvVideoCodec makes a decoder per object. Time to first frame
"cold" is the first reader of a fresh process (one child process per measurement: import,
then constructor -> first frame; import time shown apart), "warm" a new reader in this
process after all other rows ran; the file is in the page cache either way.
Ratios are videohw against the peer, faster = above 1: fps / fps sequentially, peer time /
videohw time for random access and the first frame.

Checks (from the untimed round): frame counts against the file's packet count; every
frame's index (videohw ``f.index``: a mismatch fails) or pts (PyNvVideoCodec
``frame.timestamp``: a mismatch is a warning, its timestamp convention may differ; the
pixels decide) against the display order of the file's packets; pixels of checked frames
(sequential: first, second, middle and last two; random: all indices) against videohw's
software decoder (libavcodec) at that index and its neighbours: NV12 rows as Y, U, V planes
(decoding is exact, so the expected difference is 0), RGB rows with a tolerance (max and
mean |diff| reported: the tools convert YUV to RGB differently). A frame closer to frame
i-1 or i+1 than to frame i, or further from i than half the distance between i and its
neighbour (decoded planes only: RGB conversions differ by a bias of that size), is a
WRONG FRAME: the row says so and the exit status is 1. videohw against
PyNvVideoCodec directly, per output, is reported too (NV12 from one NVDEC should be
identical).

Where a tool cannot run (no GPU, PyNvVideoCodec not installed, no torch/CuPy to read
device frames) its rows are listed as skipped with the reason; where PyNvVideoCodec refuses
RGB into host memory, its rgb rows take device RGB and copy each frame to the host, and say
so. --deadline-s skips what would not fit in the time left (HEVC first) and says so; the
JSON (--json) is rewritten after every part; SIGTERM ends the run with the report of what
finished; a run that hangs past --watchdog-s ends it the same way (all stacks printed).
Exit status: 0, 1 (a WRONG FRAME), 2 (videohw does not import), 3 (the watchdog).

Run (GPU machine: scripts/gpu_media_run.sh does all of it):
    python bench/read_vs_pynvc.py --json out.json --report out.txt  # 1080p 60 s, H.264+HEVC
    python bench/read_vs_pynvc.py --codecs h264 --seconds 10 --repeats 1   # a quick look
    python bench/read_vs_pynvc.py --videohw-backend software --tools videohw   # CPU paths
About 4-6 minutes on an H200 with 16 cores, making both files included (HEVC ~30 s).
"""

from __future__ import annotations

import argparse
import ctypes
import faulthandler
import functools
import gc
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import _common as bc
import numpy as np

FPS = 30
GOP = 60
BFRAMES = 2
STRIP = 8  # reference rows kept: 0, STRIP, 2 * STRIP, ... (chroma: half)
SIMPLE_BATCH = 16  # pynvc-simple / pynvc-threaded: frames per get_batch_frames call
THREADED_BUFFER = 32  # pynvc-threaded: its buffer_size
FAMILIES = ("videohw", "pynvc-decoder", "pynvc-simple", "pynvc-threaded")
OUTPUTS = ("rgb", "native")
BIG_NUMBER = 10**9


class Skip(Exception):
    """A tool or row that cannot run here; the message says why."""


class Interrupted(BaseException):
    """SIGTERM: stop, and report what finished (a BaseException, so that no tool's
    ``except Exception`` takes it for a failed row)."""


_interrupted: Optional[Interrupted] = None  # set when a part stopped early on SIGTERM


def _on_sigterm(signum, frame):  # noqa: ARG001
    raise Interrupted("SIGTERM (time limit)")


def stop_if_interrupted() -> None:
    if _interrupted is not None:
        raise _interrupted


class Watchdog:
    """A run that hangs (a decoder that never returns) cannot be interrupted from Python:
    after ``seconds`` this prints every thread's stack, lets ``on_fire`` write the report of
    what finished, and ends the process (exit status 3). faulthandler is the backstop where
    the hang holds the GIL."""

    def __init__(self) -> None:
        self.timer: Optional[threading.Timer] = None
        self.on_fire: Optional[Callable[[str], None]] = None

    def arm(self, seconds: float, label: str) -> None:
        self.disarm()
        self.timer = threading.Timer(seconds, self._fire, args=(seconds, label))
        self.timer.daemon = True
        self.timer.start()
        faulthandler.dump_traceback_later(seconds + 30, exit=True)

    def disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        faulthandler.cancel_dump_traceback_later()

    def _fire(self, seconds: float, label: str) -> None:
        faulthandler.dump_traceback(all_threads=True)
        message = (
            f"watchdog: {label} ran past {seconds:.0f} s (a hung decoder?); the process ends here"
        )
        bc.progress(message)
        try:
            if self.on_fire is not None:
                self.on_fire(message)
        finally:
            sys.stdout.flush()
            os._exit(3)


WATCHDOG = Watchdog()
CURRENT: dict = {}  # the part being measured: {"rows": ..., "store": callable(rows)}


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


# ---- the two libraries -------------------------------------------------------------------

_vh = None
_nvc = None


def need_videohw():
    global _vh
    if _vh is None:
        try:
            import videohw
        except Exception as e:  # noqa: BLE001
            raise Skip(f"videohw cannot be imported: {first_line(e)}") from None
        if not hasattr(videohw, "VideoReader"):
            raise Skip(
                f"this videohw ({videohw.__version__}, {videohw.__file__}) has no VideoReader"
            )
        _vh = videohw
    return _vh


def need_pynvc():
    global _nvc
    if _nvc is None:
        try:
            import PyNvVideoCodec as nvc  # noqa: N813
        except Exception as e:  # noqa: BLE001 - ImportError, or its driver check's RuntimeError
            raise Skip(f"PyNvVideoCodec cannot be imported: {first_line(e)}") from None
        _nvc = nvc
    return _nvc


def vh_output(output: str):
    vh = need_videohw()
    return {"rgb": vh.DecodeOutputMode.CPU_RGB, "native": vh.DecodeOutputMode.NATIVE_SURFACE}[
        output
    ]


def pnvc_color(output: str):
    nvc = need_pynvc()
    return nvc.OutputColorType.RGB if output == "rgb" else nvc.OutputColorType.NATIVE


# ---- reading frames the same way ---------------------------------------------------------


class Toucher:
    """Reads one row of every frame (see the module doc) and copies frames to the host for
    the checks. ``kind``: "torch" or "cupy" for device pictures (DLPack), or None."""

    def __init__(self, want: str) -> None:
        self.kind: Optional[str] = None
        self.stream_ptr: Optional[int] = None
        self.reason = ""
        self.lib: Any = None
        self.cuda = False
        tries = ["torch", "cupy"] if want == "auto" else [want] if want != "none" else []
        why = []
        for kind in tries:
            try:
                lib = __import__(kind)
                if kind == "torch":
                    cuda = bool(lib.cuda.is_available())
                else:
                    cuda = lib.cuda.runtime.getDeviceCount() > 0
            except Exception as e:  # noqa: BLE001
                why.append(f"{kind}: {first_line(e)}")
                continue
            if not cuda and want == "auto":
                why.append(f"{kind}: no CUDA device")
                continue
            self.kind, self.lib, self.cuda = kind, lib, cuda
            break
        if self.kind is None:
            self.reason = (
                "nothing to read device frames with (" + "; ".join(why) + ")"
                if why
                else "--touch none"
            )
        self.begin()

    def describe(self) -> str:
        if self.kind is None:
            return f"none ({self.reason})"
        return f"{self.kind} {self.lib.__version__}" + ("" if self.cuda else " (no CUDA)")

    def need_device(self) -> None:
        if self.kind is None:
            raise Skip(f"device frames cannot be read: {self.reason}")

    def begin(self) -> None:
        self.host_sum = 0
        self.device_sums: list = []

    def host(self, a: np.ndarray, row: int) -> None:
        self.host_sum += int(a[row].sum())

    def tensor(self, obj: Any) -> Any:
        """A tensor over ``obj``'s memory. torch: the capsule is asked for directly (the
        producer gets this thread's current stream to order against, as torch.from_dlpack
        would pass it), so neither tool pays for torch's retries with newer keywords."""
        if self.kind == "torch":
            # kDLCUDA: a stream is required (PyNvVideoCodec raises on its default of 0, and
            # makes this stream wait on the frame's decode event)
            if int(obj.__dlpack_device__()[0]) == 2:
                if self.stream_ptr is None:
                    ptr = self.lib.cuda.current_stream().cuda_stream
                    self.stream_ptr = 1 if ptr == 0 else ptr  # 1: the legacy default stream
                return self.lib.from_dlpack(obj.__dlpack__(stream=self.stream_ptr))
            return self.lib.from_dlpack(obj.__dlpack__())
        return self.lib.from_dlpack(obj)

    def device(self, obj: Any, row: int) -> None:
        self.device_sums.append(self.tensor(obj)[row].sum())

    def end(self) -> int:
        """Waits for the device sums (inside the timed span) and returns the checksum."""
        total = self.host_sum
        if self.device_sums:
            if self.kind == "torch":
                total += int(self.lib.stack(self.device_sums).sum().item())
                if self.cuda:
                    self.lib.cuda.synchronize()
            else:
                total += int(self.lib.stack(self.device_sums).sum())
                self.lib.cuda.runtime.deviceSynchronize()
        self.device_sums = []
        return total

    def to_host(self, obj: Any) -> np.ndarray:
        t = self.tensor(obj)
        if self.kind == "torch":
            return t.cpu().numpy().copy()
        return self.lib.asnumpy(t)


def rgb_strip(a: np.ndarray) -> tuple:
    return ("rgb", np.ascontiguousarray(a[::STRIP]))


def yuv_strip(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple:
    return (
        "yuv",
        (
            np.ascontiguousarray(y[::STRIP]),
            np.ascontiguousarray(u[:: STRIP // 2]),
            np.ascontiguousarray(v[:: STRIP // 2]),
        ),
    )


def nv12_strip(buf: np.ndarray, height: int, width: int) -> tuple:
    """A whole NV12 picture (rows: Y then interleaved UV; row length >= width)."""
    y = buf[:height, :width]
    uv = buf[height : height + (height + 1) // 2, : width - width % 2]
    uv = uv.reshape(uv.shape[0], -1, 2)
    return yuv_strip(y, uv[..., 0], uv[..., 1])


def take_videohw(f: Any, output: str, touch: Toucher, keep: set, kept: dict, i: int) -> None:
    row = f.height // 2
    if output == "rgb":
        a = f.rgb
        touch.host(a, row)
        if i in keep:
            kept[i] = rgb_strip(a)
    elif f.on_device:
        surface = f.planes[0]
        touch.device(surface, row)
        if i in keep:
            kept[i] = nv12_strip(touch.to_host(surface), f.height, f.width)
    else:  # the software backend's own planes (yuv420p: Y, U, V), host memory
        planes = f.planes
        touch.host(planes[0], row)
        if i in keep:
            if len(planes) >= 3:
                kept[i] = yuv_strip(planes[0], planes[1], planes[2])
            else:
                kept[i] = nv12_strip(
                    np.vstack([planes[0], planes[1].reshape(planes[1].shape[0], -1)]),
                    f.height,
                    f.width,
                )


@dataclass
class PnvcMode:
    output: str  # "rgb" | "native"
    on_device: bool  # usedevicememory / use_device_memory
    note: str = ""


def pnvc_shape(frame: Any, mode: PnvcMode, facts: dict) -> tuple[int, int, tuple]:
    """(height, width, buffer shape) of a PyNvVideoCodec frame."""
    try:
        shape = tuple(int(x) for x in frame.shape)
    except Exception:  # noqa: BLE001 - older builds: fall back to the file's size
        shape = ()
    if mode.output == "rgb":
        if len(shape) == 3:
            return shape[0], shape[1], shape
        h, w = facts["height"], facts["width"]
        return h, w, (h, w, 3)
    if len(shape) == 2:
        return shape[0] * 2 // 3, shape[1], shape
    h, w = facts["height"], facts["width"]
    return h, w, (h * 3 // 2, w)


@functools.lru_cache(maxsize=8)
def _bytes_type(size: int) -> Any:
    return ctypes.c_uint8 * size


def pnvc_host_array(frame: Any, shape: tuple) -> np.ndarray:
    """A PyNvVideoCodec host frame in place (valid until the decoder's next call), as its
    samples read one: the address of plane 0 and the frame's size."""
    size = int(np.prod(shape))
    ptr = int(frame.GetPtrToPlane(0))
    if not ptr:
        raise RuntimeError("PyNvVideoCodec returned a frame with a null host pointer")
    return np.frombuffer(_bytes_type(size).from_address(ptr), np.uint8).reshape(shape)


def take_pnvc(
    frame: Any,
    mode: PnvcMode,
    touch: Toucher,
    keep: set,
    kept: dict,
    i: int,
    facts: dict,
    seen_pts: list,
) -> None:
    h, w, shape = pnvc_shape(frame, mode, facts)
    row = h // 2
    if mode.on_device:
        touch.device(frame, row)
        if i in keep:
            host = touch.to_host(frame)
            kept[i] = rgb_strip(host) if mode.output == "rgb" else nv12_strip(host, h, w)
    else:
        a = pnvc_host_array(frame, shape)
        touch.host(a, row)
        if i in keep:
            kept[i] = rgb_strip(a) if mode.output == "rgb" else nv12_strip(a, h, w)
    if seen_pts is not None:
        seen_pts.append(int(frame.timestamp))


# ---- files ---------------------------------------------------------------------------------


def bitrate_for(width: int, height: int) -> int:
    return max(500_000, 10_000_000 * width * height // (1920 * 1080))


def media_path(cache: Path, codec: str, width: int, height: int, seconds: int, maker: str) -> Path:
    return cache / (
        f"synthetic_{width}x{height}_{seconds}s_{codec}_ultrafast_vbr"
        f"{bitrate_for(width, height) // 1000}k_bf{BFRAMES}_gop{GOP}_{maker}.mp4"
    )


def usable_media(path: Path, codec: str, frames: int) -> bool:
    if not path.exists():
        return False
    try:
        v = need_videohw().probe(str(path)).best_video
    except Exception:  # noqa: BLE001 - a broken file is remade
        return False
    return v is not None and v.codec_name == codec and v.frame_count == frames


def make_with_videowriter(path: Path, codec: str, width: int, height: int, frames: int) -> None:
    vh = need_videohw()
    from videohw import synthetic

    rate = bitrate_for(width, height)
    common = vh.CommonEncodeConfig(
        codec=vh.Codec.H264 if codec == "h264" else vh.Codec.HEVC,
        width=width,
        height=height,
        fps_num=FPS,
        fps_den=1,
        low_latency=False,
        gop_length=GOP,
        b_frames=BFRAMES,
        rate_control=vh.RateControl.vbr(rate, rate * 3 // 2),
    )
    software = vh.SoftwareEncodeConfig(preset="ultrafast")
    try:
        writer = vh.VideoWriter(
            str(path), common, software, controller=vh.SessionController("software")
        )
    except TypeError:  # a VideoWriter without the controller keyword
        writer = vh.VideoWriter(str(path), common, software)
    gen = synthetic.generator(width, height, "i420")
    try:
        for i in range(frames):
            writer.write(vh.Frame(gen.frame(i), vh.PixelFormat.I420, pts=i))
    except BaseException:
        writer.abort()
        raise
    writer.close()


def make_with_ffmpeg(path: Path, codec: str, width: int, height: int, frames: int) -> None:
    from videohw import synthetic

    rate = bitrate_for(width, height)
    if codec == "h264":
        enc = [
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-bf",
            str(BFRAMES),
            "-g",
            str(GOP),
            "-keyint_min",
            str(GOP),
            "-sc_threshold",
            "0",
            "-x264-params",
            "b-adapt=0:open-gop=0",
        ]
    else:
        enc = [
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-tag:v",
            "hvc1",
            "-x265-params",
            f"keyint={GOP}:min-keyint={GOP}:scenecut=0:bframes={BFRAMES}:b-adapt=0:"
            "open-gop=0:log-level=error",
        ]
    partial = path.with_name(path.stem + ".part.mp4")
    cmd = [
        shutil.which("ffmpeg"),
        "-nostdin",
        "-v",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-s",
        f"{width}x{height}",
        "-r",
        str(FPS),
        "-i",
        "-",
        *enc,
        "-b:v",
        str(rate),
        "-maxrate",
        str(rate * 3 // 2),
        "-bufsize",
        str(rate * 2),
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        "-an",
        "-y",
        str(partial),
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    gen = synthetic.generator(width, height, "i420")
    try:
        for i in range(frames):
            proc.stdin.write(gen.frame(i).tobytes())
    finally:
        proc.stdin.close()
        rc = proc.wait()
    if rc:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg exited {rc} making {path.name}")
    partial.replace(path)


def ensure_media(cache: Path, codec: str, width: int, height: int, seconds: int) -> Path:
    vh = need_videohw()
    frames = seconds * FPS
    makers: list[tuple[str, Callable]] = []
    if hasattr(vh, "VideoWriter"):
        makers.append(("vhwriter", make_with_videowriter))
    if shutil.which("ffmpeg"):
        makers.append(("ffmpeg", make_with_ffmpeg))
    for maker in ("vhwriter", "ffmpeg"):  # a file made earlier, by either
        path = media_path(cache, codec, width, height, seconds, maker)
        if usable_media(path, codec, frames):
            return path
    if not makers:
        raise Skip(
            f"no {codec} input and no way to make one: this videohw has no "
            "VideoWriter and no ffmpeg CLI is on PATH (give --input)"
        )
    cache.mkdir(parents=True, exist_ok=True)
    errors = []
    for maker, make in makers:
        path = media_path(cache, codec, width, height, seconds, maker)
        bc.progress(
            f"making {path.name} ({frames} frames) with "
            f"{'vh.VideoWriter' if maker == 'vhwriter' else 'the ffmpeg CLI'} ..."
        )
        start = time.perf_counter()
        try:
            make(path, codec, width, height, frames)
        except Exception as e:  # noqa: BLE001 - try the next maker
            errors.append(f"{maker}: {first_line(e)}")
            bc.progress(f"  failed: {errors[-1]}")
            continue
        if usable_media(path, codec, frames):
            bc.progress(
                f"  made in {time.perf_counter() - start:.1f} s, {path.stat().st_size / 1e6:.1f} MB"
            )
            return path
        errors.append(f"{maker}: the file it made does not probe as {frames} {codec} frames")
    raise Skip(f"could not make the {codec} input: " + "; ".join(errors))


def file_facts(path: Path) -> dict:
    """What videohw's demuxer says of the file: stream facts and the pts of every frame in
    display order (the packets' pts, sorted)."""
    vh = need_videohw()
    info = vh.probe(str(path))
    v = info.best_video
    pts, dts_order_pts, keyframes = [], [], 0
    with vh.MediaReader(str(path)) as reader:
        for p in reader:
            if p.pts is not None:
                pts.append(p.pts)
                dts_order_pts.append(p.pts)
            keyframes += bool(p.is_keyframe)
    reordered = sum(1 for a, b in zip(dts_order_pts, sorted(dts_order_pts)) if a != b)
    return {
        "path": str(path),
        "bytes": path.stat().st_size,
        "codec": v.codec_name,
        "width": v.width,
        "height": v.height,
        "pixel_format": v.pixel_format,
        "avg_fps": str(v.avg_fps),
        "time_base": str(v.time_base),
        "frames": v.frame_count,
        "frames_exact": v.frame_count_exact,
        "keyframes": v.keyframe_count,
        "packets_out_of_pts_order": reordered,
        "duration_s": v.duration_seconds,
        "bit_rate": info.bit_rate,
        "format": info.format_name,
        "pts_by_index": sorted(pts),
    }


# ---- references and checks -----------------------------------------------------------------


def reference_strips(path: Path, indices: set) -> dict:
    """{"yuv": {i: strips}, "rgb": {i: strip}} from videohw's software decoder."""
    vh = need_videohw()
    wanted = sorted(indices)
    out: dict = {"yuv": {}, "rgb": {}}
    for output in OUTPUTS:
        with vh.VideoReader(str(path), backend="software", output=vh_output(output)) as r:
            for at in range(0, len(wanted), 8):
                chunk = wanted[at : at + 8]
                for i, f in zip(chunk, r.get_frames_at(chunk)):
                    kept: dict = {}
                    take_videohw(f, output, Toucher("none"), {i}, kept, i)
                    kind, data = kept[i]
                    out[kind][i] = data
    return out


def _as_int16(data: Any) -> np.ndarray:
    if isinstance(data, tuple):
        return np.concatenate([p.astype(np.int16).ravel() for p in data])
    return data.astype(np.int16).ravel()


def _same_shape(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) != isinstance(b, tuple):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(x.shape == y.shape for x, y in zip(a, b))
    return a.shape == b.shape


def check_frames(kept: dict, refs: dict, expected: list) -> dict:
    """Each kept picture against the reference at its index and at the neighbours."""
    problems, max_diff, means = [], 0, []
    for i in expected:
        got = kept.get(i)
        if got is None:
            problems.append(f"frame {i}: missing")
            continue
        kind, data = got
        table = refs[kind]
        if i not in table:
            problems.append(f"frame {i}: no reference")
            continue
        if not _same_shape(data, table[i]):
            problems.append(f"frame {i}: its {kind} planes differ in shape from the reference")
            continue
        g = _as_int16(data)
        diff = np.abs(g - _as_int16(table[i]))
        mean = float(diff.mean())
        max_diff, means = max(max_diff, int(diff.max())), means + [mean]
        for j in (i - 1, i + 1):
            if j not in table:
                continue
            other = float(np.abs(g - _as_int16(table[j])).mean())
            apart = float(np.abs(_as_int16(table[i]) - _as_int16(table[j])).mean())
            if other <= mean:
                problems.append(
                    f"frame {i}: closer to frame {j} (mean |diff| {other:.2f}) than "
                    f"to {i} ({mean:.2f})"
                )
                break
            # RGB: tools convert YUV to RGB with their own matrices and rounding, a bias
            # the same size as the motion between two frames; only "closer to a
            # neighbour" says wrong frame there. Decoded planes must be exact.
            if kind != "rgb" and mean > apart / 2:
                problems.append(
                    f"frame {i}: mean |diff| {mean:.2f} to the reference, more "
                    f"than half of {i} to {j} ({apart:.2f})"
                )
                break
    return {
        "ok": not problems,
        "checked": len(expected),
        "max_abs_diff": max_diff,
        "mean_abs_diff": max(means) if means else None,
        "problems": problems,
    }


def compare_rows(a: dict, b: dict) -> Optional[dict]:
    """Two rows' kept pictures against each other (same indices)."""
    common = sorted(set(a) & set(b))
    if not common:
        return None
    worst, identical = 0, 0
    for i in common:
        if a[i][0] != b[i][0] or not _same_shape(a[i][1], b[i][1]):
            return {"frames": len(common), "error": f"frame {i}: different layouts"}
        d = int(np.abs(_as_int16(a[i][1]) - _as_int16(b[i][1])).max())
        worst = max(worst, d)
        identical += d == 0
    return {"frames": len(common), "identical": identical, "max_abs_diff": worst}


# ---- runs ----------------------------------------------------------------------------------


@dataclass
class Job:
    path: str
    facts: dict
    backend: str
    touch: Toucher
    indices: list = field(default_factory=list)


@dataclass
class Result:
    frames: int
    open_s: float
    total_s: float
    cpu_s: float
    kept: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


class Clock:
    def __init__(self) -> None:
        self.start, self.cpu = time.perf_counter(), time.process_time()
        self.opened = self.start
        self.stopped: Optional[float] = None
        self.cpu_stopped = 0.0

    def open_done(self) -> None:
        self.opened = time.perf_counter()

    def stop(self) -> None:
        self.stopped = time.perf_counter()
        self.cpu_stopped = time.process_time()

    def result(self, frames: int, kept: dict, **extra) -> Result:
        if self.stopped is None:
            self.stop()
        return Result(
            frames,
            self.opened - self.start,
            self.stopped - self.start,
            self.cpu_stopped - self.cpu,
            kept,
            extra,
        )


def _index_problems(pairs: list) -> list:
    return [(want, got) for want, got in pairs if got != want][:5]


def _pts_problems(job: Job, indices: list, seen_pts: list) -> list:
    table = job.facts["pts_by_index"]
    wrong = []
    for i, pts in zip(indices, seen_pts):
        expect = table[i] if 0 <= i < len(table) else None
        if pts != expect:
            wrong.append((i, expect, pts))
    return wrong[:5]


# -- sequential: fn(job, keep) -> Result


def seq_videohw(output: str) -> Callable:
    def run(job: Job, keep: set) -> Result:
        vh = need_videohw()
        if output == "native" and job.backend == "nvidia":
            job.touch.need_device()
        touch = job.touch
        touch.begin()
        kept: dict = {}
        pairs: list = []
        clock = Clock()
        with vh.VideoReader(job.path, backend=job.backend, output=vh_output(output)) as r:
            clock.open_done()
            n = 0
            for f in r:
                pairs.append((n, f.index))
                take_videohw(f, output, touch, keep, kept, n)
                n += 1
            checksum = touch.end()
            clock.stop()
            inits = r.telemetry().get("session_inits")
        extra = {"checksum": checksum, "session_inits": inits}
        wrong = _index_problems(pairs)
        if wrong:
            extra["index_mismatch"] = wrong
        return clock.result(n, kept, **extra)

    return run


def _pnvc_mode(output: str, state: dict) -> PnvcMode:
    """native: device NV12. rgb: host RGB; where this PyNvVideoCodec refuses host RGB (seen
    in the untimed round), device RGB copied to the host per frame, and the row says so."""
    if output == "native":
        return PnvcMode("native", True)
    if state.get("rgb_on_device"):
        return PnvcMode("rgb", True, state["rgb_on_device"])
    return PnvcMode("rgb", False)


def _pnvc_try(output: str, state: dict, attempt: Callable[[PnvcMode], Result]) -> Result:
    mode = _pnvc_mode(output, state)
    if mode.on_device:
        state["touch"].need_device()
    try:
        return attempt(mode)
    except Skip:
        raise
    except Exception as e:  # noqa: BLE001
        if output != "rgb" or mode.on_device or state.get("tried_device"):
            raise
        state["tried_device"] = True
        state["touch"].need_device()
        state["rgb_on_device"] = (
            f"host RGB refused ({first_line(e)}): device RGB, copied to the host per frame"
        )
        bc.progress(f"    {state['rgb_on_device']}")
        return attempt(_pnvc_mode(output, state))


def _rgb_to_host(frame: Any, mode: PnvcMode, touch: Toucher) -> Any:
    """Device RGB (the fallback): the host copy the row promises."""
    return touch.to_host(frame)


def seq_pnvc_decoder(output: str) -> Callable:
    state: dict = {}

    def run(job: Job, keep: set) -> Result:
        nvc = need_pynvc()
        state["touch"] = job.touch

        def attempt(mode: PnvcMode) -> Result:
            touch = job.touch
            touch.begin()
            kept: dict = {}
            seen: list = []
            clock = Clock()
            dmx = nvc.CreateDemuxer(filename=job.path)
            dec = nvc.CreateDecoder(
                gpuid=0,
                codec=dmx.GetNvCodecId(),
                cudacontext=0,
                cudastream=0,
                usedevicememory=mode.on_device,
                outputColorType=pnvc_color(output),
            )
            clock.open_done()
            n = 0
            flushed = False
            for packet in dmx:
                for frame in dec.Decode(packet):
                    take_pnvc(frame, mode, touch, keep, kept, n, job.facts, seen)
                    if mode.output == "rgb" and mode.on_device:
                        _rgb_to_host(frame, mode, touch)
                    n += 1
            if n < job.facts["frames"]:  # an explicit end of stream, in case it held frames
                flushed = True
                for frame in dec.Decode(nvc.PacketData()):
                    take_pnvc(frame, mode, touch, keep, kept, n, job.facts, seen)
                    if mode.output == "rgb" and mode.on_device:
                        _rgb_to_host(frame, mode, touch)
                    n += 1
            checksum = touch.end()
            clock.stop()
            del dec, dmx
            extra: dict = {"checksum": checksum}
            if mode.note:
                extra["note"] = mode.note
            if flushed:
                extra["explicit_flush"] = True
            wrong = _pts_problems(job, list(range(len(seen))), seen)
            if wrong:
                extra["pts_mismatch"] = wrong
            return clock.result(n, kept, **extra)

        return _pnvc_try(output, state, attempt)

    return run


def seq_pnvc_batches(output: str, threaded: bool) -> Callable:
    state: dict = {}

    def run(job: Job, keep: set) -> Result:
        nvc = need_pynvc()
        state["touch"] = job.touch

        def attempt(mode: PnvcMode) -> Result:
            touch = job.touch
            touch.begin()
            kept: dict = {}
            seen: list = []
            clock = Clock()
            if threaded:
                d = nvc.ThreadedDecoder(
                    job.path,
                    THREADED_BUFFER,
                    gpu_id=0,
                    use_device_memory=mode.on_device,
                    output_color_type=pnvc_color(output),
                )
            else:
                d = nvc.SimpleDecoder(
                    job.path,
                    gpu_id=0,
                    use_device_memory=mode.on_device,
                    output_color_type=pnvc_color(output),
                )
            clock.open_done()
            total = len(d)
            n = 0
            while n < total:
                batch = d.get_batch_frames(min(SIMPLE_BATCH, total - n))
                if not batch:
                    break
                for frame in batch:
                    take_pnvc(frame, mode, touch, keep, kept, n, job.facts, seen)
                    if mode.output == "rgb" and mode.on_device:
                        _rgb_to_host(frame, mode, touch)
                    n += 1
            checksum = touch.end()
            clock.stop()
            if threaded:
                d.end()
            del d
            extra: dict = {"checksum": checksum, "its_len": total}
            if mode.note:
                extra["note"] = mode.note
            wrong = _pts_problems(job, list(range(len(seen))), seen)
            if wrong:
                extra["pts_mismatch"] = wrong
            return clock.result(n, kept, **extra)

        return _pnvc_try(output, state, attempt)

    return run


SEQ_ROWS: dict[str, Callable] = {
    "videohw rgb": seq_videohw("rgb"),
    "videohw native": seq_videohw("native"),
    "pynvc-decoder rgb": seq_pnvc_decoder("rgb"),
    "pynvc-decoder native": seq_pnvc_decoder("native"),
    "pynvc-simple rgb": seq_pnvc_batches("rgb", threaded=False),
    "pynvc-simple native": seq_pnvc_batches("native", threaded=False),
    "pynvc-threaded native": seq_pnvc_batches("native", threaded=True),
}


# -- random: fn(job, keep) -> Result (job.indices)


def rnd_videohw(output: str, one_by_one: bool) -> Callable:
    def run(job: Job, keep: set) -> Result:
        vh = need_videohw()
        if output == "native" and job.backend == "nvidia":
            job.touch.need_device()
        touch = job.touch
        touch.begin()
        kept: dict = {}
        pairs: list = []
        clock = Clock()
        with vh.VideoReader(job.path, backend=job.backend, output=vh_output(output)) as r:
            clock.open_done()
            if one_by_one:
                for i in job.indices:
                    f = r[i]
                    pairs.append((i, f.index))
                    take_videohw(f, output, touch, keep, kept, i)
            else:
                frames = r.get_frames_at(job.indices)
                for i, f in zip(job.indices, frames):
                    pairs.append((i, f.index))
                    take_videohw(f, output, touch, keep, kept, i)
            checksum = touch.end()
            clock.stop()
            telemetry = r.telemetry()
        extra = {
            "checksum": checksum,
            "session_inits": telemetry.get("session_inits"),
            "resets": telemetry.get("resets"),
            "seeks": telemetry.get("reader_seeks"),
        }
        wrong = _index_problems(pairs)
        if wrong:
            extra["index_mismatch"] = wrong
        return clock.result(len(pairs), kept, **extra)

    return run


def rnd_pnvc_simple(output: str, one_by_one: bool) -> Callable:
    state: dict = {}

    def run(job: Job, keep: set) -> Result:
        nvc = need_pynvc()
        state["touch"] = job.touch

        def attempt(mode: PnvcMode) -> Result:
            touch = job.touch
            touch.begin()
            kept: dict = {}
            seen: list = []
            got: list = []
            clock = Clock()
            d = nvc.SimpleDecoder(
                job.path,
                gpu_id=0,
                use_device_memory=mode.on_device,
                output_color_type=pnvc_color(output),
            )
            clock.open_done()
            if one_by_one:
                for i in job.indices:
                    frame = d[i]  # valid until the next call: read now
                    take_pnvc(frame, mode, touch, keep, kept, i, job.facts, seen)
                    if mode.output == "rgb" and mode.on_device:
                        _rgb_to_host(frame, mode, touch)
                    got.append(i)
            else:
                frames = d.get_batch_frames_by_index(list(job.indices))
                for i, frame in zip(job.indices, frames):
                    take_pnvc(frame, mode, touch, keep, kept, i, job.facts, seen)
                    if mode.output == "rgb" and mode.on_device:
                        _rgb_to_host(frame, mode, touch)
                    got.append(i)
            checksum = touch.end()
            clock.stop()
            del d
            extra: dict = {"checksum": checksum}
            if mode.note:
                extra["note"] = mode.note
            wrong = _pts_problems(job, got, seen)
            if wrong:
                extra["pts_mismatch"] = wrong
            return clock.result(len(got), kept, **extra)

        return _pnvc_try(output, state, attempt)

    return run


RANDOM_ROWS: dict[str, Callable] = {
    "videohw get_frames_at rgb": rnd_videohw("rgb", False),
    "videohw r[i] rgb": rnd_videohw("rgb", True),
    "pynvc-simple get_batch_frames_by_index rgb": rnd_pnvc_simple("rgb", False),
    "pynvc-simple d[i] rgb": rnd_pnvc_simple("rgb", True),
    "videohw get_frames_at native": rnd_videohw("native", False),
    "videohw r[i] native": rnd_videohw("native", True),
    "pynvc-simple get_batch_frames_by_index native": rnd_pnvc_simple("native", False),
    "pynvc-simple d[i] native": rnd_pnvc_simple("native", True),
}


def family(row: str) -> str:
    return row.split()[0]


def row_output(row: str) -> str:
    return row.split()[-1]


# -- time to the first frame


TTFF_COMBOS = [
    ("videohw", "rgb"),
    ("videohw", "native"),
    ("pynvc-simple", "rgb"),
    ("pynvc-simple", "native"),
    ("pynvc-decoder", "rgb"),
    ("pynvc-decoder", "native"),
]
WARM_EXTRA = [("videohw-newctl", "rgb"), ("videohw-newctl", "native")]


def first_frame(tool: str, output: str, path: str, backend: str, facts: Optional[dict]) -> dict:
    """Constructor -> first frame (the frame is read: host row or, for device frames, only
    handed out). Returns seconds and what the frame says it is."""
    if tool.startswith("videohw"):
        vh = need_videohw()
        controller = vh.SessionController(backend) if tool == "videohw-newctl" else None
        start = time.perf_counter()
        r = vh.VideoReader(path, backend=backend, output=vh_output(output), controller=controller)
        f = r[0]
        if output == "rgb":
            int(f.rgb[f.height // 2].sum())
        seconds = time.perf_counter() - start
        out = {"seconds": seconds, "index": f.index, "pts": f.pts, "on_device": f.on_device}
        del f
        r.close()
        return out
    nvc = need_pynvc()
    on_device = output == "native"
    mode = PnvcMode(output, on_device)
    start = time.perf_counter()
    if tool == "pynvc-simple":
        d = nvc.SimpleDecoder(
            path, gpu_id=0, use_device_memory=on_device, output_color_type=pnvc_color(output)
        )
        frame = d[0]
        holder = [d]
    else:
        dmx = nvc.CreateDemuxer(filename=path)
        dec = nvc.CreateDecoder(
            gpuid=0,
            codec=dmx.GetNvCodecId(),
            cudacontext=0,
            cudastream=0,
            usedevicememory=on_device,
            outputColorType=pnvc_color(output),
        )
        frame = None
        for packet in dmx:
            frames = dec.Decode(packet)
            if frames:
                frame = frames[0]
                break
        holder = [dmx, dec]
        if frame is None:
            raise RuntimeError("the decoder gave no frame for the whole file")
    if not on_device:
        h, w, shape = pnvc_shape(frame, mode, facts or {})
        int(pnvc_host_array(frame, shape)[h // 2].sum())
    seconds = time.perf_counter() - start
    out = {"seconds": seconds, "pts": int(frame.timestamp), "on_device": on_device}
    del frame, holder
    return out


def ttff_child(argv: list) -> int:
    """``--ttff-child TOOL OUTPUT PATH BACKEND WIDTH HEIGHT``: one cold measurement; prints
    one JSON line."""
    tool, output, path, backend, width, height = argv[:6]
    out: dict = {"tool": tool, "output": output}
    try:
        start = time.perf_counter()
        need_videohw() if tool.startswith("videohw") else need_pynvc()
        out["import_s"] = time.perf_counter() - start
        out.update(
            first_frame(tool, output, path, backend, {"width": int(width), "height": int(height)})
        )
    except Skip as e:
        out["skipped"] = str(e)
    except Exception as e:  # noqa: BLE001
        out["error"] = first_line(e)
    print("TTFF " + json.dumps(out), flush=True)
    return 0


def cold_ttff(tool: str, output: str, path: str, backend: str, facts: dict) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--ttff-child",
        tool,
        output,
        path,
        backend,
        str(facts["width"]),
        str(facts["height"]),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        return {"error": "the child process ran past 180 s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("TTFF ")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"child exit {proc.returncode}: {tail}"}
    return json.loads(lines[-1][5:])


# ---- measuring -----------------------------------------------------------------------------


class Deadline:
    def __init__(self, seconds: Optional[float]) -> None:
        self.start = time.monotonic()
        self.seconds = seconds

    def left(self) -> float:
        if self.seconds is None:
            return float("inf")
        return self.seconds - (time.monotonic() - self.start)

    def allows(self, needed: float) -> bool:
        return self.left() >= needed


@dataclass
class Row:
    name: str
    runs: list = field(default_factory=list)
    frames: Optional[int] = None
    extra: dict = field(default_factory=dict)
    check: dict = field(default_factory=dict)
    kept: dict = field(default_factory=dict)
    skipped: Optional[str] = None

    def median(self, key: str) -> Optional[float]:
        return statistics.median(r[key] for r in self.runs) if self.runs else None


def call(row: Row, fn: Callable, job: Job, keep: set, watchdog_s: float) -> Optional[Result]:
    gc.collect()
    WATCHDOG.arm(watchdog_s, f"the row '{row.name}'")
    try:
        return fn(job, keep)
    except Skip as e:
        row.skipped = str(e)
    except Interrupted:
        raise
    except Exception as e:  # noqa: BLE001 - a tool's own failure is a result too
        row.skipped = first_line(e)
    finally:
        WATCHDOG.disarm()
    return None


def measure(
    names: list,
    table: dict,
    job: Job,
    keep: set,
    refs: dict,
    expected: int,
    repeats: int,
    what: str,
    deadline: Deadline,
    watchdog_s: float,
) -> dict:
    """The rows, measured; on SIGTERM what was measured so far (and ``_interrupted`` set)."""
    global _interrupted
    out = {t: Row(t) for t in names}
    CURRENT["rows"] = out
    try:
        _measure(out, names, table, job, keep, refs, expected, repeats, what, deadline, watchdog_s)
    except Interrupted as e:
        _interrupted = e
        for row in out.values():
            row.extra["interrupted"] = str(e)
    return out


def _measure(
    out: dict,
    names: list,
    table: dict,
    job: Job,
    keep: set,
    refs: dict,
    expected: int,
    repeats: int,
    what: str,
    deadline: Deadline,
    watchdog_s: float,
) -> None:
    live = list(names)
    for t in names:  # the untimed round; its frames are checked
        row = out[t]
        result = call(row, table[t], job, keep, watchdog_s)
        if result is None:
            bc.progress(f"  {what} {t:46s} skipped: {row.skipped}")
            live.remove(t)
            continue
        row.frames, row.extra, row.kept = result.frames, dict(result.extra), result.kept
        row.check = check_frames(result.kept, refs, sorted(keep)) if refs else {}
        if row.check:
            if result.extra.get("index_mismatch"):  # videohw: frame.index is its contract
                row.check["ok"] = False
                row.check["problems"].insert(
                    0, f"frame.index differs (asked, got): {result.extra['index_mismatch']}"
                )
            if result.extra.get("pts_mismatch"):  # a timestamp convention, or a wrong frame:
                row.check["warnings"] = [  # the pixels decide
                    f"pts differs (index, expected, got): {result.extra['pts_mismatch']}"
                ]
            if result.frames != expected:
                row.check["ok"] = False
                row.check["problems"].insert(0, f"{result.frames} frames, expected {expected}")
        state = ("ok" if row.check.get("ok") else "FAILED") if row.check else "not checked"
        bc.progress(
            f"  {what} {t:46s} warm-up {result.total_s:7.2f} s, {result.frames} "
            f"frames, check {state}, max |diff| {row.check.get('max_abs_diff', '-')}"
        )
    for r in range(repeats):
        if not deadline.allows(0):
            bc.progress(f"  {what}: deadline reached, {r} of {repeats} timed rounds done")
            for row in out.values():
                row.extra["rounds_cut_by_deadline"] = f"{r} of {repeats}"
            break
        order = live[r % len(live) :] + live[: r % len(live)] if live else []
        for t in order:
            row = out[t]
            if row.skipped:
                continue
            result = call(row, table[t], job, set(), watchdog_s)
            if result is None:
                bc.progress(f"  {what} {t:46s} failed in round {r + 1}: {row.skipped}")
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
            bc.progress(
                f"  {what} round {r + 1}/{repeats} {t:46s} {result.total_s:7.3f} s "
                f"({result.frames / max(result.total_s, 1e-9):7.1f} frames/s)"
            )
    for row in out.values():
        if row.skipped:
            row.runs = []


# ---- summaries -----------------------------------------------------------------------------


def _check_public(check: dict) -> dict:
    return {k: v for k, v in check.items()}


def summarise_sequential(rows: dict, expected: int) -> dict:
    out: dict = {}
    fps = {}
    for t, r in rows.items():
        if r.skipped or not r.runs:
            out[t] = {"skipped": r.skipped or "no timed run"}
            continue
        runs_fps = [x["frames"] / x["total_s"] for x in r.runs]
        decode_fps = [x["frames"] / max(x["total_s"] - x["open_s"], 1e-9) for x in r.runs]
        fps[t] = statistics.median(runs_fps)
        out[t] = {
            "fps_median": fps[t],
            "fps_runs": runs_fps,
            "fps_without_open_median": statistics.median(decode_fps),
            "open_ms_median": 1e3 * r.median("open_s"),
            "total_s_median": r.median("total_s"),
            "cpu_ms_per_frame_median": 1e3
            * statistics.median(x["cpu_s"] / max(x["frames"], 1) for x in r.runs),
            "frames": r.frames,
            "frames_ok": r.frames == expected,
            "check": _check_public(r.check),
            **{k: v for k, v in r.extra.items() if k != "checksum"},
        }
    ratios: dict = {}
    for output in OUTPUTS:
        mine = fps.get(f"videohw {output}")
        if not mine:
            continue
        for t, value in fps.items():
            if family(t) != "videohw" and row_output(t) == output:
                ok = out[t].get("check", {}).get("ok", True)
                ratios[f"videohw {output} / {t}"] = {"ratio": mine / value, "peer_ok": ok}
    return {"rows": out, "ratios": ratios}


def summarise_random(rows: dict, count: int) -> dict:
    out: dict = {}
    total = {}
    for t, r in rows.items():
        if r.skipped or not r.runs:
            out[t] = {"skipped": r.skipped or "no timed run"}
            continue
        total[t] = r.median("total_s")
        access = statistics.median(x["total_s"] - x["open_s"] for x in r.runs)
        out[t] = {
            "total_s_median": total[t],
            "total_s_runs": [x["total_s"] for x in r.runs],
            "open_ms_median": 1e3 * r.median("open_s"),
            "access_s_median": access,
            "ms_per_frame_median": 1e3 * total[t] / count,
            "cpu_s_median": r.median("cpu_s"),
            "frames": r.frames,
            "check": _check_public(r.check),
            **{k: v for k, v in r.extra.items() if k != "checksum"},
        }
    ratios: dict = {}
    pairs = [
        ("get_frames_at", "get_batch_frames_by_index"),
        ("r[i]", "d[i]"),
        ("get_frames_at", "d[i]"),
    ]
    for output in OUTPUTS:
        for mine, theirs in pairs:
            a = total.get(f"videohw {mine} {output}")
            b = total.get(f"pynvc-simple {theirs} {output}")
            if a and b:
                peer = f"pynvc-simple {theirs} {output}"
                ratios[f"videohw {mine} {output} / {peer}"] = {
                    "ratio": b / a,
                    "peer_ok": out[peer].get("check", {}).get("ok", True),
                    "without_open": (
                        out[peer]["access_s_median"]
                        / max(out[f"videohw {mine} {output}"]["access_s_median"], 1e-9)
                    ),
                }
    return {"rows": out, "ratios": ratios}


def summarise_ttff(cold: dict, warm: dict) -> dict:
    def stats(samples: list) -> dict:
        good = [s for s in samples if "seconds" in s]
        bad = [s.get("error") or s.get("skipped") for s in samples if "seconds" not in s]
        if not good:
            return {"skipped": bad[0] if bad else "not run"}
        d = {
            "ms_median": 1e3 * statistics.median(s["seconds"] for s in good),
            "ms_runs": [1e3 * s["seconds"] for s in good],
            "n": len(good),
        }
        if any("import_s" in s for s in good):
            d["import_ms_median"] = 1e3 * statistics.median(s.get("import_s", 0) for s in good)
        first = good[0]
        d["first_frame"] = {k: first[k] for k in ("index", "pts", "on_device") if k in first}
        if bad:
            d["failures"] = bad
        return d

    out = {
        "cold": {k: stats(v) for k, v in cold.items()},
        "warm": {k: stats(v) for k, v in warm.items()},
    }
    ratios: dict = {}
    for when in ("cold", "warm"):
        for output in OUTPUTS:
            mine = out[when].get(f"videohw {output}", {}).get("ms_median")
            for peer in ("pynvc-simple", "pynvc-decoder"):
                theirs = out[when].get(f"{peer} {output}", {}).get("ms_median")
                if mine and theirs:
                    ratios[f"{when} videohw {output} / {peer} {output}"] = theirs / mine
    out["ratios"] = ratios
    return out


# ---- versions and machine ------------------------------------------------------------------


def loaded_libraries(names: tuple = ("libavcodec", "libavformat", "libavutil")) -> list:
    found = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if "/" in line else ""
                if any(Path(path).name.startswith(n + ".") for n in names):
                    found.add(path)
    except OSError:
        pass
    return sorted(found)


def gpu_info() -> dict:
    out: dict = {}
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            q = subprocess.run(
                [
                    smi,
                    "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                    "--format=csv,noheader",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            rows = [r.strip() for r in q.stdout.splitlines() if r.strip()]
            if rows:
                parts = [x.strip() for x in rows[0].split(",")] + [""] * 4
                name, driver, memory, clock = parts[:4]
                out.update(
                    {
                        "name": name,
                        "driver": driver,
                        "memory": memory,
                        "max_sm_clock": clock,
                        "count": len(rows),
                    }
                )
        except (OSError, subprocess.SubprocessError) as e:
            out["error"] = first_line(e)
    else:
        out["error"] = "nvidia-smi not found"
    return out


def versions(touch: Toucher) -> dict:
    v: dict = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "touch": touch.describe(),
    }
    try:
        vh = need_videohw()
        v["videohw"] = f"{vh.__version__} ({Path(vh.__file__).resolve().parent})"
        from videohw import _core

        v["videohw_backends"] = _core.decode_backend_availability()
    except Skip as e:
        v["videohw"] = str(e)
    v["videohw_ffmpeg_libraries"] = loaded_libraries()
    try:
        nvc = need_pynvc()
        v["pynvvideocodec"] = {
            "version": getattr(nvc, "__version__", "unknown"),
            "cuda": str(getattr(nvc, "__cuda_version__", "unknown")),
            "video_codec_sdk": str(getattr(nvc, "__video_codec_sdk_version__", "unknown")),
            "path": str(Path(nvc.__file__).resolve().parent),
            "bundled": sorted(p.name for p in Path(nvc.__file__).resolve().parent.glob("lib*.so*")),
        }
    except Skip as e:
        v["pynvvideocodec"] = str(e)
    for name in ("torch", "cupy"):
        try:
            mod = __import__(name)
            v[name] = mod.__version__ + (f" (CUDA {mod.version.cuda})" if name == "torch" else "")
        except Exception as e:  # noqa: BLE001
            v[name] = f"not importable: {first_line(e)}"
    return v


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
        "platform": platform.platform(),
        "load_avg_start": os.getloadavg(),
    }


# ---- report --------------------------------------------------------------------------------


def check_text(c: dict) -> str:
    if not c:
        return "-"
    warn = ("; warning: " + "; ".join(c["warnings"])) if c.get("warnings") else ""
    if c.get("ok"):
        return f"ok ({c['checked']}){warn}"
    return "WRONG: " + "; ".join(c.get("problems", [])[:2]) + warn


def fmt(value: Any, spec: str, width: int) -> str:
    return f"{value:{width}{spec}}" if isinstance(value, (int, float)) else f"{'-':>{width}s}"


def print_report(r: dict, path: Optional[str] = None) -> None:
    """The report on stdout, and into ``path`` too (where a library's own prints on stdout
    cannot get in between)."""
    if path:
        import contextlib
        import io

        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            _print_report(r)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text.getvalue())
        sys.stdout.write(text.getvalue())
        sys.stdout.flush()
    else:
        _print_report(r)


def _print_report(r: dict) -> None:
    m, s, g = r["machine"], r["settings"], r["gpu"]
    print(
        f"GPU: {g.get('name', '?')} (driver {g.get('driver', '?')}); {m['cores']} cores, "
        f"{m['cpu']}; load average {' '.join(f'{x:.2f}' for x in m['load_avg_start'])}"
    )
    v = r["versions"]
    pn = v.get("pynvvideocodec")
    print(
        f"videohw {v.get('videohw')} [backend {s['videohw_backend']}]; PyNvVideoCodec "
        + (
            f"{pn['version']} (CUDA {pn['cuda']}, Video Codec SDK {pn['video_codec_sdk']})"
            if isinstance(pn, dict)
            else str(pn)
        )
    )
    print(
        f"device frames read with {v.get('touch')}; torch {v.get('torch')}; cupy "
        f"{v.get('cupy')}; Python {v.get('python')}"
    )
    print(
        f"median of {s['repeats']} timed rounds after one untimed, row order rotated; every "
        "frame's middle row read; times include opening the file; ratios are videohw / peer, "
        "above 1 = videohw faster"
    )
    for codec, f in r["files"].items():
        if "skipped" in f:
            print(f"\n{codec}: skipped: {f['skipped']}")
            continue
        print(
            f"\n### {codec}: {f['width']}x{f['height']}, {f['frames']} frames, "
            f"{f['keyframes']} keyframes, {f['packets_out_of_pts_order']} packets out of pts "
            f"order (B-frames), {f['bytes'] / 1e6:.1f} MB, {Path(f['path']).name}"
        )
        q = r.get("sequential", {}).get(codec)
        if q:
            print("== sequential: every frame ==")
            print(
                f"{'row':24s} {'fps':>8s} {'min':>8s} {'max':>8s} {'w/o open':>8s} "
                f"{'open ms':>8s} {'cpu ms/f':>8s} {'frames':>6s} {'max|d|':>6s}  check"
            )
            for t, row in q["rows"].items():
                if "skipped" in row:
                    continue
                frames = f"{row['frames']}{'' if row['frames_ok'] else '!'}"
                notes = []
                if row.get("session_inits") is not None:
                    notes.append(f"session_inits={row['session_inits']}")
                if row.get("note"):
                    notes.append(row["note"])
                print(
                    f"{t:24s} {row['fps_median']:8.1f} {min(row['fps_runs']):8.1f} "
                    f"{max(row['fps_runs']):8.1f} {row['fps_without_open_median']:8.1f} "
                    f"{row['open_ms_median']:8.1f} {row['cpu_ms_per_frame_median']:8.2f} "
                    f"{frames:>6s} {row['check'].get('max_abs_diff', '-'):>6}  "
                    f"{check_text(row['check'])}" + (f"  {', '.join(notes)}" if notes else "")
                )
            for k, x in q["ratios"].items():
                print(
                    f"  {k}: {x['ratio']:.2f}x"
                    + ("" if x["peer_ok"] else "  (that peer returned WRONG frames)")
                )
        q = r.get("random", {}).get(codec)
        if q:
            print(f"== random access: {s['count']} indices (seed {s['seed']}) ==")
            print(
                f"{'row':46s} {'total s':>8s} {'ms/frame':>8s} {'open ms':>8s} "
                f"{'access s':>8s} {'frames':>6s} {'max|d|':>6s}  check"
            )
            for t, row in q["rows"].items():
                if "skipped" in row:
                    continue
                notes = []
                if row.get("session_inits") is not None:
                    notes.append(f"session_inits={row['session_inits']}")
                if row.get("note"):
                    notes.append(row["note"])
                print(
                    f"{t:46s} {row['total_s_median']:8.3f} {row['ms_per_frame_median']:8.2f} "
                    f"{row['open_ms_median']:8.1f} {row['access_s_median']:8.3f} "
                    f"{row['frames']:6d} {row['check'].get('max_abs_diff', '-'):>6}  "
                    f"{check_text(row['check'])}" + (f"  {', '.join(notes)}" if notes else "")
                )
            for k, x in q["ratios"].items():
                print(
                    f"  {k}: {x['ratio']:.2f}x (without the open {x['without_open']:.2f}x)"
                    + ("" if x["peer_ok"] else "  (that peer returned WRONG frames)")
                )
        q = r.get("ttff", {}).get(codec)
        if q:
            print(
                f"== time from the constructor to the first frame (ms, median; expected "
                f"first frame {q.get('expected_first_frame')}) =="
            )
            print(f"{'tool':26s} {'cold':>9s} {'(import)':>9s} {'warm':>9s}  first frame")
            keys = list(dict.fromkeys(list(q["cold"]) + list(q["warm"])))
            for k in keys:
                c, w = q["cold"].get(k, {}), q["warm"].get(k, {})
                ff = c.get("first_frame") or w.get("first_frame") or {}
                why = c.get("skipped") or w.get("skipped")
                print(
                    f"{k:26s} {fmt(c.get('ms_median'), '.1f', 9)} "
                    f"{fmt(c.get('import_ms_median'), '.1f', 9)} "
                    f"{fmt(w.get('ms_median'), '.1f', 9)}  "
                    + (", ".join(f"{a}={b}" for a, b in ff.items()) if ff else "")
                    + (f"  skipped: {why}" if why and not ff else "")
                )
            for k, x in q["ratios"].items():
                print(f"  {k}: {x:.2f}x")
    cross = r.get("cross_checks", {})
    if cross:
        print("\n== videohw against PyNvVideoCodec, the same checked frames ==")
        for k, x in cross.items():
            print(
                f"  {k}: "
                + (
                    x["error"]
                    if "error" in x
                    else f"{x['identical']} of {x['frames']} identical, max |diff| "
                    f"{x['max_abs_diff']}"
                )
            )
    if r["skipped"]:
        print()
        by_reason: dict = {}
        for k, why in r["skipped"].items():
            by_reason.setdefault(why, []).append(k)
        for why, keys in by_reason.items():
            print(f"skipped ({len(keys)}: {'; '.join(keys)}): {why}")
    if r.get("interrupted"):
        print(f"\nINTERRUPTED: {r['interrupted']} -- the report covers what finished")
    print(f"\nelapsed {r['elapsed_s']:.0f} s; wrong frames: {'YES' if r['wrong_frames'] else 'no'}")


# ---- main ----------------------------------------------------------------------------------


def parse_args(argv: Optional[list]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--codecs", default="h264,hevc", help="files to make and read (h264,hevc)")
    p.add_argument(
        "--input",
        action="append",
        default=[],
        help="read this file instead of making one (repeatable; its codec is probed)",
    )
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--seconds", type=int, default=60, help="file length (60)")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds (3)")
    p.add_argument("--count", type=int, default=50, help="random indices (50)")
    p.add_argument("--seed", type=int, default=1, help="seed of the random indices (1)")
    p.add_argument("--parts", default="seq,random,ttff", help="seq, random, ttff")
    p.add_argument("--ttff-codecs", default="h264", help="codecs of the first-frame part (h264)")
    p.add_argument("--ttff-repeats", type=int, default=None, help="cold/warm samples (--repeats)")
    p.add_argument("--tools", default=",".join(FAMILIES), help=f"families: {', '.join(FAMILIES)}")
    p.add_argument(
        "--videohw-backend",
        default="nvidia",
        choices=("nvidia", "software", "auto"),
        help="videohw's backend (nvidia; software exercises the paths on a CPU)",
    )
    p.add_argument(
        "--touch",
        default="auto",
        choices=("auto", "torch", "cupy", "none"),
        help="how device frames are read (auto: torch with CUDA, else cupy)",
    )
    p.add_argument("--cache", default=str(bc.CACHE_DIR), help="where made files are kept")
    p.add_argument(
        "--deadline-s",
        type=float,
        default=None,
        help="skip parts that would not fit into this many seconds",
    )
    p.add_argument(
        "--watchdog-s",
        type=float,
        default=180,
        help="a run that takes longer dumps every thread's stack, writes the report "
        "of what finished and ends the process with status 3 (a hung decoder)",
    )
    p.add_argument(
        "--json", help="write the whole report here as JSON (rewritten after every part)"
    )
    p.add_argument("--report", help="write the text report here too")
    args = p.parse_args(argv)
    args.codec_list = [c for c in args.codecs.split(",") if c]
    args.part_list = [x for x in args.parts.split(",") if x]
    args.tool_list = [x for x in args.tools.split(",") if x]
    for x in args.codec_list:
        if x not in ("h264", "hevc"):
            p.error(f"--codecs: {x!r}; expected h264 and/or hevc")
    for x in args.part_list:
        if x not in ("seq", "random", "ttff"):
            p.error(f"--parts: {x!r}; expected seq, random, ttff")
    for x in args.tool_list:
        if x not in FAMILIES:
            p.error(f"--tools: {x!r}; expected some of {', '.join(FAMILIES)}")
    if args.repeats < 1 or args.seconds < 1 or args.count < 1:
        p.error("--repeats, --seconds and --count must be >= 1")
    if args.ttff_repeats is None:
        args.ttff_repeats = args.repeats
    return args


# Rough seconds each part needs at 1080p on an H200 (for --deadline-s); HEVC decodes faster.
NEEDS = {"make": 45, "seq": 75, "random": 80, "ttff": 60}


def main(argv: Optional[list] = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    started = time.monotonic()
    deadline = Deadline(args.deadline_s)
    width, height = bc.parse_size(args.size)
    touch = Toucher(args.touch)
    report: dict = {
        "machine": machine(),
        "gpu": gpu_info(),
        "versions": {},
        "settings": {
            "size": f"{width}x{height}",
            "seconds": args.seconds,
            "fps": FPS,
            "gop": GOP,
            "b_frames": BFRAMES,
            "repeats": args.repeats,
            "count": args.count,
            "seed": args.seed,
            "ttff_repeats": args.ttff_repeats,
            "videohw_backend": args.videohw_backend,
            "parts": args.part_list,
            "tools": args.tool_list,
            "simple_batch": SIMPLE_BATCH,
            "threaded_buffer": THREADED_BUFFER,
        },
        "files": {},
        "sequential": {},
        "random": {},
        "ttff": {},
        "cross_checks": {},
        "skipped": {},
        "wrong_frames": False,
        "interrupted": None,
        "elapsed_s": 0.0,
    }

    def save() -> None:
        report["elapsed_s"] = time.monotonic() - started
        report["machine"]["load_avg_end"] = os.getloadavg()
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            tmp = args.json + ".part"
            with open(tmp, "w") as f:
                json.dump(report, f, indent=1, default=str)
            os.replace(tmp, args.json)

    def watchdog_fired(message: str) -> None:
        report["interrupted"] = message
        if CURRENT.get("rows") is not None and CURRENT.get("store") is not None:
            CURRENT["store"](CURRENT["rows"])  # the part in progress, as far as it got
        save()
        print_report(report, args.report)

    WATCHDOG.on_fire = watchdog_fired

    try:
        need_videohw()
    except Skip as e:
        print(f"read_vs_pynvc: {e}", file=sys.stderr)
        return 2
    report["versions"] = versions(touch)
    bc.progress(
        f"GPU: {report['gpu'].get('name', report['gpu'].get('error'))}; device frames "
        f"read with {touch.describe()}; videohw backend {args.videohw_backend}"
    )

    wanted = lambda names: [n for n in names if family(n) in args.tool_list]  # noqa: E731
    if args.input:
        todo = [
            (need_videohw().probe(given).best_video.codec_name, Path(given)) for given in args.input
        ]
    else:
        todo = [(codec, None) for codec in args.codec_list]
    try:
        ttff_done = False
        for codec, path in todo:
            if path is None:  # made here, when the time left allows a file and one part
                if not deadline.allows(NEEDS["make"] + NEEDS["seq"]):
                    report["skipped"][f"{codec} file"] = f"time: {deadline.left():.0f} s left"
                    report["files"][codec] = {"skipped": report["skipped"][f"{codec} file"]}
                    continue
                try:
                    path = ensure_media(Path(args.cache), codec, width, height, args.seconds)
                except Skip as e:
                    report["files"][codec] = {"skipped": str(e)}
                    report["skipped"][f"{codec} file"] = str(e)
                    save()
                    continue
            facts = file_facts(path)
            report["files"][codec] = {k: v for k, v in facts.items() if k != "pts_by_index"}
            n = facts["frames"]
            indices = random.Random(args.seed).sample(range(n), min(args.count, n))
            report["settings"].setdefault("indices", {})[codec] = indices
            seq_keep = {i for i in (0, 1, n // 2, n - 2, n - 1) if 0 <= i < n}
            need_refs = set()
            if "seq" in args.part_list:
                need_refs |= {j for i in seq_keep for j in (i - 1, i, i + 1) if 0 <= j < n}
            if "random" in args.part_list:
                need_refs |= {j for i in indices for j in (i - 1, i, i + 1) if 0 <= j < n}
            refs = {}
            if need_refs:
                bc.progress(
                    f"{codec}: {len(need_refs)} reference frames from the software decoder ..."
                )
                t0 = time.perf_counter()
                refs = reference_strips(path, need_refs)
                bc.progress(f"  in {time.perf_counter() - t0:.1f} s")
            job = Job(str(path), facts, args.videohw_backend, touch, indices)
            kept_by_row: dict = {}

            if "seq" in args.part_list:
                if deadline.allows(NEEDS["seq"]):
                    bc.progress(f"{codec} sequential: {n} frames")
                    CURRENT["store"] = lambda rows, c=codec, n=n: report["sequential"].__setitem__(
                        c, summarise_sequential(rows, n)
                    )
                    rows = measure(
                        wanted(list(SEQ_ROWS)),
                        SEQ_ROWS,
                        job,
                        seq_keep,
                        refs,
                        n,
                        args.repeats,
                        "seq",
                        deadline,
                        args.watchdog_s,
                    )
                    report["sequential"][codec] = summarise_sequential(rows, n)
                    report["skipped"].update(
                        {f"{codec} sequential {t}": r.skipped for t, r in rows.items() if r.skipped}
                    )
                    report["wrong_frames"] |= any(
                        r.check and not r.check["ok"] for r in rows.values() if not r.skipped
                    )
                    kept_by_row.update({f"sequential {t}": r.kept for t, r in rows.items()})
                    CURRENT.clear()
                    save()
                    stop_if_interrupted()
                else:
                    report["skipped"][f"{codec} sequential"] = f"time: {deadline.left():.0f} s left"
                save()

            if "random" in args.part_list:
                if deadline.allows(NEEDS["random"]):
                    bc.progress(f"{codec} random: {len(indices)} indices")
                    n_indices = len(indices)
                    CURRENT["store"] = lambda rows, c=codec, k=n_indices: report[
                        "random"
                    ].__setitem__(c, summarise_random(rows, k))
                    rows = measure(
                        wanted(list(RANDOM_ROWS)),
                        RANDOM_ROWS,
                        job,
                        set(indices),
                        refs,
                        len(indices),
                        args.repeats,
                        "rnd",
                        deadline,
                        args.watchdog_s,
                    )
                    report["random"][codec] = summarise_random(rows, len(indices))
                    report["skipped"].update(
                        {f"{codec} random {t}": r.skipped for t, r in rows.items() if r.skipped}
                    )
                    report["wrong_frames"] |= any(
                        r.check and not r.check["ok"] for r in rows.values() if not r.skipped
                    )
                    kept_by_row.update({f"random {t}": r.kept for t, r in rows.items()})
                    CURRENT.clear()
                    save()
                    stop_if_interrupted()
                else:
                    report["skipped"][f"{codec} random"] = f"time: {deadline.left():.0f} s left"
                save()

            for part in ("sequential", "random"):
                for output in OUTPUTS:
                    mine = [
                        k
                        for k in kept_by_row
                        if k.startswith(f"{part} videohw") and k.endswith(output) and kept_by_row[k]
                    ]
                    theirs = [
                        k
                        for k in kept_by_row
                        if k.startswith(f"{part} pynvc") and k.endswith(output) and kept_by_row[k]
                    ]
                    for a in mine[:1]:
                        for b in theirs:
                            c = compare_rows(kept_by_row[a], kept_by_row[b])
                            if c:
                                report["cross_checks"][f"{codec} {a} vs {b[len(part) + 1 :]}"] = c
            del kept_by_row

            if "ttff" in args.part_list and codec in args.ttff_codecs.split(",") and not ttff_done:
                ttff_done = True
                if deadline.allows(NEEDS["ttff"]):
                    report["ttff"][codec] = run_ttff(args, job, facts, deadline)
                    report["ttff"][codec]["expected_first_frame"] = {
                        "index": 0,
                        "pts": facts["pts_by_index"][0],
                    }
                    save()
                    stop_if_interrupted()
                else:
                    report["skipped"][f"{codec} first frame"] = (
                        f"time: {deadline.left():.0f} s left"
                    )
                save()
    except Interrupted as e:
        report["interrupted"] = str(e)
        bc.progress(f"interrupted: {e}")
    report["versions"] = versions(touch)  # now with the libraries the runs loaded
    save()
    print_report(report, args.report)
    return 1 if report["wrong_frames"] else 0


def run_ttff(args: argparse.Namespace, job: Job, facts: dict, deadline: Deadline) -> dict:
    """Cold and warm time to the first frame; on SIGTERM what was measured so far."""
    global _interrupted
    combos = [c for c in TTFF_COMBOS if c[0] in args.tool_list]
    cold: dict = {f"{t} {o}": [] for t, o in combos}
    warm: dict = {
        f"{t} {o}": [] for t, o in combos + (WARM_EXTRA if "videohw" in args.tool_list else [])
    }
    try:
        _run_ttff(args, job, facts, deadline, combos, cold, warm)
    except Interrupted as e:
        _interrupted = e
    return summarise_ttff(cold, warm)


def _run_ttff(
    args: argparse.Namespace,
    job: Job,
    facts: dict,
    deadline: Deadline,
    combos: list,
    cold: dict,
    warm: dict,
) -> None:
    bc.progress(f"first frame, cold: {len(combos)} x {args.ttff_repeats} child processes")
    for r in range(args.ttff_repeats):
        for tool, output in combos[r % len(combos) :] + combos[: r % len(combos)]:
            key = f"{tool} {output}"
            if cold[key] and "seconds" not in cold[key][-1]:
                continue  # it failed once: not again
            sample = cold_ttff(tool, output, job.path, job.backend, facts)
            cold[key].append(sample)
            bc.progress(
                f"  cold {key:24s} "
                + (
                    f"{1e3 * sample['seconds']:8.1f} ms (import "
                    f"{1e3 * sample.get('import_s', 0):.0f} ms)"
                    if "seconds" in sample
                    else str(sample.get("error") or sample.get("skipped"))
                )
            )
        if not deadline.allows(10):
            break
    bc.progress("first frame, warm (this process)")
    for tool, output in list(
        dict.fromkeys(combos + [c for c in WARM_EXTRA if f"{c[0]} {c[1]}" in warm])
    ):
        key = f"{tool} {output}"
        for r in range(args.ttff_repeats + 1):  # the first is untimed
            gc.collect()
            try:
                WATCHDOG.arm(args.watchdog_s, f"the first frame of '{key}'")
                sample = first_frame(tool, output, job.path, job.backend, facts)
            except Skip as e:
                warm[key].append({"skipped": str(e)})
                break
            except Interrupted:
                raise
            except Exception as e:  # noqa: BLE001
                warm[key].append({"error": first_line(e)})
                break
            finally:
                WATCHDOG.disarm()
            if r:
                warm[key].append(sample)
        got = [1e3 * s["seconds"] for s in warm[key] if "seconds" in s]
        bc.progress(
            f"  warm {key:24s} "
            + (
                f"{statistics.median(got):8.1f} ms"
                if got
                else str(warm[key][-1] if warm[key] else "-")
            )
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--ttff-child":
        sys.exit(ttff_child(sys.argv[2:]))
    sys.exit(main())
