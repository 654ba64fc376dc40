"""What one worker does: transcode the files (or segments of files) it is given on sessions
it keeps from one file to the next. Plain Python: ``transcode_many`` runs it as a Ray actor,
and the tests and the benchmark can run it in-process."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from .. import _core
from ..contract import (
    CommonEncodeConfig,
    NvidiaEncodeConfig,
    SoftwareDecodeConfig,
    SoftwareEncodeConfig,
)
from ..controller import SessionController
from ..media import VideoStreamInfo
from ..transcode import Rung, Transcode

# How long a segment's packet pull waits before it looks at the transcode again.
_PULL_SLICE_S = 0.05


@dataclass(frozen=True)
class Job:
    """One file, or one segment of a file, for one worker. ``outputs``: where the file's
    outputs go (temporary names the driver renames); empty for a segment, whose packets
    come back instead."""

    key: str  # the file's key in the batch
    source: str
    common: CommonEncodeConfig
    rungs: tuple[Rung, ...] = ()
    outputs: tuple[str, ...] = ()
    audio: str = "copy"
    format: Optional[str] = None
    video_stream: Optional[int] = None
    segment: Optional[tuple[Optional[int], Optional[int], Optional[int], Optional[int]]] = None
    segment_index: int = 0
    video: Optional[VideoStreamInfo] = None  # the driver's probe of the stream


@dataclass
class JobResult:
    key: str
    segment_index: int
    frames: int
    seconds: float
    files: list[str] = field(default_factory=list)
    # Per output: the segment's packets (data, pts, dts, keyframe), decode order.
    packets: list[list[tuple[bytes, int, int, bool]]] = field(default_factory=list)
    audio: str = ""
    input_warning: str = ""
    decode_errors: int = 0
    worker: str = ""


class TranscodeWorker:
    """Keeps one ``SessionController`` and one set of transcode sessions for its life:
    each file switches them (a decode switch, an encode stream restart) instead of opening
    new ones. ``persistent=False`` gives every file new sessions (the comparison the
    benchmark makes). ``decode_backend``: as ``vh.transcode``'s (None: software with the
    software backend, else NVDEC where usable)."""

    def __init__(
        self,
        name: str,
        backend: str = "software",
        persistent: bool = True,
        backend_config: Union[SoftwareEncodeConfig, NvidiaEncodeConfig, None] = None,
        decode_backend: Optional[str] = None,
    ) -> None:
        self.name = name
        self.backend = backend
        self.decode_backend = decode_backend
        self.persistent = persistent
        self._controller = SessionController(backend)
        self._backend_config = backend_config
        # The decoder takes as many threads as the encoder was given (a worker's CPUs).
        threads = backend_config.threads if isinstance(backend_config, SoftwareEncodeConfig) else 0
        self._decode_config = SoftwareDecodeConfig(threads=threads) if threads else None
        self._sessions = _core.TranscodeSessions() if persistent else None
        self._lock = threading.Lock()
        self._current: Optional[Transcode] = None
        self._current_key = ""
        self._jobs = 0
        self._keys: set[str] = set()  # files this worker took a job of
        self._frames = 0
        self._fresh_inits = 0  # sessions started by non-persistent runs
        self._pid = os.getpid()

    # -- the work ------------------------------------------------------------------------

    def run(self, job: Job) -> JobResult:
        start = time.monotonic()
        pulled = job.segment is not None
        for path in job.outputs:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        dst = job.outputs[0] if job.outputs and not job.rungs else None
        rungs = None
        if job.rungs:
            rungs = [
                Rung(r.width, r.height, r.bitrate_bps, None if pulled else job.outputs[i], r.codec)
                for i, r in enumerate(job.rungs)
            ]
        transcode = Transcode(
            job.source,
            dst,
            job.common,
            backend=self.backend,
            rungs=rungs,
            backend_config=self._backend_config,
            decode_config=self._decode_config,
            decode_backend=self.decode_backend,
            _video=job.video,
            audio="none" if pulled else job.audio,
            format=job.format,
            video_stream=job.video_stream,
            _controller=self._controller,
            _sessions=self._sessions,
            _range=job.segment,
            _pulled=pulled,
        )
        with self._lock:
            self._current = transcode
            self._current_key = job.key
        try:
            transcode.start()
            packets: list[list[tuple[bytes, int, int, bool]]] = [[] for _ in transcode.outputs]
            if pulled:
                self._pull_all(transcode, packets)
            else:
                transcode.wait()
            report = transcode.finish()
        finally:
            with self._lock:
                self._current = None
                self._current_key = ""
        self._jobs += 1
        self._keys.add(job.key)
        self._frames += report.frames
        if not self.persistent:
            self._fresh_inits += 1 + len(report.outputs)  # a decode session and one per output
        return JobResult(
            key=job.key,
            segment_index=job.segment_index,
            frames=report.frames,
            seconds=time.monotonic() - start,
            files=[f for o in report.outputs for f in o.files],
            packets=packets,
            audio=report.audio,
            input_warning=report.input_warning,
            decode_errors=report.decode_errors,
            worker=self.name,
        )

    @staticmethod
    def _pull_all(transcode: Transcode, packets: list[list[tuple[bytes, int, int, bool]]]) -> None:
        graph = transcode._graph
        ended = [False] * len(packets)
        while not all(ended):
            stages_done = graph.wait(0)  # read before pulling: then the pull sees all
            got = 0
            for i in range(len(packets)):
                if not ended[i]:
                    raw, ended[i] = graph.pull(i, 0, 0.0 if stages_done else _PULL_SLICE_S)
                    packets[i].extend((p[0], p[1], p[2], p[3]) for p in raw)
                    got += len(raw)
            if stages_done and not got:
                return  # an output that never ended failed: finish() raises why

    # -- what the driver asks while a job runs (a second actor thread) --------------------

    def progress(self) -> dict[str, Any]:
        with self._lock:
            current = self._current
            key = self._current_key
        frames = 0
        if current is not None:
            try:
                frames = current.progress().frames
            except Exception:  # the job is ending under us; the next poll sees it
                frames = 0
        return {"worker": self.name, "key": key, "frames": frames, "pid": self._pid}

    def telemetry(self) -> dict[str, Any]:
        """``files`` (distinct files it took jobs of), ``jobs`` (files and segments),
        ``session_inits`` (sessions this worker started), ``decode_switches`` /
        ``encode_restarts`` (sessions carried to the next job)."""
        out: dict[str, Any] = {
            "worker": self.name,
            "backend": self._controller.backend,
            "persistent": self.persistent,
            "files": len(self._keys),
            "jobs": self._jobs,
            "frames": self._frames,
            "pid": self._pid,
        }
        if self._sessions is not None:
            counts = dict(self._sessions.counts())
            out.update(
                session_inits=counts["session_inits"],
                decode_switches=counts["decode_switches"],
                encode_restarts=counts["encode_restarts"],
                sessions_discarded=counts["discarded"],
            )
        else:
            out.update(
                session_inits=self._fresh_inits,
                decode_switches=0,
                encode_restarts=0,
                sessions_discarded=0,
            )
        return out

    def ping(self) -> str:
        return self.name

    def close(self) -> None:
        if self._sessions is not None:
            self._sessions.close()
        self._controller.close()
