"""videohw.distributed's workers decoding on NVDEC, without Ray (the worker and the frame
decoder are plain classes; Ray only runs them in actors, which tests/py/test_distributed.py
covers on the CPU): a worker's kept decode session switches between files of other sizes
and codecs on NVDEC and its outputs equal a single-process transcode's; the read_frames
decoder on NVDEC gives the software decoder's frames.

Without an NVIDIA GPU the tests run on the NVDEC / CUDA driver doubles; on a GPU (the H200:
no NVENC, so encoding is libx264) for real. Sources are written by videohw itself: the GPU
machine has no ffmpeg tool."""

from __future__ import annotations

import numpy as np
import pytest

import videohw as vh
from conftest import rgb_picture
from videohw.distributed import Job, TranscodeWorker
from videohw.distributed.frames import FrameDecoder

LOW = vh.CommonEncodeConfig(
    width=160, height=96, gop_length=30, low_latency=True, b_frames=0,
    rate_control=vh.RateControl.cbr(300_000),
)  # fmt: skip


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("gpu_batch")
    out = []
    for i, (w, h, codec) in enumerate(
        [(320, 180, vh.Codec.H264), (256, 144, vh.Codec.HEVC), (640, 360, vh.Codec.H264)]
    ):
        path = str(folder / f"s{i}.mp4")
        common = vh.CommonEncodeConfig(
            codec=codec, width=w, height=h, b_frames=2, rate_control=vh.RateControl.cbr(1_000_000)
        )
        with vh.VideoWriter(path, common, controller=vh.SessionController("software")) as wr:
            for t in range(40):
                wr.write(rgb_picture(w, h, t))
        out.append(path)
    return out


def _packets(path: str) -> list[tuple]:
    with vh.MediaReader(path) as reader:
        return [(p.data, p.pts, p.dts, p.is_keyframe) for p in reader]


def test_a_worker_keeps_its_nvdec_session_across_files(nvdec, sources, tmp_path):
    worker = TranscodeWorker("gpu", "software", decode_backend="nvidia")
    try:
        for i, src in enumerate(sources):
            out = str(tmp_path / f"kept{i}.mp4")
            result = worker.run(Job(f"s{i}", src, LOW, outputs=(out,)))
            assert result.frames == 40
            single = str(tmp_path / f"single{i}.mp4")
            vh.transcode(
                src, single, LOW, backend="software", decode_backend="nvidia", progress=False
            )
            assert _packets(out) == _packets(single), src
        t = worker.telemetry()
        assert t["session_inits"] == 2 and t["decode_switches"] == 2 and t["encode_restarts"] == 2
    finally:
        worker.close()


def test_the_frame_decoder_on_nvdec_gives_the_software_frames(nvdec, sources):
    wanted = [0, 13, 39, 7]
    gpu = FrameDecoder("nvidia", None, clips=False)
    cpu = FrameDecoder("software", None, clips=False)
    for src in sources:
        item = {"path": src, "starts": wanted, "seconds": [], "clip_len": 1}
        a, b = gpu(item), cpu(item)
        assert [r["index"] for r in a] == [r["index"] for r in b] == wanted
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x["frame"], y["frame"])
            assert x["pts"] == y["pts"]
    for reader in list(gpu.readers.values()) + list(cpu.readers.values()):
        reader.close()
