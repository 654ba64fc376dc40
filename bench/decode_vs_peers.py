#!/usr/bin/env python3
"""videohw's decoders against PyNvVideoCodec, on the same elementary streams.

Streams: 1080p H.264 and HEVC (--frames, default 300) made at run time by videohw's software
encoder (libx264 / libx265, CBR, GOP 60, no B-frames) from videohw.synthetic's moving
pattern, or one given Annex-B file (--input FILE --codec h264|hevc).

Rows, each decoding the whole stream (frames are counted and dropped at once):

    tool             mode            what is timed
    videohw-nvdec    metadata        push each access unit + reap: no frame is ever mapped
    videohw-nvdec    native          ... device NV12 surface per frame (Nv12Surface, pooled)
    videohw-nvdec    rgb             ... RGB24 on the GPU, one copy to page-locked host memory
    pynvvideocodec   native          demuxer packets -> Decode(), device NV12 (usedevicememory)
    pynvvideocodec   rgb             the same with OutputColorType.RGB into host memory
    videohw-sw       metadata/native/rgb  libavcodec, threads chosen by the decoder

PyNvVideoCodec has no metadata-only mode: the metadata row's peer ratio is against its
native row (which maps and copies every frame), and says so. Session / decoder creation is
not timed for any tool; the first sequence header (where NVDEC creates its decoder) is.
PyNvVideoCodec reads the stream from a file in /tmp through its demuxer (page cache), the
videohw rows from memory. One untimed run of each row, then --repeats timed runs; the
median fps is shown, with the frame count (a short count flags a decoder that lost frames).

Then 1..8 sessions in parallel (threads, each its own session and stream copy), native
mode: aggregate fps = all frames / wall time, for videohw-nvdec and PyNvVideoCodec.

Where a tool cannot run (no GPU / driver, PyNvVideoCodec not installed) its rows are listed
as skipped with the reason; on a CPU machine only the software rows run.

Run:  python bench/decode_vs_peers.py [--frames 300] [--repeats 3] [--parallel 1,2,4,8]
      python bench/decode_vs_peers.py --input clip.h264 --codec h264
See docs/nvdec.md, "Benchmark".
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

import videohw as vh
from videohw import synthetic

MODES = {
    "metadata": vh.DecodeOutputMode.METADATA_ONLY,
    "native": vh.DecodeOutputMode.NATIVE_SURFACE,
    "rgb": vh.DecodeOutputMode.CPU_RGB,
}
CODECS = {"h264": vh.Codec.H264, "hevc": vh.Codec.HEVC}


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


def encode_stream(codec: str, width: int, height: int, frames: int, workdir: str) -> Stream:
    config = vh.CommonEncodeConfig(
        codec=CODECS[codec],
        width=width,
        height=height,
        gop_length=60,
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
    chunk = 1 << 16
    return finish_stream(
        codec, [data[at : at + chunk] for at in range(0, len(data), chunk)], workdir
    )


def finish_stream(codec: str, units: list, workdir: str) -> Stream:
    path = os.path.join(workdir, f"stream.{codec}")
    with open(path, "wb") as f:
        for unit in units:
            f.write(unit)
    ctl = vh.SessionController("software")
    h = ctl.start_decode_session(vh.CommonDecodeConfig(codec=CODECS[codec]))
    frames = []
    for unit in units:
        ctl.push_bitstream(h, unit)
        frames += ctl.reap(h)
    frames += ctl.close_decode_session(h)
    if not frames:
        raise SystemExit(f"{path}: the software decoder finds no {codec} frame in it")
    return Stream(codec, frames[0].width, frames[0].height, units, path, len(frames))


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
    make_controller: Callable[[], vh.SessionController], stream: Stream, mode: str
) -> Callable[[], int]:
    """A callable that decodes the stream once in a fresh session and returns the frame
    count; the session is created before the clock starts (see run_timed)."""
    ctl = make_controller()
    config = vh.CommonDecodeConfig(codec=CODECS[stream.codec], output=MODES[mode])

    def prepare():
        h = ctl.start_decode_session(config)

        def decode() -> int:
            count = 0
            for unit in stream.access_units:
                ctl.push_bitstream(h, unit)
                count += len(ctl.reap(h))
            count += len(ctl.flush(h))
            return count

        def close() -> None:
            ctl.close_decode_session(h)

        return decode, close

    return prepare


_nvc = None


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


def pnvc_runner(stream: Stream, mode: str, gpu: int = 0, device_rgb: bool = False):
    """PyNvVideoCodec: CreateDemuxer(file) + CreateDecoder; native = device NV12, rgb =
    OutputColorType.RGB in host memory (like videohw's CPU_RGB), or on the device with
    ``device_rgb`` (the fallback where host RGB is refused)."""
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

    def prepare():
        demuxer = nvc.CreateDemuxer(filename=stream.path)
        try:
            decoder = nvc.CreateDecoder(codec=demuxer.GetNvCodecId(), **kwargs)
        except TypeError as e:
            raise Skip(f"CreateDecoder({', '.join(kwargs)}) refused: {e}") from None

        def decode() -> int:
            count = 0
            for packet in demuxer:
                count += len(decoder.Decode(packet))
            return count

        return decode, lambda: None

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


def run_timed(prepare) -> tuple[int, float]:
    decode, close = prepare()
    start = time.perf_counter()
    count = decode()
    seconds = time.perf_counter() - start
    close()
    return count, seconds


def measure(row: Row, make_prepare: Callable[[], object], repeats: int) -> Row:
    try:
        prepare = make_prepare()
        run_timed(prepare)  # untimed: context, JIT, pools, page cache
        for _ in range(repeats):
            count, seconds = run_timed(prepare)
            row.frames = count
            row.runs_fps.append(count / seconds)
        row.fps = statistics.median(row.runs_fps)
    except Skip as e:
        row.skipped = str(e)
    except vh.VideoHwError as e:
        row.skipped = f"{type(e).__name__}: {e}"
    except Exception as e:  # a peer's own error: report it, keep benchmarking the rest
        row.skipped = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    state = f"{row.fps:8.1f} fps, {row.frames} frames" if row.fps else f"skipped: {row.skipped}"
    log(f"  {row.codec:5s} {row.mode:8s} {row.tool:15s} {state}")
    return row


def parallel_fps(make_prepare: Callable[[], object], sessions: int) -> tuple[float, int]:
    """Aggregate fps of ``sessions`` threads, each decoding the stream in its own session."""
    prepares = [make_prepare() for _ in range(sessions)]
    run_timed(prepares[0])  # untimed warm-up: context, pools, page cache
    jobs = [p() for p in prepares]  # sessions created before the clock starts
    counts = [0] * sessions
    errors: list = []
    barrier = threading.Barrier(sessions + 1)

    def work(i: int) -> None:
        decode, _ = jobs[i]
        barrier.wait()
        try:
            counts[i] = decode()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(sessions)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    for _, close in jobs:
        close()
    if errors:
        raise errors[0]
    return sum(counts) / seconds, sum(counts)


# ---- report --------------------------------------------------------------------------------


def ratio(a: Optional[float], b: Optional[float]) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def table(rows: list[Row], expected: dict[str, int]) -> str:
    """One line per row that ran; '!' marks a frame count other than the software
    decoder's (a decoder that lost or invented frames)."""
    by = {(r.codec, r.mode, r.tool): r for r in rows}
    lines = [
        f"{'codec':5s}  {'mode':8s}  {'tool':15s}  {'fps':>9s}  {'frames':>6s}  "
        f"{'vs pynvvideocodec':>17s}  {'vs videohw-sw':>13s}"
    ]
    for r in rows:
        if r.skipped:
            continue
        peer_mode = "native" if r.mode == "metadata" else r.mode
        peer = by.get((r.codec, peer_mode, "pynvvideocodec"))
        sw = by.get((r.codec, r.mode, "videohw-sw"))
        vs_peer = ratio(r.fps, peer.fps if peer else None) if r.tool != "pynvvideocodec" else ""
        if vs_peer not in ("", "-") and peer_mode != r.mode:
            vs_peer += " (its native)"
        vs_sw = ratio(r.fps, sw.fps if sw else None) if r.tool != "videohw-sw" else ""
        frames = f"{r.frames}{'' if r.frames == expected[r.codec] else '!'}"
        lines.append(
            f"{r.codec:5s}  {r.mode:8s}  {r.tool:15s}  {r.fps:9.1f}  {frames:>6s}  "
            f"{vs_peer:>17s}  {vs_sw:>13s}  {r.note}"
        )
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per generated stream")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--codecs", default="h264,hevc")
    parser.add_argument("--input", help="decode this Annex-B file instead (needs --codec)")
    parser.add_argument("--codec", choices=sorted(CODECS), help="codec of --input")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="metadata,native,rgb")
    parser.add_argument(
        "--parallel", default="1,2,4,8", help="session counts for the parallel run ('' skips it)"
    )
    parser.add_argument("--no-software", action="store_true", help="skip the videohw-sw rows")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    width, height = (int(v) for v in args.size.lower().split("x"))
    modes = [m for m in args.modes.split(",") if m]
    counts = [int(n) for n in args.parallel.split(",") if n]
    workdir = tempfile.mkdtemp(prefix="videohw-decode-bench-")
    if args.input:
        if not args.codec:
            parser.error("--input needs --codec")
        streams = [read_stream(args.input, args.codec, workdir)]
    else:
        streams = []
        for codec in (c for c in args.codecs.split(",") if c):
            os.makedirs(os.path.join(workdir, codec), exist_ok=True)
            streams.append(
                encode_stream(codec, width, height, args.frames, os.path.join(workdir, codec))
            )

    try:
        nvidia = nvidia_decode_controller()
        nv_skip = None
    except Skip as e:
        nvidia, nv_skip = None, f"NVDEC unavailable: {e}"
    software = vh.SessionController("software")

    def nv_prepare(stream, mode, own_controller=False):
        """``own_controller``: a controller per session (the parallel run), so sessions share
        nothing above the driver, as PyNvVideoCodec's decoders don't."""
        if nvidia is None:
            raise Skip(nv_skip)
        return videohw_runner(
            nvidia_decode_controller if own_controller else (lambda: nvidia), stream, mode
        )

    rows: list[Row] = []
    for stream in streams:
        log(
            f"{stream.codec} {stream.width}x{stream.height}: {stream.frames} frames, "
            f"{stream.nbytes / 1e6:.1f} MB"
        )
        for mode in modes:
            rows.append(
                measure(
                    Row(stream.codec, mode, "videohw-nvdec"),
                    functools.partial(nv_prepare, stream, mode),
                    args.repeats,
                )
            )
            peer = measure(
                Row(stream.codec, mode, "pynvvideocodec"),
                functools.partial(pnvc_runner, stream, mode),
                args.repeats,
            )
            if mode == "rgb" and peer.skipped and "cannot be imported" not in peer.skipped:
                host_refused = peer.skipped
                peer = measure(
                    Row(stream.codec, mode, "pynvvideocodec", note="device RGB (host RGB refused)"),
                    functools.partial(pnvc_runner, stream, mode, device_rgb=True),
                    args.repeats,
                )
                if peer.skipped:
                    peer.skipped = f"host RGB: {host_refused}; device RGB: {peer.skipped}"
            rows.append(peer)
            if not args.no_software:
                sw_prepare = functools.partial(videohw_runner, lambda: software, stream, mode)
                rows.append(
                    measure(Row(stream.codec, mode, "videohw-sw"), sw_prepare, args.repeats)
                )

    parallel: list[dict] = []
    for stream in streams if counts else []:
        for tool, make in (
            ("videohw-nvdec", functools.partial(nv_prepare, stream, "native", True)),
            ("pynvvideocodec", functools.partial(pnvc_runner, stream, "native")),
        ):
            for n in counts:
                entry = {"codec": stream.codec, "tool": tool, "sessions": n}
                try:
                    entry["fps"], entry["frames"] = parallel_fps(make, n)
                except Skip as e:
                    entry["skipped"] = str(e)
                except Exception as e:  # noqa: BLE001 - a failing peer is a result too
                    entry["skipped"] = f"{type(e).__name__}: {e}"
                parallel.append(entry)
                log(
                    f"  parallel {stream.codec} {tool:15s} x{n}: "
                    + (f"{entry['fps']:.1f} fps" if "fps" in entry else entry["skipped"])
                )
                if "skipped" in entry:
                    break

    print(
        f"\n== decode: videohw vs PyNvVideoCodec and the software decoder "
        f"({', '.join(f'{s.codec} {s.width}x{s.height} {s.frames} frames' for s in streams)}; "
        f"median of {args.repeats}) =="
    )
    print(table(rows, {s.codec: s.frames for s in streams}))
    print("metadata: PyNvVideoCodec has no metadata-only mode; its native row is the peer.")
    for tool, why in sorted({(r.tool, r.skipped) for r in rows if r.skipped}):
        modes_skipped = [r.mode for r in rows if r.tool == tool and r.skipped == why]
        print(f"skipped: {tool} ({', '.join(dict.fromkeys(modes_skipped))}): {why}")
    if parallel:
        print("\n== parallel sessions (threads), native mode: aggregate fps ==")
        print(
            f"{'codec':5s}  {'sessions':>8s}  {'videohw-nvdec':>13s}  {'pynvvideocodec':>14s}"
            f"  {'ratio':>6s}"
        )
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
                print(
                    f"{stream.codec:5s}  {n:8d}  {a or 0:13.1f}  {b or 0:14.1f}  {ratio(a, b):>6s}"
                )
        for e in parallel:
            if "skipped" in e:
                print(f"skipped: parallel {e['codec']} {e['tool']}: {e['skipped']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "rows": [asdict(r) for r in rows],
                    "parallel": parallel,
                    "streams": [
                        {
                            "codec": s.codec,
                            "width": s.width,
                            "height": s.height,
                            "frames": s.frames,
                            "bytes": s.nbytes,
                        }
                        for s in streams
                    ],
                },
                f,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
