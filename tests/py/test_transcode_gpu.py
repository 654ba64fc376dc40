"""Transcodes that decode on NVDEC (docs/transcode.md, GPU): the CUDA resize against the CPU
path's libswscale, and NVDEC surfaces into the NVENC double as device input.

The outputs are encoded losslessly (x264 at QP 0), so decoding them gives back exactly the
frames the transform produced, and the GPU path's frames are compared with the CPU path's
pixel by pixel. Stated tolerance: every sample within 2 of libswscale's bilinear output, and
the mean difference below 0.25 (measured 0.16 on this source; the kernel computes
libswscale's filter in float, libswscale uses 14-bit fixed-point taps).

Without an NVIDIA GPU the tests run on the NVDEC / CUDA driver doubles, whose launch of the
resize kernel runs the kernel's arithmetic on the CPU; on a GPU they run for real (an
H100/H200 has no NVENC, so the NVENC test then skips with the reason)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import videohw as vh
from conftest import HAS_GPU, rgb_picture

ON_DOUBLE = not HAS_GPU
SIZE = (320, 180)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    """45 frames of 640x360 H.264 with B-frames, written by videohw itself: the GPU machine
    has no ffmpeg tool."""
    path = str(tmp_path_factory.mktemp("gpu_src") / "src.mp4")
    common = vh.CommonEncodeConfig(
        width=640, height=360, b_frames=2, rate_control=vh.RateControl.cbr(2_000_000)
    )
    with vh.VideoWriter(path, common, controller=vh.SessionController("software")) as w:
        for t in range(45):
            w.write(rgb_picture(640, 360, t))
    return path


def lossless(width: int, height: int) -> vh.CommonEncodeConfig:
    return vh.CommonEncodeConfig(
        width=width, height=height, rate_control=vh.RateControl.const_qp(0, 0, 0)
    )


def frames_of(path: str, width: int, height: int) -> np.ndarray:
    """Every frame of ``path`` as yuv420p bytes, one row per frame (the software decoder)."""
    rows = []
    with vh.VideoReader(path, backend="software", output="native") as reader:
        for frame in reader:
            assert (frame.width, frame.height) == (width, height)
            rows.append(np.concatenate([np.ascontiguousarray(p).reshape(-1) for p in frame.planes]))
    return np.stack(rows)


def run(source: str, out: str, **options) -> vh.TranscodeReport:
    return vh.transcode(
        source, out, lossless(*SIZE), backend="software", progress=False, audio="none", **options
    )


def test_gpu_resize_matches_the_cpu_transform(nvdec, source, tmp_path):
    cpu = run(source, str(tmp_path / "cpu.mkv"), decode_backend="software")
    gpu = run(source, str(tmp_path / "gpu.mkv"), decode_backend="nvidia")
    assert cpu.transform == "cpu"
    assert gpu.decode_backend == "nvidia" and gpu.transform == "gpu", gpu.transform
    assert gpu.frames == cpu.frames == 45
    a = frames_of(str(tmp_path / "cpu.mkv"), *SIZE).astype(np.int16)
    b = frames_of(str(tmp_path / "gpu.mkv"), *SIZE).astype(np.int16)
    assert a.shape == b.shape == (45, SIZE[0] * SIZE[1] * 3 // 2)
    diff = np.abs(a - b)
    assert diff.max() <= 2, f"largest difference {diff.max()}"
    assert diff.mean() < 0.25, f"mean difference {diff.mean():.4f}"


def test_nvdec_without_gpu_transform_is_the_cpu_path_exactly(nvdec, source, tmp_path):
    cpu = run(source, str(tmp_path / "cpu.mkv"), decode_backend="software")
    off = run(source, str(tmp_path / "off.mkv"), decode_backend="nvidia", gpu_transform=False)
    assert off.transform == "cpu (gpu_transform off)"
    a = frames_of(str(tmp_path / "cpu.mkv"), *SIZE)
    b = frames_of(str(tmp_path / "off.mkv"), *SIZE)
    assert cpu.frames == off.frames == 45
    assert np.array_equal(a, b)


def test_gpu_resize_serves_a_ladder_and_same_size_outputs_share_nothing_wrong(
    nvdec, source, tmp_path
):
    report = vh.transcode(
        source,
        str(tmp_path / "lad.mkv"),
        lossless(640, 360),
        backend="software",
        progress=False,
        audio="none",
        decode_backend="nvidia",
        rungs=[
            vh.Rung(640, 360, 1_000_000),
            vh.Rung(320, 180, 500_000),
            vh.Rung(320, 180, 400_000, path=str(tmp_path / "b.mkv")),
        ],
    )
    assert report.transform == "gpu"
    sizes = [(o.width, o.height, o.frames) for o in report.outputs]
    assert sizes == [(640, 360, 45), (320, 180, 45), (320, 180, 45)]
    for o in report.outputs:
        assert len(frames_of(o.files[0], o.width, o.height)) == 45


@pytest.mark.skipif(not ON_DOUBLE, reason="the NVENC double; a GPU with NVENC runs the same path")
def test_nvdec_surfaces_reach_the_nvenc_double_as_device_input(nvdec, source, tmp_path):
    report = vh.transcode(
        source,
        str(tmp_path / "nv.mp4"),
        vh.CommonEncodeConfig(width=SIZE[0], height=SIZE[1]),
        backend="nvidia",
        progress=False,
        audio="none",
    )
    assert report.decode_backend == "nvidia" and report.encode_backend == "nvidia"
    assert report.transform == "gpu"
    assert report.outputs[0].frames == 45
    # Every frame went to the encoder from device memory: no host copy on the way.
    assert nvdec.device_input_pictures() == 45
    assert nvdec.host_input_pictures() == 0
    assert os.path.getsize(tmp_path / "nv.mp4") > 0
