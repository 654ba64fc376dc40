"""NVDEC from Python (docs/nvdec.md): streams made by the software encoder, decoded by the
nvidia backend in each output mode and compared frame by frame with the software decoder.

- NATIVE_SURFACE: bit-exact (the device NV12 copied to the host through torch or cupy,
  against libavcodec's yuv420p planes); the surface is zero-copy in torch and cupy and goes
  back to the pool when the last reference dies.
- CPU_RGB: bit-exact against the software decoder (its conversion as a table on the GPU),
  METADATA_ONLY: same frames.
- Corrupt input: damaged frames or DecodeError, never a crash; decoding recovers.

Without an NVIDIA GPU the tests run on the NVDEC / CUDA driver doubles
(docs/nvdec_double.md) when they are built, each checked for broken API rules and leaked
decoders; "device" memory is host memory there, read directly. Tests that need real device
memory (torch, cupy) are marked ``gpu`` and skipped without a GPU. On a GPU, when NVDEC
cannot be used, the tests are skipped with the reason. On an H100 / H200 there is NVDEC but
no NVENC, so ``SessionController("nvidia")`` fails for encode: decode then goes through
``"auto"``, which picks NVDEC wherever it is usable."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pytest

import nvenc_double
import videohw as vh
from conftest import HAS_GPU, common, encode_frames, make_frame

try:
    import torch
except ImportError:
    torch = None
try:
    import cupy
except ImportError:
    cupy = None

NATIVE = vh.DecodeOutputMode.NATIVE_SURFACE
RGB = vh.DecodeOutputMode.CPU_RGB
META = vh.DecodeOutputMode.METADATA_ONLY
gpu = pytest.mark.gpu


# ---- the nvidia decode controller -----------------------------------------------------------


def nvidia_decode_controller() -> vh.SessionController:
    """A controller whose decode sessions run on NVDEC; BackendUnavailableError says why not."""
    try:
        ctl = vh.SessionController("nvidia")
    except vh.BackendUnavailableError as encode_error:
        # No NVENC (H100, H200) or no driver: "auto" still decodes on NVDEC where it can.
        ctl = vh.SessionController("auto")
        if ctl.decode_backend != "nvidia":
            from videohw import _core

            raise vh.BackendUnavailableError(
                f"nvidia decode unavailable: {_core.decode_backend_availability()['nvidia']} "
                f"(encode: {encode_error})"
            ) from None
    ctl.close_decode_session(ctl.start_decode_session(vh.CommonDecodeConfig()))
    return ctl


# Without a GPU: the driver doubles, for the whole module (one controller), checked after
# every test by _clean_double.
ON_DOUBLE = not HAS_GPU


@pytest.fixture(scope="module")
def double():
    if not ON_DOUBLE:
        yield None
        return
    if nvenc_double.PATHS is None or nvenc_double.NVCUVID not in nvenc_double.PATHS:
        pytest.skip(nvenc_double.NOT_BUILT)
    patch = pytest.MonkeyPatch()
    try:
        yield nvenc_double.Double(nvenc_double.PATHS, patch, nvdec=True)
    finally:
        patch.undo()


@pytest.fixture(autouse=True)
def _clean_double(request):
    if not ON_DOUBLE or "nv" not in request.fixturenames:
        yield
        return
    d = request.getfixturevalue("double")
    d.reset()
    yield
    gc.collect()
    d.check_clean()


@pytest.fixture(scope="module")
def nv(double) -> vh.SessionController:
    try:
        return nvidia_decode_controller()
    except vh.BackendUnavailableError as e:
        if ON_DOUBLE:
            raise  # the doubles are built: NVDEC must be usable through them
        pytest.skip(str(e))


@pytest.mark.skipif(HAS_GPU, reason="checks the failure where no NVIDIA GPU is present")
def test_nvidia_decode_is_backend_unavailable_without_a_gpu(monkeypatch):
    monkeypatch.delenv(nvenc_double.NVCUVID, raising=False)
    with pytest.raises(vh.BackendUnavailableError, match="nvidia decode unavailable"):
        nvidia_decode_controller()


# ---- streams made by the software encoder ---------------------------------------------------


@dataclass(frozen=True)
class Stream:
    name: str
    codec: vh.Codec
    parts: tuple  # ((width, height, frames), ...): a size change starts a new part
    gop: int
    b_frames: int


STREAMS = [
    Stream("h264_320x240_ip", vh.Codec.H264, ((320, 240, 24),), 10, 0),
    Stream("h264_640x360_b2", vh.Codec.H264, ((640, 360, 30),), 12, 2),
    Stream("h264_1920x1080_ip", vh.Codec.H264, ((1920, 1080, 8),), 4, 0),
    Stream("h264_size_change", vh.Codec.H264, ((640, 360, 10), (352, 288, 10)), 5, 0),
    Stream("hevc_320x240_ip", vh.Codec.HEVC, ((320, 240, 24),), 10, 0),
    Stream("hevc_640x360_b2", vh.Codec.HEVC, ((640, 360, 30),), 12, 2),
    Stream("hevc_1280x720_b3", vh.Codec.HEVC, ((1280, 720, 12),), 6, 3),
    Stream("hevc_size_change", vh.Codec.HEVC, ((640, 360, 10), (352, 288, 10)), 5, 2),
    # Larger pictures than the decoder's output surfaces were made for: a new decoder.
    Stream("h264_size_grow", vh.Codec.H264, ((352, 288, 10), (640, 360, 10)), 5, 0),
]

_packets: dict[str, list] = {}


def packets_of(ctl: vh.SessionController, stream: Stream) -> list:
    """The stream's packets in decode order, pts = display index; encoded once per run."""
    if stream.name not in _packets:
        packets, t = [], 0
        for width, height, count in stream.parts:
            config = common(
                stream.codec, width, height, gop_length=stream.gop, b_frames=stream.b_frames
            )
            frames = [
                make_frame(vh.PixelFormat.I420, width, height, t + i, pts=t + i)
                for i in range(count)
            ]
            packets += encode_frames(ctl, config, frames)
            t += count
        _packets[stream.name] = packets
    return _packets[stream.name]


def frame_count(stream: Stream) -> int:
    return sum(count for _, _, count in stream.parts)


def decode(
    ctl: vh.SessionController,
    packets,
    codec: vh.Codec,
    output: vh.DecodeOutputMode,
    low_latency: bool = False,
) -> tuple[list, dict]:
    """One access unit per push with its pts; every frame in output order, and telemetry."""
    h = ctl.start_decode_session(
        vh.CommonDecodeConfig(codec=codec, output=output, low_latency=low_latency)
    )
    frames = []
    for p in packets:
        ctl.push_bitstream(h, p.data, pts=p.pts)
        frames += ctl.reap(h)
    frames += ctl.flush(h)
    frames += ctl.close_decode_session(h)
    return frames, ctl.telemetry(h)


# ---- device -> host ---------------------------------------------------------------------


def to_host(array) -> np.ndarray:
    """A device array's bytes on the host, through torch or cupy (whichever is installed);
    on the doubles, where device memory is host memory, read directly."""
    if ON_DOUBLE:
        return nvenc_double.read_device_bytes(array.ptr, array.shape)
    if torch is not None:
        return torch.from_dlpack(array).cpu().numpy()
    if cupy is not None:
        return cupy.asnumpy(cupy.from_dlpack(array))
    pytest.skip("needs torch or cupy to copy device pixels to the host")


def nv12_planes(host: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    """Y, U, V of one (height + ceil(height/2), pitch) NV12 buffer."""
    cw, ch = (width + 1) // 2, (height + 1) // 2
    uv = host[height : height + ch, : 2 * cw].reshape(ch, cw, 2)
    return host[:height, :width], uv[..., 0], uv[..., 1]


def assert_nv12_equals_yuv420p(nv_frame, sw_frame, index: int) -> None:
    surface = nv_frame.planes[0]
    assert nv_frame.pixel_format == "nv12" and nv_frame.on_device
    assert sw_frame.pixel_format == "yuv420p"
    assert surface.shape == (nv_frame.height + (nv_frame.height + 1) // 2, surface.pitch)
    got = nv12_planes(to_host(surface), nv_frame.width, nv_frame.height)
    for name, g, want in zip("YUV", got, sw_frame.planes):
        if not np.array_equal(g, want):
            diff = np.argwhere(g != want)[0]
            pytest.fail(
                f"frame {index} ({nv_frame.width}x{nv_frame.height}) plane {name}: "
                f"first difference at {tuple(diff)}: nvdec {g[tuple(diff)]}, software "
                f"{want[tuple(diff)]}; {np.count_nonzero(g != want)} of {g.size} differ"
            )


def same_frames(nv_frames, sw_frames) -> None:
    key = [(f.width, f.height, f.pts, f.is_keyframe) for f in nv_frames]
    assert key == [(f.width, f.height, f.pts, f.is_keyframe) for f in sw_frames]
    assert not any(f.damaged for f in nv_frames)


# ---- the three output modes against the software decoder ----------------------------------


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_native_surface_is_bit_exact_against_the_software_decoder(nv, ctl, stream):
    packets = packets_of(ctl, stream)
    nv_frames, telemetry = decode(nv, packets, stream.codec, NATIVE)
    sw_frames, _ = decode(ctl, packets, stream.codec, NATIVE)
    assert telemetry["backend"] == "nvidia"
    assert len(nv_frames) == frame_count(stream)
    same_frames(nv_frames, sw_frames)
    for i, (n, s) in enumerate(zip(nv_frames, sw_frames)):
        assert_nv12_equals_yuv420p(n, s, i)
    if len(stream.parts) > 1:
        assert telemetry["session_inits"] == 1 and telemetry["size_changes"] >= 1
        assert telemetry["sizes_seen"] == ",".join(f"{w}x{h}" for w, h, _ in stream.parts)


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_cpu_rgb_is_bit_exact_against_the_software_decoder(nv, ctl, stream):
    packets = packets_of(ctl, stream)
    nv_frames, _ = decode(nv, packets, stream.codec, RGB)
    sw_frames, _ = decode(ctl, packets, stream.codec, RGB)
    same_frames(nv_frames, sw_frames)
    worst = 0
    for i, (n, s) in enumerate(zip(nv_frames, sw_frames)):
        assert not n.on_device and isinstance(n.rgb, np.ndarray)
        assert n.rgb.shape == (n.height, n.width, 3) and n.rgb.dtype == np.uint8
        diff = np.abs(n.rgb.astype(np.int16) - s.rgb.astype(np.int16))
        worst = max(worst, int(diff.max()))
        assert diff.max() == 0, (
            f"frame {i}: max |diff| {diff.max()} in {int((diff > 0).sum())} samples, first at "
            f"{tuple(np.argwhere(diff == diff.max())[0])}"
        )
    print(f"{stream.name}: CPU_RGB max |diff| {worst}")


def decode_chunked(ctl, data: bytes, chunk: int, codec: vh.Codec, output) -> list:
    """The stream's bytes in pushes of ``chunk`` bytes (0: one push), reaping after each."""
    h = ctl.start_decode_session(vh.CommonDecodeConfig(codec=codec, output=output))
    frames = []
    step = chunk or len(data)
    for at in range(0, len(data), step):
        ctl.push_bitstream(h, data[at : at + step])
        frames += ctl.reap(h)
    frames += ctl.flush(h)
    frames += ctl.close_decode_session(h)
    return frames


@pytest.mark.parametrize("chunk", [0, 1], ids=["whole", "1-byte"])
@pytest.mark.parametrize("output", [NATIVE, RGB], ids=["native", "rgb"])
@pytest.mark.parametrize("stream", [STREAMS[1], STREAMS[5]], ids=lambda s: s.name)
def test_whole_file_and_one_byte_pushes_are_bit_exact(nv, ctl, stream, output, chunk):
    """The decode stage cuts any chunking into pictures: one push of the whole file and
    pushes of one byte give the software decoder's frames, bit for bit (B-frames)."""
    packets = packets_of(ctl, stream)
    data = b"".join(p.data for p in packets)
    nv_frames = decode_chunked(nv, data, chunk, stream.codec, output)
    sw_frames, _ = decode(ctl, packets, stream.codec, output)
    assert len(nv_frames) == len(sw_frames) == frame_count(stream)
    for i, (n, s) in enumerate(zip(nv_frames, sw_frames)):
        assert (n.width, n.height, n.is_keyframe) == (s.width, s.height, s.is_keyframe), i
        assert not n.damaged, i
        if output is NATIVE:
            assert_nv12_equals_yuv420p(n, s, i)
        else:
            assert np.array_equal(n.rgb, s.rgb), f"frame {i} differs"


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_metadata_only_gives_the_same_frames_without_pixels(nv, ctl, stream):
    packets = packets_of(ctl, stream)
    nv_frames, telemetry = decode(nv, packets, stream.codec, META)
    sw_frames, _ = decode(ctl, packets, stream.codec, META)
    same_frames(nv_frames, sw_frames)
    assert all(f.planes is None for f in nv_frames)
    assert telemetry["frames_decoded"] == frame_count(stream)


# ---- zero copy and the surface's lifetime --------------------------------------------------


def first_native_frame(nv, ctl, stream: Optional[Stream] = None):
    stream = stream or STREAMS[1]
    frames, _ = decode(nv, packets_of(ctl, stream)[:6], stream.codec, NATIVE)
    return frames[0]


@gpu
def test_torch_from_dlpack_is_zero_copy(nv, ctl):
    if torch is None:
        pytest.skip("torch is not installed")
    frame = first_native_frame(nv, ctl)
    surface = frame.planes[0]
    t = torch.from_dlpack(surface)
    assert t.data_ptr() == surface.ptr
    assert t.device == torch.device("cuda", frame.device_id)
    assert tuple(t.shape) == surface.shape and t.dtype == torch.uint8
    assert t.stride() == surface.strides
    assert torch.from_dlpack(surface.y).data_ptr() == surface.ptr
    uv = torch.from_dlpack(surface.uv)
    assert uv.data_ptr() == surface.ptr + surface.pitch * frame.height
    assert tuple(uv.shape) == ((frame.height + 1) // 2, (frame.width + 1) // 2, 2)
    # through __cuda_array_interface__ as well
    assert torch.as_tensor(surface, device="cuda").data_ptr() == surface.ptr


@gpu
def test_cupy_from_dlpack_and_cuda_array_interface_are_zero_copy(nv, ctl):
    if cupy is None:
        pytest.skip("cupy is not installed")
    frame = first_native_frame(nv, ctl)
    surface = frame.planes[0]
    by_dlpack = cupy.from_dlpack(surface)
    by_cai = cupy.asarray(surface)
    assert by_dlpack.data.ptr == surface.ptr and by_cai.data.ptr == surface.ptr
    assert by_dlpack.shape == surface.shape and by_cai.strides == surface.strides
    assert cupy.array_equal(by_dlpack, by_cai)
    assert cupy.asarray(surface.uv).data.ptr == surface.ptr + surface.pitch * frame.height


def stream_pointers(nv, packets, codec, count: int, keep: bool = False) -> tuple[list, list]:
    """Decodes ``packets`` one access unit at a time (low latency: each frame comes out of its
    own push) and returns each frame's surface pointer; frames are dropped at once unless
    ``keep``."""
    h = nv.start_decode_session(vh.CommonDecodeConfig(codec=codec, output=NATIVE, low_latency=True))
    pointers, kept = [], []
    for p in packets[:count]:
        nv.push_bitstream(h, p.data, pts=p.pts)
        for f in nv.reap(h, 1):
            pointers.append(f.planes[0].ptr)
            if keep:
                kept.append(f)
        f = None
    nv.close_decode_session(h)
    return pointers, kept


def test_held_surfaces_are_never_handed_out_again(nv, ctl):
    stream = STREAMS[0]  # I/P only, so low latency gives one frame per push
    pointers, kept = stream_pointers(nv, packets_of(ctl, stream), stream.codec, 20, keep=True)
    assert len(pointers) == 20 and len(set(pointers)) == 20


def test_released_surfaces_are_recycled_not_leaked(nv, ctl):
    stream = STREAMS[0]
    pointers, _ = stream_pointers(nv, packets_of(ctl, stream), stream.codec, 24)
    assert len(pointers) == 24
    assert len(set(pointers)) <= 3, f"{len(set(pointers))} distinct surfaces for 24 frames"


@gpu
def test_a_torch_tensor_keeps_the_surface_out_of_the_pool_until_it_dies(nv, ctl):
    if torch is None:
        pytest.skip("torch is not installed")
    stream = STREAMS[0]
    packets = packets_of(ctl, stream)
    h = nv.start_decode_session(
        vh.CommonDecodeConfig(codec=stream.codec, output=NATIVE, low_latency=True)
    )
    nv.push_bitstream(h, packets[0].data, pts=0)
    (frame,) = nv.reap(h, 1)
    tensor = torch.from_dlpack(frame.planes[0])
    held, snapshot = tensor.data_ptr(), tensor.clone()
    del frame
    gc.collect()
    later = []
    for p in packets[1:11]:
        nv.push_bitstream(h, p.data, pts=p.pts)
        later += [f.planes[0].ptr for f in nv.reap(h, 1)]
    assert held not in later, "a surface a tensor still holds was reused"
    assert torch.equal(tensor, snapshot), "the held picture was overwritten"
    del tensor
    gc.collect()
    after = []
    for p in packets[11:20]:
        nv.push_bitstream(h, p.data, pts=p.pts)
        after += [f.planes[0].ptr for f in nv.reap(h, 1)]
    nv.close_decode_session(h)
    assert held in after, "the surface did not return to the pool after the tensor died"


def test_surface_outlives_its_session_and_controller(nv, ctl):
    stream = STREAMS[0]
    packets = packets_of(ctl, stream)[:3]
    reference = decode(ctl, packets, stream.codec, NATIVE)[0][0]
    own = nvidia_decode_controller()
    frames, _ = decode(own, packets, stream.codec, NATIVE)
    surface = frames[0].planes[0]
    del frames, own
    gc.collect()
    y, u, v = nv12_planes(to_host(surface), reference.width, reference.height)
    assert np.array_equal(y, reference.planes[0]) and np.array_equal(u, reference.planes[1])


def test_low_latency_gives_each_frame_from_its_own_push(nv, ctl):
    stream = STREAMS[4]  # HEVC, I/P only
    packets = packets_of(ctl, stream)
    h = nv.start_decode_session(
        vh.CommonDecodeConfig(codec=stream.codec, output=META, low_latency=True)
    )
    for p in packets:
        nv.push_bitstream(h, p.data, pts=p.pts)
        assert [f.pts for f in nv.reap(h, 1)] == [p.pts]
    assert nv.close_decode_session(h) == []


# ---- bad input -------------------------------------------------------------------------------


def push_all(ctl, h, chunks) -> tuple[list, int]:
    frames, errors = [], 0
    for data, pts in chunks:
        try:
            ctl.push_bitstream(h, data, pts=pts)
        except vh.DecodeError:
            errors += 1
        frames += ctl.reap(h, 1)  # this push decoded: its error comes with the next push
    return frames, errors


def decode_with_corrupt_picture(nv, ctl, codec):
    """12 frames, GOP 4, the tail of picture 5 zeroed: (nvdec frames by pts, errors raised,
    software reference frames)."""
    config = common(codec, 320, 240, gop_length=4)
    packets = encode_frames(
        ctl, config, [make_frame(vh.PixelFormat.I420, 320, 240, t, pts=t) for t in range(12)]
    )
    reference, _ = decode(ctl, packets, codec, NATIVE)
    broken = bytearray(packets[5].data)
    broken[len(broken) // 3 :] = bytes(len(broken) - len(broken) // 3)
    h = nv.start_decode_session(vh.CommonDecodeConfig(codec=codec, output=NATIVE))
    frames, errors = push_all(
        nv, h, [(bytes(broken) if i == 5 else p.data, p.pts) for i, p in enumerate(packets)]
    )
    try:
        frames += nv.flush(h)
    except vh.DecodeError:
        errors += 1
    nv.close_decode_session(h)
    return {f.pts: f for f in frames}, errors, reference


@pytest.mark.parametrize("codec", [vh.Codec.H264, vh.Codec.HEVC], ids=str)
def test_decoding_recovers_bit_exact_at_the_idr_after_a_corrupt_picture(nv, ctl, codec):
    by_pts, errors, reference = decode_with_corrupt_picture(nv, ctl, codec)
    print(
        f"{codec}: corrupt picture 5 -> {errors} DecodeError(s), damaged pts "
        f"{sorted(p for p, f in by_pts.items() if f.damaged)}, missing "
        f"{sorted(set(range(12)) - set(by_pts))}"
    )
    for pts in range(8, 12):  # the GOP after the damage
        assert pts in by_pts and not by_pts[pts].damaged, f"frame {pts} missing or damaged"
        assert_nv12_equals_yuv420p(by_pts[pts], reference[pts], pts)


@pytest.mark.parametrize("codec", [vh.Codec.H264, vh.Codec.HEVC], ids=str)
def test_corrupt_picture_is_flagged_damaged_or_raises_decode_error(nv, ctl, codec):
    if ON_DOUBLE and codec is vh.Codec.HEVC:
        pytest.skip(
            "the NVDEC double flags what libavcodec flags, and its HEVC decoder "
            "conceals a damaged slice without a flag (docs/nvdec_double.md)"
        )
    by_pts, errors, _ = decode_with_corrupt_picture(nv, ctl, codec)
    assert errors > 0 or 5 not in by_pts or by_pts[5].damaged, (
        "the corrupt picture came back undamaged and no DecodeError was raised"
    )


@pytest.mark.parametrize("codec", [vh.Codec.H264, vh.Codec.HEVC], ids=str)
def test_garbage_never_crashes_and_the_session_decodes_afterwards(nv, ctl, codec):
    garbage = np.random.default_rng(5).integers(0, 256, 300_000, dtype=np.uint8)
    h = nv.start_decode_session(vh.CommonDecodeConfig(codec=codec, output=NATIVE))
    frames, _ = push_all(
        nv, h, [(garbage[at : at + 10_000], None) for at in range(0, len(garbage), 10_000)]
    )
    try:
        frames += nv.flush(h)
    except vh.DecodeError:
        pass
    assert all(f.damaged for f in frames), "garbage gave an undamaged picture"
    config = common(codec, 320, 240, gop_length=4)
    packets = encode_frames(
        ctl, config, [make_frame(vh.PixelFormat.I420, 320, 240, t, pts=t) for t in range(6)]
    )
    good, errors = push_all(nv, h, [(p.data, p.pts) for p in packets])
    good += nv.flush(h)
    nv.close_decode_session(h)
    reference, _ = decode(ctl, packets, codec, NATIVE)
    assert errors == 0 and [f.pts for f in good] == list(range(6))
    for f in good:
        assert_nv12_equals_yuv420p(f, reference[f.pts], f.pts)


# ---- switching a decode session (docs/decode.md) -------------------------------------------


def push_and_reap(ctl, h, packets) -> list:
    frames = []
    for p in packets:
        ctl.push_bitstream(h, p.data, pts=p.pts)
        frames += ctl.reap(h)
    return frames


def test_switching_the_output_mode_is_in_place_and_keeps_generations_apart(nv, ctl):
    stream = STREAMS[0]
    packets = packets_of(ctl, stream)[:6]
    reference, _ = decode(ctl, packets, stream.codec, NATIVE)
    h = nv.start_decode_session(vh.CommonDecodeConfig(codec=stream.codec, output=META))
    frames = push_and_reap(nv, h, packets)
    h2 = nv.switch_decode_session(h, vh.CommonDecodeConfig(codec=stream.codec, output=NATIVE))
    frames += push_and_reap(nv, h2, packets)
    frames += nv.flush(h2)
    telemetry = nv.telemetry(h2)
    frames += nv.close_decode_session(h2)
    assert [f.generation for f in frames] == [1] * 6 + [2] * 6
    assert all(f.planes is None for f in frames[:6])
    for i, (n, s) in enumerate(zip(frames[6:], reference)):
        assert_nv12_equals_yuv420p(n, s, i)
    assert telemetry["switches_in_place"] == 1 and telemetry["session_inits"] == 1


def test_switching_the_codec_creates_a_new_decoder(nv, ctl):
    first, second = STREAMS[0], STREAMS[4]  # H.264, then HEVC, both 320x240
    h264, hevc = packets_of(ctl, first)[:4], packets_of(ctl, second)[:5]
    reference, _ = decode(ctl, hevc, second.codec, NATIVE)
    h = nv.start_decode_session(vh.CommonDecodeConfig(codec=first.codec, output=NATIVE))
    frames = push_and_reap(nv, h, h264)
    h2 = nv.switch_decode_session(
        h, (vh.CommonDecodeConfig(codec=second.codec, output=NATIVE), None)
    )
    frames += push_and_reap(nv, h2, hevc)
    frames += nv.flush(h2)
    telemetry = nv.telemetry(h2)
    frames += nv.close_decode_session(h2)
    assert [f.generation for f in frames] == [1] * 4 + [2] * 5
    for i, (n, s) in enumerate(zip(frames[4:], reference)):
        assert_nv12_equals_yuv420p(n, s, i)
    assert telemetry["switches_new_session"] == 1


def test_switching_to_low_latency_gives_each_frame_from_its_own_push(nv, ctl):
    stream = STREAMS[0]
    packets = packets_of(ctl, stream)[:6]
    h = nv.start_decode_session(vh.CommonDecodeConfig(codec=stream.codec, output=META))
    before = push_and_reap(nv, h, packets)
    h2 = nv.switch_decode_session(
        h, vh.CommonDecodeConfig(codec=stream.codec, output=META, low_latency=True)
    )
    before += nv.reap(h2)
    assert [f.pts for f in before] == [p.pts for p in packets]
    for p in packets:
        nv.push_bitstream(h2, p.data, pts=p.pts)
        assert [f.pts for f in nv.reap(h2, 1)] == [p.pts]
    assert nv.close_decode_session(h2) == []


# ---- injected driver faults (the doubles only) ---------------------------------------------

on_double_only = pytest.mark.skipif(not ON_DOUBLE, reason="faults are injected by the doubles")


@on_double_only
def test_a_failed_picture_decode_is_a_decode_error_and_decoding_goes_on(nv, ctl, double):
    stream = STREAMS[0]  # GOP 10: the picture after the failure references it
    packets = packets_of(ctl, stream)
    h = nv.start_decode_session(
        vh.CommonDecodeConfig(codec=stream.codec, output=NATIVE, low_latency=True)
    )
    double.set_nvdec_faults("decode@3")
    frames, errors = push_all(nv, h, [(p.data, p.pts) for p in packets])
    frames += nv.flush(h)
    nv.close_decode_session(h)
    assert errors == 1
    assert 2 not in [f.pts for f in frames]
    assert [f.pts for f in frames if f.pts >= 10] == list(range(10, 24))
    assert "cuvidDecodePicture" in double.nvdec_log()


@on_double_only
def test_a_decoder_that_cannot_be_created_is_a_decode_error(nv, ctl, double):
    stream = STREAMS[0]
    packets = packets_of(ctl, stream)[:3]
    h = nv.start_decode_session(vh.CommonDecodeConfig(codec=stream.codec, output=NATIVE))
    double.set_nvdec_faults("create_decoder")
    with pytest.raises(vh.DecodeError, match="cuvidCreateDecoder"):
        for p in packets:
            nv.push_bitstream(h, p.data, pts=p.pts)
        nv.flush(h)
    double.set_nvdec_faults("")
    nv.close_decode_session(h)


@on_double_only
def test_a_damaged_decode_status_flags_the_frame(nv, ctl, double):
    stream = STREAMS[0]
    packets = packets_of(ctl, stream)[:4]
    double.set_nvdec_faults("status@2")
    frames, _ = decode(nv, packets, stream.codec, META)
    assert [f.damaged for f in frames] == [False, True, False, False]
