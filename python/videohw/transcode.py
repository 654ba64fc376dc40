"""Transcoding a file: demux -> decode -> transform -> encode (one or several outputs) -> mux,
each stage on its own thread in the core (docs/transcode.md).

``transcode(src, dst, common)`` re-encodes the video of ``src`` into ``dst`` and copies its
audio; ``rungs`` makes an ABR ladder from one decode; ``switches`` changes an output's
encoder mid-stream (bitrate, size, codec, GOP) in any switch mode.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Optional, Union

from . import _args, _convert, _core
from .contract import (
    BackendEncodeConfig,
    Codec,
    CommonEncodeConfig,
    NvidiaDecodeConfig,
    RateControl,
    SessionSwitchMode,
    SoftwareDecodeConfig,
)
from .controller import BACKENDS, SessionController
from .errors import ConfigError, InvalidTypeError
from .media import VideoStreamInfo, probe, select_video_stream
from .progress import ProgressBar

PathLike = Union[str, "os.PathLike[str]"]
ProgressArg = Union[bool, Callable[["TranscodeProgress"], None]]

AUDIO_MODES = ("copy", "none")


@dataclass(frozen=True)
class Rung:
    """One output of a ladder: ``common`` with this size and a CBR rate (VBV of one second
    of it), and ``codec`` when given. ``path``: None names it after the main output,
    ``out_1280x720.mp4``."""

    width: int
    height: int
    bitrate_bps: int
    path: Optional[PathLike] = None
    codec: Optional[Codec] = None

    def __post_init__(self) -> None:
        _args.integer("Rung", "width", self.width, 2, 16384)
        _args.integer("Rung", "height", self.height, 2, 16384)
        _args.integer("Rung", "bitrate_bps", self.bitrate_bps, 1, 2**31 - 1)


@dataclass(frozen=True)
class TranscodeSwitch:
    """At the first frame at or after ``at_seconds`` (source time) or ``at_frame`` (display
    index from 0), output ``rung`` switches to ``common`` in ``mode``."""

    common: CommonEncodeConfig
    at_seconds: Optional[float] = None
    at_frame: Optional[int] = None
    mode: SessionSwitchMode = SessionSwitchMode.ON_NEXT_KEYFRAME
    rung: int = 0
    force_idr_on_activate: bool = True
    backend_config: Optional[BackendEncodeConfig] = None

    def __post_init__(self) -> None:
        _args.instance("TranscodeSwitch", "common", self.common, (CommonEncodeConfig,))
        if (self.at_seconds is None) == (self.at_frame is None):
            raise ConfigError("TranscodeSwitch: give exactly one of at_seconds and at_frame")
        if self.at_seconds is not None:
            if isinstance(self.at_seconds, bool) or not isinstance(self.at_seconds, (int, float)):
                raise InvalidTypeError(
                    f"TranscodeSwitch.at_seconds: {self.at_seconds!r}; expected a number"
                )
            if not self.at_seconds >= 0:
                raise ConfigError(f"TranscodeSwitch.at_seconds: {self.at_seconds}; expected >= 0")
        if self.at_frame is not None:
            _args.integer("TranscodeSwitch", "at_frame", self.at_frame, 0, 2**62)
        _args.integer("TranscodeSwitch", "rung", self.rung, 0, 1024)
        if not isinstance(self.mode, SessionSwitchMode):
            raise InvalidTypeError(
                f"TranscodeSwitch.mode: {self.mode!r}; expected a SessionSwitchMode"
            )


@dataclass(frozen=True)
class TranscodeProgress:
    """Where a running transcode is: frames handed to the encoders, source seconds done."""

    frames: int
    total_frames: int  # the container's count; 0 when unknown
    seconds_done: float
    duration_seconds: float
    elapsed: float
    packets_out: tuple[int, ...]

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class TranscodeOutput:
    """One output of a transcode."""

    path: str
    files: tuple[str, ...]  # final paths: the output, then its segments (size/codec switches)
    width: int
    height: int
    codec: Codec
    frames: int
    packets: int
    bytes: int
    keyframes: int
    fps: float  # frames per second of wall time
    bitrate_bps: float  # over the source's duration
    packets_per_generation: dict[int, int]
    switches: int
    audio_packets: int
    audio_dropped: int
    submit_wait_seconds: float  # the dispatch waited for this output (its backpressure)
    mux_seconds: float
    telemetry: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class TranscodeReport:
    """What a transcode did and where its time went."""

    source: str
    outputs: tuple[TranscodeOutput, ...]
    frames: int  # decoded frames handed to the encoders
    seconds: float  # wall time of the stages
    fps: float
    decode_backend: str
    encode_backend: str
    backend_note: Optional[str]  # why "auto" chose what it chose
    audio: str  # "copied: aac", "none", "no audio stream"
    transform: str  # where frames were scaled: "cpu", "gpu", or "cpu (why not the gpu)"
    decode_errors: int
    last_decode_error: str
    input_warning: str
    timestamps_repaired: int
    rate: Optional[Fraction]  # fps= given: the output frame rate; None: the source's frames
    frames_repeated: int  # by fps=: source frames shown in more than one output slot
    frames_dropped: int  # by fps=: source frames no output slot showed
    stage_seconds: dict[str, float]  # busy time per stage (they overlap: threads)
    # The most each queue held: "decoded" frames, and per output "rung N in flight" (its
    # transform and encode rings), "rung N audio" packets.
    queue_peaks: dict[str, int]
    decode_telemetry: dict[str, Any] = field(repr=False)
    quality: Optional[dict[str, Any]] = None  # --verify's PSNR/SSIM per output

    def summary(self) -> str:
        """A few lines for people: per-output fps and size, where time went."""
        lines = [
            f"{self.source}: {self.frames} frames in {self.seconds:.2f} s ({self.fps:.1f} fps); "
            f"decode {self.decode_backend}, encode {self.encode_backend}, scale "
            f"{self.transform}; audio {self.audio}"
        ]
        if self.backend_note:
            lines.append(f"  backend: {self.backend_note}")
        for o in self.outputs:
            files = "" if len(o.files) <= 1 else f" in {len(o.files)} segments"
            lines.append(
                f"  {o.path}: {o.width}x{o.height} {o.codec.value}, {o.frames} frames, "
                f"{o.bytes / 1e6:.2f} MB{files}, {o.bitrate_bps / 1e6:.2f} Mb/s, "
                f"{o.fps:.1f} fps, waited {o.submit_wait_seconds:.2f} s"
            )
        busy = ", ".join(f"{k} {v:.2f} s" for k, v in self.stage_seconds.items())
        lines.append(f"  stage busy time: {busy}")
        peaks = ", ".join(f"{k} {v}" for k, v in self.queue_peaks.items())
        lines.append(f"  queue peaks: {peaks}")
        if self.frames_repeated or self.frames_dropped:
            lines.append(
                f"  frame rate: {self.frames_repeated} frames repeated, "
                f"{self.frames_dropped} dropped"
            )
        if self.decode_errors:
            lines.append(f"  input: {self.decode_errors} decode errors ({self.last_decode_error})")
        if self.input_warning:
            lines.append(f"  input: {self.input_warning}")
        if self.quality:
            for path, q in self.quality.items():
                lines.append(f"  verify {path}: " + ", ".join(f"{k} {v}" for k, v in q.items()))
        return "\n".join(lines)


# -- configuration ---------------------------------------------------------------------


def _source_fps(video: VideoStreamInfo) -> Fraction:
    for rate in (video.avg_fps, video.real_fps):
        if rate is not None and rate > 0 and rate.numerator < 2**31 and rate.denominator < 2**31:
            return rate
    return Fraction(30, 1)


def default_common(video: VideoStreamInfo, codec: Codec = Codec.H264) -> CommonEncodeConfig:
    """The source's size and frame rate, two-second GOPs, CBR at about 0.1 bit per pixel."""
    fps = _source_fps(video)
    width, height = video.width - video.width % 2, video.height - video.height % 2
    bitrate = max(200_000, min(50_000_000, int(width * height * float(fps) * 0.1)))
    return CommonEncodeConfig(
        width=width,
        height=height,
        codec=codec,
        fps_num=fps.numerator,
        fps_den=fps.denominator,
        gop_length=max(1, round(2 * float(fps))),
        rate_control=RateControl.cbr(bitrate),
    )


def _check_rate(
    common: CommonEncodeConfig, video: VideoStreamInfo, what: str, fps: Optional[Fraction]
) -> None:
    # Without fps= the output keeps the source's frames and times, so the encoder must be
    # told the source's rate; with it, every config runs at that rate.
    wanted = fps if fps is not None else _source_fps(video)
    asked = Fraction(common.fps_num, common.fps_den)
    if abs(asked - wanted) > wanted / 100:
        if fps is not None:
            raise ConfigError(
                f"{what}: {common.fps_num}/{common.fps_den} fps; the transcode converts to "
                f"fps={fps.numerator}/{fps.denominator}: give the configs that rate"
            )
        raise ConfigError(
            f"{what}: {common.fps_num}/{common.fps_den} fps; the source runs at "
            f"{wanted.numerator}/{wanted.denominator} fps and a transcode keeps the source's "
            "frame times: use the source's rate, or pass fps= to repeat or drop frames to "
            "another rate"
        )


def _output_rate(value: Any) -> Optional[Fraction]:
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        rate = Fraction(value)
    except (TypeError, ValueError):
        raise InvalidTypeError(
            f"transcode: fps {value!r}; expected a number, a Fraction or 'N/D'"
        ) from None
    if not 0 < rate <= 1000 or rate.numerator >= 2**31 or rate.denominator >= 2**31:
        raise ConfigError(f"transcode: fps {value!r} is outside 0..1000 frames per second")
    return rate


def core_switch_tuples(
    call: str,
    switches: Sequence[TranscodeSwitch],
    outputs: int,
    encode: SessionController,
    check: Optional[Callable[[int, TranscodeSwitch], None]] = None,
) -> list[tuple]:
    """The switches as the core's (output, at_frame, at_seconds, config, provider, mode,
    force_idr) tuples, each checked first."""
    out = []
    for i, s in enumerate(switches):
        _args.instance(call, f"switches[{i}]", s, (TranscodeSwitch,))
        if s.rung >= outputs:
            raise ConfigError(f"{call}: switches[{i}] names rung {s.rung}; there are {outputs}")
        if check is not None:
            check(i, s)
        out.append(
            (
                s.rung,
                -1 if s.at_frame is None else s.at_frame,
                -1.0 if s.at_seconds is None else float(s.at_seconds),
                _convert.common_encode_config(s.common),
                encode._provider_for(s.backend_config),
                _convert._core_enum(_core.SessionSwitchMode, s.mode),
                s.force_idr_on_activate,
            )
        )
    return out


def rung_path(dst: PathLike, width: int, height: int) -> str:
    stem, ext = os.path.splitext(os.fspath(dst))
    return f"{stem}_{width}x{height}{ext}"


def _rung_common(common: CommonEncodeConfig, rung: Rung) -> CommonEncodeConfig:
    return dataclasses.replace(
        common,
        width=rung.width,
        height=rung.height,
        codec=rung.codec if rung.codec is not None else common.codec,
        rate_control=RateControl.cbr(rung.bitrate_bps),
    )


def _resolve_backends(backend: str, decode_backend: Optional[str]) -> tuple[str, str]:
    _args.choice("transcode", "backend", backend, BACKENDS)
    if decode_backend is None:
        decode_backend = "software" if backend == "software" else "auto"
    _args.choice("transcode", "decode_backend", decode_backend, BACKENDS)
    return backend, decode_backend


# -- the run ---------------------------------------------------------------------------


class Transcode:
    """One transcode started in the core; ``transcode()`` runs one to its end. Use it for
    your own loop: ``start()``, then ``wait(timeout)`` / ``progress()`` until done, then
    ``finish()``; ``cancel()`` from any thread stops it and leaves no output behind."""

    def __init__(
        self,
        src: PathLike,
        dst: Optional[PathLike],
        common: Optional[CommonEncodeConfig] = None,
        backend: str = "auto",
        rungs: Optional[Sequence[Rung]] = None,
        switches: Sequence[TranscodeSwitch] = (),
        *,
        backend_config: Optional[BackendEncodeConfig] = None,
        decode_config: Union[SoftwareDecodeConfig, NvidiaDecodeConfig, None] = None,
        decode_backend: Optional[str] = None,
        audio: str = "copy",
        format: Optional[str] = None,
        video_stream: Optional[int] = None,
        max_frames: Optional[int] = None,
        gpu_transform: bool = True,
        fps: Union[Fraction, int, float, str, None] = None,
        _controller: Optional[SessionController] = None,
        _sessions: Any = None,
        _range: Optional[tuple[Optional[int], Optional[int], Optional[int], Optional[int]]] = None,
        _pulled: bool = False,
        _video: Optional[VideoStreamInfo] = None,
    ) -> None:
        # _controller / _sessions: a worker's own, kept across files (videohw.distributed);
        # _range: one segment of the input; _pulled: packets are pulled, no file is written;
        # _video: the stream as the caller's probe described it.
        if not isinstance(src, (str, os.PathLike)):
            raise InvalidTypeError(
                f"transcode: src is a {type(src).__name__}; expected a path (str or PathLike)"
            )
        self.source = os.fspath(src)
        _args.instance("transcode", "common", common, (CommonEncodeConfig,), optional=True)
        _args.choice("transcode", "audio", audio, AUDIO_MODES)
        backend, decode_backend = _resolve_backends(backend, decode_backend)
        if _video is not None and video_stream == _video.index:
            video = _video  # the caller probed this file already
        else:
            video = select_video_stream(probe(self.source), video_stream)
        self.video = video
        rate = _output_rate(fps)
        base = common if common is not None else default_common(video)
        if common is None and rate is not None:
            base = dataclasses.replace(
                base,
                fps_num=rate.numerator,
                fps_den=rate.denominator,
                gop_length=max(1, round(2 * float(rate))),
            )
        _check_rate(base, video, "transcode: common", rate)
        self.rate = rate

        outputs: list[tuple[str, CommonEncodeConfig]] = []
        if rungs:
            for i, rung in enumerate(rungs):
                _args.instance("transcode", f"rungs[{i}]", rung, (Rung,))
                if rung.path is not None:
                    path = os.fspath(rung.path)
                elif dst is not None:
                    path = rung_path(dst, rung.width, rung.height)
                elif _pulled:
                    path = ""
                else:
                    raise ConfigError(f"transcode: rungs[{i}] has no path and dst is None")
                outputs.append((path, _rung_common(base, rung)))
        else:
            if dst is None and not _pulled:
                raise ConfigError("transcode: dst is None and there are no rungs")
            outputs.append(("" if dst is None else os.fspath(dst), base))
        if _pulled:
            outputs = [("", c) for _, c in outputs]
        paths = [p for p, _ in outputs if p]
        if len(set(map(os.path.abspath, paths))) != len(paths):
            raise ConfigError(f"transcode: two outputs write the same file: {paths}")
        if any(os.path.abspath(p) == os.path.abspath(self.source) for p in paths):
            raise ConfigError(f"transcode: an output would overwrite the source {self.source}")

        self._encode = _controller if _controller is not None else SessionController(backend)
        decoding = SessionController._for_decoding(decode_backend)
        decoder = decoding._decoder_provider(decode_config, "transcode")
        self.decode_backend = decoder.name
        provider = self._encode._provider_for(backend_config)
        self.encode_backend = provider.name
        notes = [n for n in (self._encode.fallback_reason,) if n]
        if self.decode_backend == "nvidia" and self.encode_backend != "nvidia":
            notes.append(
                "NVDEC decodes, the software encoder encodes: each frame is copied to the "
                "host once" + (" (this GPU has no NVENC)" if backend != "software" else "")
            )
        self.backend_note = "; ".join(notes) or None

        core_switches = core_switch_tuples(
            "transcode",
            switches,
            len(outputs),
            self._encode,
            lambda i, s: _check_rate(s.common, video, f"transcode: switches[{i}].common", rate),
        )
        if format is not None:
            _args.choice("transcode", "format", format, ("mp4", "fmp4", "mkv", "ts", "annexb"))
        core_outputs = [
            (path, _convert.common_encode_config(c), provider, format, True) for path, c in outputs
        ]
        self.outputs = outputs
        self.max_frames = max_frames
        self._graph = _core.TranscodeGraph(
            self.source,
            decoder,
            core_outputs,
            core_switches,
            video_stream=video.index,
            audio=audio,
            max_frames=-1
            if max_frames is None
            else _args.integer("transcode", "max_frames", max_frames, 1, 2**62),
            gpu_transform=_args.boolean("transcode", "gpu_transform", gpu_transform),
            fps_num=0 if rate is None else rate.numerator,
            fps_den=0 if rate is None else rate.denominator,
            sessions=_sessions,
            range=_range,
        )
        self._started: Optional[float] = None
        self._report: Optional[TranscodeReport] = None

    def _total_frames(self) -> int:
        """Output frames to expect: the container's count, or at another rate its
        duration's worth (0 when unknown)."""
        if self.rate is None:
            return self.video.frame_count
        duration = self.video.duration_seconds or 0.0
        return int(round(duration * float(self.rate)))

    def start(self) -> None:
        self._started = time.monotonic()
        self._graph.start()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """True once every stage has ended (then call ``finish()``)."""
        return bool(self._graph.wait(-1.0 if timeout is None else float(timeout)))

    def cancel(self) -> None:
        self._graph.cancel()

    def progress(self) -> TranscodeProgress:
        p = self._graph.progress()
        total = self._total_frames()
        if self.max_frames is not None:
            total = min(total, self.max_frames) if total else self.max_frames
        return TranscodeProgress(
            frames=p["frames_dispatched"],
            total_frames=total,
            seconds_done=max(0.0, p["seconds_done"]),
            duration_seconds=p["duration_seconds"],
            elapsed=time.monotonic() - (self._started or time.monotonic()),
            packets_out=tuple(p["packets_out"]),
        )

    def finish(self) -> TranscodeReport:
        """Finishes every output (renamed into place) and reports; raises the first stage
        error, with every output removed."""
        raw = self._graph.finish()
        self._report = self._make_report(raw)
        return self._report

    def _make_report(self, raw: dict[str, Any]) -> TranscodeReport:
        return _report_from(
            raw,
            source=self.source,
            outputs=self.outputs,
            decode_backend=self.decode_backend,
            encode_backend=self.encode_backend,
            backend_note=self.backend_note,
            fps=self.rate or _source_fps(self.video),
            rate=self.rate,
        )


def _report_from(
    raw: dict[str, Any],
    *,
    source: str,
    outputs: Sequence[tuple[str, CommonEncodeConfig]],
    decode_backend: str,
    encode_backend: str,
    backend_note: Optional[str],
    fps: Fraction,
    rate: Optional[Fraction] = None,
) -> TranscodeReport:
    """The report of a finished graph (``_core.TranscodeGraph.finish()``)."""
    wall = raw["wall_ns"] / 1e9
    frames = raw["progress"]["frames_dispatched"]
    duration = raw["progress"]["duration_seconds"] or (frames / float(fps) if frames else 0.0)
    reports = []
    encode_busy = transform_busy = mux = 0.0
    for (path, common), o in zip(outputs, raw["outputs"]):
        t = o["encode"]
        encode_busy += t.get("encode_ns", 0) / 1e9
        transform_busy += t.get("transform_ns", 0) / 1e9
        mux += o["mux_ns"] / 1e9
        reports.append(
            TranscodeOutput(
                path=path,
                files=tuple(o["files"]),
                width=common.width,
                height=common.height,
                codec=common.codec,
                frames=o["frames"],
                packets=o["packets"],
                bytes=o["bytes"],
                keyframes=o["keyframes"],
                fps=o["frames"] / wall if wall > 0 else 0.0,
                bitrate_bps=o["bytes"] * 8 / duration if duration > 0 else 0.0,
                packets_per_generation=dict(o["packets_per_generation"]),
                switches=o["switches"],
                audio_packets=o["copied_packets"],
                audio_dropped=o["copied_dropped"],
                submit_wait_seconds=o["submit_wait_ns"] / 1e9,
                mux_seconds=o["mux_ns"] / 1e9,
                telemetry=t,
            )
        )
    decode = raw["decode"]
    return TranscodeReport(
        source=source,
        outputs=tuple(reports),
        frames=frames,
        seconds=wall,
        fps=frames / wall if wall > 0 else 0.0,
        decode_backend=decode_backend,
        encode_backend=encode_backend,
        backend_note=backend_note,
        audio=raw["audio"],
        transform=raw["transform"],
        decode_errors=raw["decode_errors"],
        last_decode_error=raw["last_decode_error"],
        input_warning=raw["input_warning"],
        timestamps_repaired=raw["timestamps_repaired"],
        rate=rate,
        frames_repeated=raw.get("frames_repeated", 0),
        frames_dropped=raw.get("frames_dropped", 0),
        stage_seconds={
            "demux": raw["ingress_ns"] / 1e9,
            "decode": decode.get("decode_ns", 0) / 1e9,
            "dispatch": raw["dispatch_ns"] / 1e9,
            "transform": transform_busy,
            "encode": encode_busy,
            "mux": mux,
        },
        queue_peaks=_queue_peaks(raw, decode),
        decode_telemetry=decode,
    )


def _queue_peaks(raw: dict[str, Any], decode: dict[str, Any]) -> dict[str, int]:
    peaks = {"decoded": int(decode.get("ready_peak_frames", 0))}
    for i, o in enumerate(raw["outputs"]):
        peaks[f"rung {i} in flight"] = int(o["encode"].get("in_flight_peak", 0))
        peaks[f"rung {i} audio"] = int(o["copied_queue_peak"])
    return peaks


def _run(job: Transcode, progress: ProgressArg) -> TranscodeReport:
    callback = progress if callable(progress) else None
    bar: Optional[ProgressBar] = None
    if progress is True:
        total = job._total_frames()
        if job.max_frames is not None:
            total = min(total, job.max_frames) if total else job.max_frames
        bar = ProgressBar(total, label="transcode", stream=sys.stderr)
    job.start()
    try:
        while not job.wait(0.1):
            now = job.progress()
            if bar is not None:
                bar.update(now.frames - bar.count)
            if callback is not None:
                callback(now)
        # The last call too comes before the outputs are renamed into place, so an
        # interrupt there still leaves nothing behind.
        if callback is not None:
            callback(job.progress())
    except BaseException:
        # Ctrl-C or a callback's error: every stage stops, and no output is left.
        job.cancel()
        try:
            job.finish()
        except Exception:
            pass
        raise
    finally:
        if bar is not None:
            bar.update(job.progress().frames - bar.count)
            bar.close()
    return job.finish()


def transcode(
    src: PathLike,
    dst: Optional[PathLike],
    common: Optional[CommonEncodeConfig] = None,
    backend: str = "auto",
    rungs: Optional[Sequence[Rung]] = None,
    switches: Sequence[TranscodeSwitch] = (),
    progress: ProgressArg = True,
    **options: Any,
) -> TranscodeReport:
    """Re-encodes the video of ``src`` into ``dst`` (or one file per rung) and copies its
    audio. ``common`` None: the source's size and rate, H.264, two-second GOPs.
    ``progress``: True draws a bar on a terminal's stderr; a callable gets a
    ``TranscodeProgress`` about ten times a second; False: nothing. Keyword options:
    ``backend_config``, ``decode_backend``, ``decode_config`` (the decoder's options, e.g.
    ``SoftwareDecodeConfig(threads=1)``), ``audio`` ("copy" or "none"), ``format``,
    ``video_stream``, ``max_frames``, ``gpu_transform`` (True: frames NVDEC decoded are
    scaled on the GPU), ``fps`` (an output frame rate: frames repeated or dropped to it).
    Ctrl-C stops every stage and removes the outputs."""
    job = Transcode(src, dst, common, backend, rungs, switches, **options)
    return _run(job, progress)
