"""transcode_many: a folder of videos through a pool of Ray workers that keep their sessions.

The driver plans every file (probe; long ones split at keyframes), hands one job at a time
to each idle worker, and puts each finished output in place. Workers write under a
temporary folder beside the outputs; the driver renames a file's outputs into place only
once all of them are complete, and removes the temporary ones of a worker that died, so a
retried or failed file never leaves a partial output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from .. import _args, _convert, _core
from ..contract import CommonEncodeConfig, NvidiaEncodeConfig, SoftwareEncodeConfig
from ..errors import ConfigError, InvalidTypeError, VideoHwError
from ..media import VideoStreamInfo, probe, select_video_stream
from ..progress import ProgressBar
from ..transcode import Rung, _rung_common, default_common, rung_path
from . import _ray
from .report import BatchProgress, BatchReport, FileResult
from .segments import Segment, plan_segments
from .worker import Job, JobResult, TranscodeWorker

PathLike = Union[str, "os.PathLike[str]"]
ProgressArg = Union[bool, Callable[[BatchProgress], None]]
CommonArg = Union[CommonEncodeConfig, Callable[[VideoStreamInfo], CommonEncodeConfig], None]
BackendConfig = Union[SoftwareEncodeConfig, NvidiaEncodeConfig, None]

VIDEO_EXTENSIONS = (
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".ts", ".m2ts",
    ".h264", ".264", ".h265", ".265", ".hevc",
)  # fmt: skip
_EXTENSIONS = {None: ".mp4", "mp4": ".mp4", "fmp4": ".mp4", "mkv": ".mkv", "ts": ".ts"}
_POLL_S = 0.25  # how often the driver looks at its workers


@dataclass
class _File:
    index: int
    source: str
    name: str  # output stem, relative to output_dir
    video: Optional[VideoStreamInfo]  # None: the file could not be read (status failed)
    common: Optional[CommonEncodeConfig]
    finals: list[str]  # where the outputs end up
    segments: list[Segment]
    note: str
    attempts: int = 0
    retry_reasons: list[str] = field(default_factory=list)
    results: dict[int, JobResult] = field(default_factory=dict)
    workers: list[str] = field(default_factory=list)
    started: Optional[float] = None
    joiner: Optional[_Joiner] = None  # a split file's outputs being written
    status: Optional[str] = None
    error: Optional[str] = None
    seconds: float = 0.0


def _expand(inputs: Union[PathLike, Sequence[PathLike]], out_dir: str) -> list[tuple[str, str]]:
    """(source, output stem) for every input: a folder gives its videos (recursively, the
    stems keep their subfolders; an output folder inside it is not an input); a list gives
    its files."""
    if isinstance(inputs, (str, os.PathLike)):
        root = os.fspath(inputs)
        if not os.path.isdir(root):
            return [(root, os.path.splitext(os.path.basename(root))[0])]
        found = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".") and os.path.abspath(os.path.join(folder, d)) != out_dir
            )
            for name in sorted(names):
                if name.lower().endswith(VIDEO_EXTENSIONS) and not name.startswith("."):
                    path = os.path.join(folder, name)
                    found.append((path, os.path.splitext(os.path.relpath(path, root))[0]))
        if not found:
            raise ConfigError(f"transcode_many: no video files in {root} ({VIDEO_EXTENSIONS})")
        return found
    if not isinstance(inputs, Sequence):
        raise InvalidTypeError(
            f"transcode_many: inputs is a {type(inputs).__name__}; expected a folder or a "
            "list of paths"
        )
    out = []
    for i, item in enumerate(inputs):
        if not isinstance(item, (str, os.PathLike)):
            raise InvalidTypeError(
                f"transcode_many: inputs[{i}] is a {type(item).__name__}; expected a path"
            )
        path = os.fspath(item)
        out.append((path, os.path.splitext(os.path.basename(path))[0]))
    return out


def _plan(
    index: int,
    source: str,
    name: str,
    output_dir: str,
    common: CommonArg,
    ladder: Optional[Sequence[Rung]],
    ext: str,
    segment_seconds: Optional[float],
) -> _File:
    video = select_video_stream(probe(source), None)
    if callable(common):
        base = common(video)
        if not isinstance(base, CommonEncodeConfig):
            raise InvalidTypeError(
                f"transcode_many: common({source!r}) gave a {type(base).__name__}; "
                "expected a CommonEncodeConfig"
            )
    else:
        base = common if common is not None else default_common(video)
    final = os.path.join(output_dir, name + ext)
    finals = [rung_path(final, r.width, r.height) for r in ladder] if ladder else [final]
    if any(os.path.abspath(p) == os.path.abspath(source) for p in finals):
        raise ConfigError(f"{source}: its output would replace it; choose another output_dir")
    segments: list[Segment] = []
    note = "whole"
    duration = video.duration_seconds or 0.0
    if segment_seconds is not None:
        if duration < 2 * segment_seconds:
            note = f"whole ({duration:.1f} s is under two segments of {segment_seconds:g} s)"
        elif video.time_base is None:
            note = "whole (no time base)"
        else:
            planned, why = plan_segments(
                source, video.index, video.time_base, segment_seconds, base.gop_length
            )
            if len(planned) > 1:
                segments, note = planned, why
            else:
                note = f"whole ({why})"
    return _File(index, source, name, video, base, finals, segments, note)


def _planned(f: _File) -> tuple[VideoStreamInfo, CommonEncodeConfig]:
    if f.video is None or f.common is None:
        raise ConfigError(f"{f.source}: the file was not planned")  # a videohw bug
    return f.video, f.common


def _jobs_of(
    f: _File, tmp: str, ladder: Optional[Sequence[Rung]], audio: str, fmt: Any
) -> list[Job]:
    video, common = _planned(f)
    rungs = tuple(ladder or ())
    if not f.segments:
        folder = os.path.join(tmp, f"{f.index}-{f.attempts}")
        outputs = tuple(os.path.join(folder, os.path.basename(p)) for p in f.finals)
        return [Job(f.name, f.source, common, rungs, outputs, audio, fmt, video.index, video=video)]
    return [
        Job(
            f.name,
            f.source,
            common,
            rungs,
            (),
            audio,
            fmt,
            video.index,
            segment=s.core_range(),
            segment_index=s.index,
            video=video,
        )  # fmt: skip
        for s in f.segments
        if s.index not in f.results
    ]


def _place(f: _File) -> None:
    """Moves a whole file's outputs from the temporary folder into place."""
    files = f.results[0].files
    for final in f.finals:
        made = [p for p in files if os.path.basename(p) == os.path.basename(final)]
        if not made:
            raise ConfigError(f"{f.source}: the worker did not write {os.path.basename(final)}")
        os.makedirs(os.path.dirname(final) or ".", exist_ok=True)
        os.replace(made[0], final)


class _Joiner:
    """A split file's outputs, written segment by segment in order as the segments arrive:
    the driver holds only segments that finished before one that comes earlier, not the
    whole file. Each output is a SegmentJoin (atomic: a temporary name until close)."""

    def __init__(
        self, f: _File, ladder: Optional[Sequence[Rung]], audio: str, fmt: Optional[str]
    ) -> None:
        video, base = _planned(f)
        tb = video.time_base
        assert tb is not None  # a file without one is not split
        commons = [_rung_common(base, r) for r in ladder] if ladder else [base]
        self.count = len(f.segments)
        self.next = 0
        self.finals = list(f.finals)
        self.closed: list[str] = []
        self.joins: list[Any] = []
        try:
            for final, common in zip(f.finals, commons):
                os.makedirs(os.path.dirname(final) or ".", exist_ok=True)
                codec = _convert._core_enum(_core.Codec, common.codec)
                self.joins.append(
                    _core.SegmentJoin(
                        final,
                        fmt or "",
                        codec,
                        common.width,
                        common.height,
                        common.fps_num,
                        common.fps_den,
                        tb.numerator,
                        tb.denominator,
                        video.rotation,
                        f.source if audio == "copy" else "",
                    )  # fmt: skip
                )
        except BaseException:
            self.abort()
            raise

    def feed(self, results: dict[int, JobResult]) -> bool:
        """Writes the segments that are next in order; True once every one is written and
        the outputs are in place."""
        while self.next in results:
            segment = results[self.next]
            for join, packets in zip(self.joins, segment.packets):
                for data, pts, dts, key in packets:
                    join.write(data, pts, dts, key)
            segment.packets = []  # written: let the memory go
            self.next += 1
        if self.next < self.count:
            return False
        for final, join in zip(self.finals, self.joins):
            join.close()
            self.closed.append(final)
        return True

    def abort(self) -> None:
        """No output of the file is left: temporary files removed, finished ones too."""
        for join in self.joins:
            join.abort()
        for final in self.closed:
            with contextlib.suppress(OSError):
                os.remove(final)
        self.joins, self.closed = [], []


def transcode_many(
    inputs: Union[PathLike, Sequence[PathLike]],
    output_dir: PathLike,
    common: CommonArg = None,
    backend: str = "auto",
    ladder: Optional[Sequence[Rung]] = None,
    address: Optional[str] = None,
    workers: Optional[int] = None,
    segment_seconds: Optional[float] = None,
    *,
    progress: ProgressArg = True,
    audio: str = "copy",
    format: Optional[str] = None,
    max_retries: int = 2,
    cpus_per_worker: int = 1,
    persistent_sessions: bool = True,
    backend_config: BackendConfig = None,
) -> BatchReport:
    """Transcodes every input into ``output_dir`` on Ray workers and reports each file.

    ``inputs``: a folder (its videos, recursively) or a list of paths. ``common``: the
    encode settings; None: each file's own size and rate, H.264; a callable: given each
    file's ``VideoStreamInfo``, it returns that file's settings. ``ladder``: several
    outputs per file (``name_WxH.mp4``). ``backend``: ``"software"`` (one worker per
    ``cpus_per_worker`` CPUs), ``"nvidia"`` (one worker per GPU), ``"auto"`` (GPUs when the
    cluster has them). ``address``: a Ray cluster (``"auto"``, ``"ray://host:10001"``);
    None starts a local Ray unless this process runs one. ``segment_seconds``: inputs
    longer than two segments are split at keyframes, the pieces transcoded in parallel and
    joined. A worker that dies has its file retried on another, up to ``max_retries``
    times. ``persistent_sessions=False`` opens new sessions for every file (for
    comparison). ``backend_config``: the encoder's own options (preset, tune); software
    encoders get ``cpus_per_worker`` threads unless it says otherwise. ``progress``: a bar
    on stderr (True), none (False), or a callable given a ``BatchProgress`` about four times
    a second.
    """
    if not callable(common):
        _args.instance("transcode_many", "common", common, (CommonEncodeConfig,), optional=True)
    _args.instance(
        "transcode_many",
        "backend_config",
        backend_config,
        (SoftwareEncodeConfig, NvidiaEncodeConfig),
        optional=True,
    )
    _args.choice("transcode_many", "backend", backend, ("auto", "software", "nvidia"))
    _args.choice("transcode_many", "audio", audio, ("copy", "none"))
    if format is not None:
        _args.choice("transcode_many", "format", format, ("mp4", "fmp4", "mkv", "ts"))
    workers = _args.integer("transcode_many", "workers", workers, 1, 4096, optional=True)
    max_retries = _args.integer("transcode_many", "max_retries", max_retries, 0, 100)
    cpus_per_worker = _args.integer("transcode_many", "cpus_per_worker", cpus_per_worker, 1, 1024)
    if segment_seconds is not None:
        if not isinstance(segment_seconds, (int, float)) or not segment_seconds > 0:
            raise ConfigError(
                f"transcode_many: segment_seconds is {segment_seconds!r}; expected seconds > 0"
            )
    if not (isinstance(progress, bool) or callable(progress)):
        raise InvalidTypeError("transcode_many: progress must be a bool or a callable")
    rungs = list(ladder) if ladder else None
    for i, rung in enumerate(rungs or ()):
        _args.instance("transcode_many", f"ladder[{i}]", rung, (Rung,))
    if not isinstance(output_dir, (str, os.PathLike)):
        raise InvalidTypeError("transcode_many: output_dir must be a path")
    out_dir = os.path.abspath(os.fspath(output_dir))
    sources = _expand(inputs, out_dir)
    ext = _EXTENSIONS[format]
    names = [name for _, name in sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"transcode_many: several inputs would write {dupes[0]}{ext}: {dupes}")

    ray = _ray.require()
    os.makedirs(out_dir, exist_ok=True)
    started_ray = _ray.connect(ray, address)
    tmp = os.path.join(out_dir, f".videohw-batch-{uuid.uuid4().hex[:12]}")
    os.makedirs(tmp)
    pool: Optional[_Pool] = None
    try:
        # The workers start while the driver plans the first files.
        pool = _Pool(
            ray,
            backend,
            workers,
            cpus_per_worker,
            persistent_sessions,
            backend_config,
            autoscaling=address is not None,
        )

        def plan(i: int) -> _File:
            src, name = sources[i]
            return _plan(i, src, name, out_dir, common, rungs, ext, segment_seconds)

        driver = _Driver(ray, pool, sources, plan, tmp, rungs, audio, format, max_retries)
        return driver.run(address, progress)
    finally:
        if pool is not None:
            pool.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        if started_ray:
            ray.shutdown()


class _Pool:
    """The worker actors, replaced when one dies."""

    def __init__(
        self,
        ray: Any,
        backend: str,
        workers: Optional[int],
        cpus: int,
        persistent: bool,
        backend_config: BackendConfig,
        autoscaling: bool = False,
    ) -> None:
        self.ray = ray
        self.backend_config = backend_config
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if backend == "nvidia" and gpus == 0:
            raise ConfigError("transcode_many: backend 'nvidia' but the Ray cluster has no GPU")
        self.gpu = backend == "nvidia" or (backend == "auto" and gpus > 0)
        self.backend = "auto" if self.gpu and backend == "auto" else backend
        if not self.gpu:
            self.backend = "software"
        self.cpus = cpus
        self.persistent = persistent
        cpus_here = int(resources.get("CPU", 1))
        count = workers or (gpus if self.gpu else max(1, cpus_here // cpus))
        # Actors that do not fit would wait for resources for ever (an autoscaling cluster
        # may add them; a fixed one never does).
        need = count if self.gpu else count * cpus
        have = gpus if self.gpu else cpus_here
        if need > have and not autoscaling:
            what = "GPUs" if self.gpu else "CPUs"
            raise ConfigError(
                f"transcode_many: {count} workers need {need} {what}; the Ray cluster has "
                f"{have} (fewer workers, or fewer cpus_per_worker)"
            )
        self.run_id = uuid.uuid4().hex[:8]
        self.handles: dict[str, Any] = {}
        self.serial = 0
        self.seen: dict[str, dict[str, Any]] = {}  # the driver's own count, per worker
        for _ in range(count):
            self.add()

    def add(self) -> str:
        name = f"videohw-{self.run_id}-{self.serial}"
        self.serial += 1
        options: dict[str, Any] = {
            "name": name,
            "num_cpus": self.cpus,
            "max_concurrency": 2,  # run() and the driver's progress() polls
            "max_restarts": 0,  # a dead worker is replaced by the driver, its file retried
        }
        if self.gpu:
            options["num_gpus"] = 1
        actor = self.ray.remote(TranscodeWorker).options(**options)
        config = self.backend_config
        if isinstance(config, SoftwareEncodeConfig) and config.threads == 0 and not self.gpu:
            config = dataclasses.replace(config, threads=self.cpus)
        elif config is None and not self.gpu:
            config = SoftwareEncodeConfig(threads=self.cpus)
        self.handles[name] = actor.remote(name, self.backend, self.persistent, config)
        self.seen[name] = {"jobs": 0, "frames": 0, "died": False}
        return name

    def remove(self, name: str) -> None:
        handle = self.handles.pop(name, None)
        self.seen[name]["died"] = True
        if handle is not None:
            try:
                self.ray.kill(handle)
            except Exception:  # already gone
                pass

    def telemetry(self) -> dict[str, dict[str, Any]]:
        out = {name: dict(seen) for name, seen in self.seen.items()}
        refs = {name: h.telemetry.remote() for name, h in self.handles.items()}
        for name, ref in refs.items():
            try:
                out[name].update(self.ray.get(ref, timeout=30))
            except Exception as exc:  # died at the very end: what the driver saw stays
                out[name]["telemetry_error"] = str(exc).splitlines()[0]
        return out

    def stop(self) -> None:
        for handle in self.handles.values():
            try:
                self.ray.kill(handle)
            except Exception:
                pass
        self.handles.clear()


class _Driver:
    """Plans the files one at a time while the workers are busy (a probe each, and the
    packet index of a file to split), so the first jobs start at once."""

    def __init__(
        self,
        ray: Any,
        pool: _Pool,
        sources: list[tuple[str, str]],
        plan: Callable[[int], _File],
        tmp: str,
        ladder: Optional[list[Rung]],
        audio: str,
        fmt: Optional[str],
        max_retries: int,
    ) -> None:
        self.ray, self.pool, self.sources, self.plan, self.tmp = ray, pool, sources, plan, tmp
        self.count = len(sources)
        self.ladder, self.audio, self.fmt, self.max_retries = ladder, audio, fmt, max_retries
        self.files: list[_File] = []
        self.frames_total = 0
        self.pending: deque[tuple[_File, Job]] = deque()
        self.running: dict[Any, tuple[_File, Job, str]] = {}
        self.idle: list[str] = list(pool.handles)
        self.frames_done = 0
        self.retries = 0
        self.start = time.monotonic()
        self.shown = 0
        self.bar: Optional[ProgressBar] = None
        self.callback: Optional[Callable[[BatchProgress], None]] = None

    def plan_next(self) -> None:
        """The next file's jobs; a file that cannot be read fails by itself."""
        i = len(self.files)
        source, name = self.sources[i]
        try:
            f = self.plan(i)
        except VideoHwError as exc:
            f = _File(i, source, name, None, None, [], [], "", status="failed")
            f.error = f"{type(exc).__name__}: {exc}"
            self.files.append(f)
            return
        self.files.append(f)
        self.frames_total += f.video.frame_count if f.video else 0
        for job in _jobs_of(f, self.tmp, self.ladder, self.audio, self.fmt):
            self.pending.append((f, job))

    def run(self, address: Optional[str], progress: ProgressArg) -> BatchReport:
        self.callback = progress if callable(progress) else None
        if progress is True:
            self.bar = ProgressBar(0, label="batch", unit="fps", enabled=None)
        last_poll = 0.0
        try:
            while len(self.files) < self.count or self.pending or self.running:
                # Plan while a worker would otherwise wait, one file per turn.
                while len(self.files) < self.count and len(self.pending) < len(self.idle) + 1:
                    self.plan_next()
                self.assign()
                if not self.running:
                    continue
                done, _ = self.ray.wait(list(self.running), num_returns=1, timeout=_POLL_S)
                for ref in done:
                    self.collect(ref)
                now = time.monotonic()
                # Nobody watching: no polls (each is a call into every busy worker).
                watched = self.bar is not None or self.callback is not None
                if watched and now - last_poll >= _POLL_S:
                    last_poll = now
                    self.report_progress()
            if self.bar is not None or self.callback is not None:
                self.report_progress()
        finally:
            if self.bar is not None:
                self.bar.close()
            for f in self.files:  # stopped early (Ctrl-C): no half-joined output stays
                if f.joiner is not None:
                    f.joiner.abort()
        seconds = time.monotonic() - self.start
        results = tuple(self.result_of(f) for f in self.files)
        return BatchReport(
            files=results,
            seconds=seconds,
            frames=sum(r.frames for r in results if r.status != "failed"),
            workers=len(self.pool.seen),
            backend=self.pool.backend,
            telemetry=self.pool.telemetry(),
            address=address,
        )

    def assign(self) -> None:
        while self.pending and self.idle:
            f, job = self.pending.popleft()
            if f.status == "failed":
                continue
            worker = self.idle.pop(0)
            if f.started is None:
                f.started = time.monotonic()
            ref = self.pool.handles[worker].run.remote(job)
            self.running[ref] = (f, job, worker)

    def collect(self, ref: Any) -> None:
        f, job, worker = self.running.pop(ref)
        try:
            result: JobResult = self.ray.get(ref)
        except Exception as exc:
            if _ray.actor_died(self.ray, exc):
                self.worker_died(f, job, worker, exc)
            else:
                self.idle.append(worker)
                self.fail(f, _ray.task_error_text(self.ray, exc))
            return
        self.idle.append(worker)
        seen = self.pool.seen[worker]
        seen["jobs"] += 1
        seen["frames"] += result.frames
        if f.status == "failed":
            return
        f.results[result.segment_index] = result
        f.workers.append(worker)
        self.frames_done += result.frames
        if f.segments:
            self.join(f)
        else:
            self.place(f)

    def worker_died(self, f: _File, job: Job, worker: str, exc: BaseException) -> None:
        reason = f"worker {worker} died: " + (str(exc).strip().splitlines() or ["?"])[0]
        self.pool.remove(worker)
        self.idle.append(self.pool.add())
        if f.status == "failed":
            return
        f.retry_reasons.append(reason)
        f.attempts += 1
        self.retries += 1
        if f.attempts > self.max_retries:
            self.fail(f, f"gave up after {f.attempts} attempts; last: {reason}")
            return
        if f.segments:
            self.pending.appendleft((f, job))  # the segment alone; the others stand
        else:
            shutil.rmtree(os.path.join(self.tmp, f"{f.index}-{f.attempts - 1}"), ignore_errors=True)
            for retry in _jobs_of(f, self.tmp, self.ladder, self.audio, self.fmt):
                self.pending.appendleft((f, retry))

    def fail(self, f: _File, error: str) -> None:
        if f.status == "failed":
            return
        f.status = "failed"
        f.error = error
        f.results.clear()
        if f.joiner is not None:
            f.joiner.abort()
            f.joiner = None
        shutil.rmtree(os.path.join(self.tmp, f"{f.index}-{f.attempts}"), ignore_errors=True)

    def join(self, f: _File) -> None:
        try:
            if f.joiner is None:
                f.joiner = _Joiner(f, self.ladder, self.audio, self.fmt)
            if not f.joiner.feed(f.results):
                return
        except Exception as exc:
            self.fail(f, f"joining the segments: {type(exc).__name__}: {exc}")
            return
        f.joiner = None
        self.done(f)

    def place(self, f: _File) -> None:
        try:
            _place(f)
        except Exception as exc:
            self.fail(f, f"placing the outputs: {type(exc).__name__}: {exc}")
            return
        self.done(f)

    def done(self, f: _File) -> None:
        f.status = "retried" if f.retry_reasons else "done"
        f.seconds = time.monotonic() - (f.started or self.start)

    def result_of(self, f: _File) -> FileResult:
        first = f.results.get(0)
        return FileResult(
            source=f.source,
            outputs=tuple(f.finals) if f.status != "failed" else (),
            status=f.status or "failed",
            attempts=f.attempts + 1,
            frames=sum(r.frames for r in f.results.values()),
            segments=max(1, len(f.segments)),
            seconds=f.seconds,
            workers=tuple(dict.fromkeys(f.workers)),
            error=f.error if f.status == "failed" else None,
            retry_reasons=tuple(f.retry_reasons),
            note=f.note,
            audio=first.audio if first else "",
            input_warning="; ".join(r.input_warning for r in f.results.values() if r.input_warning),
        )

    def report_progress(self) -> None:
        in_flight: dict[str, str] = {}
        frames = self.frames_done
        refs = {w: self.pool.handles[w].progress.remote() for _, _, w in self.running.values()}
        for worker, ref in refs.items():
            try:
                p = self.ray.get(ref, timeout=2)
            except Exception:  # a worker that died shows up through its job
                continue
            frames += int(p["frames"])
            if p["key"]:
                in_flight[worker] = p["key"]
        progress = BatchProgress(
            files_total=len(self.files),
            files_done=sum(1 for f in self.files if f.status in ("done", "retried")),
            files_failed=sum(1 for f in self.files if f.status == "failed"),
            frames=frames,
            frames_total=self.frames_total,
            elapsed=time.monotonic() - self.start,
            retries=self.retries,
            in_flight=in_flight,
        )
        if self.bar is not None:
            self.bar.total = self.frames_total
            self.bar.label = f"batch {progress.files_done}/{progress.files_total} files"
            step = max(0, frames - self.shown)
            self.shown += step
            self.bar.update(step)
        if self.callback is not None:
            self.callback(progress)
