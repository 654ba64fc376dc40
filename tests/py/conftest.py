"""Shared fixtures for the Python tests: deterministic test pictures, configs, an encode
helper, and the ``gpu`` marker (skipped where no NVIDIA GPU is present).

Run from ``tests/py`` against the installed package, so the source tree's ``python/`` folder
never shadows it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from typing import Optional

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import videohw as vh  # noqa: E402

# A fixture for every test module that asks for it by name.
from media_corpus import media_corpus  # noqa: E402, F401

# --------------------------------------------------------------------------------------
# GPU marker


def _gpu_present() -> bool:
    """True when an NVIDIA GPU with a working driver is visible to this process."""
    if os.environ.get("VIDEOHW_TEST_NO_GPU"):
        return False
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        out = subprocess.run(
            [smi, "-L"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and b"GPU" in out.stdout


HAS_GPU = _gpu_present()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gpu: needs an NVIDIA GPU and driver; skipped elsewhere")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if HAS_GPU:
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU (nvidia-smi finds none here)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


# --------------------------------------------------------------------------------------
# Test pictures: smooth gradients, a fine low-amplitude texture and a moving box, so the
# encoder has real work, PSNR is meaningful, and every frame differs from the previous one.


def _box(width: int, height: int, t: int) -> tuple[slice, slice]:
    bw, bh = max(4, width // 5), max(4, height // 5)
    x0 = (t * 3) % max(1, width - bw)
    y0 = (t * 2) % max(1, height - bh)
    return slice(y0, y0 + bh), slice(x0, x0 + bw)


def rgb_picture(width: int, height: int, t: int) -> np.ndarray:
    """(height, width, 3) uint8 RGB picture number ``t``."""
    y, x = np.mgrid[0:height, 0:width]
    texture = ((x // 2 + y // 2) % 2) * 12
    r = 30 + (180 * x) // max(1, width - 1) + texture
    g = 30 + (180 * y) // max(1, height - 1)
    b = 60 + (t * 5) % 120 + texture
    rgb = np.stack([r, g, b], axis=-1).clip(0, 255).astype(np.uint8)
    ys, xs = _box(width, height, t)
    rgb[ys, xs] = (230, 200, 40)
    return rgb


def argb_picture(width: int, height: int, t: int) -> np.ndarray:
    """(height, width, 4) uint8 ARGB8888 picture (bytes A, R, G, B per pixel)."""
    rgb = rgb_picture(width, height, t)
    alpha = np.full((height, width, 1), 255, dtype=np.uint8)
    return np.ascontiguousarray(np.concatenate([alpha, rgb], axis=-1))


def i420_planes(width: int, height: int, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Y, U, V) planes of I420 picture number ``t``, limited range."""
    y, x = np.mgrid[0:height, 0:width]
    texture = ((x // 2 + y // 2) % 2) * 10
    luma = 24 + (150 * (x + y)) // max(1, width + height - 2) + texture + (t * 3) % 40
    luma = luma.clip(16, 235).astype(np.uint8)
    ys, xs = _box(width, height, t)
    luma[ys, xs] = 220
    cy, cx = np.mgrid[0 : height // 2, 0 : width // 2]
    u = (64 + (128 * cx) // max(1, width // 2 - 1)).clip(16, 240).astype(np.uint8)
    v = (64 + (128 * cy) // max(1, height // 2 - 1)).clip(16, 240).astype(np.uint8)
    return luma, u, v


def i420_picture(width: int, height: int, t: int) -> np.ndarray:
    """Flat, tightly packed I420 picture number ``t`` (Y, then U, then V)."""
    return np.concatenate([p.reshape(-1) for p in i420_planes(width, height, t)])


def i420_with_pitch(width: int, height: int, t: int, pitch: int) -> np.ndarray:
    """I420 picture laid out with luma row ``pitch`` (chroma pitch ``pitch // 2``); the
    padding bytes are garbage (0xEE) that must never show up in the picture."""
    luma, u, v = i420_planes(width, height, t)
    out = []
    for plane, p in ((luma, pitch), (u, pitch // 2), (v, pitch // 2)):
        padded = np.full((plane.shape[0], p), 0xEE, dtype=np.uint8)
        padded[:, : plane.shape[1]] = plane
        out.append(padded.reshape(-1))
    return np.concatenate(out)


def argb_with_pitch(width: int, height: int, t: int, pitch: int) -> np.ndarray:
    """ARGB picture as a (height, pitch) byte array; padding bytes are garbage (0xEE)."""
    padded = np.full((height, pitch), 0xEE, dtype=np.uint8)
    padded[:, : 4 * width] = argb_picture(width, height, t).reshape(height, 4 * width)
    return padded


# --------------------------------------------------------------------------------------
# Configs, keyframe expectations, encoding


def common(
    codec: vh.Codec = vh.Codec.H264, width: int = 64, height: int = 48, **kwargs
) -> vh.CommonEncodeConfig:
    """A CommonEncodeConfig with small defaults for tests."""
    return vh.CommonEncodeConfig(codec=codec, width=width, height=height, **kwargs)


def expected_keyframes(count: int, gop_length: int, forced: Iterable[int] = ()) -> list[int]:
    """Keyframe indices per docs/api.md: frame 0, every forced frame, and every frame
    ``gop_length`` frames after the previous keyframe (a forced keyframe restarts the count)."""
    forced = set(forced)
    keys, last = [], None
    for i in range(count):
        if last is None or i in forced or i - last >= gop_length:
            keys.append(i)
            last = i
    return keys


def picture_bytes(fmt: vh.PixelFormat, width: int, height: int, t: int) -> np.ndarray:
    """Test picture ``t`` in ``fmt``'s tightly packed layout (docs/api.md, "Frames")."""
    if fmt is vh.PixelFormat.I420:
        return i420_picture(width, height, t)
    if fmt is vh.PixelFormat.NV12:
        luma, u, v = i420_planes(width, height, t)
        uv = np.stack([u, v], axis=-1).reshape(height // 2, width)
        return np.concatenate([luma.reshape(-1), uv.reshape(-1)])
    if fmt is vh.PixelFormat.ARGB8888:
        return argb_picture(width, height, t)
    rgb = rgb_picture(width, height, t)
    if fmt is vh.PixelFormat.RGB24:
        return rgb
    if fmt is vh.PixelFormat.BGRA:
        alpha = np.full((height, width, 1), 255, dtype=np.uint8)
        return np.ascontiguousarray(np.concatenate([rgb[..., ::-1], alpha], axis=-1))
    raise ValueError(f"picture_bytes: no test picture for {fmt}")


def make_frame(fmt: vh.PixelFormat, width: int, height: int, t: int, **kwargs) -> vh.Frame:
    return vh.Frame(picture_bytes(fmt, width, height, t), fmt, **kwargs)


def reference_pictures(
    fmt: vh.PixelFormat, width: int, height: int, count: int
) -> tuple[list[np.ndarray], str]:
    """The source pictures in the layout ffmpeg decodes to for comparison, and that
    ffmpeg pix_fmt: YUV sources compare as yuv420p, RGB sources as rgb24."""
    if fmt in (vh.PixelFormat.I420, vh.PixelFormat.NV12):
        return [i420_picture(width, height, t) for t in range(count)], "yuv420p"
    return [rgb_picture(width, height, t) for t in range(count)], "rgb24"


def encode_frames(
    ctl: vh.SessionController,
    config: vh.CommonEncodeConfig,
    frames: Sequence[vh.Frame],
    backend_config: Optional[object] = None,
) -> list[vh.EncodedPacket]:
    """Submits every frame, reaping as it goes, then closes: all packets in decode order."""
    h = ctl.start_encode_session(config, backend_config)
    packets: list[vh.EncodedPacket] = []
    for frame in frames:
        ctl.submit(h, frame)
        packets += ctl.reap(h)
    packets += ctl.close_encode_session(h)
    return packets


def stream_of(packets: Iterable[vh.EncodedPacket]) -> bytes:
    return b"".join(p.data for p in packets)


@pytest.fixture(scope="session")
def ctl() -> vh.SessionController:
    """A controller on the software backend (the one every machine has)."""
    return vh.SessionController("software")


@pytest.fixture
def tmp_stream(tmp_path):
    """Writes packets to an Annex-B file under tmp_path and returns its path."""

    def write(packets: Iterable[vh.EncodedPacket], name: str = "out.es") -> str:
        path = tmp_path / name
        path.write_bytes(stream_of(packets))
        return str(path)

    return write


# --------------------------------------------------------------------------------------
# Encode backends for tests that hold on every backend: "software" always, "nvidia" through
# the NVENC / CUDA driver doubles when they are built (tests/py/nvenc_double.py).


@pytest.fixture
def double(monkeypatch):
    """The driver doubles (nvenc_double.Double), selected through the environment, reset
    before the test and checked after it: no API rule broken, nothing leaked."""
    import nvenc_double

    if nvenc_double.PATHS is None:
        pytest.skip(nvenc_double.NOT_BUILT)
    d = nvenc_double.Double(nvenc_double.PATHS, monkeypatch)
    yield d
    d.check_clean()


@pytest.fixture(params=["software", "nvidia"])
def backend(request) -> str:
    """The backend name; "nvidia" runs on the doubles (the ``double`` fixture)."""
    if request.param == "nvidia":
        request.getfixturevalue("double")
    return request.param


# --------------------------------------------------------------------------------------
# Ray (videohw.distributed): one local instance for the whole test session, 2 CPUs as on
# CI. Ray is an optional extra: without it these tests skip -- unless VIDEOHW_REQUIRE_RAY is
# set (scripts/run_tests.sh sets it), where a missing Ray fails them instead.


@pytest.fixture(scope="session")
def ray_local():
    try:
        import ray
    except ImportError:
        if os.environ.get("VIDEOHW_REQUIRE_RAY"):
            pytest.fail("VIDEOHW_REQUIRE_RAY is set but Ray is not installed (videohw[ray])")
        pytest.skip("Ray is not installed (pip install 'videohw[ray]')")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="ERROR",
        log_to_driver=False,
        object_store_memory=256 * 1024 * 1024,
    )
    yield ray
    ray.shutdown()


# --------------------------------------------------------------------------------------
# NVDEC for the transcode and batch tests that decode on it: the driver doubles without a
# GPU (checked clean afterwards), the real driver on one.


@pytest.fixture
def nvdec(monkeypatch):
    import gc

    import nvenc_double

    if HAS_GPU:
        from videohw import _core

        why = _core.decode_backend_availability().get("nvidia")
        if why:
            pytest.skip(f"NVDEC unusable here: {why}")
        yield None
        return
    if nvenc_double.PATHS is None or nvenc_double.NVCUVID not in nvenc_double.PATHS:
        pytest.skip(nvenc_double.NOT_BUILT)
    double = nvenc_double.Double(nvenc_double.PATHS, monkeypatch, nvdec=True)
    yield double
    gc.collect()
    double.check_clean()
