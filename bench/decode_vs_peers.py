#!/usr/bin/env python3
"""videohw's decoders against PyNvVideoCodec, the software decoder and PyAV, on the same
elementary streams, fed as a caller holding a file feeds them (issue 12, "Benchmarks").

Streams: 1080p H.264 and HEVC (--frames, default 300) made at run time by videohw's software
encoder (libx264 / libx265, CBR 8 Mb/s, GOP 60; H.264 with --bframes B-frames, default 2, as
in issue 12's files; HEVC without) from videohw.synthetic's moving pattern, or one given
Annex-B file (--input FILE --codec h264|hevc). The many-files rows use --short-files copies
of one short stream (--short-frames, default 30) made the same way.

Tools: videohw-nvdec (NVDEC), videohw-sw (videohw's software backend, libavcodec, threads
chosen by the decoder), PyNvVideoCodec (CreateDemuxer(path) + CreateDecoder, reading the
same bytes from a file in /tmp through its demuxer, page cache), PyAV (CodecContext of the
codec, parse + decode on the same bytes in memory, thread_type AUTO = the frame + slice
threads videohw's software decoder uses). Modes: metadata (no frame mapped), native (device
NV12 for NVDEC, host YUV planes for the software decoders), rgb (RGB24 in host memory:
videohw's CPU_RGB, PyNvVideoCodec's OutputColorType.RGB with usedevicememory=False, PyAV's
to_ndarray(format="rgb24")). An rgb frame's host bytes are read by every tool before the
next (--rgb-touch row: one row summed; copy: the whole frame copied to a new array), so no
tool is credited for a copy it defers. PyNvVideoCodec has no metadata mode and PyAV none
either: the metadata rows' ratios are against their native rows, and say so.

Sections (--sections picks; all by default):

  modes      every output mode x feed (--feeds au,64k,1m,whole): fps of the whole decode,
             the session / decoder created before the clock starts. au = pre-split access
             units (the rows this script always had); 64k / 1m = the file's bytes in 64 KiB
             / 1 MiB pushes; whole = the file in one push. PyNvVideoCodec's rows read the
             file through its demuxer (feed "file"): the peer of every videohw-nvdec feed.
             PyAV parses the same chunks: the peer of videohw-sw at the same feed.
  first      time to first frame, cold session on a warm controller: the session (decoder)
             is created inside the timed span, the first 1 MiB of the file pushed, and the
             first frame waited for (read, in rgb mode). "start" = session creation, "first"
             = from before the creation to the first frame. The rest of the file is decoded
             after the clock stops, and every frame counted (push / reap / flush / close).
  files      --short-files short files one after another: through ONE session (flush
             between files; its creation timed once) against a NEW session per file
             (creation inside the timed span); each file pushed in 1 MiB chunks. fps and
             files/s. PyNvVideoCodec: a new demuxer per file (it is bound to its file) and
             a decoder per file, or one decoder reused for every file, as its SimpleDecoder
             reuses its NvDecoder for a new source (an end-of-stream Decode(PacketData())
             where a file's packets left frames inside; setReconfigParams is only needed
             where the size changes, which it never does here). PyAV: a context per file, or
             one reused (decode(None) + flush_buffers()).
  aggregate  N threads (--parallel), each creating its own session inside the timed span
             and decoding the file from its bytes in 1 MiB chunks, native and rgb;
             aggregate fps = all frames / wall time. videohw sessions share one controller
             (the case whose locks issue 12 asks about); every peer thread has its own
             decoder.
  parallel   the script's earlier parallel rows: sessions created before the clock (each
             on its own controller), pre-split access units, native, NVDEC and
             PyNvVideoCodec only.

One untimed run of each row (context, pools, page cache; in the files section, of one file),
then --repeats timed runs; the median is shown, with the frame count ('!' after a count other
than the software decoder's: a decoder that lost or invented frames). Where a tool cannot run
(no GPU / driver, a peer not installed) its rows are listed as skipped with the reason; on a
CPU machine only the software rows and PyAV run. --json FILE writes every row.

videohw's push may return before the chunk is decoded (a pipelined session) or after (a
synchronous one); the script is right for both: it reaps after every push, waits for the
first frame with reap(handle, 1, timeout), makes room with reap when a push meets
backpressure, and always ends with flush and close, counting what each returns.

Run:  python bench/decode_vs_peers.py [--frames 300] [--repeats 3] [--parallel 1,2,4,7,14,21]
      python bench/decode_vs_peers.py --frames 60 --repeats 1 --parallel 1,2   # CPU, quick
      python bench/decode_vs_peers.py --input clip.h264 --codec h264 --sections modes,first
      # a full run is long (the software rows at 21 threads most): split it where one command
      # has a time limit, e.g. --sections modes,first / files / aggregate,parallel --no-software
PyAV: the peers' venv of bench/requirements-media.txt (.venv-bench, videohw linked in, as
bench/read_vs_peers.py describes); without it the PyAV rows are skipped.
See docs/nvdec.md, "Benchmark".
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

import numpy as np
from _common import on_threads

import videohw as vh
from videohw import synthetic

MODES = {
    "metadata": vh.DecodeOutputMode.METADATA_ONLY,
    "native": vh.DecodeOutputMode.NATIVE_SURFACE,
    "rgb": vh.DecodeOutputMode.CPU_RGB,
}
CODECS = {"h264": vh.Codec.H264, "hevc": vh.Codec.HEVC}
# bytes per push; None: the pre-split access units, 0: the whole file in one push
FEEDS = {"au": None, "64k": 1 << 16, "1m": 1 << 20, "whole": 0}
SECTIONS = ("modes", "first", "files", "aggregate", "parallel")
CHUNK = 1 << 20  # the first-frame, files and aggregate rows push 1 MiB at a time
FIRST_FRAME_WAIT_S = 5.0  # per chunk; a pipelined session's first frame comes long before
PUSH_GIVE_UP_S = 60.0  # a push that meets backpressure this long is a hung session
PEER = {"videohw-nvdec": "pynvvideocodec", "videohw-sw": "pyav"}
GPU_PARALLEL, CPU_PARALLEL = "1,2,4,7,14,21", "1,2"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- streams -------------------------------------------------------------------------------


@dataclass
class Stream:
    codec: str
    width: int
    height: int
    access_units: list  # bytes per access unit, or fixed-size chunks of a given file
    path: str  # the same bytes on disk, for PyNvVideoCodec's demuxer
    frames: int  # frames the software decoder finds in it

    @property
    def nbytes(self) -> int:
        return sum(len(a) for a in self.access_units)

    @functools.cached_property
    def data(self) -> bytes:
        return b"".join(self.access_units)

    def chunks(self, feed: str) -> list:
        """The stream cut as ``feed`` says (see FEEDS), cut before any clock starts."""
        size = FEEDS[feed]
        if size is None:
            return self.access_units
        return chunked(self.data, size or len(self.data))


def chunked(data: bytes, size: int) -> list:
    return [data[at : at + size] for at in range(0, len(data), size)]


def encode_stream(
    codec: str, width: int, height: int, frames: int, workdir: str, bframes: int = 0
) -> Stream:
    config = vh.CommonEncodeConfig(
        codec=CODECS[codec],
        width=width,
        height=height,
        gop_length=60,
        b_frames=bframes if codec == "h264" else 0,
        rate_control=vh.RateControl.cbr(8_000_000),
    )
    ctl = vh.SessionController("software")
    units: list = []
    start = time.perf_counter()
    with ctl.encode_session(config) as s:
        for i in range(frames):
            s.submit(
                vh.Frame(
                    synthetic.pattern_frame(i, width, height, "i420"), vh.PixelFormat.I420, pts=i
                )
            )
            units += [p.data for p in s.reap()]
        units += [p.data for p in s.flush()]
    units += [p.data for p in s.closing_packets]
    log(f"encoded {codec} {width}x{height} x{frames} in {time.perf_counter() - start:.1f} s")
    return finish_stream(codec, units, workdir)


def read_stream(path: str, codec: str, workdir: str) -> Stream:
    with open(path, "rb") as f:
        data = f.read()
    return finish_stream(codec, chunked(data, 1 << 16), workdir)


def finish_stream(codec: str, units: list, workdir: str) -> Stream:
    path = os.path.join(workdir, f"stream.{codec}")
    with open(path, "wb") as f:
        for unit in units:
            f.write(unit)
    ctl = vh.SessionController("software")
    h = ctl.start_decode_session(vh.CommonDecodeConfig(codec=CODECS[codec]))
    frames: list = []

    def keep(got: list) -> int:
        frames.extend(got)
        return len(got)

    decode_chunks(ctl, h, units, keep)
    keep(ctl.close_decode_session(h))
    if not frames:
        raise SystemExit(f"{path}: the software decoder finds no {codec} frame in it")
    return Stream(codec, frames[0].width, frames[0].height, units, path, len(frames))


def file_copies(stream: Stream, count: int) -> list:
    """``count`` paths holding the stream's bytes: the many-files rows' files on disk (for
    PyNvVideoCodec's demuxer; videohw and PyAV take the same bytes from memory)."""
    stem, ext = os.path.splitext(stream.path)
    paths = []
    for i in range(count):
        path = f"{stem}-{i:02d}{ext}"
        shutil.copyfile(stream.path, path)
        paths.append(path)
    return paths


# ---- reading frames ------------------------------------------------------------------------


def touch_row(a: np.ndarray) -> None:
    int(a[a.shape[0] // 2].sum())


def touch_copy(a: np.ndarray) -> None:
    a.copy()


TOUCH = {"row": touch_row, "copy": touch_copy}
touch_rgb = touch_row  # main() sets it from --rgb-touch


def take_videohw(mode: str) -> Callable[[list], int]:
    """Counts a list of videohw frames; in rgb mode reads each one's host RGB first."""
    if mode != "rgb":
        return len

    def take(frames: list) -> int:
        for f in frames:
            touch_rgb(f.rgb)
        return len(frames)

    return take


@functools.lru_cache(maxsize=8)
def _bytes_type(size: int):
    return ctypes.c_uint8 * size


def pnvc_host_rgb(frame, stream: Stream) -> np.ndarray:
    """A PyNvVideoCodec host RGB frame in place (valid until the decoder's next call), read
    as its samples read one: plane 0's address and the frame's shape."""
    try:
        shape = tuple(int(x) for x in frame.shape)
    except Exception:  # noqa: BLE001 - older builds have no shape: the stream's size
        shape = ()
    if len(shape) != 3:
        shape = (stream.height, stream.width, 3)
    ptr = int(frame.GetPtrToPlane(0))
    if not ptr:
        raise RuntimeError("PyNvVideoCodec returned a frame with a null host pointer")
    size = shape[0] * shape[1] * shape[2]
    return np.frombuffer(_bytes_type(size).from_address(ptr), np.uint8).reshape(shape)


def take_pnvc(mode: str, stream: Stream, on_device: bool) -> Callable[[list], int]:
    """Counts PyNvVideoCodec frames; host rgb frames are read first (device RGB, the
    fallback where host RGB is refused, cannot be read without a GPU array library)."""
    if mode != "rgb" or on_device:
        return len

    def take(frames: list) -> int:
        for frame in frames:
            touch_rgb(pnvc_host_rgb(frame, stream))
        return len(frames)

    return take


def take_pyav(mode: str) -> Callable[[list], int]:
    """Counts PyAV frames; rgb converts each (to_ndarray makes the host RGB array)."""
    if mode != "rgb":
        return len

    def take(frames: list) -> int:
        for frame in frames:
            touch_rgb(frame.to_ndarray(format="rgb24"))
        return len(frames)

    return take


# ---- videohw sessions ----------------------------------------------------------------------


def _reap_wait(ctl: vh.SessionController, h, n: int, timeout: float) -> list:
    """Frames of session ``h`` until ``n`` came or ``timeout`` seconds passed. A pipelined
    session's reap(h, n, timeout) waits itself; a synchronous one's returns at once (push
    has decoded the chunk), and one may return early: the short sleeps cover both."""
    deadline = time.perf_counter() + timeout
    frames = list(ctl.reap(h, n, timeout))
    while len(frames) < n:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        time.sleep(min(0.001, left))
        frames += ctl.reap(h, n - len(frames), max(0.0, deadline - time.perf_counter()))
    return frames


def _when_room(ctl: vh.SessionController, h, take: Callable[[list], int], call) -> int:
    """call() (a push or a flush) until it meets no backpressure: BackpressureError takes
    nothing, and comes where a session holds max_ready_frames / max_ready_bytes (a whole
    1080p file in rgb does) or a pipelined session's queues are full; a reap makes room.
    Returns take() of the frames reaped on the way and of those call() returns."""
    count = 0
    deadline = time.perf_counter() + PUSH_GIVE_UP_S
    while True:
        try:
            return count + take(call() or [])
        except vh.BackpressureError:
            if time.perf_counter() > deadline:
                raise
            count += take(ctl.reap(h, 1, 0.05))


def _push(ctl: vh.SessionController, h, chunk, take: Callable[[list], int]) -> int:
    return _when_room(ctl, h, take, functools.partial(ctl.push_bitstream, h, chunk))


def _flush(ctl: vh.SessionController, h, take: Callable[[list], int]) -> int:
    return _when_room(ctl, h, take, functools.partial(ctl.flush, h))


def decode_chunks(ctl: vh.SessionController, h, chunks: list, take) -> int:
    """Pushes every chunk (reaping after each), then flushes: frames taken."""
    count = 0
    for chunk in chunks:
        count += _push(ctl, h, chunk, take)
        count += take(ctl.reap(h))
    return count + _flush(ctl, h, take)


def decode_cold(ctl: vh.SessionController, config, chunks: list, take) -> int:
    """A new session for one file: created, fed, flushed and closed."""
    h = ctl.start_decode_session(config)
    try:
        count = decode_chunks(ctl, h, chunks, take)
    finally:
        closing = ctl.close_decode_session(h)
    return count + take(closing)


def decode_config(stream: Stream, mode: str) -> vh.CommonDecodeConfig:
    return vh.CommonDecodeConfig(codec=CODECS[stream.codec], output=MODES[mode])


# ---- tools ---------------------------------------------------------------------------------


class Skip(Exception):
    """A tool or mode that cannot run here; the message says why."""


def nvidia_decode_controller() -> vh.SessionController:
    try:
        ctl = vh.SessionController("nvidia")
    except vh.BackendUnavailableError as encode_error:
        ctl = vh.SessionController("auto")  # H100/H200: NVDEC without NVENC
        if ctl.decode_backend != "nvidia":
            from videohw import _core

            raise Skip(
                f"{_core.decode_backend_availability()['nvidia']} (encode: {encode_error})"
            ) from None
    ctl.close_decode_session(ctl.start_decode_session(vh.CommonDecodeConfig()))
    return ctl


def videohw_runner(
    make_controller: Callable[[], vh.SessionController],
    stream: Stream,
    mode: str,
    chunks: Optional[list] = None,
):
    """A prepare() for run_timed: a fresh session (created before the clock starts) and a
    decode() pushing ``chunks`` (default: the access units) that returns the frame count."""
    ctl = make_controller()
    config = decode_config(stream, mode)
    chunks = stream.access_units if chunks is None else chunks
    take = take_videohw(mode)

    def prepare():
        h = ctl.start_decode_session(config)
        return (
            lambda: decode_chunks(ctl, h, chunks, take),
            lambda: take(ctl.close_decode_session(h)),
        )

    return prepare


_nvc = None
_av = None


def pynvvideocodec():
    global _nvc
    if _nvc is None:
        try:
            import PyNvVideoCodec as nvc  # noqa: N813
        except Exception as e:  # ImportError, or its driver check's RuntimeError
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise Skip(f"PyNvVideoCodec cannot be imported: {first}") from None
        _nvc = nvc
    return _nvc


def pyav():
    global _av
    if _av is None:
        try:
            import av
        except ImportError as e:
            raise Skip(f"PyAV cannot be imported ({e}): see bench/requirements-media.txt") from None
        _av = av
    return _av


def pnvc_kwargs(mode: str, device_rgb: bool = False, gpu: int = 0) -> dict:
    """CreateDecoder's arguments: native = device NV12, rgb = OutputColorType.RGB in host
    memory (like videohw's CPU_RGB), or on the device with ``device_rgb`` (the fallback
    where host RGB is refused)."""
    nvc = pynvvideocodec()
    if mode == "metadata":
        raise Skip("PyNvVideoCodec has no metadata-only mode")
    kwargs = dict(
        gpuid=gpu, cudacontext=0, cudastream=0, usedevicememory=(mode == "native" or device_rgb)
    )
    if mode == "rgb":
        if not hasattr(nvc, "OutputColorType"):
            raise Skip("this PyNvVideoCodec has no OutputColorType (RGB output)")
        kwargs["outputColorType"] = nvc.OutputColorType.RGB
    return kwargs


def pnvc_create(nvc, codec, kwargs: dict):
    try:
        return nvc.CreateDecoder(codec=codec, **kwargs)
    except TypeError as e:
        raise Skip(f"CreateDecoder({', '.join(kwargs)}) refused: {e}") from None


def pnvc_decode_packets(nvc, decoder, demuxer, take, expected: int) -> int:
    """Every packet of the demuxer through ``decoder``; an explicit end of stream where
    frames are still missing (it also readies a reused decoder for the next file)."""
    count = 0
    for packet in demuxer:
        count += take(decoder.Decode(packet))
    if count < expected:
        count += take(decoder.Decode(nvc.PacketData()))
    return count


def pnvc_runner(stream: Stream, mode: str, device_rgb: bool = False):
    """PyNvVideoCodec: CreateDemuxer(file) + CreateDecoder, both before the clock."""
    kwargs = pnvc_kwargs(mode, device_rgb)
    nvc = pynvvideocodec()
    take = take_pnvc(mode, stream, kwargs["usedevicememory"])

    def prepare():
        demuxer = nvc.CreateDemuxer(filename=stream.path)
        decoder = pnvc_create(nvc, demuxer.GetNvCodecId(), kwargs)

        return lambda: pnvc_decode_packets(nvc, decoder, demuxer, take, stream.frames), lambda: 0

    return prepare


def pyav_context(stream: Stream):
    """A PyAV decoder context set up as videohw's software decoder is (threads chosen by
    libavcodec, frame + slice threading), opened."""
    av = pyav()
    cc = av.CodecContext.create(stream.codec, "r")
    cc.thread_type = "AUTO"
    cc.thread_count = 0
    cc.open()
    return cc


def pyav_decode(cc, chunks: list, take) -> int:
    """parse + decode every chunk, then drain the parser and the decoder."""
    count = 0
    for chunk in chunks:
        for packet in cc.parse(chunk):
            count += take(cc.decode(packet))
    for packet in cc.parse(None):
        count += take(cc.decode(packet))
    return count + take(cc.decode(None))


def pyav_runner(stream: Stream, mode: str, chunks: list):
    if mode == "metadata":
        raise Skip("PyAV has no metadata-only mode")
    take = take_pyav(mode)

    def prepare():
        cc = pyav_context(stream)
        return lambda: pyav_decode(cc, chunks, take), lambda: 0

    return prepare


# ---- timing --------------------------------------------------------------------------------


@dataclass
class Row:
    codec: str
    mode: str
    tool: str
    fps: Optional[float] = None
    frames: Optional[int] = None
    runs_fps: list = field(default_factory=list)
    skipped: Optional[str] = None
    note: str = ""
    feed: str = "au"


def reason(e: Exception) -> str:
    """Why a row could not run: a Skip's message, else the error's type and first line."""
    if isinstance(e, Skip):
        return str(e)
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"


def run_timed(prepare) -> tuple[int, float]:
    decode, close = prepare()
    start = time.perf_counter()
    count = decode()
    seconds = time.perf_counter() - start
    return count + close(), seconds


def measure(row: Row, make_prepare: Callable[[], object], repeats: int) -> Row:
    try:
        prepare = make_prepare()
        run_timed(prepare)  # untimed: context, JIT, pools, page cache
        for _ in range(repeats):
            count, seconds = run_timed(prepare)
            row.frames = count
            row.runs_fps.append(count / seconds)
        row.fps = statistics.median(row.runs_fps)
    except Exception as e:  # a peer's own error too: report it, keep benchmarking the rest
        row.skipped = reason(e)
    state = f"{row.fps:8.1f} fps, {row.frames} frames" if row.fps else f"skipped: {row.skipped}"
    log(f"  {row.codec:5s} {row.feed:5s} {row.mode:8s} {row.tool:15s} {state}")
    return row


def parallel_fps(make_prepare: Callable[[], object], sessions: int) -> tuple[float, int]:
    """Aggregate fps of ``sessions`` threads, each decoding the stream in its own session."""
    prepares = [make_prepare() for _ in range(sessions)]
    run_timed(prepares[0])  # untimed warm-up: context, pools, page cache
    jobs = [p() for p in prepares]  # sessions created before the clock starts
    counts = on_threads([job[0] for job in jobs])[0]
    for _, close in jobs:
        close()
    return counts


# ---- cold starts, many files, many sessions -------------------------------------------------


class FirstFrameClock:
    """Times a cold start: made right before the session is created; started() when it
    exists; watch(take) notes when the first frame has been taken (read)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.start_s: Optional[float] = None
        self.first_s: Optional[float] = None

    def started(self) -> None:
        self.start_s = time.perf_counter() - self.t0

    def watch(self, take: Callable[[list], int]) -> Callable[[list], int]:
        def watched(frames: list) -> int:
            n = take(frames)
            if n and self.first_s is None:
                self.first_s = time.perf_counter() - self.t0
            return n

        return watched

    def result(self, frames: int) -> dict:
        if self.first_s is None:
            raise RuntimeError("no frame came out of the whole stream")
        return {"start_ms": self.start_s * 1e3, "first_ms": self.first_s * 1e3, "frames": frames}


def first_videohw(controller: Callable, stream: Stream, mode: str, cold: bool = False) -> dict:
    """Session created, first 1 MiB pushed, first frame waited for; then the rest. Cold: no
    decoder or buffer an ended session left (vh.release_decoder_cache() first), as for the
    first session of a process; else the previous run's are adopted."""
    ctl = controller()
    if cold:
        vh.release_decoder_cache()
    chunks = stream.chunks("1m")
    config = decode_config(stream, mode)
    clock = FirstFrameClock()
    take = clock.watch(take_videohw(mode))
    h = ctl.start_decode_session(config)
    clock.started()
    try:
        count = _push(ctl, h, chunks[0], take)
        count += take(_reap_wait(ctl, h, 1, FIRST_FRAME_WAIT_S))
        count += decode_chunks(ctl, h, chunks[1:], take)
    finally:
        closing = ctl.close_decode_session(h)
    return clock.result(count + take(closing))


def first_pnvc(stream: Stream, mode: str, device_rgb: bool) -> dict:
    """Demuxer + decoder created, packets decoded until the first frame; then the rest."""
    kwargs = pnvc_kwargs(mode, device_rgb)
    nvc = pynvvideocodec()
    clock = FirstFrameClock()
    take = clock.watch(take_pnvc(mode, stream, kwargs["usedevicememory"]))
    demuxer = nvc.CreateDemuxer(filename=stream.path)
    decoder = pnvc_create(nvc, demuxer.GetNvCodecId(), kwargs)
    clock.started()
    return clock.result(pnvc_decode_packets(nvc, decoder, demuxer, take, stream.frames))


def first_pyav(stream: Stream, mode: str) -> dict:
    """Context created and opened, 1 MiB chunks parsed and decoded; the first frame noted."""
    if mode == "metadata":
        raise Skip("PyAV has no metadata-only mode")
    chunks = stream.chunks("1m")
    clock = FirstFrameClock()
    take = clock.watch(take_pyav(mode))
    cc = pyav_context(stream)
    clock.started()
    return clock.result(pyav_decode(cc, chunks, take))


def files_videohw(controller: Callable, stream: Stream, mode: str, files: list, one: bool) -> int:
    """Every file's chunks, through one session (flush between files) or a new one each."""
    ctl = controller()
    config = decode_config(stream, mode)
    take = take_videohw(mode)
    if not one:
        return sum(decode_cold(ctl, config, chunks, take) for chunks in files)
    h = ctl.start_decode_session(config)
    try:
        count = sum(decode_chunks(ctl, h, chunks, take) for chunks in files)
    finally:
        closing = ctl.close_decode_session(h)
    return count + take(closing)


def files_pnvc(stream: Stream, mode: str, paths: list, reuse: bool, device_rgb: bool) -> int:
    """A demuxer per file (it is bound to one); a decoder per file, or the first reused."""
    kwargs = pnvc_kwargs(mode, device_rgb)
    nvc = pynvvideocodec()
    take = take_pnvc(mode, stream, kwargs["usedevicememory"])
    count, decoder = 0, None
    for path in paths:
        demuxer = nvc.CreateDemuxer(filename=path)
        if decoder is None or not reuse:
            decoder = None  # the old one goes before the new one is made, as a loop would
            decoder = pnvc_create(nvc, demuxer.GetNvCodecId(), kwargs)
        count += pnvc_decode_packets(nvc, decoder, demuxer, take, stream.frames)
    return count


def files_pyav(stream: Stream, mode: str, files: list, reuse: bool) -> int:
    """A context per file, or one reused (flush_buffers after the drain lets it go on)."""
    if mode == "metadata":
        raise Skip("PyAV has no metadata-only mode")
    take = take_pyav(mode)
    count, cc = 0, None
    for chunks in files:
        if cc is None or not reuse:
            cc = pyav_context(stream)
        count += pyav_decode(cc, chunks, take)
        cc.flush_buffers()
    return count


def cold_videohw(controller: Callable, stream: Stream, mode: str, chunks: list) -> int:
    """One whole decode in a session made for it."""
    return files_videohw(controller, stream, mode, [chunks], False)


def cold_pnvc(stream: Stream, mode: str, device_rgb: bool) -> int:
    """One whole decode with a demuxer and decoder made for it."""
    return files_pnvc(stream, mode, [stream.path], False, device_rgb)


def cold_pyav(stream: Stream, mode: str, chunks: list) -> int:
    return files_pyav(stream, mode, [chunks], False)


def pnvc_aggregate_run(stream: Stream, mode: str, sessions: int, device_rgb: bool) -> dict:
    return aggregate_result(functools.partial(cold_pnvc, stream, mode, device_rgb), sessions)


def timed_frames(run: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    frames = run()
    return frames, time.perf_counter() - start


def files_result(run: Callable[[], int], files: int) -> dict:
    frames, seconds = timed_frames(run)
    return {"fps": frames / seconds, "files_per_s": files / seconds, "frames": frames}


def aggregate_result(run: Callable[[], int], sessions: int) -> dict:
    (fps, frames), _ = on_threads([run] * sessions)
    return {"fps": fps, "frames": frames}


def measure_runs(
    entry: dict, run: Callable[[], dict], repeats: int, warmup: Optional[Callable] = None
) -> dict:
    """One untimed run (``warmup``, where a whole run would be long), then ``repeats``: the
    median of each number a run returns, the smallest frame count (a short count in any run
    shows), or why it could not run."""
    try:
        (warmup or run)()
        results = [run() for _ in range(repeats)]
        for key in results[0]:
            values = [r[key] for r in results]
            entry[key] = min(values) if key == "frames" else statistics.median(values)
        entry["runs"] = results
    except Exception as e:  # a peer's own error too: report it, keep benchmarking the rest
        entry["skipped"] = reason(e)
    shown = {k: v for k, v in entry.items() if k not in ("runs", "codec")}
    log(f"  {entry['codec']:5s} " + " ".join(f"{k}={_short(v)}" for k, v in shown.items()))
    return entry


def _short(value) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def measure_pnvc(
    entry: dict,
    mode: str,
    run: Callable[..., dict],
    repeats: int,
    warmup: Optional[Callable[..., object]] = None,
) -> dict:
    """A PyNvVideoCodec row, ``run(device_rgb=...)`` (and ``warmup``, as measure_runs): host
    RGB first; where refused, device RGB, noted (as the modes section does)."""
    for device_rgb in (False, True):
        with_rgb = functools.partial(run, device_rgb=device_rgb)
        first = functools.partial(warmup, device_rgb=device_rgb) if warmup else None
        measure_runs(entry, with_rgb, repeats, first)
        why = entry.get("skipped")
        if device_rgb or mode != "rgb" or not why or "cannot be imported" in why:
            return entry
        del entry["skipped"]
        entry["note"] = f"device RGB (host RGB refused: {why})"
    return entry


# ---- sections ------------------------------------------------------------------------------


@dataclass
class Setup:
    """What every section is given: the streams, the controllers (or why NVDEC is missing)
    and the options."""

    streams: list
    short: dict  # codec -> the short stream of the files section
    nvidia: Optional[vh.SessionController]
    nv_skip: Optional[str]
    software: vh.SessionController
    modes: list
    feeds: list
    counts: list
    repeats: int
    short_files: int
    software_rows: bool  # videohw-sw and PyAV

    def controller(self, tool: str) -> vh.SessionController:
        if tool == "videohw-sw":
            return self.software
        if self.nvidia is None:
            raise Skip(self.nv_skip)
        return self.nvidia

    def getter(self, tool: str) -> Callable[[], vh.SessionController]:
        """The tool's controller, got (or Skip raised) only once a row runs."""
        return functools.partial(self.controller, tool)

    @property
    def videohw_tools(self) -> list:
        return ["videohw-nvdec"] + (["videohw-sw"] if self.software_rows else [])

    def peers(self, mode: str) -> list:
        """Peers that have ``mode`` (neither has a metadata mode: their native row stands
        in, see the tables)."""
        if mode == "metadata":
            return []
        return ["pynvvideocodec"] + (["pyav"] if self.software_rows else [])


def run_modes(s: Setup) -> list:
    """Every mode x feed for the videohw tools, sessions made before the clock; PyNvVideoCodec
    once per mode (its demuxer reads the file), PyAV per mode and feed."""
    rows: list = []
    for stream in s.streams:
        log(
            f"{stream.codec} {stream.width}x{stream.height}: {stream.frames} frames, "
            f"{stream.nbytes / 1e6:.1f} MB"
        )
        for mode in s.modes:
            for feed in s.feeds:
                chunks = stream.chunks(feed)
                for tool in s.videohw_tools:
                    make = functools.partial(videohw_runner, s.getter(tool), stream, mode, chunks)
                    rows.append(measure(Row(stream.codec, mode, tool, feed=feed), make, s.repeats))
                if "pyav" in s.peers(mode):
                    make = functools.partial(pyav_runner, stream, mode, chunks)
                    rows.append(
                        measure(Row(stream.codec, mode, "pyav", feed=feed), make, s.repeats)
                    )
            if "pynvvideocodec" in s.peers(mode):
                rows.append(measure_pnvc_modes(stream, mode, s.repeats))
    return rows


def measure_pnvc_modes(stream: Stream, mode: str, repeats: int) -> Row:
    peer = measure(
        Row(stream.codec, mode, "pynvvideocodec", feed="file"),
        functools.partial(pnvc_runner, stream, mode),
        repeats,
    )
    if mode == "rgb" and peer.skipped and "cannot be imported" not in peer.skipped:
        host_refused = peer.skipped
        peer = measure(
            Row(
                stream.codec,
                mode,
                "pynvvideocodec",
                note="device RGB (host RGB refused)",
                feed="file",
            ),
            functools.partial(pnvc_runner, stream, mode, device_rgb=True),
            repeats,
        )
        if peer.skipped:
            peer.skipped = f"host RGB: {host_refused}; device RGB: {peer.skipped}"
    return peer


def run_first(s: Setup) -> list:
    entries: list = []
    for stream in s.streams:
        for mode in s.modes:
            for tool in s.videohw_tools:
                for cold, note in ((True, "cold (caches released)"), (False, "warm")):
                    run = functools.partial(first_videohw, s.getter(tool), stream, mode, cold)
                    entry = _entry(stream, mode, tool, note=note)
                    entries.append(measure_runs(entry, run, s.repeats))
            for tool in s.peers(mode):
                entry = _entry(stream, mode, tool)
                if tool == "pyav":
                    run = functools.partial(first_pyav, stream, mode)
                    entries.append(measure_runs(entry, run, s.repeats))
                else:
                    run = functools.partial(first_pnvc, stream, mode)
                    entries.append(measure_pnvc(entry, mode, run, s.repeats))
    return entries


def _entry(stream: Stream, mode: str, tool: str, **more) -> dict:
    return {"codec": stream.codec, "mode": mode, "tool": tool, **more}


def run_files(s: Setup) -> list:
    """One session for every file against a new session per file, and the peers' same."""
    entries: list = []
    n = s.short_files
    for stream in s.short.values():
        files = [stream.chunks("1m")] * n  # the same bytes n times: see the module doc
        paths = file_copies(stream, n)
        for mode in (m for m in s.modes if m != "metadata"):
            for way, one in (("one session", True), ("per file", False)):
                for tool in s.videohw_tools + s.peers(mode):
                    entry = _entry(stream, mode, tool, way=way)
                    run = functools.partial(files_run, tool, s, stream, mode, files, paths, one)
                    # the untimed round decodes one file: all of them would double the time
                    timed, warmup = functools.partial(run, n), functools.partial(run, 1)
                    if tool == "pynvvideocodec":
                        measure_pnvc(entry, mode, timed, s.repeats, warmup)
                    else:
                        measure_runs(entry, timed, s.repeats, warmup)
                    entries.append(entry)
    return entries


def files_run(
    tool: str,
    s: Setup,
    stream: Stream,
    mode: str,
    files: list,
    paths: list,
    one: bool,
    count: int,
    device_rgb: bool = False,
) -> dict:
    """One timed pass of the files section for ``tool`` over the first ``count`` files."""
    if tool == "pyav":
        job = functools.partial(files_pyav, stream, mode, files[:count], one)
    elif tool == "pynvvideocodec":
        job = functools.partial(files_pnvc, stream, mode, paths[:count], one, device_rgb)
    else:
        job = functools.partial(files_videohw, s.getter(tool), stream, mode, files[:count], one)
    return files_result(job, count)


def run_aggregate(s: Setup) -> list:
    """N threads, each a new session decoding the whole file from 1 MiB chunks."""
    entries: list = []
    for stream in s.streams:
        chunks = stream.chunks("1m")
        for mode in (m for m in s.modes if m != "metadata"):
            for tool in s.videohw_tools + s.peers(mode):
                if tool == "pyav":
                    job = functools.partial(cold_pyav, stream, mode, chunks)
                elif tool != "pynvvideocodec":
                    job = functools.partial(cold_videohw, s.getter(tool), stream, mode, chunks)
                for n in s.counts:
                    entry = _entry(stream, mode, tool, sessions=n)
                    if tool == "pynvvideocodec":
                        run = functools.partial(pnvc_aggregate_run, stream, mode, n)
                        measure_pnvc(entry, mode, run, s.repeats)
                    else:
                        measure_runs(entry, functools.partial(aggregate_result, job, n), s.repeats)
                    entries.append(entry)
                    if "skipped" in entry:
                        break  # more sessions will not fare better
    return entries


def run_parallel(s: Setup) -> list:
    """The earlier parallel rows: sessions made before the clock, access units, native."""

    def nv_prepare(stream):
        """A controller per session, so sessions share nothing above the driver, as
        PyNvVideoCodec's decoders don't."""
        if s.nvidia is None:
            raise Skip(s.nv_skip)
        return videohw_runner(nvidia_decode_controller, stream, "native")

    parallel: list = []
    for stream in s.streams:
        for tool, make in (
            ("videohw-nvdec", functools.partial(nv_prepare, stream)),
            ("pynvvideocodec", functools.partial(pnvc_runner, stream, "native")),
        ):
            for n in s.counts:
                entry = {"codec": stream.codec, "tool": tool, "sessions": n}
                try:
                    entry["fps"], entry["frames"] = parallel_fps(make, n)
                except Exception as e:  # noqa: BLE001 - a failing peer is a result too
                    entry["skipped"] = reason(e)
                parallel.append(entry)
                log(
                    f"  parallel {stream.codec} {tool:15s} x{n}: "
                    + (f"{entry['fps']:.1f} fps" if "fps" in entry else entry["skipped"])
                )
                if "skipped" in entry:
                    break
    return parallel


# ---- report --------------------------------------------------------------------------------


def ratio(a: Optional[float], b: Optional[float]) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def counted(frames: Optional[int], expected: int) -> str:
    """The frame count, '!' after one other than the software decoder's."""
    return f"{frames}{'' if frames == expected else '!'}"


def peer_of(tool: str, mode: str) -> tuple[Optional[str], str]:
    """(the peer tool, the peer's mode): neither peer has a metadata mode, so a metadata
    row is held against the peer's native row."""
    return PEER.get(tool), ("native" if mode == "metadata" else mode)


def peer_note(mode: str, peer_mode: str) -> str:
    return " (its native)" if peer_mode != mode else ""


def modes_table(rows: list, expected: dict) -> str:
    """One line per row that ran. PyNvVideoCodec reads the file itself (feed 'file'): it is
    the peer of every videohw-nvdec feed; PyAV parses the same chunks as videohw-sw."""
    by = {(r.codec, r.feed, r.mode, r.tool): r for r in rows}
    lines = [
        f"{'codec':5s}  {'feed':5s}  {'mode':8s}  {'tool':15s}  {'fps':>9s}  {'frames':>6s}  "
        f"{'vs peer':>26s}  {'vs videohw-sw':>13s}"
    ]
    for r in rows:
        if r.skipped:
            continue
        peer, peer_mode = peer_of(r.tool, r.mode)
        vs_peer = ""
        if peer:
            other = by.get(
                (r.codec, "file" if peer == "pynvvideocodec" else r.feed, peer_mode, peer)
            )
            got = ratio(r.fps, other.fps if other else None)
            vs_peer = f"{got} {peer}{peer_note(r.mode, peer_mode)}" if got != "-" else "-"
        sw = by.get((r.codec, r.feed, r.mode, "videohw-sw"))
        vs_sw = ratio(r.fps, sw.fps if sw else None) if r.tool == "videohw-nvdec" else ""
        lines.append(
            f"{r.codec:5s}  {r.feed:5s}  {r.mode:8s}  {r.tool:15s}  {r.fps:9.1f}  "
            f"{counted(r.frames, expected[r.codec]):>6s}  {vs_peer:>26s}  {vs_sw:>13s}  {r.note}"
        )
    return "\n".join(lines)


def _find(entries: list, **match) -> Optional[dict]:
    for e in entries:
        if all(e.get(k) == v for k, v in match.items()) and "skipped" not in e:
            return e
    return None


def _vs_peer(entries: list, e: dict, key: str, **same) -> str:
    """e[key] against its peer's (metadata: the peer's native row), with the peer named."""
    peer, peer_mode = peer_of(e["tool"], e["mode"])
    if not peer:
        return ""
    other = _find(entries, codec=e["codec"], mode=peer_mode, tool=peer, **same)
    got = ratio(e[key], other[key] if other else None)
    return f"{got} {peer}{peer_note(e['mode'], peer_mode)}" if got != "-" else "-"


def first_table(entries: list, expected: dict) -> str:
    lines = [
        f"{'codec':5s}  {'mode':8s}  {'tool':15s}  {'start ms':>9s}  {'first ms':>9s}  "
        f"{'frames':>6s}  {'first frame: time / peer':>30s}"
    ]
    for e in entries:
        if "skipped" in e:
            continue
        lines.append(
            f"{e['codec']:5s}  {e['mode']:8s}  {e['tool']:15s}  {e['start_ms']:9.1f}  "
            f"{e['first_ms']:9.1f}  {counted(e['frames'], expected[e['codec']]):>6s}  "
            f"{_vs_peer(entries, e, 'first_ms'):>30s}  {e.get('note', '')}"
        )
    return "\n".join(lines)


def files_table(entries: list, expected: dict) -> str:
    lines = [
        f"{'codec':5s}  {'mode':6s}  {'way':11s}  {'tool':15s}  {'fps':>8s}  {'files/s':>8s}  "
        f"{'frames':>6s}  {'vs peer':>26s}  {'one / per file':>14s}"
    ]
    for e in entries:
        if "skipped" in e:
            continue
        per_file = _find(entries, codec=e["codec"], mode=e["mode"], tool=e["tool"], way="per file")
        gain = ratio(e["fps"], per_file["fps"] if per_file else None)
        lines.append(
            f"{e['codec']:5s}  {e['mode']:6s}  {e['way']:11s}  {e['tool']:15s}  {e['fps']:8.1f}  "
            f"{e['files_per_s']:8.1f}  {counted(e['frames'], expected[e['codec']]):>6s}  "
            f"{_vs_peer(entries, e, 'fps', way=e['way']):>26s}  "
            f"{gain if e['way'] == 'one session' else '':>14s}  {e.get('note', '')}"
        )
    return "\n".join(lines)


def aggregate_table(entries: list, expected: dict) -> str:
    """One line per codec, mode and session count: each tool's aggregate fps, and videohw's
    ratio to its peer."""
    tools = list(dict.fromkeys(e["tool"] for e in entries))
    head = f"{'codec':5s}  {'mode':6s}  {'sessions':>8s}"
    head += "".join(f"  {t:>15s}" for t in tools)
    head += "".join(f"  {t + ' / peer':>22s}" for t in tools if t in PEER)
    lines = [head]
    keys = dict.fromkeys((e["codec"], e["mode"], e["sessions"]) for e in entries)
    for codec, mode, n in keys:
        got = {t: _find(entries, codec=codec, mode=mode, sessions=n, tool=t) for t in tools}
        if not any(got.values()):
            continue
        line = f"{codec:5s}  {mode:6s}  {n:8d}"
        for t in tools:
            e = got[t]
            text = (
                f"{e['fps']:.1f}" + ("" if e["frames"] == expected[codec] * n else "!")
                if e
                else "-"
            )
            line += f"  {text:>15s}"
        for t in (t for t in tools if t in PEER):
            a, b = got.get(t), got.get(PEER[t])
            line += f"  {ratio(a['fps'] if a else None, b['fps'] if b else None):>22s}"
        lines.append(line)
    return "\n".join(lines)


def skipped_lines(entries: list, what: str) -> list:
    """One line per tool and reason."""
    lines = []
    groups: dict = {}
    for e in entries:
        if "skipped" in e and e["skipped"]:
            groups.setdefault((e["tool"], e["skipped"]), []).append(e.get("mode", ""))
    for (tool, why), modes in groups.items():
        modes_text = ", ".join(m for m in dict.fromkeys(modes) if m)
        print_modes = f" ({modes_text})" if modes_text else ""
        lines.append(f"skipped: {what} {tool}{print_modes}: {why}")
    return lines


def parallel_table(parallel: list, streams: list, counts: list) -> str:
    lines = [
        f"{'codec':5s}  {'sessions':>8s}  {'videohw-nvdec':>13s}  {'pynvvideocodec':>14s}"
        f"  {'ratio':>6s}"
    ]
    for stream in streams:
        for n in counts:
            got = {
                e["tool"]: e.get("fps")
                for e in parallel
                if e["codec"] == stream.codec and e["sessions"] == n
            }
            a, b = got.get("videohw-nvdec"), got.get("pynvvideocodec")
            if a is None and b is None:
                continue
            lines.append(
                f"{stream.codec:5s}  {n:8d}  {a or 0:13.1f}  {b or 0:14.1f}  {ratio(a, b):>6s}"
            )
    return "\n".join(lines)


def stream_facts(s: Stream) -> dict:
    return {
        "codec": s.codec,
        "width": s.width,
        "height": s.height,
        "frames": s.frames,
        "bytes": s.nbytes,
    }


def print_report(s: Setup, args, results: dict) -> None:
    streams = s.streams
    expected = {st.codec: st.frames for st in streams}
    described = ", ".join(f"{st.codec} {st.width}x{st.height} {st.frames} frames" for st in streams)
    rows = results.get("rows")
    if rows is not None:
        print(
            f"\n== decode: videohw vs PyNvVideoCodec, the software decoder and PyAV "
            f"({described}; sessions made before the clock; median of {args.repeats}) =="
        )
        print(modes_table(rows, expected))
        print(
            "feeds: au = pre-split access units, 64k / 1m = the file's bytes in 64 KiB / 1 MiB "
            "pushes, whole = one push, file = PyNvVideoCodec's demuxer on the file."
        )
        print("metadata: neither peer has a metadata-only mode; its native row is the peer.")
        for line in skipped_lines([asdict(r) for r in rows], "modes"):
            print(line)
    if "first" in results:
        print(
            f"\n== time to first frame: session made inside the timed span on a warm "
            f"controller, first 1 MiB pushed ({described}; median of {args.repeats}) =="
        )
        print(first_table(results["first"], expected))
        print("start: the session / decoder made; first: from before that to the first frame.")
        print("\n".join(skipped_lines(results["first"], "first frame")))
    if "files" in results:
        short = {c: st.frames * s.short_files for c, st in s.short.items()}
        facts = ", ".join(f"{c} {st.frames} frames" for c, st in s.short.items())
        print(
            f"\n== {s.short_files} short files ({facts} each, 1 MiB pushes): one session "
            f"(flush between files) vs a new session per file, creation timed ==",
        )
        print(files_table(results["files"], short))
        print("\n".join(skipped_lines(results["files"], "files")))
    if "aggregate" in results:
        print(
            "\n== aggregate: N threads, each a new session (made inside the timed span) "
            "decoding the file from 1 MiB chunks: all frames / wall time, fps =="
        )
        print(aggregate_table(results["aggregate"], expected))
        print("\n".join(skipped_lines(results["aggregate"], "aggregate")))
    if results.get("parallel"):
        print(
            "\n== parallel sessions (threads, made before the clock), native mode: aggregate fps =="
        )
        if any("fps" in e for e in results["parallel"]):
            print(parallel_table(results["parallel"], streams, s.counts))
        for e in results["parallel"]:
            if "skipped" in e:
                print(f"skipped: parallel {e['codec']} {e['tool']}: {e['skipped']}")


def make_streams(args, workdir: str, width: int, height: int, frames: int, name: str) -> list:
    streams = []
    for codec in (c for c in args.codecs.split(",") if c):
        folder = os.path.join(workdir, name, codec)
        os.makedirs(folder, exist_ok=True)
        streams.append(encode_stream(codec, width, height, frames, folder, args.bframes))
    return streams


def parse_list(text: str, allowed, what: str) -> list:
    items = [v for v in text.split(",") if v]
    wrong = [v for v in items if v not in allowed]
    if wrong:
        raise SystemExit(f"--{what}: {', '.join(wrong)} not in {', '.join(allowed)}")
    return items


def main(argv: Optional[list[str]] = None) -> int:
    global touch_rgb
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per generated stream")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--codecs", default="h264,hevc")
    parser.add_argument("--bframes", type=int, default=2, help="B-frames of the H.264 streams")
    parser.add_argument("--input", help="decode this Annex-B file instead (needs --codec)")
    parser.add_argument("--codec", choices=sorted(CODECS), help="codec of --input")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="metadata,native,rgb")
    parser.add_argument("--feeds", default=",".join(FEEDS), help="modes section's feeds")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"any of {','.join(SECTIONS)}"
    )
    parser.add_argument(
        "--parallel",
        help=f"session counts of the aggregate and parallel sections ('' skips them; "
        f"default {GPU_PARALLEL} with NVDEC, else {CPU_PARALLEL})",
    )
    parser.add_argument("--short-files", type=int, default=20, help="files of the files section")
    parser.add_argument("--short-frames", type=int, default=30, help="frames per short file")
    parser.add_argument(
        "--rgb-touch",
        choices=sorted(TOUCH),
        default="row",
        help="how every tool reads an rgb frame: one row summed, or the frame copied",
    )
    parser.add_argument("--no-software", action="store_true", help="skip videohw-sw and PyAV")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    touch_rgb = TOUCH[args.rgb_touch]
    width, height = (int(v) for v in args.size.lower().split("x"))
    modes = parse_list(args.modes, MODES, "modes")
    feeds = parse_list(args.feeds, FEEDS, "feeds")
    sections = parse_list(args.sections, SECTIONS, "sections")
    workdir = tempfile.mkdtemp(prefix="videohw-decode-bench-")
    if args.input:
        if not args.codec:
            parser.error("--input needs --codec")
        streams = [read_stream(args.input, args.codec, workdir)]
        args.codecs = args.codec
    else:
        streams = make_streams(args, workdir, width, height, args.frames, "main")
    short = {}
    if "files" in sections:
        size = (streams[0].width, streams[0].height) if args.input else (width, height)
        made = make_streams(args, workdir, *size, args.short_frames, "short")
        short = {st.codec: st for st in made}

    try:
        nvidia, nv_skip = nvidia_decode_controller(), None
    except Skip as e:
        nvidia, nv_skip = None, f"NVDEC unavailable: {e}"
    if args.parallel is None:
        args.parallel = GPU_PARALLEL if nvidia is not None else CPU_PARALLEL
    setup = Setup(
        streams=streams,
        short=short,
        nvidia=nvidia,
        nv_skip=nv_skip,
        software=vh.SessionController("software"),
        modes=modes,
        feeds=feeds,
        counts=[int(n) for n in args.parallel.split(",") if n],
        repeats=args.repeats,
        short_files=args.short_files,
        software_rows=not args.no_software,
    )

    results: dict = {}
    if "modes" in sections:
        results["rows"] = run_modes(setup)
    if "first" in sections:
        log("time to first frame")
        results["first"] = run_first(setup)
    if "files" in sections:
        log(f"{args.short_files} short files")
        results["files"] = run_files(setup)
    if "aggregate" in sections and setup.counts:
        log("aggregate")
        results["aggregate"] = run_aggregate(setup)
    if "parallel" in sections and setup.counts:
        log("parallel (sessions before the clock)")
        results["parallel"] = run_parallel(setup)

    print_report(setup, args, results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "rows": [asdict(r) for r in results.get("rows", [])],
                    "first_frame": results.get("first", []),
                    "files": results.get("files", []),
                    "aggregate": results.get("aggregate", []),
                    "parallel": results.get("parallel", []),
                    "streams": [stream_facts(st) for st in streams],
                    "short_streams": [stream_facts(st) for st in short.values()],
                    "short_files": args.short_files,
                    "options": vars(args),
                },
                f,
                indent=1,
            )
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
