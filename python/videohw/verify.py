"""Independent verification of an encoded elementary stream with Debian's ffprobe / ffmpeg.

Nothing here uses videohw's own bitstream code or the compiled core: the stream is decoded
by the ffmpeg CLI tools and compared with what the encode was asked to produce.

- :func:`probe_frames` -> one :class:`FrameInfo` per decoded picture, in output
  (presentation) order, which is the order the frames were submitted in.
- :func:`expected_keyframes` -> where the contract puts keyframes.
- ``check_*`` functions -> one :class:`CheckResult` each; they take plain lists so callers
  can check a slice of a stream (for example one session generation) on its own.
- :func:`measure_psnr` -> ffmpeg's ``psnr`` filter against the source, which is a raw file
  or the synthetic pattern regenerated and streamed into ffmpeg's stdin.
- :func:`verify_stream` runs every check and returns a :class:`VerifyReport`.
- :func:`verify_switched_stream` checks a stream with session switches generation by
  generation; :func:`verify_segments` an encode cut into several files.
- Containers (MP4, Matroska, MPEG-TS; :func:`is_container` tells them from an elementary
  stream by their first bytes) get :func:`verify_container` on top: the codec of the stream,
  timestamps (:func:`check_timestamps`), duration (:func:`check_duration`) and a decode by
  the ffmpeg tool that prints nothing (:func:`check_playback`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import IO, Any, Callable, Optional, Union

from . import synthetic as _synthetic

# ffmpeg's rawvideo pix_fmt for each videohw input format.
FFMPEG_PIX_FMT = {
    "argb8888": "argb",
    "bgra": "bgra",
    "rgb24": "rgb24",
    "nv12": "nv12",
    "i420": "yuv420p",
}
# Elementary-stream demuxers by codec value.
_DEMUXER = {"h264": "h264", "hevc": "hevc"}
_EXTENSIONS = {
    ".h264": "h264",
    ".264": "h264",
    ".avc": "h264",
    ".hevc": "hevc",
    ".h265": "hevc",
    ".265": "hevc",
}

PathLike = Union[str, "os.PathLike[str]"]


class ToolNotFoundError(RuntimeError):
    """ffprobe or ffmpeg is not installed."""


class ProbeError(RuntimeError):
    """The decoder failed or reported errors in the stream."""


def find_tool(name: str) -> str:
    """Absolute path of ``ffprobe`` / ``ffmpeg`` on PATH, or a clear error."""
    path = shutil.which(name)
    if not path:
        raise ToolNotFoundError(
            f"{name} not found on PATH; --verify decodes the output with the ffmpeg command-line "
            f"tools (Debian/Ubuntu: apt-get install ffmpeg)"
        )
    return path


def codec_name(codec: object, path: Optional[PathLike] = None) -> Optional[str]:
    """``"h264"`` / ``"hevc"`` from a ``Codec``, its value, or the file extension; None when
    unknown (ffprobe then guesses)."""
    if codec is not None:
        name = str(getattr(codec, "value", codec)).lower()
        if name not in _DEMUXER:
            raise ValueError(f"codec {codec!r}; expected h264 or hevc")
        return name
    if path is not None:
        return _EXTENSIONS.get(os.path.splitext(os.fspath(path))[1].lower())
    return None


def _format_args(codec: Optional[str]) -> list[str]:
    return ["-f", _DEMUXER[codec]] if codec else []


# First bytes of an MP4/MOV box (the type after the 4-byte size) that open a file.
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"styp", b"uuid"}
_START_CODES = (b"\x00\x00\x01", b"\x00\x00\x00\x01")


def is_container(path: PathLike) -> bool:
    """True when the file begins the way MP4/MOV, Matroska or MPEG-TS files do (TS: 188-byte
    packets, or 192-byte M2TS ones), judged by its bytes, not its name. An elementary
    stream (or an unreadable file) is not a container."""
    try:
        with open(path, "rb") as f:
            head = f.read(200)
    except OSError:
        return False
    if head[4:8] in _MP4_BOXES or head[:4] == b"\x1a\x45\xdf\xa3":
        return True
    if head.startswith(_START_CODES):
        return False
    return any(len(head) > at + 188 and head[at] == 0x47 == head[at + 188] for at in (0, 4))


def _demux_args(path: PathLike, codec: Optional[str]) -> list[str]:
    """An elementary stream is read with its codec's demuxer (ffmpeg cannot always guess
    it); a container is left to ffmpeg's own probing."""
    return [] if is_container(path) else _format_args(codec)


# ------------------------------------------------------------------------------------------
# Decoding


@dataclass(frozen=True)
class FrameInfo:
    """One decoded picture as ffprobe reports it."""

    index: int  # position in output (presentation) order
    width: int
    height: int
    key_frame: bool
    pict_type: str  # "I", "P", "B" or "?"


def probe_frames(path: PathLike, codec: object = None) -> list[FrameInfo]:
    """Every decoded picture of an Annex-B H.264/HEVC stream, or of the first video stream
    of a container, in presentation order.

    Raises :class:`ProbeError` when ffprobe fails or the decoder logs any error: a broken
    stream must not pass as a concealed or shortened frame list.
    """
    name = codec_name(codec, path)
    cmd = [
        find_tool("ffprobe"),
        "-v",
        "error",
        *_demux_args(path, name),
        "-i",
        os.path.abspath(path),
        "-select_streams",
        "v:0",
        "-show_entries",
        "frame=width,height,key_frame,pict_type",
        "-of",
        "json",
    ]
    proc = subprocess.run(cmd, capture_output=True)
    errors = proc.stderr.decode(errors="replace").strip()
    if proc.returncode != 0 or errors:
        raise ProbeError(
            f"ffprobe ({proc.returncode}) on {os.fspath(path)}: {_tail(errors) or 'no message'}"
        )
    frames = json.loads(proc.stdout or b"{}").get("frames", [])
    return [
        FrameInfo(
            index=i,
            width=int(f["width"]),
            height=int(f["height"]),
            key_frame=bool(int(f["key_frame"])),
            pict_type=str(f.get("pict_type", "?")),
        )
        for i, f in enumerate(frames)
    ]


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


# ------------------------------------------------------------------------------------------
# Expectations and checks


def expected_keyframes(n_frames: int, gop_length: int, forced: Iterable[int] = ()) -> list[int]:
    """Keyframe indices per the contract: frame 0, every forced index, and every frame
    ``gop_length`` frames after the previous keyframe (a forced keyframe restarts the count).
    Forced indices at or beyond ``n_frames`` are never submitted and so ignored."""
    if gop_length < 1:
        raise ValueError(f"gop_length {gop_length}; must be >= 1")
    forced = set(forced)
    if any(i < 0 for i in forced):
        raise ValueError(f"forced keyframe indices must be >= 0: {sorted(forced)}")
    keys: list[int] = []
    for i in range(n_frames):
        if not keys or i in forced or i - keys[-1] >= gop_length:
            keys.append(i)
    return keys


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    message: str
    data: dict = field(default_factory=dict)

    @property
    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'} {self.name}: {self.message}"


def short_list(indices: Sequence[int], limit: int = 12) -> str:
    """`[0, 45, ...]` for reports, cut after `limit` items."""
    items = [str(i) for i in indices[:limit]]
    if len(indices) > limit:
        items.append(f"... ({len(indices)} in all)")
    return "[" + ", ".join(items) + "]"


def check_frame_count(frames: Sequence[FrameInfo], expected: int) -> CheckResult:
    got = len(frames)
    return CheckResult(
        "frames",
        got == expected,
        f"{got} decoded, {expected} submitted",
        {"decoded": got, "expected": expected},
    )


def check_frame_sizes(frames: Sequence[FrameInfo], width: int, height: int) -> CheckResult:
    wrong = [f for f in frames if (f.width, f.height) != (width, height)]
    if not frames:
        return CheckResult("size", False, f"no decoded frames to compare with {width}x{height}")
    if not wrong:
        return CheckResult(
            "size",
            True,
            f"all {len(frames)} frames {width}x{height}",
            {"width": width, "height": height},
        )
    sample = ", ".join(f"#{f.index} {f.width}x{f.height}" for f in wrong[:5])
    return CheckResult(
        "size",
        False,
        f"{len(wrong)} of {len(frames)} frames not {width}x{height} ({sample})",
        {"width": width, "height": height, "wrong": [f.index for f in wrong]},
    )


def check_keyframes(frames: Sequence[FrameInfo], expected: Iterable[int]) -> CheckResult:
    """The decoder's keyframes (``key_frame`` = 1) are exactly ``expected`` (indices as in
    ``FrameInfo.index``) and every one of them is an I picture."""
    want = sorted(set(expected))
    got = [f.index for f in frames if f.key_frame]
    not_intra = [f.index for f in frames if f.key_frame and f.pict_type != "I"]
    data = {"decoded": got, "expected": want}
    if got == want and not not_intra:
        return CheckResult("keyframes", True, f"{len(got)} at {short_list(got)} (all I)", data)
    problems = []
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    if missing:
        problems.append(f"missing {short_list(missing)}")
    if extra:
        problems.append(f"unexpected {short_list(extra)}")
    if not_intra:
        problems.append(f"not I pictures {short_list(not_intra)}")
    return CheckResult(
        "keyframes",
        False,
        f"decoded at {short_list(got)}, expected {short_list(want)}: " + "; ".join(problems),
        data,
    )


# ------------------------------------------------------------------------------------------
# PSNR


@dataclass(frozen=True)
class RawSource:
    """The uncompressed source of an encode, as ffmpeg reads it.

    Exactly one of ``path`` (a raw file) and ``frames`` (a callable returning an iterator
    of frame buffers, streamed into ffmpeg's stdin) is set.
    """

    width: int
    height: int
    format: str  # videohw input format value ("argb8888", ...)
    fps: Fraction
    path: Optional[str] = None
    frames: Optional[Callable[[], Iterator[Any]]] = None

    @classmethod
    def from_file(
        cls,
        path: PathLike,
        fmt: object,
        width: int,
        height: int,
        fps: Union[Fraction, int, str] = 30,
    ) -> RawSource:
        return cls(width, height, _synthetic.format_name(fmt), Fraction(fps), path=os.fspath(path))

    @classmethod
    def synthetic(
        cls,
        fmt: object,
        width: int,
        height: int,
        n_frames: int,
        fps: Union[Fraction, int, str] = 30,
    ) -> RawSource:
        """Frames 0..n_frames-1 of :mod:`videohw.synthetic`'s pattern, regenerated."""
        name = _synthetic.format_name(fmt)

        def frames() -> Iterator[Any]:
            gen = _synthetic.generator(width, height, name)
            buf = gen.frame(0)
            for i in range(n_frames):
                yield gen.frame(i, out=buf)

        return cls(width, height, name, Fraction(fps), frames=frames)

    def input_args(self) -> list[str]:
        fps = f"{self.fps.numerator}/{self.fps.denominator}"
        return [
            "-f",
            "rawvideo",
            "-pix_fmt",
            FFMPEG_PIX_FMT[self.format],
            "-s",
            f"{self.width}x{self.height}",
            "-r",
            fps,
            "-i",
            os.path.abspath(self.path) if self.path is not None else "pipe:0",
        ]


@dataclass(frozen=True)
class PsnrResult:
    y: float
    u: float
    v: float
    average: float
    min: float  # worst frame (ffmpeg's per-frame average)
    max: float
    frames: int  # frames compared


_PSNR_SUMMARY = re.compile(r"PSNR y:(\S+) u:(\S+) v:(\S+) average:(\S+) min:(\S+) max:(\S+)")


def _feed(stdin: Any, frames: Iterator[Any], failure: list) -> None:
    """Writes every frame to ffmpeg's stdin, then closes it (runs on its own thread, so
    ffmpeg can never block on a full stderr pipe while we block on its stdin)."""
    try:
        for frame in frames:
            stdin.write(memoryview(frame).cast("B"))
    except BrokenPipeError:
        pass  # ffmpeg stopped reading: its exit status and log say why
    except BaseException as exc:  # noqa: BLE001 -- reported by the caller
        failure.append(exc)
    finally:
        try:
            stdin.close()
        except BrokenPipeError:
            pass


def measure_psnr(encoded: PathLike, codec: object, source: RawSource, n_frames: int) -> PsnrResult:
    """PSNR of the decoded stream against the first ``n_frames`` source frames, both
    converted to yuv420p, with ffmpeg's ``psnr`` filter (``average`` over Y, U and V).

    Frames are paired by position (both sides renumbered 0, 1, 2, ...), so timestamps in
    the elementary stream do not matter.
    """
    name = codec_name(codec, encoded)
    with tempfile.TemporaryDirectory(prefix="videohw-psnr-") as tmp:
        # ffmpeg runs in the temporary folder so the stats file name needs no escaping in
        # the filter graph; input paths are made absolute for that.
        graph = (
            f"[0:v]trim=end_frame={n_frames},format=yuv420p,settb=1,setpts=N[ref];"
            f"[1:v]format=yuv420p,settb=1,setpts=N[dist];"
            f"[dist][ref]psnr=stats_file=psnr.log"
        )
        cmd = [
            find_tool("ffmpeg"),
            "-hide_banner",
            "-nostats",
            "-nostdin",
            "-v",
            "info",
            *source.input_args(),
            *_demux_args(encoded, name),
            "-i",
            os.path.abspath(encoded),
            "-lavfi",
            graph,
            "-fps_mode",
            "passthrough",
            "-f",
            "null",
            "-",
        ]
        frames = source.frames
        stdin = subprocess.PIPE if frames is not None else subprocess.DEVNULL
        proc = subprocess.Popen(
            cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp
        )
        assert proc.stderr is not None
        failure: list = []
        feeder = None
        if frames is not None:
            feeder = threading.Thread(
                target=_feed,
                args=(proc.stdin, frames(), failure),
                name="videohw-psnr-feed",
                daemon=True,
            )
            feeder.start()
        log = proc.stderr.read().decode(errors="replace")
        proc.wait()
        if feeder is not None:
            feeder.join()
        if failure:
            raise failure[0]
        match = _PSNR_SUMMARY.search(log)
        if proc.returncode != 0 or not match:
            raise ProbeError(
                f"ffmpeg psnr ({proc.returncode}): {_tail(log, 4) or 'no PSNR summary in the log'}"
            )
        with open(os.path.join(tmp, "psnr.log")) as f:
            compared = sum(1 for line in f if line.startswith("n:"))
    y, u, v, avg, lo, hi = (float(x) for x in match.groups())
    return PsnrResult(y=y, u=u, v=v, average=avg, min=lo, max=hi, frames=compared)


def check_psnr(result: PsnrResult, min_psnr: float) -> CheckResult:
    ok = result.average >= min_psnr
    return CheckResult(
        "psnr",
        ok,
        f"{result.average:.2f} dB average {'>=' if ok else '<'} {min_psnr:g} "
        f"(y {result.y:.2f}, u {result.u:.2f}, v {result.v:.2f}, worst frame "
        f"{result.min:.2f}; {result.frames} frames)",
        {
            "average": result.average,
            "y": result.y,
            "u": result.u,
            "v": result.v,
            "min": result.min,
            "max": result.max,
            "frames": result.frames,
            "min_psnr": min_psnr,
        },
    )


# ------------------------------------------------------------------------------------------
# The whole verification


@dataclass
class VerifyReport:
    """Results of a verification; ``ok`` only when there is at least one check and every
    check passed."""

    checks: list = field(default_factory=list)

    def add(self, check: CheckResult) -> CheckResult:
        self.checks.append(check)
        return check

    def extend(self, other: VerifyReport) -> None:
        self.checks.extend(other.checks)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def lines(self) -> list[str]:
        return [c.line for c in self.checks]

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "checks": [
                {"name": c.name, "ok": c.ok, "message": c.message, **c.data} for c in self.checks
            ],
        }


def _probe_into(report: VerifyReport, path: PathLike, codec: object) -> Optional[list]:
    """The decoded frames, or None after adding a failed "decode" check to ``report``."""
    try:
        return probe_frames(path, codec)
    except ProbeError as exc:
        report.add(CheckResult("decode", False, str(exc)))
        return None


# ------------------------------------------------------------------------------------------
# Containers: what a player needs besides decodable pictures


@dataclass(frozen=True)
class PacketInfo:
    """One packet of a container's video stream as ffprobe reports it, in file order
    (decode order); timestamps in the stream's time base, None where the file has none
    (Matroska stores no dts: ffprobe leaves the first ones of a reordered stream unset)."""

    pts: Optional[int]
    dts: Optional[int]
    key: bool


@dataclass(frozen=True)
class ContainerInfo:
    format_name: str  # ffprobe's, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    codec: str  # of the first video stream
    time_base: Fraction
    duration: Optional[Fraction]  # the file's duration in seconds; None when unknown
    packets: list  # PacketInfo per packet of the first video stream


def probe_container(path: PathLike) -> ContainerInfo:
    """Packets, codec, time base and duration of the first video stream (ffprobe, no
    decoding). Raises :class:`ProbeError` when ffprobe fails or complains."""
    cmd = [
        find_tool("ffprobe"),
        "-v",
        "error",
        "-i",
        os.path.abspath(path),
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts,dts,flags:stream=codec_name,time_base:format=format_name,duration",
        "-of",
        "json",
    ]
    proc = subprocess.run(cmd, capture_output=True)
    errors = proc.stderr.decode(errors="replace").strip()
    if proc.returncode != 0 or errors:
        raise ProbeError(
            f"ffprobe ({proc.returncode}) on {os.fspath(path)}: {_tail(errors) or 'no message'}"
        )
    data = json.loads(proc.stdout or b"{}")
    streams = data.get("streams") or []
    if not streams:
        raise ProbeError(f"ffprobe on {os.fspath(path)}: no video stream")
    fmt = data.get("format", {})
    duration = fmt.get("duration")
    return ContainerInfo(
        format_name=str(fmt.get("format_name", "?")),
        codec=str(streams[0].get("codec_name", "?")),
        time_base=Fraction(streams[0].get("time_base", "1/1")),
        duration=Fraction(duration) if duration not in (None, "N/A") else None,
        packets=[
            PacketInfo(p.get("pts"), p.get("dts"), "K" in p.get("flags", ""))
            for p in data.get("packets", [])
        ],
    )


def check_stream_codec(info: ContainerInfo, codec: Optional[str]) -> CheckResult:
    ok = codec is None or info.codec == codec
    text = f"{info.format_name} holding {info.codec}"
    return CheckResult(
        "container",
        ok,
        text if ok else f"{text}, expected {codec}",
        {"format": info.format_name, "codec": info.codec},
    )


def check_timestamps(packets: Sequence[PacketInfo]) -> CheckResult:
    """In decode (file) order every stored dts is larger than the one before, and every
    packet has a pts that no other packet has."""
    pts = [p.pts for p in packets]
    dts = [(i, p.dts) for i, p in enumerate(packets) if p.dts is not None]
    problems = [] if packets else ["no packets"]
    if None in pts:
        problems.append(f"{pts.count(None)} packets without pts")
    back = [i for (_, a), (i, b) in zip(dts, dts[1:]) if b <= a]
    if back:
        problems.append(f"dts not increasing at packets {short_list(back)}")
    seen: dict = {}
    for p in pts:
        if p is not None:
            seen[p] = seen.get(p, 0) + 1
    repeated = sorted(p for p, n in seen.items() if n > 1)
    if repeated:
        problems.append(f"pts repeated: {short_list(repeated)}")
    data = {"packets": len(packets), "dts_stored": len(dts)}
    if problems:
        return CheckResult("timestamps", False, "; ".join(problems), data)
    return CheckResult(
        "timestamps",
        True,
        f"{len(packets)} packets: dts strictly increasing ({len(dts)} stored), every pts unique",
        data,
    )


def check_duration(
    duration: Optional[Fraction], n_frames: int, fps: Union[Fraction, int, str], delayed: int = 0
) -> CheckResult:
    """The file's duration is within one frame of ``(n_frames + delayed) / fps``.

    ``delayed``: frames by which the writer moved the pictures after a switch to deeper
    B-frame reordering later, in a file that goes on across it (docs/media_writer.md,
    Timestamps); 0 otherwise."""
    fps = Fraction(fps)
    want, frame = (n_frames + delayed) / fps, 1 / fps
    data = {"expected_s": float(want), "frame_s": float(frame), "delayed_frames": delayed}
    counted = f"{n_frames} frames" + (f" + {delayed} moved later at a switch" if delayed else "")
    if duration is None:
        return CheckResult("duration", False, f"unknown; expected {float(want):.3f} s", data)
    ok = abs(duration - want) <= frame
    return CheckResult(
        "duration",
        ok,
        f"{float(duration):.3f} s, expected {float(want):.3f} s "
        f"({counted} at {fps} fps) within one frame "
        f"({float(frame) * 1000:.1f} ms)",
        {**data, "duration_s": float(duration)},
    )


def check_playback(path: PathLike) -> CheckResult:
    """``ffmpeg -v error -i path -f null -`` exits 0 and prints nothing."""
    proc = subprocess.run(
        [
            find_tool("ffmpeg"),
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-i",
            os.path.abspath(path),
            "-f",
            "null",
            "-",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    said = proc.stdout.decode(errors="replace").strip()
    command = f"ffmpeg -v error -i {os.path.basename(os.fspath(path))} -f null -"
    if proc.returncode == 0 and not said:
        return CheckResult("playback", True, f"{command}: nothing printed")
    return CheckResult(
        "playback", False, f"{command} exited {proc.returncode}: {_tail(said) or 'no message'}"
    )


def verify_container(
    path: PathLike,
    codec: object,
    n_frames: int,
    fps: Union[Fraction, int, str, None] = None,
    delayed: int = 0,
) -> VerifyReport:
    """The container checks: the stream's codec ("container"), "timestamps", "duration"
    (with ``fps``: :func:`check_duration`) and "playback"."""
    report = VerifyReport()
    try:
        info = probe_container(path)
    except ProbeError as exc:
        report.add(CheckResult("container", False, str(exc)))
    else:
        report.add(check_stream_codec(info, codec_name(codec)))
        report.add(check_timestamps(info.packets))
        if fps is not None:
            report.add(check_duration(info.duration, n_frames, fps, delayed))
    report.add(check_playback(path))
    return report


def verify_stream(
    path: PathLike,
    codec: object,
    width: int,
    height: int,
    n_frames: int,
    keyframes: Iterable[int],
    source: Optional[RawSource] = None,
    min_psnr: float = 30.0,
    fps: Union[Fraction, int, str, None] = None,
) -> VerifyReport:
    """Decodes ``path`` with ffprobe and checks frame count, sizes and keyframe positions;
    with ``source``, also PSNR >= ``min_psnr`` against it (ffmpeg). A container also gets
    :func:`verify_container` (its duration checked against ``fps`` when given).

    Decoder failures become failed checks, not exceptions; a missing ffprobe/ffmpeg raises
    :class:`ToolNotFoundError`.
    """
    report = VerifyReport()
    frames = _probe_into(report, path, codec)
    if frames is None:
        return report
    report.add(check_frame_count(frames, n_frames))
    report.add(check_frame_sizes(frames, width, height))
    report.add(check_keyframes(frames, keyframes))
    if is_container(path):
        report.extend(verify_container(path, codec, n_frames, fps))
    if source is not None:
        try:
            report.add(check_psnr(measure_psnr(path, codec, source, n_frames), min_psnr))
        except ProbeError as exc:
            report.add(CheckResult("psnr", False, str(exc)))
    return report


# ------------------------------------------------------------------------------------------
# Switched streams: per-generation expectations


@dataclass
class PlannedSwitch:
    """A switch requested just before frame ``frame`` is submitted."""

    frame: int
    generation: int
    width: int
    height: int
    gop_length: int
    mode: str  # "immediate" | "on_next_keyframe" | "drain_then_swap"
    idr: bool  # force_idr_on_activate
    in_place: bool  # the path the library took (from telemetry)
    reopened: bool = False  # a DRAIN_THEN_SWAP drain reopened the encoder (stream restarts)
    reorders: bool = False  # the target has B-frames: an in-place activation is an IDR
    codec: Optional[str] = None  # "h264" | "hevc"; None: the codec does not change


@dataclass
class FramePlan:
    generation: int
    width: int
    height: int
    keyframe: bool
    codec: Optional[str] = None  # None when the timeline was built without codecs


def switch_timeline(
    n_frames: int,
    width: int,
    height: int,
    gop_length: int,
    switches: Sequence[PlannedSwitch],
    forced: Iterable[int] = (),
    codec: Optional[str] = None,
) -> list[FramePlan]:
    """What the contract says each frame must be: generation, size, keyframe.

    Keyframes: frame 0, forced frames, and ``gop`` frames after the previous keyframe. A
    switch activates at its frame (IMMEDIATE, DRAIN_THEN_SWAP) or at the first keyframe at
    or after it (ON_NEXT_KEYFRAME); the activating frame is an IDR when the switch made a
    new encoder or asked for one, or when a drain reopened the encoder (FFmpeg 5.1 cannot
    drain x264/x265 and go on), else it follows the GOP. ``codec`` (generation 1's) and
    each switch's ``codec`` tag the frames, for :func:`segment_spans`.
    """
    forced = set(forced)
    by_frame = {s.frame: s for s in switches}
    generation, gop, size = 1, gop_length, (width, height)
    pending: Optional[PlannedSwitch] = None
    position, out = 0, []
    for t in range(n_frames):
        if t in by_frame:
            pending = by_frame[t]
        natural = t == 0 or t in forced or position + 1 >= gop
        keyframe = natural
        if pending is not None and (pending.mode != "on_next_keyframe" or natural):
            generation, gop = pending.generation, pending.gop_length
            size = (pending.width, pending.height)
            codec = pending.codec or codec
            keyframe = (
                natural
                or not pending.in_place
                or pending.idr
                or pending.reopened
                or pending.reorders
            )
            pending = None
        position = 0 if keyframe else position + 1
        out.append(FramePlan(generation, size[0], size[1], keyframe, codec))
    return out


def verify_switched_stream(
    path: PathLike,
    codec: object,
    plan: Sequence[FramePlan],
    packet_generations: Sequence[tuple[int, int]],
    source_for: Optional[Callable[[int, int], RawSource]] = None,
    min_psnr: float = 30.0,
    first_frame: int = 0,
    fps: Union[Fraction, int, str, None] = None,
    delayed: int = 0,
) -> VerifyReport:
    """Checks a stream with switches generation by generation against ``plan``.

    ``packet_generations``: (pts, generation) of every packet in decode order, pts being the
    frame index. Checks: nothing lost (every frame decoded, every pts exactly once),
    generations never go back, and per generation the frame range, every frame's size, the
    keyframe positions (each an I picture) and that it starts where the plan says (with an
    IDR where one is due). With ``source_for(width, height)`` (the source of the whole
    encode at that size, frame i = frame i), also PSNR >= ``min_psnr`` per generation
    (:func:`measure_psnr_per_generation`).

    ``first_frame``: the stream is the segment of an encode that starts at that frame
    (:func:`verify_segments`); ``plan`` and the pts then count from the segment's start,
    and the PSNR source is read from ``first_frame`` on. A container also gets
    :func:`verify_container` (duration against ``fps`` when given; ``delayed`` as in
    :func:`check_duration`).
    """
    report = VerifyReport()
    frames = _probe_into(report, path, codec)
    if frames is None:
        return report
    report.add(check_frame_count(frames, len(plan)))
    pts = sorted(p for p, _ in packet_generations)
    twice = sorted({p for i, p in enumerate(pts) if i and pts[i - 1] == p})
    missing = sorted(set(range(len(plan))) - set(pts))
    extra = sorted(set(pts) - set(range(len(plan))))
    problems = (
        ([f"missing {short_list(missing)}"] if missing else [])
        + ([f"twice {short_list(twice)}"] if twice else [])
        + ([f"unexpected pts {short_list(extra)}"] if extra else [])
    )
    report.add(
        CheckResult(
            "packets",
            not problems,
            f"{len(packet_generations)} packets, one per frame 0..{len(plan) - 1}"
            if not problems
            else "; ".join(problems),
        )
    )
    order = [g for _, g in packet_generations]
    report.add(
        CheckResult(
            "generations",
            order == sorted(order),
            "monotonic in decode order"
            if order == sorted(order)
            else f"out of order: {short_list(order, 24)}",
        )
    )
    got = dict(packet_generations)
    for generation in sorted({p.generation for p in plan}):
        want = [i for i, p in enumerate(plan) if p.generation == generation]
        have = sorted(i for i, g in got.items() if g == generation)
        first = plan[want[0]]
        problems = []
        if have != want:
            problems.append(f"frames {short_list(have)} carry it, expected {short_list(want)}")
        wrong = [
            i
            for i in want
            if i < len(frames)
            and (frames[i].width, frames[i].height) != (first.width, first.height)
        ]
        if wrong:
            problems.append(f"frames {short_list(wrong)} are not {first.width}x{first.height}")
        keys_want = [i for i in want if plan[i].keyframe]
        keys_have = [i for i in want if i < len(frames) and frames[i].key_frame]
        if keys_have != keys_want:
            problems.append(
                f"keyframes at {short_list(keys_have)}, expected {short_list(keys_want)}"
            )
        not_intra = [i for i in keys_have if frames[i].pict_type != "I"]
        if not_intra:
            problems.append(f"keyframes {short_list(not_intra)} are not I pictures")
        text = (
            f"frames {want[0]}..{want[-1]} ({len(want)}), "
            f"{first.width}x{first.height}, starts with "
            f"{'an IDR' if first.keyframe else 'a P frame (in place, no IDR asked)'}"
        )
        report.add(
            CheckResult(
                f"generation {generation}",
                not problems,
                text if not problems else text + ": " + "; ".join(problems),
            )
        )
    if is_container(path):
        report.extend(verify_container(path, codec, len(plan), fps, delayed))
    if source_for is not None and len(frames) == len(plan):
        try:
            results = measure_psnr_per_generation(
                path, codec, plan, source_for, frames, first_frame
            )
        except ProbeError as exc:
            report.add(CheckResult("psnr", False, str(exc)))
        else:
            for generation, result in results.items():
                check = check_psnr(result, min_psnr)
                report.add(
                    dataclasses.replace(
                        check,
                        name=f"psnr generation {generation}",
                        data={**check.data, "generation": generation},
                    )
                )
    return report


def generation_spans(plan: Sequence[FramePlan]) -> list[tuple[int, int, int]]:
    """(generation, first frame, frame count) of each generation in ``plan``, in order."""
    spans: list[tuple[int, int, int]] = []
    for i, p in enumerate(plan):
        if spans and spans[-1][0] == p.generation:
            g, first, count = spans[-1]
            spans[-1] = (g, first, count + 1)
        else:
            spans.append((p.generation, i, 1))
    return spans


def segment_spans(plan: Sequence[FramePlan]) -> list[tuple[Optional[str], int, int]]:
    """(codec, first frame, frame count) of each run of frames of one codec in ``plan``: the
    pieces an encode with codec switches is cut into, since one elementary stream holds
    one codec."""
    spans: list[tuple[Optional[str], int, int]] = []
    for i, p in enumerate(plan):
        if spans and spans[-1][0] == p.codec:
            codec, first, count = spans[-1]
            spans[-1] = (codec, first, count + 1)
        else:
            spans.append((p.codec, i, 1))
    return spans


@dataclass
class StreamSegment:
    """One file of an encode cut into several."""

    path: PathLike
    codec: str
    # (pts, generation) of the packets written to this file, in decode order; pts is the
    # frame index in the whole encode.
    packet_generations: list = field(default_factory=list)
    # frames the writer moved its pictures later at switches (check_duration)
    delayed: int = 0


def written_spans(segments: Sequence[StreamSegment]) -> list[tuple[str, int, int]]:
    """(codec, first frame, frame count) of each file, from the pts of its packets."""
    return [
        (s.codec, min((p for p, _ in s.packet_generations), default=0), len(s.packet_generations))
        for s in segments
    ]


def _check_codec_cuts(
    segments: Sequence[StreamSegment], plan: Sequence[FramePlan]
) -> tuple[CheckResult, list]:
    """Files that must be exactly the plan's runs of one codec (Annex-B, MPEG-TS)."""
    spans = segment_spans(plan)
    files = ", ".join(f"{os.path.basename(os.fspath(s.path))} ({s.codec})" for s in segments)
    planned = ", ".join(f"{c} frames {first}..{first + count - 1}" for c, first, count in spans)
    matches = len(segments) == len(spans) and all(
        c in (None, s.codec) for s, (c, _, _) in zip(segments, spans)
    )
    return CheckResult(
        "segments", matches, f"{len(segments)} files: {files}; planned: {planned}"
    ), spans


def _check_parameter_cuts(
    segments: Sequence[StreamSegment], plan: Sequence[FramePlan]
) -> tuple[CheckResult, list]:
    """Files cut where the parameter sets change (MP4, Matroska): the files follow each
    other frame by frame; each holds one codec and one size; a file starts only where a
    generation starts (only a new session's keyframe brings new parameter sets)."""
    spans = written_spans(segments)
    problems, described, expect = [], [], 0
    for n, (codec, first, count) in enumerate(spans, 1):
        part = plan[first : first + count]
        name = os.path.basename(os.fspath(segments[n - 1].path))
        described.append(f"{name} ({codec}, frames {first}..{first + count - 1})")
        if not count or first != expect:
            problems.append(f"segment {n} starts at frame {first}, expected {expect}")
        codecs = sorted({p.codec for p in part if p.codec is not None})
        if codecs and codecs != [codec]:
            problems.append(f"segment {n} is {codec}, the plan has {'/'.join(codecs)} there")
        sizes = sorted({f"{p.width}x{p.height}" for p in part})
        if len(sizes) > 1:
            problems.append(f"segment {n} holds {' and '.join(sizes)}")
        if 0 < first < len(plan) and plan[first].generation == plan[first - 1].generation:
            problems.append(f"segment {n} starts inside generation {plan[first].generation}")
        expect = first + count
    if expect != len(plan):
        problems.append(f"the files end at frame {expect}, {len(plan)} frames submitted")
    text = (
        f"{len(segments)} file{'s' if len(segments) != 1 else ''}: {', '.join(described)}; "
        "a new file where the codec or size changes, only where a generation starts"
    )
    return CheckResult(
        "segments", not problems, text if not problems else text + ": " + "; ".join(problems)
    ), spans


def verify_segments(
    segments: Sequence[StreamSegment],
    plan: Sequence[FramePlan],
    source_for: Optional[Callable[[int, int], RawSource]] = None,
    min_psnr: float = 30.0,
    *,
    cuts: str = "codec",
    fps: Union[Fraction, int, str, None] = None,
) -> VerifyReport:
    """Checks an encode written as several files.

    ``plan`` is the whole encode's (:func:`switch_timeline` with codecs). ``cuts`` says
    where the files may be cut ("segments" check):

    - ``"codec"`` (Annex-B, MPEG-TS: parameter sets stay in band): the files must be the
      plan's :func:`segment_spans`, in order and of the same codecs. One segment planned
      and written: exactly :func:`verify_switched_stream`.
    - ``"parameters"`` (MP4, Matroska: a new file wherever the parameter sets change, which
      the plan cannot predict byte for byte): the files' own frame ranges
      (:func:`written_spans`) must follow each other, each of one codec and one size, each
      starting where a generation starts.

    Each file is checked by :func:`verify_switched_stream` against its part of the plan,
    rebased to its first frame (checks named "segment N ..."; unprefixed when there is one
    file), and the decoded pictures of all files must add up to the frames submitted
    ("frames"). ``fps``: the duration each container file must have (its frames / fps).
    """
    if cuts not in ("codec", "parameters"):
        raise ValueError(f"cuts {cuts!r}; expected 'codec' or 'parameters'")
    cut, spans = (_check_codec_cuts if cuts == "codec" else _check_parameter_cuts)(segments, plan)
    report = VerifyReport()
    if cuts == "parameters" or len(segments) != 1 or not cut.ok:
        report.add(cut)
    if not cut.ok:
        return report
    if len(segments) == 1:
        only = segments[0]
        report.extend(
            verify_switched_stream(
                only.path,
                only.codec,
                plan,
                only.packet_generations,
                source_for,
                min_psnr,
                fps=fps,
                delayed=only.delayed,
            )
        )
        return report
    decoded, undecodable = 0, []
    for n, (segment, (_, first, count)) in enumerate(zip(segments, spans), 1):
        pairs = [(pts - first, generation) for pts, generation in segment.packet_generations]
        part = verify_switched_stream(
            segment.path,
            segment.codec,
            plan[first : first + count],
            pairs,
            source_for,
            min_psnr,
            first_frame=first,
            fps=fps,
            delayed=segment.delayed,
        )
        for check in part.checks:
            report.add(dataclasses.replace(check, name=f"segment {n} {check.name}"))
            if check.name == "frames":
                decoded += check.data["decoded"]
        if not any(c.name == "frames" for c in part.checks):
            undecodable.append(n)
    if undecodable:
        report.add(
            CheckResult(
                "frames",
                False,
                f"segments {undecodable} could not be decoded; {len(plan)} frames submitted",
            )
        )
    else:
        report.add(
            CheckResult(
                "frames",
                decoded == len(plan),
                f"{decoded} decoded in {len(segments)} segments, {len(plan)} submitted",
                {"decoded": decoded, "expected": len(plan)},
            )
        )
    return report


class _RawReader:
    """A process whose stdout is read in exact-sized pieces; stderr goes to a file, so the
    process can never block on a full stderr pipe."""

    def __init__(self, cmd: list[str], feed: Optional[Iterator[Any]] = None) -> None:
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=self._err,
            stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        self._stdout: IO[bytes] = self.proc.stdout
        self._failure: list = []
        self._feeder = None
        if feed is not None:
            self._feeder = threading.Thread(
                target=_feed,
                args=(self.proc.stdin, feed, self._failure),
                name="videohw-verify-feed",
                daemon=True,
            )
            self._feeder.start()

    def read(self, size: int) -> Optional[bytes]:
        data = self._stdout.read(size)
        return data if len(data) == size else None

    def close(self) -> str:
        """Ends the process; its stderr (empty when all went well)."""
        self._stdout.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self._feeder is not None:
            self._feeder.join()
        self._err.seek(0)
        log = self._err.read().decode(errors="replace").strip()
        self._err.close()
        if self._failure:
            raise self._failure[0]
        return log


def _source_frames(source: RawSource, start: int, count: int) -> Iterator[Any]:
    """Source frames start .. start+count-1."""
    if source.path is not None:
        size = _synthetic.frame_nbytes(source.width, source.height, source.format)
        with open(source.path, "rb") as f:
            f.seek(start * size)
            for _ in range(count):
                data = f.read(size)
                if len(data) != size:
                    return
                yield data
        return
    assert source.frames is not None  # exactly one of path and frames is set
    frames = source.frames()
    for i, frame in enumerate(frames):
        if i >= start + count:
            break
        if i >= start:
            yield frame


def _yuv420_sizes(width: int, height: int) -> tuple[int, int]:
    luma = width * height
    return luma, (width // 2) * (height // 2)


def measure_psnr_per_generation(
    encoded: PathLike,
    codec: object,
    plan: Sequence[FramePlan],
    source_for: Callable[[int, int], RawSource],
    frames: Optional[Sequence[FrameInfo]] = None,
    first_frame: int = 0,
) -> dict[int, PsnrResult]:
    """PSNR of each generation of a stream whose frame size changes, against the source.

    ffmpeg decodes the whole stream to yuv420p with ``-autoscale 0``, so every picture keeps
    its own size (taken from ffprobe); per generation, the source at that generation's size
    (``source_for(width, height)``) is converted to yuv420p by ffmpeg as well, and the two
    are compared frame by frame. The numbers are those of ffmpeg's ``psnr`` filter: per
    plane from the mean squared error over the frames, ``average`` from the pixel-weighted
    mean over Y, U and V, ``min``/``max`` over the frames' averages. Frame i of the stream
    is source frame ``first_frame + i``.
    """
    import numpy as np

    name = codec_name(codec, encoded)
    if frames is None:
        frames = probe_frames(encoded, name)
    if len(frames) != len(plan):
        raise ProbeError(f"psnr: {len(frames)} decoded frames, the plan has {len(plan)}")
    decoder = _RawReader(
        [
            find_tool("ffmpeg"),
            "-v",
            "error",
            "-nostdin",
            *_demux_args(encoded, name),
            "-i",
            os.path.abspath(encoded),
            "-fps_mode",
            "passthrough",
            "-autoscale",
            "0",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-",
        ]
    )
    results: dict[int, PsnrResult] = {}
    try:
        for generation, first, count in generation_spans(plan):
            width, height = plan[first].width, plan[first].height
            source = source_for(width, height)
            if (source.width, source.height) != (width, height):
                raise ProbeError(
                    f"psnr: generation {generation} is {width}x{height}, its "
                    f"source {source.width}x{source.height}"
                )
            converter = _RawReader(
                [
                    find_tool("ffmpeg"),
                    "-v",
                    "error",
                    "-nostdin",
                    "-f",
                    "rawvideo",
                    "-pix_fmt",
                    FFMPEG_PIX_FMT[source.format],
                    "-s",
                    f"{width}x{height}",
                    "-i",
                    "pipe:0",
                    "-f",
                    "rawvideo",
                    "-pix_fmt",
                    "yuv420p",
                    "-",
                ],
                feed=_source_frames(source, first_frame + first, count),
            )
            luma, chroma = _yuv420_sizes(width, height)
            sums = np.zeros(3)
            frame_psnr: list[float] = []
            try:
                for i in range(first, first + count):
                    dw, dh = frames[i].width, frames[i].height
                    d_luma, d_chroma = _yuv420_sizes(dw, dh)
                    decoded = decoder.read(d_luma + 2 * d_chroma)
                    if decoded is None:
                        raise ProbeError(f"psnr: the decoder ended before frame {i}")
                    ref = converter.read(luma + 2 * chroma)
                    if ref is None:
                        raise ProbeError(f"psnr: the source ended before frame {i}")
                    if (dw, dh) != (width, height):
                        raise ProbeError(
                            f"psnr: frame {i} is {dw}x{dh}, generation "
                            f"{generation} {width}x{height}"
                        )
                    a = np.frombuffer(decoded, np.uint8).astype(np.int32)
                    b = np.frombuffer(ref, np.uint8).astype(np.int32)
                    sq = (a - b) ** 2
                    mse = np.array(
                        [
                            sq[:luma].mean(),
                            sq[luma : luma + chroma].mean(),
                            sq[luma + chroma :].mean(),
                        ]
                    )
                    sums += mse
                    frame_psnr.append(
                        _psnr_of((mse[0] * luma + (mse[1] + mse[2]) * chroma) / (luma + 2 * chroma))
                    )
            finally:
                log = converter.close()
            if log:
                raise ProbeError(f"psnr: ffmpeg converting the source: {_tail(log)}")
            mse = sums / count
            results[generation] = PsnrResult(
                y=_psnr_of(mse[0]),
                u=_psnr_of(mse[1]),
                v=_psnr_of(mse[2]),
                average=_psnr_of(
                    (mse[0] * luma + (mse[1] + mse[2]) * chroma) / (luma + 2 * chroma)
                ),
                min=min(frame_psnr),
                max=max(frame_psnr),
                frames=count,
            )
        if decoder.read(1) is not None:
            raise ProbeError("psnr: the decoder gave more frames than ffprobe reported")
    finally:
        log = decoder.close()
    if log:
        raise ProbeError(f"psnr: ffmpeg decoding {os.fspath(encoded)}: {_tail(log)}")
    return results


def _psnr_of(mse: float) -> float:
    """PSNR in dB for 8-bit samples; ffmpeg's psnr filter reports "inf" as this too."""
    import math

    return float("inf") if mse <= 0 else 10.0 * math.log10(255.0**2 / mse)
