"""Bad input: a clear exception (type and a message naming the problem), never a crash, and
the session stays usable with no accepted frame lost (docs/api.md, "Errors")."""

from __future__ import annotations

import numpy as np
import pytest

import ffprobe_check as fc
import videohw as vh
from conftest import argb_picture, common, i420_picture, make_frame

W, H = 64, 48
I420_BYTES = W * H * 3 // 2


class Session:
    """An open H.264 session that remembers the good frames it was given."""

    def __init__(self, ctl):
        self.ctl = ctl
        self.handle = ctl.start_encode_session(common(vh.Codec.H264, W, H, low_latency=True))
        self.good = 0

    def submit_good(self, **kwargs):
        self.ctl.submit(self.handle, make_frame(vh.PixelFormat.I420, W, H, self.good, **kwargs))
        self.good += 1

    def assert_still_usable(self):
        """A good frame is accepted after the error; the stream holds exactly the good ones."""
        self.submit_good()
        packets = self.ctl.reap(self.handle) + self.ctl.close_encode_session(self.handle)
        assert len(packets) == self.good
        fc.check_frames(fc.probe_frames(packets, vh.Codec.H264), self.good, W, H)
        tel = self.ctl.telemetry(self.handle)
        assert tel["frames_submitted"] == self.good


@pytest.fixture
def session(ctl):
    s = Session(ctl)
    s.submit_good()  # one accepted frame before the bad one: it must not be lost
    return s


# ---------------------------------------------------------------------------------------
# Frames


@pytest.mark.parametrize("delta", [-1, 1], ids=["short", "long"])
def test_wrong_buffer_size_raises_invalid_frame_error(session, delta):
    data = np.zeros(I420_BYTES + delta, dtype=np.uint8)
    with pytest.raises(vh.InvalidFrameError) as err:
        session.ctl.submit(session.handle, vh.Frame(data, vh.PixelFormat.I420))
    assert isinstance(err.value, ValueError)
    assert f"needs {I420_BYTES} bytes" in str(err.value)
    assert str(I420_BYTES + delta) in str(err.value)
    session.assert_still_usable()


def test_argb_frame_of_wrong_size_raises_invalid_frame_error(session):
    data = argb_picture(W, H - 2, 0)  # the session is 64x48
    with pytest.raises(vh.InvalidFrameError, match=f"needs {W * H * 4} bytes"):
        session.ctl.submit(session.handle, vh.Frame(data, vh.PixelFormat.ARGB8888))
    session.assert_still_usable()


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_wrong_dtype_raises_invalid_frame_error(session, dtype):
    data = i420_picture(W, H, 0).astype(dtype)
    with pytest.raises(vh.InvalidFrameError, match="uint8"):
        session.ctl.submit(session.handle, vh.Frame(data, vh.PixelFormat.I420))
    session.assert_still_usable()


def test_non_contiguous_array_raises_invalid_frame_error(session):
    wide = np.concatenate([argb_picture(W, H, 0), argb_picture(W, H, 1)], axis=1)
    strided = wide[:, ::2]  # (H, W, 4) but every other pixel: not C-contiguous
    assert strided.shape == (H, W, 4) and not strided.flags.c_contiguous
    with pytest.raises(vh.InvalidFrameError, match="contiguous"):
        session.ctl.submit(session.handle, vh.Frame(strided, vh.PixelFormat.ARGB8888))
    session.assert_still_usable()


def test_pitch_below_minimum_raises_invalid_frame_error(session):
    data = np.zeros(H * (4 * W - 4), dtype=np.uint8)
    with pytest.raises(vh.InvalidFrameError, match="minimum"):
        session.ctl.submit(session.handle, vh.Frame(data, vh.PixelFormat.ARGB8888, pitch=4 * W - 4))
    session.assert_still_usable()


def test_odd_pitch_for_i420_raises_invalid_frame_error(session):
    pitch = W + 1
    data = np.zeros(H * pitch + 2 * (H // 2) * (pitch // 2), dtype=np.uint8)
    with pytest.raises(vh.InvalidFrameError, match="even"):
        session.ctl.submit(session.handle, vh.Frame(data, vh.PixelFormat.I420, pitch=pitch))
    session.assert_still_usable()


def test_unknown_pixel_format_string_raises_invalid_frame_error(session):
    with pytest.raises(vh.InvalidFrameError, match="yuyv"):
        session.ctl.submit(session.handle, vh.Frame(i420_picture(W, H, 0), "yuyv"))
    session.assert_still_usable()


def test_pixel_format_value_string_is_accepted(session):
    session.ctl.submit(session.handle, vh.Frame(i420_picture(W, H, 1), "i420"))
    session.good += 1
    session.assert_still_usable()


@pytest.mark.parametrize("bad", [None, 42, "not a frame", object()], ids=repr)
def test_object_that_is_not_a_frame_raises_invalid_frame_error(session, bad):
    with pytest.raises(vh.InvalidFrameError, match="Frame"):
        session.ctl.submit(session.handle, bad)
    session.assert_still_usable()


def test_numpy_array_instead_of_frame_raises_invalid_frame_error(session):
    with pytest.raises(vh.InvalidFrameError, match="Frame"):
        session.ctl.submit(session.handle, i420_picture(W, H, 0))
    session.assert_still_usable()


@pytest.mark.parametrize("bad", [object(), 12345, [0] * I420_BYTES], ids=["object", "int", "list"])
def test_frame_data_without_a_buffer_raises_invalid_frame_error(session, bad):
    with pytest.raises(vh.InvalidFrameError, match="buffer"):
        session.ctl.submit(session.handle, vh.Frame(bad, vh.PixelFormat.I420))
    session.assert_still_usable()


@pytest.mark.parametrize(
    "kwargs,field",
    [
        pytest.param(dict(pitch=2**31), "pitch", id="pitch-2**31"),
        pytest.param(dict(pitch=2**40), "pitch", id="pitch-2**40"),
        pytest.param(dict(pts=2**63), "pts", id="pts-2**63"),
        pytest.param(dict(pts=-(2**70)), "pts", id="pts--2**70"),
    ],
)
def test_out_of_range_frame_integer_raises_invalid_frame_error(session, kwargs, field):
    # Not a raw TypeError from the bindings: the message names the field.
    with pytest.raises(vh.InvalidFrameError, match=field):
        session.ctl.submit(
            session.handle, vh.Frame(i420_picture(W, H, 0), vh.PixelFormat.I420, **kwargs)
        )
    session.assert_still_usable()


@pytest.mark.parametrize("pts", [5, 3], ids=["equal", "smaller"])
def test_non_increasing_pts_raises_invalid_frame_error(ctl, pts):
    s = Session(ctl)
    s.submit_good(pts=5)
    with pytest.raises(vh.InvalidFrameError, match="pts"):
        ctl.submit(s.handle, make_frame(vh.PixelFormat.I420, W, H, 1, pts=pts))
    s.submit_good(pts=6)
    s.assert_still_usable()


# ---------------------------------------------------------------------------------------
# Configs


def test_odd_width_raises_config_error():
    with pytest.raises(vh.ConfigError) as err:
        vh.CommonEncodeConfig(width=321, height=240)
    assert isinstance(err.value, ValueError)
    assert "width" in str(err.value) and "321" in str(err.value) and "odd" in str(err.value)


def test_negative_bitrate_raises_config_error():
    with pytest.raises(vh.ConfigError, match="bitrate") as err:
        vh.RateControl.cbr(-1_000_000)
    assert "-1000000" in str(err.value)


def test_vbr_max_below_average_raises_config_error():
    with pytest.raises(vh.ConfigError, match="max") as err:
        vh.RateControl.vbr(4_000_000, 2_000_000)
    assert "2000000" in str(err.value)


def test_b_frames_with_low_latency_raises_config_error():
    with pytest.raises(vh.ConfigError, match="b_frames"):
        vh.CommonEncodeConfig(width=W, height=H, low_latency=True, b_frames=2)


def test_bool_for_int_field_raises_config_error():
    with pytest.raises(vh.ConfigError, match="width"):
        vh.CommonEncodeConfig(width=True, height=H)


def test_unsupported_width_lists_every_problem(ctl):
    config = vh.CommonEncodeConfig(width=9000, height=9000)  # valid contract, too big here
    with pytest.raises(vh.UnsupportedConfigError) as err:
        ctl.start_encode_session(config)
    problems = err.value.problems
    assert isinstance(problems, list) and len(problems) == 2, problems
    width = [p for p in problems if p.startswith("width")]
    assert width and "9000" in width[0] and "8192" in width[0]
    assert any(p.startswith("height") for p in problems)
    assert isinstance(err.value, vh.ConfigError)
    assert "9000" in str(err.value)


def test_unsupported_config_leaves_controller_usable(ctl):
    with pytest.raises(vh.UnsupportedConfigError):
        ctl.start_encode_session(vh.CommonEncodeConfig(width=9000, height=H))
    s = Session(ctl)
    s.assert_still_usable()


def test_tune_the_codec_does_not_have_raises_unsupported_config_error(ctl):
    # capabilities(HEVC).tunes has no "film"; the check must happen before libx265 is
    # opened, with the field named (not an EncodeError "Invalid argument" from the open).
    assert "film" not in ctl.capabilities(vh.Codec.HEVC).tunes
    with pytest.raises(vh.UnsupportedConfigError) as err:
        ctl.start_encode_session(common(vh.Codec.HEVC, W, H), vh.SoftwareEncodeConfig(tune="film"))
    assert any("tune" in p and "film" in p for p in err.value.problems), err.value.problems
    Session(ctl).assert_still_usable()


def test_qp_step_libx26x_cannot_do_raises_unsupported_config_error(ctl):
    config = common(vh.Codec.H264, W, H, rate_control=vh.RateControl.const_qp(2, 50))
    with pytest.raises(vh.UnsupportedConfigError) as err:
        ctl.start_encode_session(config)
    assert any("qp_intra" in p and "-39..19" in p for p in err.value.problems)
    Session(ctl).assert_still_usable()


def test_av1_on_software_raises_unsupported_config_error(ctl):
    with pytest.raises(vh.UnsupportedConfigError) as err:
        ctl.start_encode_session(common(vh.Codec.AV1, W, H))
    assert any("av1" in p for p in err.value.problems), err.value.problems


def test_unknown_backend_name_raises_config_error():
    with pytest.raises(vh.ConfigError, match="vaapi"):
        vh.SessionController("vaapi")


def test_wrong_common_config_type_raises_config_error(ctl):
    with pytest.raises(vh.ConfigError, match="CommonEncodeConfig"):
        ctl.start_encode_session({"width": W, "height": H})


# ---------------------------------------------------------------------------------------
# Session lifetime and handles


def test_submit_after_close_raises_session_closed_error(ctl):
    s = Session(ctl)
    s.submit_good()
    ctl.close_encode_session(s.handle)
    with pytest.raises(vh.SessionClosedError, match="closed"):
        ctl.submit(s.handle, make_frame(vh.PixelFormat.I420, W, H, 1))
    with pytest.raises(vh.SessionClosedError):
        ctl.reap(s.handle)
    with pytest.raises(vh.SessionClosedError):
        ctl.flush(s.handle)


def test_double_close_raises_session_closed_error(ctl):
    s = Session(ctl)
    s.submit_good()
    assert len(ctl.close_encode_session(s.handle)) == 1
    with pytest.raises(vh.SessionClosedError, match="closed"):
        ctl.close_encode_session(s.handle)


def test_unknown_session_id_raises_session_closed_error(ctl):
    with pytest.raises(vh.SessionClosedError, match="no encode session"):
        ctl.submit(
            vh.EncoderSessionHandle(id=987654, generation=1),
            make_frame(vh.PixelFormat.I420, W, H, 0),
        )


def test_handle_id_out_of_range_raises_session_closed_error(ctl):
    # A session that never existed (docs: SessionClosedError), not a TypeError from the
    # bindings; refusing the handle at construction (ConfigError) is fine too.
    with pytest.raises((vh.SessionClosedError, vh.ConfigError)):
        ctl.submit(
            vh.EncoderSessionHandle(id=2**64, generation=1),
            make_frame(vh.PixelFormat.I420, W, H, 0),
        )


def test_stale_handle_raises_stale_session_error(session):
    stale = vh.EncoderSessionHandle(id=session.handle.id, generation=2)
    with pytest.raises(vh.StaleSessionError, match="stale"):
        session.ctl.submit(stale, make_frame(vh.PixelFormat.I420, W, H, 1))
    session.assert_still_usable()


def test_errors_share_the_videohw_base():
    for cls in (
        vh.ConfigError,
        vh.InvalidFrameError,
        vh.UnsupportedConfigError,
        vh.BackendUnavailableError,
        vh.StaleSessionError,
        vh.SessionClosedError,
    ):
        assert issubclass(cls, vh.VideoHwError)
    assert issubclass(vh.ConfigError, ValueError) and issubclass(vh.InvalidFrameError, ValueError)
    assert issubclass(vh.BackendUnavailableError, RuntimeError)
