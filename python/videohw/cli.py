"""The ``videohw`` command: ``videohw encode`` and ``videohw caps`` (see docs/cli.md).

Uses the public API only. Exit status: 0 success; 1 encode/verify failure or a runtime
error (backend unavailable, I/O, missing ffmpeg); 2 invalid command line or configuration
(one line on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from . import synthetic, verify
from .progress import ProgressBar

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

DEFAULT_SIZE = (1280, 720)
DEFAULT_SYNTHETIC_FRAMES = 300


class CliError(Exception):
    """A failure reported as one line on stderr with an exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _api() -> Any:
    """The public package, imported when a command runs (not when this module loads)."""
    import videohw
    return videohw


# ------------------------------------------------------------------------------------------
# Argument types


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT, e.g. 1280x720")
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be positive")
    return w, h


def _fps(text: str) -> tuple[int, int]:
    try:
        num, _, den = text.partition("/")
        n, d = int(num), int(den) if den else 1
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected N or N/D, e.g. 30 or 30000/1001")
    if n <= 0 or d <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: numerator and denominator must be >= 1")
    return n, d


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be >= 1")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer")


def _index_list(text: str) -> list[int]:
    try:
        values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected frame indices like 10,50")
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: expected frame indices >= 0 like 10,50")
    return values


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number")


# ------------------------------------------------------------------------------------------
# Parser


_SWITCH_MODES = ("immediate", "on_next_keyframe", "drain_then_swap")

# -o's container by extension (case-insensitive); --format overrides it.
OUTPUT_FORMATS = ("mp4", "fmp4", "mkv", "ts", "annexb")
_FORMAT_OF_EXTENSION = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mp4", ".mkv": "mkv",
                        ".ts": "ts", ".m2ts": "ts", ".h264": "annexb", ".264": "annexb",
                        ".avc": "annexb", ".hevc": "annexb", ".h265": "annexb",
                        ".265": "annexb"}
_DEFAULT_EXTENSION = {"mp4": ".mp4", "fmp4": ".mp4", "mkv": ".mkv", "ts": ".ts"}
_FORMAT_NAMES = {"mp4": "MP4, faststart", "fmp4": "fragmented MP4", "mkv": "Matroska",
                 "ts": "MPEG-TS", "annexb": "Annex-B"}
_CODECS = ("h264", "hevc")


@dataclass
class SwitchSpec:
    frame: int
    changes: dict
    mode: str
    idr: bool
    text: str = ""  # as given on the command line, for messages


def _switch_spec(text: str) -> SwitchSpec:
    """FRAME:SPEC:MODE; SPEC may itself hold ':' (rc=cbr:2M), so split at the ends."""
    head, _, rest = text.partition(":")
    spec, _, mode = rest.rpartition(":")
    if not head or not spec or mode not in _SWITCH_MODES:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected FRAME:SPEC:MODE with MODE one of {', '.join(_SWITCH_MODES)}")
    frame = _int(head)
    if frame < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: FRAME must be >= 1 (frame 0 starts the session)")
    changes: dict = {}
    idr = True
    for item in spec.split(","):
        key, eq, value = item.partition("=")
        if not eq:
            raise argparse.ArgumentTypeError(f"{text!r}: {item!r} is not key=value")
        try:
            if key == "size":
                changes["width"], changes["height"] = _size(value)
            elif key == "rc":
                changes["rate_control"] = value  # parsed with the contract's RateControl.parse
            elif key == "gop":
                changes["gop_length"] = _positive_int(value)
            elif key == "b-frames":
                changes["b_frames"] = _int(value)
                changes["frame_interval_p"] = None
            elif key == "fps":
                changes["fps_num"], changes["fps_den"] = _fps(value)
            elif key == "idr":
                if value not in ("0", "1"):
                    raise argparse.ArgumentTypeError(f"idr={value!r}: expected 0 or 1")
                idr = value == "1"
            elif key == "codec":
                if value not in _CODECS:
                    raise argparse.ArgumentTypeError(
                        f"codec={value!r}: expected {' or '.join(_CODECS)}")
                changes["codec"] = value  # a new stream: written to a segment file of its own
            else:
                raise argparse.ArgumentTypeError(
                    f"unknown key {key!r}; expected size, rc, gop, b-frames, fps, codec or idr")
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"--switch {text!r}: {exc}")
    return SwitchSpec(frame, changes, mode, idr, text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videohw",
        description="Video encode sessions (software: libx264/libx265; NVIDIA NVENC).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    enc = sub.add_parser(
        "encode", help="encode a synthetic pattern or a raw file to MP4/MKV/TS or Annex-B",
        description="Encode a synthetic moving pattern (default) or a raw video file to "
                    "H.264/HEVC in an MP4, Matroska or MPEG-TS file or an Annex-B elementary "
                    "stream; --verify checks it with ffmpeg.")
    src = enc.add_argument_group("input")
    src.add_argument("--input", metavar="FILE",
                     help="raw video file (frames back to back, minimum pitch); default: "
                          "a synthetic moving pattern")
    src.add_argument("--input-format", choices=synthetic.FORMATS,
                     help="pixel format of the input (required with --input; "
                          "default argb8888 for the synthetic pattern)")
    src.add_argument("--size", type=_size, metavar="WxH",
                     help="frame size (required with --input; default 1280x720)")
    src.add_argument("--fps", type=_fps, default=(30, 1), metavar="N[/D]",
                     help="frame rate, e.g. 30 or 30000/1001 (default 30)")
    src.add_argument("--frames", type=_positive_int, metavar="N",
                     help="frames to encode (default 300 for the synthetic pattern; every "
                          "frame of --input, at most N)")

    cfg = enc.add_argument_group("encoder")
    cfg.add_argument("--backend", choices=("auto", "software", "nvidia"), default="auto",
                     help="auto: NVIDIA where usable, else software (default auto)")
    cfg.add_argument("--codec", choices=("h264", "hevc"), default="h264",
                     help="output codec (default h264)")
    cfg.add_argument("--gop", type=_int, metavar="N",
                     help="keyframe interval in frames (default 60; 1 = all intra)")
    cfg.add_argument("--frame-interval-p", type=_int, metavar="N",
                     help="distance between P frames; must be --b-frames + 1")
    cfg.add_argument("--b-frames", type=_int, metavar="N", help="B-frames between P frames "
                     "(default 0)")
    cfg.add_argument("--rc", metavar="SPEC",
                     help="rate control: cbr:RATE | vbr:AVG[:MAX] | cqp:I[:P[:B]], rates "
                          "with k/M suffixes, e.g. cbr:4M, vbr:4M:6M, cqp:22:24:26 "
                          "(default cbr:4M)")
    cfg.add_argument("--low-latency", action="store_true",
                     help="no B-frames, no lookahead, one packet out per frame in")
    cfg.add_argument("--force-idr", action="store_true",
                     help="config force_idr: the first frame after every flush is an IDR")
    cfg.add_argument("--force-idr-at", type=_index_list, metavar="I,J,...",
                     help="frame indices submitted with force_keyframe=True, e.g. 10,50")
    cfg.add_argument("--preset", help="software: ultrafast..placebo (default veryfast); "
                                      "nvidia: p1..p7")
    cfg.add_argument("--tune", help="software only: film, animation, grain, stillimage, "
                                    "psnr, ssim, fastdecode")
    cfg.add_argument("--tuning", help="nvidia only: hq, ll, ull, lossless")
    cfg.add_argument("--threads", type=_int, metavar="N",
                     help="software only: encoder threads (0 = auto)")

    cfg.add_argument("--switch", type=_switch_spec, action="append", metavar="FRAME:SPEC:MODE",
                     help="switch the session just before frame FRAME; SPEC is key=value,... "
                          "with size=WxH, rc=<--rc form>, gop=N, b-frames=N, fps=N[/D], "
                          "codec=h264|hevc (Annex-B and TS: from then on written to a new "
                          "segment file <stem>.seg<N>.<ext>; MP4/MKV start one at any new "
                          "parameter sets), "
                          "idr=0|1 (force_idr_on_activate, default 1); MODE is immediate, "
                          "on_next_keyframe or drain_then_swap. Repeatable, one per frame, e.g. "
                          "--switch 300:size=1280x720:immediate --switch 450:rc=cbr:2M:on_next_keyframe")
    out = enc.add_argument_group("output")
    out.add_argument("-o", "--output", metavar="FILE",
                     help="output file; the container comes from the extension: .mp4 .m4v "
                          ".mov (MP4, faststart), .mkv, .ts .m2ts, .h264 .264 .avc .hevc "
                          ".h265 .265 (raw Annex-B). Default out.h264 or out.hevc (out.mp4, "
                          "... with --format). Never the --input file")
    out.add_argument("--format", choices=OUTPUT_FORMATS,
                     help="container, whatever the extension: mp4, fmp4 (fragmented MP4), "
                          "mkv, ts, annexb")
    out.add_argument("--verify", action="store_true",
                     help="decode the output with ffprobe/ffmpeg and check frame count, "
                          "sizes, keyframe positions and PSNR, and for a container its "
                          "timestamps, duration and a clean decode; exit 1 on any mismatch")
    out.add_argument("--min-psnr", type=_float, default=30.0, metavar="DB",
                     help="PSNR threshold for --verify (default 30)")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    out.add_argument("--telemetry", action="store_true",
                     help="print the session telemetry as JSON at the end")
    out.add_argument("--json", action="store_true",
                     help="print one JSON summary on stdout instead of text")
    enc.set_defaults(func=cmd_encode)

    caps = sub.add_parser("caps", help="capabilities of each backend",
                          description="Show what each encode backend can do on this machine, "
                                      "or why it cannot be used.")
    caps.add_argument("--json", action="store_true", help="machine-readable output")
    caps.set_defaults(func=cmd_caps)

    from .cli_decode import add_decode_parser
    add_decode_parser(sub)
    from .cli_probe import add_probe_parser
    add_probe_parser(sub)
    from .cli_log import add_verbose_option
    add_verbose_option(parser, sub)
    return parser


# ------------------------------------------------------------------------------------------
# Inputs


@dataclass
class _Input:
    """Where frames come from: the synthetic pattern or a raw file."""
    format: str
    width: int
    height: int
    n_frames: int
    path: Optional[str] = None

    @property
    def description(self) -> str:
        if self.path is None:
            return f"synthetic pattern ({self.format})"
        return f"{self.path} ({self.format})"

    def frames(self) -> Iterator[np.ndarray]:
        """Frame arrays in order; the same buffer is reused (submit copies the pixels)."""
        if self.path is None:
            gen = synthetic.generator(self.width, self.height, self.format)
            buf = np.empty(gen.shape, np.uint8)
            for i in range(self.n_frames):
                yield gen.frame(i, out=buf)
            return
        buf = np.empty(synthetic.frame_shape(self.width, self.height, self.format), np.uint8)
        view = memoryview(buf).cast("B")
        with open(self.path, "rb") as f:
            for i in range(self.n_frames):
                if f.readinto(view) != len(view):
                    raise CliError(f"{self.path}: ended early, at frame {i}", EXIT_FAIL)
                yield buf

    def raw_source(self, fps: Fraction) -> verify.RawSource:
        if self.path is None:
            return verify.RawSource.synthetic(self.format, self.width, self.height,
                                              self.n_frames, fps)
        return verify.RawSource.from_file(self.path, self.format, self.width, self.height, fps)


def _make_input(args: argparse.Namespace) -> _Input:
    if args.input is None:
        width, height = args.size or DEFAULT_SIZE
        return _Input(args.input_format or "argb8888", width, height,
                      args.frames or DEFAULT_SYNTHETIC_FRAMES)
    if args.input_format is None or args.size is None:
        raise CliError("--input needs --input-format and --size (a raw file does not say "
                       "what it holds)")
    width, height = args.size
    fmt = args.input_format
    try:
        frame_bytes = synthetic.frame_nbytes(width, height, fmt)
        file_bytes = os.path.getsize(args.input)
    except OSError as exc:
        raise CliError(f"--input {args.input}: {exc.strerror or exc}")
    if file_bytes % frame_bytes:
        fits = _sizes_that_fit(file_bytes, width, height, fmt)
        hint = "".join(f"; it is exactly {n} frame{'s' * (n != 1)} of {w}x{h}"
                       for w, h, n in fits[:3])
        raise CliError(f"--input {args.input}: {file_bytes} bytes is not a whole number of "
                       f"{width}x{height} {fmt} frames ({frame_bytes} bytes each; "
                       f"{file_bytes // frame_bytes} frames and {file_bytes % frame_bytes} "
                       f"bytes left over){hint}")
    n = file_bytes // frame_bytes
    if n == 0:
        raise CliError(f"--input {args.input}: the file is empty")
    _warn_other_sizes(args.input, file_bytes, width, height, fmt)
    if args.frames:
        n = min(n, args.frames)
    return _Input(fmt, width, height, n, path=args.input)


# Frame sizes raw files often hold. With the declared size doubled, halved and turned they
# are the sizes --input checks a file against: a file is read with the size given, so a
# wrong --size encodes a scrambled picture without any error.
_COMMON_SIZES = ((3840, 2160), (2560, 1440), (1920, 1080), (1280, 720), (1024, 768),
                 (960, 540), (854, 480), (800, 600), (720, 576), (720, 480), (640, 480),
                 (640, 360), (352, 288), (320, 240), (176, 144))

# A size whose rows differ from their neighbours by less than this share of the declared
# size's is taken as the likelier one. Rows read at a wrong width mix pieces of different
# picture rows (twice the width: a row and the one below it side by side; half: the halves
# of one row stacked), so they differ from their neighbours several times as much.
_SMOOTHER = 0.5
_ROWS_COMPARED = 256


def _other_sizes(width: int, height: int, fmt: str) -> list[tuple[int, int]]:
    """Plausible sizes other than ``width`` x ``height``: double, half (same aspect ratio),
    turned, and the common ones; 4:2:0 formats only at even sizes."""
    sizes = [(width * 2, height * 2), (height, width), *_COMMON_SIZES]
    if width % 2 == 0 and height % 2 == 0:
        sizes.insert(1, (width // 2, height // 2))
    yuv = fmt in ("nv12", "i420")
    out = []
    for size in dict.fromkeys(sizes):
        if size != (width, height) and not (yuv and (size[0] % 2 or size[1] % 2)):
            out.append(size)
    return out


def _sizes_that_fit(file_bytes: int, width: int, height: int,
                    fmt: str) -> list[tuple[int, int, int]]:
    """(width, height, frames) of every other plausible size the file is a whole number of
    frames of."""
    out = []
    for w, h in _other_sizes(width, height, fmt):
        nbytes = synthetic.frame_nbytes(w, h, fmt)
        if file_bytes >= nbytes and file_bytes % nbytes == 0:
            out.append((w, h, file_bytes // nbytes))
    return out


def _row_roughness(data: np.ndarray, width: int, height: int, fmt: str) -> float:
    """Mean absolute difference between neighbouring rows of the first frame read at
    ``width`` x ``height`` (the Y plane of 4:2:0 formats)."""
    row = width if fmt in ("nv12", "i420") else synthetic.frame_nbytes(width, 1, fmt)
    rows = min(height, _ROWS_COMPARED)
    picture = data[:row * rows].reshape(rows, row).astype(np.int16)
    return float(np.abs(np.diff(picture, axis=0)).mean()) if rows > 1 else 0.0


def _warn_other_sizes(path: str, file_bytes: int, width: int, height: int, fmt: str) -> None:
    """A warning when the file is also a whole number of frames of another plausible size
    whose rows line up clearly better than the declared size's."""
    fits = [f for f in _sizes_that_fit(file_bytes, width, height, fmt) if f[1] > 1]
    if not fits or height < 2:
        return
    frame_bytes = synthetic.frame_nbytes(width, height, fmt)
    longest = max(frame_bytes, *(synthetic.frame_nbytes(w, h, fmt) for w, h, _ in fits))
    try:
        data = np.fromfile(path, np.uint8, count=longest)
    except OSError as exc:
        raise CliError(f"--input {path}: {exc.strerror or exc}", EXIT_FAIL)
    declared = _row_roughness(data, width, height, fmt)
    best, w, h, n = min((_row_roughness(data, w, h, fmt), w, h, n) for w, h, n in fits)
    if best < _SMOOTHER * declared:
        frames = file_bytes // frame_bytes
        _warn(f"--input {path}: read as {frames} frame{'s' * (frames != 1)} of "
              f"{width}x{height} {fmt}, but the file is also exactly {n} "
              f"frame{'s' * (n != 1)} of {w}x{h}, whose rows line up better; is --size "
              "right?")


# ------------------------------------------------------------------------------------------
# Output: where and in what


def output_target(output: Optional[str], fmt: Optional[str], codec: str) -> tuple[str, str]:
    """(path, format) of ``-o`` / ``--format``: the format from the extension unless
    ``--format`` names one; without ``-o``, ``out.<codec>`` (Annex-B) or ``out.mp4`` etc."""
    if output is None:
        ext = _DEFAULT_EXTENSION.get(fmt or "annexb", f".{codec}")
        return f"out{ext}", fmt or "annexb"
    if fmt is not None:
        return output, fmt
    ext = os.path.splitext(output)[1].lower()
    if ext not in _FORMAT_OF_EXTENSION:
        known = " ".join(_FORMAT_OF_EXTENSION)
        raise CliError(f"-o {output}: {'no' if not ext else 'unknown'} extension"
                       f"{'' if not ext else ' ' + repr(ext)}; expected one of {known}, or "
                       f"--format {'|'.join(OUTPUT_FORMATS)}")
    return output, _FORMAT_OF_EXTENSION[ext]


def _same_file(a: str, b: str) -> bool:
    """Whether two names lead to one file (same device and inode: symbolic links are
    followed, hard links match); False when either does not exist."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_input_as_output(input_path: Optional[str], output: str, what: str = "-o") -> None:
    """Exit 2 when ``output`` is the input file under any name: writing it would destroy
    the frames being read."""
    if input_path is not None and _same_file(input_path, output):
        raise CliError(f"{what} {output} is the input file --input {input_path} (the same "
                       "file); refusing to write over the input: choose another output name")


class _PendingFile:
    """A file written under a temporary name in its final folder, ``.<name>.tmp-<pid>-<hex>``,
    and renamed to its final name by ``commit()``; ``discard()`` removes it. A final name
    that is a symbolic link is written through: the file replaces the link's target."""

    def __init__(self, path: str, flag: str) -> None:
        self.path = path
        self.flag = flag  # how the path is named in messages: "-o", "segment"
        if not path:
            raise CliError(f"{flag}: the output path is empty")
        target = os.path.realpath(path) if os.path.islink(path) else path
        if os.path.isdir(target):
            raise CliError(f"{flag} {path}: is a directory", EXIT_FAIL)
        self._target = target
        self.committed = False
        # A device or FIFO (/dev/null, /dev/full, a pipe) is written in place: renaming a
        # file over it would replace the device.
        self.in_place = os.path.exists(target) and not os.path.isfile(target)
        if self.in_place:
            self.temp = target
            try:
                self.file: Any = open(target, "wb")
            except OSError as exc:
                raise CliError(f"{flag} {path}: cannot open: {exc.strerror or exc}", EXIT_FAIL)
            return
        folder, name = os.path.split(os.path.abspath(target))
        self.temp = os.path.join(folder, f".{name}.tmp-{os.getpid()}-{os.urandom(8).hex()}")
        try:
            fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise CliError(f"{flag} {path}: cannot create a file in {folder or '.'}: "
                           f"{exc.strerror or exc}", EXIT_FAIL)
        self.file: Any = os.fdopen(fd, "wb")
        self.committed = False

    def write(self, data: Any) -> None:
        try:
            self.file.write(data)
        except OSError as exc:
            raise CliError(f"{self.flag} {self.path}: write failed: {exc.strerror or exc}",
                           EXIT_FAIL)

    def finish(self) -> None:
        """Flushes and closes the temporary file (errors named)."""
        if not self.file.closed:
            try:
                self.file.close()
            except OSError as exc:
                raise CliError(f"{self.flag} {self.path}: write failed: "
                               f"{exc.strerror or exc}", EXIT_FAIL)

    def commit(self) -> None:
        self.finish()
        if self.in_place:
            self.committed = True
            return
        try:
            os.replace(self.temp, self._target)
        except OSError as exc:
            raise CliError(f"{self.flag} {self.path}: cannot rename {self.temp} to it: "
                           f"{exc.strerror or exc}", EXIT_FAIL)
        self.committed = True

    def discard(self) -> None:
        """Removes what this file wrote: the temporary file, or the final one if it was
        already renamed (a later segment failed). Never raises."""
        try:
            self.file.close()
        except OSError:
            pass
        if self.in_place:
            return
        try:
            os.unlink(self._target if self.committed else self.temp)
        except OSError:
            pass


# ------------------------------------------------------------------------------------------
# Configs


def _common_config(vh: Any, args: argparse.Namespace, width: int, height: int) -> Any:
    kwargs: dict[str, Any] = dict(codec=vh.Codec(args.codec), width=width, height=height,
                                  fps_num=args.fps[0], fps_den=args.fps[1],
                                  low_latency=args.low_latency, force_idr=args.force_idr)
    if args.gop is not None:
        kwargs["gop_length"] = args.gop
    if args.frame_interval_p is not None:
        kwargs["frame_interval_p"] = args.frame_interval_p
    if args.b_frames is not None:
        kwargs["b_frames"] = args.b_frames
    if args.rc is not None:
        try:
            kwargs["rate_control"] = vh.RateControl.parse(args.rc)
        except vh.ConfigError as exc:
            raise CliError(f"--rc {args.rc}: {exc}")
    return vh.CommonEncodeConfig(**kwargs)


_BACKEND_FLAGS = {"software": ("preset", "tune", "threads"), "nvidia": ("preset", "tuning")}


def _backend_config(vh: Any, backend: str, args: argparse.Namespace) -> Any:
    """The backend config of the resolved backend, from the flags that apply to it; flags
    of another backend are reported and ignored."""
    own = _BACKEND_FLAGS.get(backend, ())
    for flag in ("preset", "tune", "tuning", "threads"):
        if getattr(args, flag) is not None and flag not in own:
            _warn(f"--{flag} does not apply to the {backend} backend; ignored")
    given = {f: getattr(args, f) for f in own if getattr(args, f) is not None}
    if backend == "software":
        return vh.SoftwareEncodeConfig(**given)
    if backend == "nvidia":
        return vh.NvidiaEncodeConfig(**given)
    return None


def _warn(message: str) -> None:
    print(f"videohw: warning: {message}", file=sys.stderr)


def _rate_text(bps: float) -> str:
    return f"{bps / 1e6:.2f} Mb/s" if bps >= 1e6 else f"{bps / 1e3:.1f} kb/s"


def _rc_text(rc: Any) -> str:
    mode = rc.mode.value
    if mode == "cqp":
        return f"cqp I{rc.qp_intra} P{rc.qp_inter_p} B{rc.qp_inter_b}"
    if mode == "vbr":
        return f"vbr {_rate_text(rc.bitrate_bps)} avg, {_rate_text(rc.max_bitrate_bps)} max"
    return f"{mode} {_rate_text(rc.bitrate_bps)}"


# ------------------------------------------------------------------------------------------
# encode


def _one_switch_per_frame(switches: Sequence[SwitchSpec]) -> None:
    """Exit 2 for two --switch entries at one frame. The API would take both, one after the
    other, and the first one's generation would encode no frame; which one a user meant,
    and in which order, a command line cannot say."""
    first: dict[int, SwitchSpec] = {}
    for sw in switches:
        if sw.frame in first:
            raise CliError(f"--switch {first[sw.frame].text!r} and --switch {sw.text!r} are "
                           f"both at frame {sw.frame}; give one switch per frame (keys "
                           "combine: --switch FRAME:size=WxH,rc=SPEC:MODE)")
        first[sw.frame] = sw


def cmd_encode(args: argparse.Namespace) -> int:
    vh = _api()
    _one_switch_per_frame(args.switch or [])
    source = _make_input(args)
    output, out_format = output_target(args.output, args.format, args.codec)
    refuse_input_as_output(source.path, output)  # before anything is opened for writing
    forced = sorted(set(args.force_idr_at or ()))
    late = [i for i in forced if i >= source.n_frames]
    if late:
        raise CliError(f"--force-idr-at: {verify.short_list(late)} not frame indices of this encode "
                       f"(0..{source.n_frames - 1})")
    try:
        common = _common_config(vh, args, source.width, source.height)
    except vh.ConfigError as exc:
        raise CliError(str(exc))
    if args.verify:  # fail before encoding, not after
        try:
            verify.find_tool("ffprobe"), verify.find_tool("ffmpeg")
        except verify.ToolNotFoundError as exc:
            raise CliError(str(exc), EXIT_FAIL)
    try:
        ctl = vh.SessionController(args.backend)
    except vh.ConfigError as exc:
        raise CliError(str(exc))
    except vh.BackendUnavailableError as exc:
        raise CliError(str(exc), EXIT_FAIL)
    switches = sorted(args.switch or [], key=lambda sw: sw.frame)
    targets = _switch_targets(vh, common, switches, source)
    fmt = vh.PixelFormat(source.format)
    for codec in dict.fromkeys([common.codec, *(t.codec for t in targets)]):
        try:
            caps = ctl.capabilities(codec)
        except vh.ConfigError as exc:
            raise CliError(str(exc))
        if fmt not in caps.input_formats:
            takes = " ".join(f.value for f in vh.PixelFormat if f in caps.input_formats)
            raise CliError(f"--input-format {fmt.value}: the {ctl.backend} backend does not take "
                           f"it for {codec.value} (it takes: {takes})")
    try:
        backend_cfg = _backend_config(vh, ctl.backend, args)
    except vh.ConfigError as exc:
        raise CliError(str(exc))

    result = _encode(vh, ctl, common, backend_cfg, source, fmt, forced, output,
                     progress=not args.no_progress, switches=list(zip(switches, targets)),
                     out_format=out_format)

    seconds = source.n_frames * common.fps_den / common.fps_num
    summary = {
        "backend": ctl.backend,
        "requested_backend": args.backend,
        "fallback_reason": ctl.fallback_reason,
        "codec": common.codec.value,
        "width": common.width,
        "height": common.height,
        "fps": f"{common.fps_num}/{common.fps_den}",
        "input": source.path or "synthetic",
        "input_format": source.format,
        "rate_control": _rc_text(common.rate_control),
        "gop_length": common.gop_length,
        "b_frames": common.b_frames,
        "low_latency": common.low_latency,
        "frames": source.n_frames,
        "packets": result.packets,
        "output": output,
        "format": out_format,
        "files": result.paths,
        "bytes": sum(seg.bytes for seg in result.segments),
        "stream_bytes": result.bytes,
        "duration_s": seconds,
        "bitrate_bps": result.bytes * 8 / seconds,
        "encode_s": result.api_s,
        "wall_s": result.wall_s,
        "encode_fps": source.n_frames / result.api_s if result.api_s > 0 else None,
        "keyframes": result.keyframes,
        "forced_keyframes": forced,
    }
    report = None
    if switches:
        summary["generations"] = _generation_summary(common, switches, targets, result)
    if switches or len(result.segments) > 1:
        summary["segments"] = _segment_summary(result.segments)
    if args.verify:
        report = _verify(common, switches, targets, result, source, forced, out_format,
                         args.min_psnr)
        summary["verify"] = report.to_dict()
        psnr = {c.data["generation"]: c.data["average"] for c in report.checks
                if "generation" in c.data and "average" in c.data}
        for g in summary.get("generations", []):
            g["psnr"] = psnr.get(g["generation"])
    if args.telemetry:
        summary["telemetry"] = result.telemetry

    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        _print_summary(summary)
        for g in summary.get("generations", []):
            print(_generation_line(g))
        if report is not None:
            print(f"verify ({'OK' if report.ok else 'FAILED'}; decoded by ffprobe/ffmpeg):")
            for line in report.lines:
                print("  " + line)
        if args.telemetry:
            print("telemetry:")
            print(json.dumps(result.telemetry, indent=2, default=str))
    return EXIT_FAIL if report is not None and not report.ok else EXIT_OK


def _verify(common: Any, switches: Sequence[SwitchSpec], targets: Sequence,
            result: "_EncodeResult", source: _Input, forced: Sequence[int], out_format: str,
            min_psnr: float) -> verify.VerifyReport:
    """Checks the files written with ffprobe/ffmpeg: one stream against the expected
    keyframes, or, with switches or several files, generation by generation and segment by
    segment (docs/cli.md)."""
    fps = Fraction(common.fps_num, common.fps_den)
    try:
        if not switches and len(result.segments) == 1:
            expected = verify.expected_keyframes(source.n_frames, common.gop_length, forced)
            return verify.verify_stream(
                result.segments[0].path, common.codec.value, common.width, common.height,
                source.n_frames, expected, source.raw_source(fps), min_psnr, fps=fps)
        planned = [verify.PlannedSwitch(sw.frame, generation, t.width, t.height, t.gop_length,
                                        sw.mode, sw.idr, in_place, reopened, t.b_frames > 0,
                                        t.codec.value)
                   for sw, t, (generation, in_place, reopened)
                   in zip(switches, targets, result.switches)]
        plan = verify.switch_timeline(source.n_frames, common.width, common.height,
                                      common.gop_length, planned, forced, common.codec.value)

        def source_for(width: int, height: int) -> verify.RawSource:
            if source.path is None:  # regenerated at the size of that generation
                return verify.RawSource.synthetic(source.format, width, height,
                                                  source.n_frames, fps)
            return source.raw_source(fps)  # size switches are refused for files

        cuts = "codec" if out_format in ("annexb", "ts") else "parameters"
        return verify.verify_segments(
            [verify.StreamSegment(s.path, s.codec, s.packet_generations, s.delayed)
             for s in result.segments], plan, source_for, min_psnr, cuts=cuts, fps=fps)
    except verify.ToolNotFoundError as exc:
        raise CliError(str(exc), EXIT_FAIL)


def _generation_summary(common: Any, switches: Sequence[SwitchSpec], targets: Sequence,
                        result: "_EncodeResult") -> list:
    """One entry per generation that encoded frames, from the packets that came out (their
    generation and pts) and the path each switch took (telemetry)."""
    configs = {1: common}
    paths = {1: "initial"}
    modes = {1: None}
    for sw, target, (generation, in_place, _) in zip(switches, targets, result.switches):
        configs[generation] = target
        paths[generation] = "in_place" if in_place else "new_session"
        modes[generation] = sw.mode
    frames: dict[int, list[int]] = {}
    for pts, generation in result.packet_generations:
        frames.setdefault(generation, []).append(pts)
    out = []
    for generation in sorted(frames):
        config = configs.get(generation, common)
        pts = sorted(frames[generation])
        seconds = len(pts) * config.fps_den / config.fps_num
        nbytes = result.generation_bytes.get(generation, 0)
        out.append({
            "generation": generation, "first_frame": pts[0], "last_frame": pts[-1],
            "frames": len(pts), "size": f"{config.width}x{config.height}",
            "codec": config.codec.value, "fps": f"{config.fps_num}/{config.fps_den}",
            "rate_control": _rc_text(config.rate_control), "gop_length": config.gop_length,
            "b_frames": config.b_frames, "mode": modes.get(generation),
            "path": paths.get(generation),
            "bytes": nbytes, "bitrate_bps": nbytes * 8 / seconds if seconds else 0.0,
        })
    return out


def _segment_summary(segments: Sequence[_Segment]) -> list:
    """One entry per file written: the output, then one per segment the container needed."""
    out = []
    for n, seg in enumerate(segments, 1):
        pts = [p for p, _ in seg.packet_generations]
        out.append({"segment": n, "path": seg.path, "codec": seg.codec,
                    "first_frame": min(pts, default=None), "last_frame": max(pts, default=None),
                    "frames": len(pts), "bytes": seg.bytes, "stream_bytes": seg.stream_bytes})
    return out


def _generation_line(g: dict) -> str:
    line = (f"generation {g['generation']:<2} frames {g['first_frame']}..{g['last_frame']} "
            f"({g['frames']}), {g['size']}, {g['codec']}, {g['rate_control']}, gop "
            f"{g['gop_length']}: {_rate_text(g['bitrate_bps'])} achieved, {g['path']}")
    if g["mode"]:
        line += f" ({g['mode']})"
    if g.get("psnr") is not None:
        line += f", psnr {g['psnr']:.2f} dB"
    return line


def _switch_targets(vh: Any, common: Any, switches: Sequence[SwitchSpec],
                    source: _Input) -> list:
    """The target config of each switch, each starting from the one before it."""
    targets, config = [], common
    for sw in switches:
        if sw.frame >= source.n_frames:
            raise CliError(f"--switch at frame {sw.frame}: the encode has {source.n_frames} frames")
        changes = dict(sw.changes)
        if "rate_control" in changes:
            try:
                changes["rate_control"] = vh.RateControl.parse(changes["rate_control"])
            except vh.ConfigError as exc:
                raise CliError(f"--switch at frame {sw.frame}: {exc}")
        if "codec" in changes:
            changes["codec"] = vh.Codec(changes["codec"])
        if source.path is not None and ("width" in changes or "height" in changes):
            raise CliError(f"--switch at frame {sw.frame}: a size change needs frames of the new "
                           "size; a raw --input file holds one size (use the synthetic input)")
        try:
            config = dataclasses.replace(config, **changes)
        except vh.ConfigError as exc:
            raise CliError(f"--switch at frame {sw.frame}: {exc}")
        targets.append(config)
    return targets


@dataclass
class _EncodeResult:
    packets: int
    bytes: int
    keyframes: list
    api_s: float
    wall_s: float
    telemetry: dict
    packet_generations: list = field(default_factory=list)  # (pts, generation), decode order
    switches: list = field(default_factory=list)  # (generation, in_place, reopened) per switch
    generation_bytes: dict = field(default_factory=dict)  # generation -> bytes written
    segments: list = field(default_factory=list)  # _Segment per file written, in order
    paths: list = field(default_factory=list)  # the files written (final names), in order


def segment_path(output: str, number: int, codec: str) -> str:
    """The file of segment ``number`` (2, 3, ...): ``<stem>.seg<N>.<codec>`` beside ``output``
    (out.h264 -> out.seg2.hevc); segment 1 is ``output`` itself."""
    stem, _ = os.path.splitext(output)
    return f"{stem}.seg{number}.{codec}"


@dataclass
class _Segment:
    path: str
    codec: str
    bytes: int = 0         # the file's size once written (until then: the packets' bytes)
    stream_bytes: int = 0  # the encoded packets' bytes
    packet_generations: list = field(default_factory=list)  # (pts, generation), decode order
    # Frames by which a container writer moves the pictures after a switch to deeper
    # reordering later (docs/media_writer.md, Timestamps): its rule, replayed.
    delayed: int = 0
    _last_dts: Optional[int] = None

    def add(self, packet: Any) -> None:
        self.bytes += len(packet.data)
        self.stream_bytes += len(packet.data)
        self.packet_generations.append((packet.pts, packet.generation))
        dts = packet.dts + self.delayed
        if self._last_dts is not None and dts <= self._last_dts:
            self.delayed += self._last_dts + 1 - dts
            dts = self._last_dts + 1
        self._last_dts = dts


class _SegmentWriter:
    """Writes an Annex-B elementary stream to ``output`` until the codec changes, then to a
    new segment file per codec change: one elementary stream cannot hold H.264 and HEVC,
    and a codec switch is always a new session, so each segment starts with an IDR and its
    parameter sets. Every file is written under a temporary name and renamed by
    ``commit()``; ``discard()`` (a failure, Ctrl-C) leaves none of them."""

    format = "annexb"

    def __init__(self, output: str, codec: str, codec_of: dict,
                 input_path: Optional[str] = None) -> None:
        self._codec_of = codec_of  # generation -> codec value; the caller adds each switch's
        self._input = input_path
        self.segments: list[_Segment] = []
        self._files: list[_PendingFile] = []
        self._open(output, codec)  # now, so a bad -o fails before anything is encoded

    def _open(self, path: str, codec: str) -> None:
        flag = "-o" if not self.segments else "segment"
        refuse_input_as_output(self._input, path, flag)
        if self._files:
            self._files[-1].finish()
        self._files.append(_PendingFile(path, flag))
        self.segments.append(_Segment(path, codec))

    def write(self, packet: Any) -> None:
        codec = self._codec_of.get(packet.generation)
        if codec is None:
            raise CliError(f"a packet of generation {packet.generation}, which no --switch "
                           "made", EXIT_FAIL)
        if codec != self.segments[-1].codec:
            self._open(segment_path(self.segments[0].path, len(self.segments) + 1, codec), codec)
        self._files[-1].write(packet.data)
        self.segments[-1].add(packet)

    def commit(self) -> list[str]:
        """Renames every segment to its final name; on a failure removes them all."""
        try:
            for f in self._files:
                f.commit()
        except BaseException:
            self.discard()
            raise
        return [s.path for s in self.segments]

    def discard(self) -> None:
        for f in self._files:
            f.discard()


class _ContainerWriter:
    """MP4, fragmented MP4, Matroska or MPEG-TS through ``videohw.MediaWriter``, which cuts
    segments itself (docs/media_writer.md): MP4 and Matroska where the parameter sets
    change, MPEG-TS where the codec changes. The same interface as :class:`_SegmentWriter`."""

    def __init__(self, vh: Any, output: str, fmt: str, common: Any,
                 input_path: Optional[str] = None) -> None:
        self._vh = vh
        self._input = input_path
        self.format = fmt
        try:
            self._writer = vh.MediaWriter(output, common.codec, common.width, common.height,
                                          common.fps_num, common.fps_den, format=fmt)
        except vh.MediaError as exc:
            raise CliError(self._named(output, exc, "-o"), EXIT_FAIL)
        self.segments: list[_Segment] = []

    @staticmethod
    def _named(path: str, exc: Exception, flag: str = "") -> str:
        text = str(exc)
        return text if path in text else f"{flag + ' ' if flag else ''}{path}: {text}"

    def write(self, packet: Any) -> None:
        try:
            self._writer.write_packet(packet)
        except self._vh.VideoHwError as exc:
            raise CliError(self._named(self._writer.path, exc), EXIT_FAIL)
        infos = self._writer.segments
        while len(self.segments) < len(infos):  # the writer started a file
            info = infos[len(self.segments)]
            refuse_input_as_output(self._input, info.path, "-o" if not self.segments
                                   else "segment")
            self.segments.append(_Segment(info.path, info.codec.value))
        self.segments[-1].add(packet)

    def commit(self) -> list[str]:
        """Finishes and renames every file (MediaWriter.close); their sizes become the
        segments' bytes."""
        try:
            paths = self._writer.close()
        except self._vh.VideoHwError as exc:
            raise CliError(self._named(self._writer.path, exc), EXIT_FAIL)
        for segment in self.segments:
            try:
                segment.bytes = os.path.getsize(segment.path)
            except OSError as exc:
                raise CliError(f"{segment.path}: {exc.strerror or exc}", EXIT_FAIL)
        return paths

    def discard(self) -> None:
        self._writer.abort()


def _open_output(vh: Any, output: str, fmt: str, common: Any, codec_of: dict,
                 input_path: Optional[str]) -> Any:
    if fmt == "annexb":
        return _SegmentWriter(output, common.codec.value, codec_of, input_path)
    return _ContainerWriter(vh, output, fmt, common, input_path)


def _encode(vh: Any, ctl: Any, common: Any, backend_cfg: Any, source: _Input, fmt: Any,
            forced: Sequence[int], output: str, progress: bool,
            switches: Sequence[tuple] = (), out_format: str = "annexb") -> _EncodeResult:
    """Submits every frame, writing packets as they are reaped; closes the session and
    renames the output into place. On any failure or interrupt no output file is left.
    ``switches``: (SwitchSpec, target config) pairs, applied just before their frame."""
    forced_set = set(forced)
    by_frame = {sw.frame: (sw, target) for sw, target in switches}
    n_packets = n_bytes = 0
    keyframes: list[int] = []
    packet_generations: list[tuple[int, int]] = []
    generation_bytes: dict[int, int] = {}
    switch_paths: list[tuple[int, bool, bool]] = []
    codec_of = {1: common.codec.value}
    generators: dict = {}
    api_s = 0.0

    def picture(i: int, array: np.ndarray) -> np.ndarray:
        """Frame i at the size the session expects now (synthetic input only changes size)."""
        if not by_frame or source.path is not None:
            return array
        state = ctl.session_state(handle)
        size = ((state["pending_width"], state["pending_height"])
                if i in forced_set and state["pending_width"] else (state["width"], state["height"]))
        if size == (source.width, source.height):
            return array
        if size not in generators:
            generators[size] = synthetic.generator(size[0], size[1], source.format)
        return generators[size].frame(i)

    def write(packets: list) -> None:
        nonlocal n_packets, n_bytes
        for p in packets:
            packet_generations.append((p.pts, p.generation))
            generation_bytes[p.generation] = generation_bytes.get(p.generation, 0) + len(p.data)
            out.write(p)
            n_packets += 1
            n_bytes += len(p.data)
            if p.is_keyframe:
                keyframes.append(p.pts)

    # The file first, so a bad -o fails before any encoder starts.
    out = _open_output(vh, output, out_format, common, codec_of, source.path)
    try:
        handle = ctl.start_encode_session(common, backend_cfg)
    except BaseException as exc:
        out.discard()
        if isinstance(exc, vh.ConfigError):
            raise CliError(str(exc))
        raise
    wall0 = time.perf_counter()
    closed = False
    try:
        with ProgressBar(source.n_frames, label="encode",
                         enabled=None if progress else False) as bar:
            for i, array in enumerate(source.frames()):
                t0 = time.perf_counter()
                if i in by_frame:
                    sw, target = by_frame[i]
                    before = ctl.telemetry(handle)
                    try:
                        handle = ctl.switch_encode_session(handle, vh.SessionSwitchRequest(
                            target=(target, None), mode=vh.SessionSwitchMode(sw.mode),
                            force_idr_on_activate=sw.idr))
                    except vh.ConfigError as exc:
                        raise CliError(f"--switch at frame {i}: {exc}")
                    after = ctl.telemetry(handle)
                    codec_of[handle.generation] = target.codec.value
                    # A drain that ended the stream: software reopens, NVENC sends EOS.
                    restarts = lambda t: t["encoder_reopens"] + t["stream_restarts"]  # noqa: E731
                    switch_paths.append((handle.generation,
                                         after["switches_in_place"] > before["switches_in_place"],
                                         restarts(after) > restarts(before)))
                frame = vh.Frame(picture(i, array), fmt, pts=i, force_keyframe=i in forced_set)
                ctl.submit(handle, frame)
                packets = ctl.reap(handle)
                api_s += time.perf_counter() - t0
                write(packets)
                bar.update()
            bar.close()
            t0 = time.perf_counter()
            closed = True
            packets = ctl.close_encode_session(handle)
            api_s += time.perf_counter() - t0
            write(packets)
        paths = out.commit()
    except BaseException:
        out.discard()  # an error or an interrupt: no file under the requested names
        raise
    finally:
        if not closed:  # release the session, keep the cause
            try:
                ctl.close_encode_session(handle)
            except vh.VideoHwError:
                pass
    return _EncodeResult(n_packets, n_bytes, sorted(keyframes), api_s,
                         time.perf_counter() - wall0, ctl.telemetry(handle),
                         packet_generations, switch_paths, generation_bytes, out.segments,
                         paths)


def _print_summary(s: dict) -> None:
    backend = s["backend"]
    if s["requested_backend"] != backend:
        backend += f" ({s['requested_backend']}"
        backend += f": {s['fallback_reason']})" if s["fallback_reason"] else ")"
    segments = s.get("segments", [])
    kind = "" if s["format"] == "annexb" else f" ({_FORMAT_NAMES[s['format']]})"
    output = f"{s['output']}{kind}: {s['bytes']} bytes"
    if len(segments) > 1:
        why = ("codec changes" if s["format"] in ("annexb", "ts")
               else "new parameter sets")
        output = (f"{s['output']}{kind} and {len(segments) - 1} more segment file"
                  f"{'s' if len(segments) > 2 else ''} ({why}): {s['bytes']} bytes in all")
    rows = [
        ("backend", backend),
        ("codec", f"{s['codec']} {s['width']}x{s['height']} @ {s['fps'].removesuffix('/1')} "
                  f"fps, {s['rate_control']}, gop {s['gop_length']}, b-frames {s['b_frames']}"
                  + (", low latency" if s["low_latency"] else "")),
        ("input", f"{s['input']} ({s['input_format']})"),
        ("frames", f"{s['frames']} in, {s['packets']} packets out"),
        ("output", output),
        ("bitrate", f"{_rate_text(s['bitrate_bps'])} achieved over {s['duration_s']:.2f} s"),
        ("encode", (f"{s['encode_fps']:.1f} fps" if s["encode_fps"] else "n/a")
                   + f" ({s['encode_s']:.2f} s in videohw, {s['wall_s']:.2f} s wall)"),
        ("keyframes", f"{len(s['keyframes'])} at {verify.short_list(s['keyframes'])}"),
    ]
    for name, value in rows:
        print(f"{name:<10} {value}")
    if len(segments) > 1:
        for seg in segments:
            print(f"segment {seg['segment']:<2} {seg['path']}: {seg['codec']}, frames "
                  f"{seg['first_frame']}..{seg['last_frame']} ({seg['frames']}), "
                  f"{seg['bytes']} bytes")


# ------------------------------------------------------------------------------------------
# caps


def _caps_dict(vh: Any, caps: Any) -> dict:
    return {
        "min_width": caps.min_width, "min_height": caps.min_height,
        "max_width": caps.max_width, "max_height": caps.max_height,
        "max_b_frames": caps.max_b_frames, "max_gop_length": caps.max_gop_length,
        "rate_control_modes": [m.value for m in vh.RateControlMode
                               if m in caps.rate_control_modes],
        "input_formats": [f.value for f in vh.PixelFormat if f in caps.input_formats],
        "low_latency": caps.low_latency,
        "dynamic_bitrate": caps.dynamic_bitrate,
        "dynamic_resolution": caps.dynamic_resolution,
        "presets": list(caps.presets),
        "tunes": list(caps.tunes),
    }


_CAPS_CODECS = ("h264", "hevc")


def collect_capabilities() -> dict:
    """{"auto": {...}, "backends": {name: {"available", "reason", "codecs"}}}."""
    vh = _api()
    backends: dict[str, dict] = {}
    for name, reason in vh.available_backends().items():
        entry: dict[str, Any] = {"available": reason is None, "reason": reason}
        if reason is None:
            try:
                ctl = vh.SessionController(name)
            except vh.VideoHwError as exc:
                entry = {"available": False, "reason": str(exc)}
            else:
                entry["codecs"] = {}
                for codec in _CAPS_CODECS:
                    try:
                        entry["codecs"][codec] = _caps_dict(vh, ctl.capabilities(vh.Codec(codec)))
                    except vh.VideoHwError as exc:
                        entry["codecs"][codec] = {"unsupported": str(exc)}
        backends[name] = entry
    try:
        auto_ctl = vh.SessionController("auto")
        auto = {"backend": auto_ctl.backend, "fallback_reason": auto_ctl.fallback_reason}
    except vh.VideoHwError as exc:
        auto = {"backend": None, "fallback_reason": str(exc)}
    return {"auto": auto, "backends": backends}


def _yes(v: bool) -> str:
    return "yes" if v else "no"


_CAPS_ROWS = (
    ("size", lambda c: f"{c['min_width']}x{c['min_height']}..{c['max_width']}x{c['max_height']}"),
    ("B-frames (max)", lambda c: str(c["max_b_frames"])),
    ("GOP length (max)", lambda c: str(c["max_gop_length"])),
    ("rate control", lambda c: " ".join(c["rate_control_modes"])),
    ("input formats", lambda c: " ".join(c["input_formats"])),
    ("low latency", lambda c: _yes(c["low_latency"])),
    ("dynamic bitrate", lambda c: _yes(c["dynamic_bitrate"])),
    ("dynamic resolution", lambda c: _yes(c["dynamic_resolution"])),
)


def _print_caps(info: dict) -> None:
    auto = info["auto"]
    line = f"auto -> {auto['backend'] or 'none'}"
    if auto["fallback_reason"]:
        line += f" ({auto['fallback_reason']})"
    print(line)
    for name, entry in info["backends"].items():
        print()
        if not entry["available"]:
            print(f"{name}: unavailable: {entry['reason']}")
            continue
        print(f"{name}: usable")
        codecs = entry["codecs"]
        supported = [c for c in codecs if "unsupported" not in codecs[c]]
        for c in codecs:
            if c not in supported:
                print(f"  {c}: not supported: {codecs[c]['unsupported']}")
        if not supported:
            continue
        table = [["", *supported]]
        for label, cell in _CAPS_ROWS:
            table.append([label, *(cell(codecs[c]) for c in supported)])
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            print("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        for key in ("presets", "tunes"):
            values = {c: " ".join(codecs[c][key]) or "-" for c in supported}
            if len(set(values.values())) == 1:
                print(f"  {key}: {next(iter(values.values()))}")
            else:
                for c, v in values.items():
                    print(f"  {key} ({c}): {v}")


def cmd_caps(args: argparse.Namespace) -> int:
    info = collect_capabilities()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print_caps(info)
    return EXIT_OK


# ------------------------------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"videohw {args.command}"
    try:
        from .cli_log import configure
        configure(args.verbose)
        return args.func(args)
    except CliError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout went away (``videohw caps | head``): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAIL
    except OSError as exc:  # writing the output (disk full, ...), reading the input
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except Exception as exc:  # noqa: BLE001 -- library errors: one line, not a traceback
        vh = sys.modules.get("videohw")
        if vh is not None and isinstance(exc, getattr(vh, "VideoHwError", ())):
            code = EXIT_USAGE if isinstance(exc, vh.ConfigError) else EXIT_FAIL
            print(f"{prog}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return code
        raise


if __name__ == "__main__":
    sys.exit(main())
