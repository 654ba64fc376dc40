"""Ray, imported only here and only when a distributed call runs: the rest of videohw, and
this package's import, never need it."""

from __future__ import annotations

from typing import Any, Optional

from ..errors import BackendUnavailableError

INSTALL_HINT = "pip install 'videohw[ray]'"


def require() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailableError(
            f"videohw.distributed runs on Ray, which is not installed here ({INSTALL_HINT})"
        ) from exc
    return ray


def connect(ray: Any, address: Optional[str]) -> bool:
    """Joins the cluster at ``address`` (``"auto"``, ``"ray://host:10001"``), or starts a
    local Ray instance when there is none. True when this call started or joined it (the
    caller then shuts it down); an instance this process already runs is used as it is."""
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "logging_level": "ERROR",
        "log_to_driver": False,
        "configure_logging": True,
    }
    if address is not None:
        ray.init(address=address, **kwargs)
    else:
        ray.init(**kwargs)
    return True


def actor_died(ray: Any, exc: BaseException) -> bool:
    """The worker process is gone (killed, out of memory, its node lost), not the job's own
    error."""
    return isinstance(exc, ray.exceptions.RayActorError) or isinstance(
        exc, getattr(ray.exceptions, "WorkerCrashedError", ())
    )


def task_error_text(ray: Any, exc: BaseException) -> str:
    """The job's own exception as one line: its type and message, without Ray's wrapping."""
    cause = getattr(exc, "cause", None) if isinstance(exc, ray.exceptions.RayTaskError) else exc
    if cause is None:
        return str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return f"{type(cause).__name__}: {cause}"
