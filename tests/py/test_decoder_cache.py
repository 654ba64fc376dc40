"""What ended decode sessions leave to the next (docs/decode.md, "Warm sessions"): parked
NVDEC decoders and cached output buffers, through the driver doubles; the limits, the
release, wrong arguments, and sessions ending on many threads at once."""

from __future__ import annotations

import threading

import pytest

import videohw as vh
from conftest import common, encode_frames, make_frame

I420 = vh.PixelFormat.I420


@pytest.fixture
def nv(monkeypatch):
    """A controller on the NVDEC / CUDA driver doubles, checked clean after the test (no
    API rule broken, no decoder left once the cache is released); the cache's limits back
    to their defaults."""
    import nvenc_double

    if nvenc_double.PATHS is None or nvenc_double.NVCUVID not in nvenc_double.PATHS:
        pytest.skip(nvenc_double.NOT_BUILT)
    double = nvenc_double.Double(nvenc_double.PATHS, monkeypatch, nvdec=True)
    vh.release_decoder_cache()
    yield vh.SessionController("nvidia")
    vh.set_decoder_cache_limits(decoders=32, host_bytes=4 << 30, device_bytes=2 << 30)
    double.check_clean()


def stream(codec=vh.Codec.H264, width=64, height=48, count=10):
    ctl = vh.SessionController("software")
    frames = [make_frame(I420, width, height, t, pts=t) for t in range(count)]
    packets = encode_frames(ctl, common(codec, width, height, gop_length=5, b_frames=2), frames)
    return b"".join(p.data for p in packets)


def decode(ctl, data, codec=vh.Codec.H264, output=vh.DecodeOutputMode.NATIVE_SURFACE):
    """A new session on ``data``: its frames' (width, height, keyframe) and its telemetry."""
    with ctl.decode_session(vh.CommonDecodeConfig(codec=codec, output=output)) as s:
        s.push(data)
        frames = s.flush()
        frames += s.close()
        tel = s.telemetry()
    return [(f.width, f.height, f.is_keyframe) for f in frames], tel


def test_the_next_session_adopts_the_ended_sessions_decoder(nv):
    data = stream()
    first, tel_first = decode(nv, data)
    before = vh.decoder_cache()
    assert before["decoders_parked"] == 1
    second, tel_second = decode(nv, data)
    after = vh.decoder_cache()
    assert second == first and len(first) == 10
    assert after["decoders_adopted"] == before["decoders_adopted"] + 1
    assert tel_first["decoder_setup_ns"] > 0
    assert tel_second["decoder_setup_ns"] == 0, "the adopted decoder was set up again"
    assert tel_second["session_inits"] == 1


def test_smaller_pictures_resize_the_adopted_decoder(nv):
    decode(nv, stream(width=160, height=96))
    frames, tel = decode(nv, stream(width=64, height=48))
    assert {(w, h) for w, h, _ in frames} == {(64, 48)}
    assert tel["size_changes"] == 0
    assert tel["decoder_setup_ns"] > 0  # cuvidReconfigureDecoder
    assert vh.decoder_cache()["decoders_parked"] == 1


def test_larger_pictures_than_the_adopted_decoders_output_get_a_new_decoder(nv):
    decode(nv, stream(width=64, height=48))
    frames, _ = decode(nv, stream(width=160, height=96))
    assert {(w, h) for w, h, _ in frames} == {(160, 96)}
    assert vh.decoder_cache()["decoders_parked"] == 1


def test_buffers_of_an_ended_session_serve_the_next(nv):
    data = stream(count=20)
    decode(nv, data)
    kept = vh.decoder_cache()
    assert kept["device_buffers_idle"] > 0
    decode(nv, data)
    again = vh.decoder_cache()
    assert again["device_buffers_reused"] >= kept["device_buffers_reused"] + 20


def test_limits_bound_what_waits_and_release_frees_it(nv):
    data = stream()
    vh.set_decoder_cache_limits(decoders=0)
    decode(nv, data)
    assert vh.decoder_cache()["decoders_parked"] == 0
    vh.set_decoder_cache_limits(decoders=8, device_bytes=0)
    decode(nv, data)
    c = vh.decoder_cache()
    assert c["decoders_parked"] == 1 and c["device_bytes_idle"] == 0
    assert c["decoders_limit"] == 8 and c["device_bytes_limit"] == 0
    vh.release_decoder_cache()
    assert vh.decoder_cache()["decoders_parked"] == 0


def test_sessions_ending_on_many_threads_share_the_cache_safely(nv):
    data = stream(count=6)
    want, _ = decode(nv, data)
    vh.set_decoder_cache_limits(decoders=3)
    errors, results = [], []

    def run():
        try:
            for _ in range(4):
                results.append(decode(nv, data)[0])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 24 and all(r == want for r in results)
    assert vh.decoder_cache()["decoders_parked"] <= 3


def test_the_software_backend_keeps_nothing():
    assert vh.decoder_cache("software") == {}
    vh.release_decoder_cache("software")
    with pytest.raises(vh.ConfigError, match="keeps nothing"):
        vh.set_decoder_cache_limits("software", decoders=1)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: vh.decoder_cache(3), vh.InvalidTypeError),
        (lambda: vh.decoder_cache("nope"), vh.ConfigError),
        (lambda: vh.set_decoder_cache_limits(decoders="8"), vh.InvalidTypeError),
        (lambda: vh.set_decoder_cache_limits(host_bytes=True), vh.InvalidTypeError),
        (lambda: vh.set_decoder_cache_limits(device_bytes=-1), vh.ConfigError),
        (lambda: vh.set_decoder_cache_limits(host_bytes=2**64), vh.ConfigError),
        (lambda: vh.set_decoder_cache_limits("nope", decoders=1), vh.ConfigError),
        (lambda: vh.release_decoder_cache("nope"), vh.ConfigError),
        (lambda: vh.release_decoder_cache(b"nvidia"), vh.InvalidTypeError),
        (lambda: vh.set_decoder_cache_limits(None, decoders=1), vh.InvalidTypeError),
    ],
)
def test_wrong_arguments_are_refused_with_the_reason(call, error):
    with pytest.raises(error):
        call()
