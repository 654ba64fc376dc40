"""vh.VideoReader (docs/media.md, "VideoReader") against ffmpeg, over the media corpus
(tests/py/media_corpus.py): every frame the reader returns must be bit-equal to the frame
ffmpeg decodes at that display index (``reference_rgb``: CPU_RGB and ffmpeg's rgb24 both go
through libswscale with the same flags and matrix), with ``index`` and ``pts`` as ffprobe
gives them.

The seek-accuracy tests run per backend: "software" everywhere, "nvidia" on a machine with
NVDEC, and elsewhere on the NVDEC driver double when it is built. Raw Annex-B files carry no
timestamps (ffprobe reports pts N/A): for them the pixels and ``index`` are checked, pts and
``get_frames_played_at`` are not.
"""

from __future__ import annotations

import io
import math
import pathlib
import random
from fractions import Fraction

import numpy as np
import pytest

import media_corpus as mc
import videohw as vh
from conftest import HAS_GPU

RGB = vh.DecodeOutputMode.CPU_RGB
NATIVE = vh.DecodeOutputMode.NATIVE_SURFACE
META = vh.DecodeOutputMode.METADATA_ONLY

pytestmark = pytest.mark.skipif(
    not hasattr(vh, "VideoReader"), reason="this videohw build has no vh.VideoReader yet"
)


@pytest.fixture(params=["software", "nvidia"])
def reader_backend(request, monkeypatch) -> str:
    """On "nvidia" without a GPU: the NVDEC / CUDA driver doubles (docs/nvdec_double.md),
    checked for broken API rules and leaked decoders after the test."""
    if request.param == "nvidia" and not HAS_GPU:
        import gc

        import nvenc_double

        if nvenc_double.PATHS is None or nvenc_double.NVCUVID not in nvenc_double.PATHS:
            pytest.skip(nvenc_double.NOT_BUILT)
        double = nvenc_double.Double(nvenc_double.PATHS, monkeypatch, nvdec=True)
        yield request.param
        gc.collect()
        double.check_clean()
        return
    yield request.param


def open_reader(media_corpus, name: str, backend: str = "software", **kwargs) -> vh.VideoReader:
    """A reader on a corpus file; on "nvidia" a backend or codec NVDEC cannot do is a skip
    that says why (the software runs are the ones that must pass everywhere).

    Software readers get a controller of their own, so that no test depends on which files
    earlier tests left a shared decode session with (session sharing has its own tests); so
    do nvidia readers on the driver doubles, whose decoders must be gone after each test."""
    path = media_corpus.path(name)
    own = backend == "software" or (backend == "nvidia" and not HAS_GPU)
    if own and "controller" not in kwargs:
        kwargs["controller"] = vh.SessionController(backend)
    if (
        backend == "nvidia"
        and "10bit" in mc.BY_NAME[name].tags
        and kwargs.get("output", RGB) in (RGB, "cpu_rgb")
    ):
        # A finding of the NVDEC double, true of NVDEC as well: 16-bit surfaces take the
        # formula kernel, which repeats each chroma pair over its 2x2 block, while libswscale
        # interpolates chroma for 10-bit input: up to ~80 apart at colour edges.
        pytest.skip(
            "nvidia CPU_RGB of 10-bit pictures is not libswscale's (chroma not "
            "interpolated; docs/nvdec_double.md)"
        )
    try:
        return vh.VideoReader(path, backend=backend, **kwargs)
    except (vh.BackendUnavailableError, vh.UnsupportedConfigError) as e:
        if backend == "software":
            raise
        pytest.skip(f"{backend} cannot read {name}: {e}")
    except vh.InvalidMediaError as e:
        if backend == "nvidia" and not HAS_GPU and "cannot decode" in str(e):
            pytest.skip(f"the NVDEC double decodes H.264 and HEVC only: {e}")
        raise


# ---- comparing frames --------------------------------------------------------------------


def describe_mismatch(got: np.ndarray, ref: np.ndarray, i: int) -> str:
    """Which reference frame the pixels are, if any: the usual seek bug is an off-by-n."""
    if got is None:
        return f"frame {i}: no pixels"
    if got.shape != ref.shape[1:]:
        return f"frame {i}: shape {got.shape}, expected {ref.shape[1:]}"
    same = [j for j in range(ref.shape[0]) if np.array_equal(got, ref[j])]
    if same:
        return f"frame {i}: pixels are reference frame(s) {same}, not {i}"
    diff = np.abs(got.astype(np.int16) - ref[i].astype(np.int16))
    return (
        f"frame {i}: pixels match no reference frame; vs frame {i}: max |diff| "
        f"{int(diff.max())}, {int((diff > 0).any(axis=-1).sum())} pixels differ"
    )


def check_frames(media_corpus, name: str, frames, indices) -> None:
    """Every frame: pixels bit-equal to ffmpeg's frame at that index, index and pts right."""
    path = media_corpus.path(name)
    ref = mc.reference_rgb(path)
    times = mc.reference_frame_times(path)
    n = ref.shape[0]
    frames = list(frames)
    assert len(frames) == len(indices), f"{len(frames)} frames for {len(indices)} indices"
    problems = []
    for f, i in zip(frames, indices):
        i = i % n
        if f.index != i:
            problems.append(f"asked {i}: frame.index {f.index}")
        if f.rgb is None or not np.array_equal(f.rgb, ref[i]):
            problems.append(describe_mismatch(f.rgb, ref, i))
        t = times[i]
        if t.pts is not None:
            if f.pts != t.pts:
                problems.append(f"frame {i}: pts {f.pts}, ffprobe {t.pts}")
            if f.seconds is None or abs(f.seconds - t.pts_time) > 1e-6:
                problems.append(f"frame {i}: seconds {f.seconds}, ffprobe {t.pts_time}")
        if len(problems) > 12:
            break
    assert not problems, f"{name}: {len(problems)} problem(s):\n  " + "\n  ".join(problems)


def rng_for(name: str, salt: str = "") -> random.Random:
    return random.Random(f"{name}/{salt}")  # str seeds are stable across runs


# ---- seek accuracy, per file and backend ---------------------------------------------------


@pytest.mark.parametrize("name", mc.VIDEO_FILES)
def test_len_is_ffmpegs_frame_count(media_corpus, reader_backend, name):
    with open_reader(media_corpus, name, reader_backend) as r:
        assert len(r) == mc.reference_rgb(media_corpus.path(name)).shape[0]


@pytest.mark.parametrize("name", mc.VIDEO_FILES)
def test_random_indices_one_at_a_time(media_corpus, reader_backend, name):
    n = mc.reference_rgb(media_corpus.path(name)).shape[0]
    indices = rng_for(name).sample(range(n), 14) + [0, n - 1, n // 2, n // 2 - 1]
    with open_reader(media_corpus, name, reader_backend) as r:
        frames = [r[i] for i in indices]
        check_frames(media_corpus, name, frames, indices)
        # every seek above reused the reader's one decode session
        assert r.telemetry()["session_inits"] == 1


@pytest.mark.parametrize("name", mc.VIDEO_FILES)
def test_strided_and_reversed_slices(media_corpus, reader_backend, name):
    n = mc.reference_rgb(media_corpus.path(name)).shape[0]
    with open_reader(media_corpus, name, reader_backend) as r:
        for sl in (
            slice(None, None, 7),
            slice(3, n, 5),
            slice(n - 20, None, 3),
            slice(n - 1, n - 12, -3),
            slice(-5, None),
            slice(4, 9),
        ):
            got = r[sl]
            assert isinstance(got, list), f"r[{sl}] is a {type(got).__name__}, not a list"
            check_frames(media_corpus, name, got, list(range(n))[sl])
        assert r[5:5] == []
        assert r.telemetry()["session_inits"] == 1


@pytest.mark.parametrize("name", mc.VIDEO_FILES)
def test_get_frames_at_reversed_and_duplicate(media_corpus, reader_backend, name):
    n = mc.reference_rgb(media_corpus.path(name)).shape[0]
    rnd = rng_for(name, "batch")
    indices = [n - 1, 0, 17, 17, 3, n // 2, 3, n - 2, 1] + rnd.sample(range(n), 8)
    with open_reader(media_corpus, name, reader_backend) as r:
        check_frames(media_corpus, name, r.get_frames_at(indices), indices)
        desc = sorted(rnd.sample(range(n), 10), reverse=True)
        check_frames(media_corpus, name, r.get_frames_at(desc), desc)
        assert r.get_frames_at([]) == []
        assert r.telemetry()["session_inits"] == 1


@pytest.mark.parametrize("name", mc.VIDEO_FILES)
def test_step_back_inside_a_gop(media_corpus, reader_backend, name):
    """A request just behind where the last one left the decoder (same GOP), then one a few
    frames ahead: the reader must go back to the keyframe, not continue."""
    n = mc.reference_rgb(media_corpus.path(name)).shape[0]
    with open_reader(media_corpus, name, reader_backend) as r:
        for k in sorted({13, 32, n // 2, n - 12, n - 6} & set(range(1, n - 4))):
            r[k + 1]
            check_frames(media_corpus, name, r.get_frames_at([k, k + 4]), [k, k + 4])
        assert r.telemetry()["session_inits"] == 1


@pytest.mark.parametrize("name", mc.VIDEO_FILES)
def test_negative_indices_first_and_last(media_corpus, reader_backend, name):
    n = mc.reference_rgb(media_corpus.path(name)).shape[0]
    with open_reader(media_corpus, name, reader_backend) as r:
        frames = [r[-1], r[0], r[-n], r[n - 1], r[-2]]
        check_frames(media_corpus, name, frames, [n - 1, 0, 0, n - 1, n - 2])


@pytest.mark.parametrize("name", mc.VIDEO_FILES)
def test_iteration_gives_every_frame_in_display_order(media_corpus, reader_backend, name):
    n = mc.reference_rgb(media_corpus.path(name)).shape[0]
    with open_reader(media_corpus, name, reader_backend) as r:
        r[n // 2]  # a seek before iterating must not disturb the iteration
        frames = list(r)
        check_frames(media_corpus, name, frames, list(range(n)))
        assert r.telemetry()["session_inits"] == 1


def _played_at_cases(name: str, times, tb: Fraction) -> list[tuple[float, int, str]]:
    """(seconds, expected display index, what) around frame times: exactly at a frame's
    time (the float nearest pts * time_base; ffprobe's pts_time has only 6 decimals), one
    time-base tick before it, and half-way to the next frame."""
    n = len(times)
    rnd = rng_for(name, "played")
    ks = sorted(set([0, 1, n - 1, n - 2] + rnd.sample(range(1, n - 1), 10)))
    at = [Fraction(t.pts) * tb for t in times]
    cases = []
    for k in ks:
        cases.append((float(at[k]), k, f"at frame {k}'s time"))
        if k > 0:
            cases.append((float(at[k] - tb), k - 1, f"one tick before frame {k}"))
        if k < n - 1:
            cases.append((float((at[k] + at[k + 1]) / 2), k, f"half-way from frame {k} to {k + 1}"))
    return cases


@pytest.mark.parametrize("name", mc.TIMED_FILES)
def test_get_frames_played_at(media_corpus, reader_backend, name):
    """The frame shown at t: the one with the largest pts_time <= t (VFR included)."""
    path = media_corpus.path(name)
    times = mc.reference_frame_times(path)
    tb = mc.fraction(mc.ffprobe_video_stream(path)["time_base"])
    seconds, expected, what = [], [], []
    for t, k, w in _played_at_cases(name, times, tb):
        seconds.append(t)
        expected.append(k)
        what.append(w)
    with open_reader(media_corpus, name, reader_backend) as r:
        frames = r.get_frames_played_at(seconds)
        assert len(frames) == len(seconds)
        wrong = [
            f"t={t!r} ({w}): got frame {f.index} (pts {f.pts}), expected {k} (pts {times[k].pts})"
            for t, k, w, f in zip(seconds, expected, what, frames)
            if f.index != k
        ]
        assert not wrong, f"{name}:\n  " + "\n  ".join(wrong)
        check_frames(media_corpus, name, frames, expected)
        # a frame's own `seconds`, given back, is that frame
        sample = r.get_frames_at(sorted(set(expected)))
        back = r.get_frames_played_at([f.seconds for f in sample])
        wrong = [(f.index, f.seconds, b.index) for f, b in zip(sample, back) if b.index != f.index]
        assert not wrong, (
            f"played_at(frame.seconds) gave another frame (index, seconds, got): {wrong}"
        )
        assert r.telemetry()["session_inits"] == 1


# ---- sessions ---------------------------------------------------------------------------------


def test_two_readers_of_one_controller_share_one_session(media_corpus):
    """Readers of one controller reuse an idle decode session of the same codec and output:
    the second reader's session has seen the first reader's picture size, and was made once."""
    ctl = vh.SessionController("software")
    first, second = "idr10.mp4", "odd322.mp4"  # both H.264 without colour tags; two sizes
    with vh.VideoReader(media_corpus.path(first), backend="software", controller=ctl) as r1:
        check_frames(media_corpus, first, [r1[40], r1[3]], [40, 3])
        assert r1.telemetry()["session_inits"] == 1
    with vh.VideoReader(media_corpus.path(second), backend="software", controller=ctl) as r2:
        check_frames(media_corpus, second, [r2[33], r2[47], r2[0]], [33, 47, 0])
        t = r2.telemetry()
        assert t["session_inits"] == 1, t
        assert "176x144" in str(t.get("sizes_seen", "")), (
            f"the second reader's session shows no trace of the first reader's 176x144 "
            f"frames, so it was not reused: {t}"
        )


@pytest.mark.parametrize("shared", ["own controller", "default controller"])
def test_reused_session_carries_no_colour_description_over(media_corpus, shared):
    """A file with BT.709 tags, then one of the same codec without any: the second must be
    converted as untagged (BT.601, as ffmpeg does) and say so, not inherit BT.709."""
    kwargs = {"controller": vh.SessionController("software")} if shared == "own controller" else {}
    with vh.VideoReader(media_corpus.path("h264_bf.mp4"), backend="software", **kwargs) as r1:
        f = r1[5]
        assert f.color.matrix == "bt709"
        check_frames(media_corpus, "h264_bf.mp4", [f], [5])
    with vh.VideoReader(media_corpus.path("idr10.mp4"), backend="software", **kwargs) as r2:
        f = r2[7]
        check_frames(media_corpus, "idr10.mp4", [f], [7])
        assert f.color.matrix == "unknown", f.color


# ---- output modes -----------------------------------------------------------------------------


def test_native_surface_10bit_hevc_is_yuv420p10le(media_corpus):
    name = "hevc10.mp4"
    ref = mc.reference_native(media_corpus.path(name), "yuv420p10le")
    n = len(ref)
    indices = [0, n - 1, 7, 31, 30, 12]
    with open_reader(media_corpus, name, output=NATIVE) as r:
        for f, i in zip(r.get_frames_at(indices), indices):
            assert f.index == i
            assert f.pixel_format == "yuv420p10le"
            assert f.planes is not None and len(f.planes) == 3
            for plane, expected, what in zip(f.planes, ref[i], "YUV"):
                a = np.asarray(plane)
                assert a.dtype == np.uint16, f"{what} plane dtype {a.dtype}"
                assert a.shape == expected.shape, f"{what} plane {a.shape} vs {expected.shape}"
                if not np.array_equal(a, expected):
                    diff = np.abs(a.astype(np.int32) - expected.astype(np.int32))
                    pytest.fail(f"frame {i} {what} plane differs: max |diff| {diff.max()}")
                assert int(a.max()) <= 1023


def test_native_surface_8bit_is_yuv420p(media_corpus):
    name = "h264_bf.mp4"
    ref = mc.reference_native(media_corpus.path(name), "yuv420p")
    indices = [99, 0, 51, 50, 26]
    with open_reader(media_corpus, name, output=NATIVE) as r:
        for f, i in zip(r.get_frames_at(indices), indices):
            assert f.index == i and f.pixel_format == "yuv420p"
            for plane, expected, what in zip(f.planes, ref[i], "YUV"):
                a = np.asarray(plane)
                assert a.dtype == np.uint8 and a.shape == expected.shape, what
                assert np.array_equal(a, expected), f"frame {i} {what} plane differs"


@pytest.mark.parametrize("name", ["h264_bf.mp4", "vfr.mkv", "hevc_opengop.mp4"])
def test_metadata_only_gives_pts_and_index_without_pixels(media_corpus, name):
    times = mc.reference_frame_times(media_corpus.path(name))
    n = len(times)
    indices = [n - 1, 0, 22, 23, 24, n // 2]
    with open_reader(media_corpus, name, output=META) as r:
        assert len(r) == n
        for f, i in zip(r.get_frames_at(indices), indices):
            assert f.planes is None and f.rgb is None
            assert (f.index, f.pts) == (i, times[i].pts)
            assert f.seconds == pytest.approx(times[i].pts_time, abs=1e-6)
        assert [f.pts for f in r] == [t.pts for t in times]


# ---- approximate mode -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["h264_bf.mp4", "hevc_bf.mp4", "h264_bf.mkv", "vp9.webm", "vfr.mkv", "hevc_opengop.mp4"]
)
def test_approximate_mode_says_which_frame_it_returns(media_corpus, name):
    path = media_corpus.path(name)
    ref = mc.reference_rgb(path)
    times = mc.reference_frame_times(path)
    by_pts = {t.pts: k for k, t in enumerate(times)}
    tb = mc.fraction(mc.ffprobe_video_stream(path)["time_base"])
    exact = [Fraction(t.pts) * tb for t in times]  # ffprobe's pts_time has 6 decimals only
    n = len(times)
    vfr = "vfr" in media_corpus[name].tags
    with open_reader(media_corpus, name, seek_mode="approximate") as r:
        avg = r.metadata.avg_fps
        if not vfr:
            assert abs(len(r) - n) <= 1, f"estimated len {len(r)}, {n} frames"
        for i in sorted(set(rng_for(name, "approx").sample(range(n - 1), 10)) | {0, n - 2}):
            f = r[i]
            assert f.pts in by_pts, f"r[{i}]: pts {f.pts} is no frame's pts"
            j = by_pts[f.pts]
            assert f.seconds == pytest.approx(times[j].pts_time, abs=1e-6)
            estimate = exact[j] * avg  # a tie (x.5) may round either way
            assert f.index in {
                math.floor(estimate + Fraction(1, 2)),
                math.ceil(estimate - Fraction(1, 2)),
            }, f"r[{i}]: index {f.index}, seconds {f.seconds} at {avg} fps"
            if not np.array_equal(f.rgb, ref[j]):
                pytest.fail(
                    f"r[{i}] says pts {f.pts} (frame {j}): " + describe_mismatch(f.rgb, ref, j)
                )
            if not vfr:
                # the first frame at or after i / avg_fps seconds (these files start at 0)
                first = next(k for k, t in enumerate(exact) if t >= i / avg)
                assert j == first, f"r[{i}] gave frame {j}, expected {first}"


# ---- sources ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["open", "bytesio", "pathlib"])
def test_file_object_and_pathlike_sources(media_corpus, kind):
    name = "h264_bf.mkv"
    path = media_corpus.path(name)
    if kind == "open":
        src = open(path, "rb")
    elif kind == "bytesio":
        src = io.BytesIO(pathlib.Path(path).read_bytes())
    else:
        src = pathlib.Path(path)
    try:
        with vh.VideoReader(src, backend="software") as r:
            assert len(r) == 100
            indices = [63, 2, 99, 25, 24]
            check_frames(media_corpus, name, r.get_frames_at(indices), indices)
            check_frames(media_corpus, name, [r[-1]], [99])
    finally:
        if kind == "open":
            src.close()


class ReadOnly(io.RawIOBase):
    """A binary stream with read but no seek (a pipe, a socket)."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, b) -> int:
        return self._buf.readinto(b)


@pytest.mark.parametrize("name", ["h264_bf.ts", "h264_bf.mkv"])
def test_unseekable_source_iterates_forward(media_corpus, name):
    data = pathlib.Path(media_corpus.path(name)).read_bytes()
    src = ReadOnly(data)
    assert not hasattr(src, "seek") or not src.seekable()
    with vh.VideoReader(src, backend="software") as r:
        frames = [f for f in r]
    check_frames(media_corpus, name, frames, list(range(len(frames))))
    assert len(frames) == 100


def test_stream_argument_and_metadata(media_corpus):
    name = "with_audio.mp4"
    info = vh.probe(media_corpus.path(name))
    v = info.best_video
    with open_reader(media_corpus, name, stream=v.index) as r:
        assert (r.metadata.width, r.metadata.height) == (v.width, v.height) == (192, 108)
        assert r.metadata.codec_name == "h264"
        check_frames(media_corpus, name, [r[10], r[49]], [10, 49])
    audio = [s.index for s in info.streams if s.kind == "audio"][0]
    with pytest.raises((vh.VideoHwError, ValueError)) as e:
        vh.VideoReader(media_corpus.path(name), backend="software", stream=audio)
    assert str(audio) in str(e.value)


def test_rotated_file_returns_stored_pixels_and_says_the_rotation(media_corpus):
    name = "rot90.mp4"
    with open_reader(media_corpus, name) as r:
        assert r.metadata.rotation % 360 == 90
        f = r[10]
        assert f.rgb.shape == (108, 192, 3)  # stored, not rotated
        check_frames(media_corpus, name, [f], [10])


# ---- API errors and lifetime -----------------------------------------------------------------


def test_bad_indices(media_corpus):
    with open_reader(media_corpus, "idr10.mp4") as r:
        n = len(r)
        for bad in (n, -n - 1, 10**9):
            with pytest.raises(IndexError):
                r[bad]
        for bad in (1.0, 2.5, "3", None, b"1", [1, 2]):
            with pytest.raises(TypeError):
                r[bad]
        with pytest.raises(IndexError):
            r.get_frames_at([0, n])
        with pytest.raises(IndexError):
            r.get_frames_at([-n - 1])
        with pytest.raises(TypeError):
            r.get_frames_at([1, 2.0])
        # numpy integers are integers (what rng.choice / np.arange give)
        check_frames(media_corpus, "idr10.mp4", [r[np.int64(7)]], [7])
        check_frames(media_corpus, "idr10.mp4", r.get_frames_at(np.array([8, 2])), [8, 2])
        # after the errors the reader still works
        check_frames(media_corpus, "idr10.mp4", [r[59], r[0]], [59, 0])


def test_closed_reader_raises_and_context_manager_closes(media_corpus):
    r = vh.VideoReader(media_corpus.path("idr10.mp4"), backend="software")
    r[3]
    r.close()
    for use in (
        lambda: r[0],
        lambda: r.get_frames_at([1]),
        lambda: list(r),
        lambda: r.get_frames_played_at([0.5]),
    ):
        with pytest.raises((vh.VideoHwError, ValueError)):
            use()
    r.close()  # closing twice is harmless
    with vh.VideoReader(media_corpus.path("idr10.mp4"), backend="software") as r2:
        r2[1]
    with pytest.raises((vh.VideoHwError, ValueError)):
        r2[1]
