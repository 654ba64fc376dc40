"""Frames to encode from CUDA device memory (docs/api.md, "Frames in device memory").

The handover: NVDEC decodes to a device NV12 surface, the surface goes to an nvidia encode
session as it is, and NVENC encodes it from device memory in the same primary context: no
byte crosses to the host. Proved through the NVENC driver double, which counts pictures read
from registered device memory and pictures from host input buffers, and which encodes device
and host input to the same bytes: the packets of the device path must equal those of the
same pictures submitted from the host.

Without a GPU everything runs on the driver doubles (device memory is host memory there).
On a GPU (scripts/gpu_run.sh), NVDEC and CUDA are real and only NVENC is the double (H100 /
H200 have no NVENC): the double then reads the pictures through the real driver.
"""

from __future__ import annotations

import ctypes
import gc
import os

import numpy as np
import pytest

import nvenc_double
import videohw as vh
from conftest import HAS_GPU, common, encode_frames, make_frame

try:
    import torch
except ImportError:
    torch = None

NV12 = vh.PixelFormat.NV12
WIDTH, HEIGHT, COUNT = 160, 96, 12


class NvencCounters:
    """The NVENC double's counters, loaded from the path the adapter loads."""

    def __init__(self, path: str) -> None:
        self.lib = ctypes.CDLL(path)
        self.lib.videohw_nvenc_double_violations.restype = ctypes.c_char_p
        self.lib.videohw_nvenc_double_device_input_pictures.restype = ctypes.c_long
        self.lib.videohw_nvenc_double_host_input_pictures.restype = ctypes.c_long

    def reset(self) -> None:
        self.lib.videohw_nvenc_double_reset()

    def device_pictures(self) -> int:
        return int(self.lib.videohw_nvenc_double_device_input_pictures())

    def host_pictures(self) -> int:
        return int(self.lib.videohw_nvenc_double_host_input_pictures())

    def registered(self) -> int:
        return int(self.lib.videohw_nvenc_double_registered_resources())

    def violations(self) -> str:
        return (self.lib.videohw_nvenc_double_violations() or b"").decode()


@pytest.fixture(scope="module")
def env():
    """(counters, nvdec controller, nvenc controller, software controller)."""
    if nvenc_double.PATHS is None:
        pytest.skip(nvenc_double.NOT_BUILT)
    patch = pytest.MonkeyPatch()
    double = None
    try:
        if HAS_GPU:
            # Real CUDA and NVDEC; the NVENC double over the real driver.
            for key in ("VIDEOHW_CUDA_LIBRARY", nvenc_double.NVCUVID):
                patch.delenv(key, raising=False)
            patch.setenv("VIDEOHW_NVENC_LIBRARY", nvenc_double.PATHS["VIDEOHW_NVENC_LIBRARY"])
        else:
            double = nvenc_double.Double(nvenc_double.PATHS, patch, nvdec=True)
        counters = NvencCounters(nvenc_double.PATHS["VIDEOHW_NVENC_LIBRARY"])
        nv = vh.SessionController("nvidia")
        if nv.decode_backend != "nvidia":
            pytest.skip(f"NVDEC is not usable here (decode backend {nv.decode_backend})")
        sw = vh.SessionController("software")
        yield counters, nv, sw, double
        nv.close()
        sw.close()
    finally:
        patch.undo()


@pytest.fixture(autouse=True)
def _clean(env):
    counters, _, _, double = env
    counters.reset()
    if double is not None:
        double.reset()
    yield
    gc.collect()
    assert counters.violations() == ""
    assert counters.registered() == 0, "registered device inputs outlived their encoder"
    if double is not None:
        double.check_clean()


def source_packets(sw: vh.SessionController) -> list:
    frames = [make_frame(vh.PixelFormat.I420, WIDTH, HEIGHT, i, pts=i) for i in range(COUNT)]
    return encode_frames(sw, common(width=WIDTH, height=HEIGHT, gop_length=30), frames)


def decoded_surfaces(nv: vh.SessionController, packets) -> list:
    h = nv.start_decode_session(
        vh.CommonDecodeConfig(codec=vh.Codec.H264, output=vh.DecodeOutputMode.NATIVE_SURFACE)
    )
    frames = []
    for p in packets:
        nv.push_bitstream(h, p.data, pts=p.pts)
        frames += nv.reap(h)
    frames += nv.flush(h)
    frames += nv.close_decode_session(h)
    assert len(frames) == COUNT and all(f.on_device for f in frames)
    return frames


def to_host(surface) -> np.ndarray:
    if HAS_GPU:
        if torch is None:
            pytest.skip("torch is needed to read device memory on the GPU")
        return torch.from_dlpack(surface).cpu().numpy()
    return nvenc_double.read_device_bytes(surface.ptr, tuple(surface.shape))


def encode(ctl: vh.SessionController, frames: list) -> tuple[list, dict]:
    h = ctl.start_encode_session(common(width=WIDTH, height=HEIGHT, gop_length=30))
    packets = []
    for f in frames:
        ctl.submit(h, f)
        packets += ctl.reap(h)
    packets += ctl.flush(h)
    telemetry = ctl.telemetry(h)
    packets += ctl.close_encode_session(h)
    return packets, telemetry


def payload(packets) -> list[bytes]:
    return [bytes(p.data) for p in packets]


def host_copies(surfaces: list) -> list:
    """The decoded frames' NV12 pictures as host frames, with the surfaces' pitch."""
    return [
        vh.Frame(np.ascontiguousarray(to_host(f.planes[0])), NV12, pitch=f.planes[0].pitch, pts=i)
        for i, f in enumerate(surfaces)
    ]


def test_decoded_surfaces_reach_nvenc_without_a_host_copy(env):
    counters, nv, sw, _ = env
    surfaces = decoded_surfaces(nv, source_packets(sw))
    counters.reset()
    device_frames = [vh.Frame(f.planes[0], NV12, pts=i) for i, f in enumerate(surfaces)]
    assert all(f.on_device for f in device_frames)
    packets, telemetry = encode(nv, device_frames)
    assert telemetry["backend"] == "nvidia"
    assert counters.device_pictures() == COUNT
    assert counters.host_pictures() == 0
    assert telemetry["frames_from_device"] == COUNT
    assert telemetry["device_input_frames"] == COUNT
    assert telemetry["device_frames_downloaded"] == 0
    assert telemetry["frames_converted"] == 0

    # The same pictures from the host encode to the same bytes.
    host_frames = host_copies(surfaces)
    counters.reset()
    host_packets, host_telemetry = encode(nv, host_frames)
    assert counters.host_pictures() == COUNT and counters.device_pictures() == 0
    assert host_telemetry["frames_from_device"] == 0
    assert payload(packets) == payload(host_packets)


def test_the_surface_may_be_dropped_once_submit_returns(env):
    """The session copied the bytes on the device: the decoded frame's pooled surface can
    go back to its pool (and be overwritten) before the encoder reads it."""
    _, nv, sw, _ = env
    surfaces = decoded_surfaces(nv, source_packets(sw))
    reference = [np.ascontiguousarray(to_host(f.planes[0])) for f in surfaces]
    pitch = surfaces[0].planes[0].pitch
    h = nv.start_encode_session(common(width=WIDTH, height=HEIGHT, gop_length=30))
    packets = []
    for i in range(COUNT):
        frame = surfaces[i]
        surfaces[i] = None
        nv.submit(h, vh.Frame(frame.planes[0], NV12, pts=i))
        del frame
        gc.collect()
    packets += nv.flush(h)
    packets += nv.close_encode_session(h)
    host_frames = [vh.Frame(r, NV12, pitch=pitch, pts=i) for i, r in enumerate(reference)]
    host_packets, _ = encode(nv, host_frames)
    assert payload(packets) == payload(host_packets)


def test_the_software_encoder_copies_device_frames_down_once(env):
    counters, nv, sw, _ = env
    surfaces = decoded_surfaces(nv, source_packets(sw))
    device_frames = [vh.Frame(f.planes[0], NV12, pts=i) for i, f in enumerate(surfaces)]
    packets, telemetry = encode(sw, device_frames)
    assert telemetry["backend"] == "software"
    assert telemetry["frames_from_device"] == COUNT
    assert telemetry["device_frames_downloaded"] == COUNT
    assert telemetry["device_input_frames"] == 0
    host_frames = host_copies(surfaces)
    host_packets, _ = encode(sw, host_frames)
    assert payload(packets) == payload(host_packets)


class FakeCudaArray:
    """An object with a hand-made __cuda_array_interface__ over another array's memory."""

    def __init__(self, ptr, shape, strides=None, typestr="|u1", **extra) -> None:
        self.__cuda_array_interface__ = dict(
            version=3, shape=tuple(shape), strides=strides, typestr=typestr,
            data=(ptr, False), **extra,
        )  # fmt: skip


def test_device_frames_that_do_not_fit_are_refused_with_nothing_taken(env):
    _, nv, sw, _ = env
    surface = decoded_surfaces(nv, source_packets(sw))[0].planes[0]
    rows, pitch = surface.shape
    with pytest.raises(vh.InvalidFrameError, match="uint8"):
        vh.Frame(FakeCudaArray(surface.ptr, (rows, pitch // 4), typestr="<f4"), NV12)
    h = nv.start_encode_session(common(width=WIDTH, height=HEIGHT))
    try:
        cases = [
            # columns two bytes apart: not a picture row
            (FakeCudaArray(surface.ptr, (rows, pitch // 2), strides=(pitch, 2)), "contiguous"),
            # the luma rows only
            (surface.y, "bytes"),
            # a mask
            (FakeCudaArray(surface.ptr, (rows, pitch), mask=object()), "mask"),
            # a null pointer
            (FakeCudaArray(0, (rows, pitch)), "null"),
            # crafted sizes: refused before any arithmetic or allocation
            (FakeCudaArray(surface.ptr, (0, pitch)), "empty"),
            (FakeCudaArray(surface.ptr, (2**40, 2**40)), "2\\^40"),
            (FakeCudaArray(surface.ptr, (rows, pitch), strides=(2**45, 1)), "larger than any"),
        ]
        for data, match in cases:
            with pytest.raises(vh.InvalidFrameError, match=match):
                nv.submit(h, vh.Frame(data, NV12, pts=0))
        # Nothing was taken: the session encodes on.
        nv.submit(h, vh.Frame(surface, NV12, pts=0))
        assert len(nv.flush(h)) == 1
        assert nv.telemetry(h)["frames_submitted"] == 1
    finally:
        nv.close_encode_session(h)


@pytest.mark.skipif(HAS_GPU, reason="a bogus device address is only safe to try on the double")
def test_an_address_the_driver_does_not_know_is_an_invalid_frame(env):
    _, nv, _, double = env
    h = nv.start_encode_session(common(width=WIDTH, height=HEIGHT))
    try:
        rows = HEIGHT + HEIGHT // 2
        with pytest.raises(vh.InvalidFrameError, match="cuMemcpy2D"):
            nv.submit(h, vh.Frame(FakeCudaArray(0x1000, (rows, WIDTH)), NV12, pts=0))
        assert nv.telemetry(h)["frames_submitted"] == 0
    finally:
        nv.close_encode_session(h)
    # The CUDA double reports the copy it refused as misuse; here it is the point.
    assert "outside every allocation" in double.violations()
    double.reset()


@pytest.mark.skipif(HAS_GPU, reason="on the GPU the real driver is loaded for the process")
def test_device_frames_without_a_cuda_driver_say_so(env, monkeypatch, tmp_path):
    _, _, sw, _ = env
    missing = str(tmp_path / "libcuda-missing.so.1")
    monkeypatch.setenv("VIDEOHW_CUDA_LIBRARY", missing)
    h = sw.start_encode_session(common(width=WIDTH, height=HEIGHT))
    try:
        rows = HEIGHT + HEIGHT // 2
        with pytest.raises(vh.BackendUnavailableError, match="libcuda-missing"):
            sw.submit(h, vh.Frame(FakeCudaArray(0x1000, (rows, WIDTH)), NV12, pts=0))
        sw.submit(h, make_frame(NV12, WIDTH, HEIGHT, 0, pts=0))
        assert len(sw.flush(h)) == 1
    finally:
        sw.close_encode_session(h)


@pytest.mark.gpu
@pytest.mark.skipif(torch is None, reason="needs torch")
def test_torch_tensors_encode_like_host_arrays(env):
    counters, nv, _, _ = env
    host = [
        np.frombuffer(make_frame(NV12, WIDTH, HEIGHT, i).data, dtype=np.uint8).reshape(
            HEIGHT * 3 // 2, WIDTH
        )
        for i in range(COUNT)
    ]
    tensors = [torch.from_numpy(a.copy()).cuda() for a in host]
    packets, telemetry = encode(nv, [vh.Frame(t, NV12, pts=i) for i, t in enumerate(tensors)])
    assert telemetry["device_input_frames"] == COUNT and counters.host_pictures() == 0
    host_packets, _ = encode(nv, [vh.Frame(a, NV12, pts=i) for i, a in enumerate(host)])
    assert payload(packets) == payload(host_packets)


def test_frame_buffer_of_a_device_frame_is_an_error(env):
    _, nv, sw, _ = env
    surface = decoded_surfaces(nv, source_packets(sw))[0].planes[0]
    frame = vh.Frame(surface, NV12)
    assert frame.on_device
    with pytest.raises(vh.InvalidFrameError, match="device memory"):
        frame.buffer  # noqa: B018
    assert "shape=" in repr(frame)
    assert os.environ.get("VIDEOHW_NVENC_LIBRARY")
