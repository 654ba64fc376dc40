"""What a batch reports: every file's fate, the totals, and each worker's sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

STATUSES = ("done", "retried", "failed")


@dataclass(frozen=True)
class FileResult:
    """One input. ``status``: ``"done"``; ``"retried"`` (done, after a worker died under
    it: ``retry_reasons`` say how); ``"failed"`` (``error`` says why; no output was
    left)."""

    source: str
    outputs: tuple[str, ...]
    status: str
    attempts: int
    frames: int = 0
    segments: int = 1
    seconds: float = 0.0  # from the first attempt's start to the output in place
    workers: tuple[str, ...] = ()
    error: Optional[str] = None
    retry_reasons: tuple[str, ...] = ()
    note: str = ""  # how the file was split, or why it went whole
    audio: str = ""
    input_warning: str = ""


@dataclass(frozen=True)
class BatchProgress:
    """The whole batch now, across workers: what the progress callback receives."""

    files_total: int
    files_done: int
    files_failed: int
    frames: int
    frames_total: int
    elapsed: float
    retries: int
    in_flight: dict[str, str] = field(default_factory=dict)  # worker name -> file

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class BatchReport:
    files: tuple[FileResult, ...]
    seconds: float
    frames: int
    workers: int
    backend: str
    # Per worker (by name): files, jobs, frames, session_inits, decode_switches,
    # encode_restarts, sessions_discarded, persistent. Workers that died are listed with
    # what the driver saw them do (jobs, frames, "died": True).
    telemetry: dict[str, dict[str, Any]]
    address: Optional[str] = None

    @property
    def done(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status != "failed")

    @property
    def failed(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status == "failed")

    @property
    def retried(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status == "retried")

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def files_per_second(self) -> float:
        return len(self.done) / self.seconds if self.seconds > 0 else 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def session_inits(self) -> int:
        return sum(int(t.get("session_inits", 0)) for t in self.telemetry.values())

    def summary(self) -> str:
        lines = [
            f"{len(self.done)}/{len(self.files)} files done ({len(self.retried)} retried, "
            f"{len(self.failed)} failed) in {self.seconds:.2f} s: "
            f"{self.files_per_second:.2f} files/s, {self.fps:.1f} fps, "
            f"{self.workers} {self.backend} workers",
        ]
        for name, t in sorted(self.telemetry.items()):
            died = " (died)" if t.get("died") else ""
            lines.append(
                f"  {name}{died}: {t.get('files', '?')} files, {t.get('jobs', 0)} jobs, "
                f"{t.get('frames', 0)} frames, "
                f"session inits {t.get('session_inits', '?')}, "
                f"encode restarts {t.get('encode_restarts', '?')}, "
                f"decode switches {t.get('decode_switches', '?')}"
            )
        for f in self.files:
            if f.status != "done":
                why = f.error if f.status == "failed" else "; ".join(f.retry_reasons)
                lines.append(f"  {f.status}: {f.source}: {why}")
        return "\n".join(lines)
