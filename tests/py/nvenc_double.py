"""The NVENC / CUDA / NVDEC driver doubles (tests/nvenc_double, tests/nvdec_double,
docs/nvenc_double.md, docs/nvdec_double.md) for Python tests.

The adapter reaches the doubles only through VIDEOHW_NVENC_LIBRARY / VIDEOHW_CUDA_LIBRARY /
VIDEOHW_NVCUVID_LIBRARY, as it would reach the real driver. Their built paths come from
``nvenc_double_paths.txt`` in a CMake build folder configured with VIDEOHW_BUILD_TESTS=ON:
VIDEOHW_NVENC_DOUBLE_PATHS names the file; else ``build-tests/`` (the build
scripts/run_tests.sh makes), else the newest ``build*/`` one in the source tree.
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NOT_BUILT = (
    "driver double not built (cmake -DVIDEOHW_BUILD_TESTS=ON builds "
    "videohw_nvenc_double, as scripts/run_tests.sh does in build-tests; or set "
    "VIDEOHW_NVENC_DOUBLE_PATHS to a nvenc_double_paths.txt)"
)

# Every knob the doubles read from the environment: cleared for each test so one test's
# fault or capability override never leaks into the next.
_KNOBS = (
    "VIDEOHW_NVENC_DOUBLE_NO_ENCODE_DEVICE",
    "VIDEOHW_NVENC_DOUBLE_MAX_VERSION",
    "VIDEOHW_NVENC_DOUBLE_CAPS",
    "VIDEOHW_NVENC_DOUBLE_FAULTS",
    "VIDEOHW_NVENC_DOUBLE_LOG",
    "VIDEOHW_NVENC_DOUBLE_LOCK_TIMEOUT_MS",
    "VIDEOHW_CUDA_DOUBLE_DEVICES",
    "VIDEOHW_CUDA_DOUBLE_FAULTS",
    "VIDEOHW_CUDA_DOUBLE_LOG",
    "VIDEOHW_NVCUVID_DOUBLE_FAULTS",
    "VIDEOHW_NVCUVID_DOUBLE_CAPS",
    "VIDEOHW_NVCUVID_DOUBLE_LOG",
)

NVCUVID = "VIDEOHW_NVCUVID_LIBRARY"


def _read_paths(path: str) -> Optional[dict[str, str]]:
    with open(path) as f:
        paths = dict(line.strip().split("=", 1) for line in f if "=" in line)
    wanted = {"VIDEOHW_NVENC_LIBRARY", "VIDEOHW_CUDA_LIBRARY"}
    if wanted <= set(paths) and all(os.path.exists(p) for p in paths.values()):
        return paths
    return None


def double_paths() -> Optional[dict[str, str]]:
    """{"VIDEOHW_NVENC_LIBRARY": path, "VIDEOHW_CUDA_LIBRARY": path} (and
    "VIDEOHW_NVCUVID_LIBRARY" where the build has the NVDEC double), or None when no
    built double is found. A named file that does not hold them is an error, not a skip:
    a CI run that asked for the doubles must not pass without them."""
    named = os.environ.get("VIDEOHW_NVENC_DOUBLE_PATHS")
    if named:
        paths = _read_paths(named) if os.path.exists(named) else None
        if paths is None:
            raise RuntimeError(
                f"VIDEOHW_NVENC_DOUBLE_PATHS={named}: no such file, or its "
                "libraries are missing; expected the nvenc_double_paths.txt "
                "of a build with VIDEOHW_BUILD_TESTS=ON"
            )
        return paths
    ci_build = os.path.join(ROOT, "build-tests", "nvenc_double_paths.txt")
    others = sorted(
        glob.glob(os.path.join(ROOT, "build*", "nvenc_double_paths.txt")),
        key=os.path.getmtime,
        reverse=True,
    )
    for path in [ci_build] + [p for p in others if p != ci_build]:
        if os.path.exists(path):
            paths = _read_paths(path)
            if paths is not None:
                return paths
    return None


PATHS = double_paths()


class Double:
    """The loaded doubles. The test process loads the same paths the adapter loads, so
    the control functions see the adapter's state (one copy of each library).

    ``nvdec``: decode through the NVDEC double too. Off, VIDEOHW_NVCUVID_LIBRARY is unset,
    so NVDEC stays unavailable as on a machine without the driver (encode tests decode at
    sizes NVDEC refuses)."""

    def __init__(self, paths: dict[str, str], monkeypatch, nvdec: bool = False) -> None:
        self._monkeypatch = monkeypatch
        self._nvcuvid = None
        for key, value in paths.items():
            if key != NVCUVID:
                monkeypatch.setenv(key, value)
        for knob in _KNOBS:
            monkeypatch.delenv(knob, raising=False)
        if nvdec:
            if NVCUVID not in paths:
                raise RuntimeError(
                    f"the doubles' paths file has no {NVCUVID}: rebuild with "
                    "VIDEOHW_BUILD_TESTS=ON (tests/nvdec_double)"
                )
            monkeypatch.setenv(NVCUVID, paths[NVCUVID])
        else:
            monkeypatch.delenv(NVCUVID, raising=False)
        self._nvenc = ctypes.CDLL(paths["VIDEOHW_NVENC_LIBRARY"])
        self._cuda = ctypes.CDLL(paths["VIDEOHW_CUDA_LIBRARY"])
        self._nvenc.videohw_nvenc_double_violations.restype = ctypes.c_char_p
        self._nvenc.videohw_nvenc_double_call_log.restype = ctypes.c_char_p
        self._cuda.videohw_cuda_double_violations.restype = ctypes.c_char_p
        self._nvenc.videohw_nvenc_double_device_input_pictures.restype = ctypes.c_long
        self._nvenc.videohw_nvenc_double_host_input_pictures.restype = ctypes.c_long
        if nvdec:
            self._nvcuvid = ctypes.CDLL(paths[NVCUVID])
            for name in ("violations", "call_log"):
                getattr(self._nvcuvid, "videohw_nvcuvid_double_" + name).restype = ctypes.c_char_p
        self._reset_all()

    def _reset_all(self) -> None:
        self._nvenc.videohw_nvenc_double_reset()
        self._cuda.videohw_cuda_double_reset()
        if self._nvcuvid is not None:
            self._nvcuvid.videohw_nvcuvid_double_reset()

    def reset(self, **knobs: str) -> None:
        """Sets VIDEOHW_NVENC_DOUBLE_<KNOB> for each keyword, then resets the doubles
        (they re-read the environment on reset)."""
        for name, value in knobs.items():
            self._monkeypatch.setenv("VIDEOHW_NVENC_DOUBLE_" + name.upper(), value)
        self._reset_all()

    def set_faults(self, faults: str) -> None:
        """Injects faults from now on (VIDEOHW_NVENC_DOUBLE_FAULTS syntax), keeping every
        open encoder: unlike reset(), usable in the middle of a session."""
        if self._nvenc.videohw_nvenc_double_set_faults(faults.encode()) != 0:
            raise ValueError(f"the NVENC double does not know the fault in {faults!r}")

    def set_nvdec_faults(self, faults: str) -> None:
        """NVDEC faults from now on (VIDEOHW_NVCUVID_DOUBLE_FAULTS syntax)."""
        if self._nvcuvid.videohw_nvcuvid_double_set_faults(faults.encode()) != 0:
            raise ValueError(f"the NVDEC double does not know the fault in {faults!r}")

    def log(self) -> str:
        return self._nvenc.videohw_nvenc_double_call_log().decode()

    def nvdec_log(self) -> str:
        return self._nvcuvid.videohw_nvcuvid_double_call_log().decode()

    def violations(self) -> str:
        text = self._nvenc.videohw_nvenc_double_violations().decode()
        text += self._cuda.videohw_cuda_double_violations().decode()
        if self._nvcuvid is not None:
            text += self._nvcuvid.videohw_nvcuvid_double_violations().decode()
        return text

    def open_sessions(self) -> int:
        return self._nvenc.videohw_nvenc_double_open_sessions()

    def registered_resources(self) -> int:
        """CUDA device pointers registered with nvEncRegisterResource and not yet
        unregistered, over the open encoders."""
        return self._nvenc.videohw_nvenc_double_registered_resources()

    def mapped_resources(self) -> int:
        """Registered resources mapped now (nvEncMapInputResource without its unmap)."""
        return self._nvenc.videohw_nvenc_double_mapped_resources()

    def device_input_pictures(self) -> int:
        """Pictures encoded from mapped CUDA device pointers (read through the CUDA
        driver) since the last reset."""
        return self._nvenc.videohw_nvenc_double_device_input_pictures()

    def host_input_pictures(self) -> int:
        """Pictures encoded from host input buffers (nvEncLockInputBuffer) since the
        last reset."""
        return self._nvenc.videohw_nvenc_double_host_input_pictures()

    def live_contexts(self) -> int:
        return self._cuda.videohw_cuda_double_live_contexts()

    def check_clean(self) -> None:
        """No API rule broken, every encoder, decoder and parser destroyed, every CUDA
        context released."""
        # Ended decode sessions park their decoders and buffers for the next one.
        from videohw import _core

        _core.release_decode_backend_caches()
        assert self.violations() == "", "driver API rule broken:\n" + self.violations()
        assert self.open_sessions() == 0, "an encoder was not destroyed"
        assert self.live_contexts() == 0, "a CUDA context was not destroyed"
        if self._nvcuvid is not None:
            assert self._nvcuvid.videohw_nvcuvid_double_open_decoders() == 0, (
                "an NVDEC decoder was not destroyed"
            )
            assert self._nvcuvid.videohw_nvcuvid_double_open_parsers() == 0, (
                "an NVDEC parser was not destroyed"
            )


def read_device_bytes(ptr: int, shape: tuple) -> np.ndarray:
    """The bytes of a "device" array on the doubles, where device memory is host memory
    (docs/nvdec_double.md): a copy, shaped ``shape``."""
    import numpy as np

    count = 1
    for n in shape:
        count *= n
    return np.frombuffer(ctypes.string_at(ptr, count), dtype=np.uint8).reshape(shape).copy()


def calls(log: str, function: str) -> int:
    """How many times ``function`` appears in the double's call log."""
    return sum(1 for line in log.splitlines() if line.startswith(function + " "))


# ---- what a switch does, per backend ------------------------------------------------------


def _rates_only(before, after) -> bool:
    """Everything but the rate-control numbers (and mode) is the same."""
    fields = (
        "codec",
        "width",
        "height",
        "fps_num",
        "fps_den",
        "low_latency",
        "gop_length",
        "b_frames",
        "frame_interval_p",
    )
    return all(getattr(before, f) == getattr(after, f) for f in fields)


def switch_in_place(backend: str, before, after) -> bool:
    """Whether ``backend`` applies the change to the running encoder.

    software (docs/api.md): x264 only, bitrate within CBR/VBR, nothing else changed.
    nvidia (docs/nvidia.md, nvEncReconfigureEncoder): rates and rate-control mode, frame
    rate and a size up to the session maximum (2048x2048 for the small sizes tests use);
    codec, GOP, B-frames and latency mode take a new session.
    """
    import videohw as vh

    if backend == "software":
        abr = (vh.RateControlMode.CBR, vh.RateControlMode.VBR)
        return (
            before.codec is vh.Codec.H264
            and _rates_only(before, after)
            and before.rate_control.mode in abr
            and after.rate_control.mode in abr
        )
    same = ("codec", "gop_length", "b_frames", "frame_interval_p", "low_latency")
    return (
        all(getattr(before, f) == getattr(after, f) for f in same)
        and after.width <= 2048
        and after.height <= 2048
    )


def in_place_switch_restarts(backend: str, before, after) -> bool:
    """Whether an in-place switch starts a new IDR-led stream even without
    ``force_idr_on_activate``.

    nvidia: a size or rate-control-mode change is reconfigured with resetEncoder, which
    NVENC requires with forceIDR (docs/nvidia.md). Through the double also every HEVC or
    frame-rate change, which it can only apply by restarting its libavcodec stream
    (docs/nvenc_double.md, "What it does not emulate"); nvidia tests here run on the double.
    """
    if backend != "nvidia":
        return False
    import videohw as vh

    if (before.width, before.height) != (after.width, after.height):
        return True
    if before.rate_control.mode != after.rate_control.mode:
        return True
    return before.codec is vh.Codec.HEVC or (before.fps_num, before.fps_den) != (
        after.fps_num,
        after.fps_den,
    )


def in_flight_config(backend: str, depth: int):
    """The backend config that lets ``depth`` frames be inside the encoder at once."""
    import videohw as vh

    if backend == "nvidia":
        return vh.NvidiaEncodeConfig(max_in_flight_outputs=depth)
    return vh.SoftwareEncodeConfig(max_in_flight=depth)
