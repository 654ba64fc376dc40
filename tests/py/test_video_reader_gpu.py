"""VideoReader on NVDEC against the software backend, frame by frame, on the media corpus.

The GPU machine has no ffmpeg CLI, so the references here are the software backend's own
frames, which test_video_reader.py checks against ffmpeg on every CI run: NVDEC equal to
software means NVDEC equal to ffmpeg. The corpus is the one media_corpus.py made (carry its
folder, ``tests/py/.media-cache``, or point ``VIDEOHW_MEDIA_CACHE`` at it).

- NATIVE_SURFACE: NVDEC's device NV12 / P010 against libavcodec's yuv420p / yuv420p10le
  planes, sample for sample (P010 holds the 10-bit value in the high bits).
- CPU_RGB: bit-equal for 8-bit streams (NVDEC's kernel looks the software conversion up in
  a table). 10-bit streams: NVDEC's formula kernel takes the 2x2 block's chroma pair, as
  libswscale's 8-bit path does, while libswscale's 10-bit path interpolates chroma (a
  bicubic filter): a mean difference of about 2 levels, large ones only at sharp colour
  edges (measured on the CPU by emulating the kernel on the software decoder's planes:
  mean 1.9-2.3, 8-10 % of values more than 4 apart).
- Random, strided and repeated indices; session_inits stays 1.
"""

from __future__ import annotations

import glob
import os
import random

import numpy as np
import pytest

import videohw as vh

pytestmark = pytest.mark.gpu

HERE = os.path.dirname(os.path.abspath(__file__))

# Container files with timestamps (the raw streams are covered on CPU; their numbering is
# backend-independent), 4:2:0 at 8 or 10 bits, codecs NVDEC decodes.
FILES = [
    "h264_bf.mp4",
    "h264_bf.mkv",
    "h264_bf.ts",
    "hevc_bf.mp4",
    "hevc_opengop.mp4",
    "editlist.mp4",
    "vfr.mkv",
    "idr10.mp4",
    "odd322.mp4",
    "hevc10.mp4",
    "vp9.webm",
    "h264_bf.h264",
    "hevc_bf.hevc",
]


def _corpus_dir() -> str:
    root = os.environ.get("VIDEOHW_MEDIA_CACHE", os.path.join(HERE, ".media-cache"))
    folders = sorted(glob.glob(os.path.join(root, "*", "manifest.json")), key=os.path.getmtime)
    if not folders:
        pytest.skip(
            f"no media corpus under {root}: run test_video_reader.py once on a machine "
            "with ffmpeg and carry tests/py/.media-cache"
        )
    return os.path.dirname(folders[-1])


def _indices(count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    picks = rng.sample(range(count), min(count, 12))
    return picks + [count - 1, 0, picks[0]] + list(range(3, count, max(1, count // 6)))


def _host(frame: vh.DecodedFrame) -> list[np.ndarray]:
    """The frame's planes as host arrays: NV12 / P010 split into Y, U, V."""
    if not frame.on_device:
        return [np.asarray(p) for p in frame.planes]
    import cupy as cp  # the GPU image has it

    surface = frame.planes[0]
    y = cp.asnumpy(cp.asarray(surface.y))
    uv = cp.asnumpy(cp.asarray(surface.uv))
    return [y, uv[..., 0], uv[..., 1]]


@pytest.fixture(scope="module")
def corpus() -> str:
    return _corpus_dir()


@pytest.mark.parametrize("name", FILES)
def test_native_planes_equal_the_software_decoders(corpus, name):
    path = os.path.join(corpus, name)
    if not os.path.exists(path):
        pytest.skip(f"{name} is not in this corpus")
    with (
        vh.VideoReader(path, backend="nvidia", output="native") as gpu,
        vh.VideoReader(path, backend="software", output="native") as cpu,
    ):
        assert gpu.backend == "nvidia" and cpu.backend == "software"
        assert len(gpu) == len(cpu)
        wanted = _indices(len(cpu), seed=len(name))
        for g, c, i in zip(gpu.get_frames_at(wanted), cpu.get_frames_at(wanted), wanted):
            assert (g.index, g.pts) == (c.index, c.pts) == (i, c.pts)
            gp, cp_ = _host(g), _host(c)
            shift = 6 if g.pixel_format == "p010" else (4 if g.pixel_format == "p016" else 0)
            for plane, (a, b) in enumerate(zip(gp, cp_)):
                a = a >> shift if shift else a
                assert a.shape == b.shape, (name, i, plane, a.shape, b.shape)
                assert np.array_equal(a, b), (name, i, plane, int(np.abs(a.astype(int) - b).max()))
        assert gpu.telemetry()["session_inits"] == 1


@pytest.mark.parametrize("name", FILES)
def test_rgb_equals_the_software_conversion(corpus, name):
    path = os.path.join(corpus, name)
    if not os.path.exists(path):
        pytest.skip(f"{name} is not in this corpus")
    ten_bit = name == "hevc10.mp4"
    with (
        vh.VideoReader(path, backend="nvidia") as gpu,
        vh.VideoReader(path, backend="software") as cpu,
    ):
        wanted = _indices(len(cpu), seed=7 + len(name))
        for g, c, i in zip(gpu.get_frames_at(wanted), cpu.get_frames_at(wanted), wanted):
            assert g.index == c.index == i
            diff = np.abs(g.rgb.astype(int) - c.rgb.astype(int))
            if ten_bit:
                assert diff.mean() <= 3.0 and (diff > 4).mean() <= 0.15, (
                    name,
                    i,
                    float(diff.mean()),
                    float((diff > 4).mean()),
                )
            else:
                assert diff.max() == 0, (name, i, int(diff.max()))


@pytest.mark.parametrize("name", ["h264_bf.mp4", "hevc_bf.mp4"])
def test_iteration_and_one_at_a_time_agree_on_nvdec(corpus, name):
    path = os.path.join(corpus, name)
    with vh.VideoReader(path, backend="nvidia", output="native") as r:
        streamed = [(f.index, f.pts) for f in r]
        assert [i for i, _ in streamed] == list(range(len(r)))
        singles = [(r[i].index, r[i].pts) for i in range(len(r))]
        assert singles == streamed
        assert r.telemetry()["session_inits"] == 1
