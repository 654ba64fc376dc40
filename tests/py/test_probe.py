"""vh.probe (docs/media.md, "probe") against ffprobe, for every file of the media corpus
(tests/py/media_corpus.py); and first, checks that the corpus is what its names claim
(B-frames, open GOPs, an edit list, VFR, ...), so a reader test that passes means what it
says."""

from __future__ import annotations

import json
import os
import pathlib
from fractions import Fraction

import numpy as np
import pytest

import media_corpus as mc
import videohw as vh

needs_probe = pytest.mark.skipif(
    not hasattr(vh, "probe"), reason="this videohw build has no vh.probe yet"
)


# ---- the corpus is what it claims ---------------------------------------------------------
# (no videohw here: these guard the references the other tests compare with)


@pytest.mark.parametrize("name", mc.VIDEO_FILES)
def test_corpus_reference_is_complete(media_corpus, name):
    path = media_corpus.path(name)
    rgb = mc.reference_rgb(path)
    times = mc.reference_frame_times(path)
    stream = mc.ffprobe_video_stream(path)
    assert rgb.shape[0] == len(times) == int(stream["nb_read_frames"]) > 0
    # moving content: no two consecutive frames are equal
    assert all(not np.array_equal(rgb[i], rgb[i + 1]) for i in range(len(rgb) - 1))
    if "timed" in media_corpus[name].tags:
        pts = [t.pts for t in times]
        assert None not in pts and pts == sorted(pts) and len(set(pts)) == len(pts), pts


@pytest.mark.parametrize("name", mc.files_with("bframes"))
def test_corpus_bframes_are_reordered(media_corpus, name):
    path = media_corpus.path(name)
    assert "B" in {t.pict_type for t in mc.reference_frame_times(path)}
    if "timed" in media_corpus[name].tags:
        pts = [p.pts for p in mc.reference_packets(path)]
        assert pts != sorted(pts), "packets are not reordered: no B-frames in decode order"


def test_corpus_hevc_open_gop_has_cra_with_rasl(media_corpus):
    path = media_corpus.path("hevc_opengop.mp4")
    types = mc.nal_types(mc.elementary_stream(path, "hevc"), "hevc")
    assert types.count(21) >= 2, "no CRA pictures"  # CRA_NUT
    assert 8 in types or 9 in types, "no RASL pictures"  # RASL_N / RASL_R
    assert types.count(19) + types.count(20) == 1, "more than the first IDR"
    packets = mc.reference_packets(path)
    keys = [i for i, p in enumerate(packets) if p.keyframe]
    # after a later keyframe (CRA), in decode order, come pictures shown before it
    k = keys[1]
    assert any(p.pts < packets[k].pts for p in packets[k + 1 : k + 5])


def test_corpus_h264_open_gop_has_non_idr_keyframes_with_leading_frames(media_corpus):
    path = media_corpus.path("h264_opengop.mkv")
    types = mc.nal_types(mc.elementary_stream(path, "h264"), "h264")
    assert types.count(5) == 1, "expected one IDR (the first picture) only"
    packets = mc.reference_packets(path)
    keys = [i for i, p in enumerate(packets) if p.keyframe]
    assert len(keys) >= 3
    k = keys[1]
    assert any(p.pts < packets[k].pts for p in packets[k + 1 : k + 5]), "no leading B-frames"


def test_corpus_edit_list_hides_leading_frames(media_corpus):
    cut = media_corpus.path("editlist.mp4")
    full = mc.reference_rgb(media_corpus.path("h264_bf.mp4"))
    shown = mc.reference_rgb(cut)
    packets = mc.reference_packets(cut)
    assert len(packets) > len(shown)
    assert any(p.discard for p in packets)
    # the first frame shown is original frame 35 (1.4 s at 25 fps), not the first packet's (25)
    assert np.array_equal(shown[0], full[35]) and not np.array_equal(shown[0], full[25])
    assert np.array_equal(shown, full[35:])


@pytest.mark.parametrize("name", mc.files_with("vfr"))
def test_corpus_vfr_is_irregular(media_corpus, name):
    times = [t.pts_time for t in mc.reference_frame_times(media_corpus.path(name))]
    gaps = {round(b - a, 3) for a, b in zip(times, times[1:])}
    assert len(gaps) >= 3, gaps


def test_corpus_other_claims(media_corpus):
    s = mc.ffprobe_video_stream(media_corpus.path("hevc10.mp4"))
    assert s["pix_fmt"] == "yuv420p10le" and s["profile"] == "Main 10"
    assert _ffprobe_rotation(media_corpus.path("rot90.mp4")) == 90
    assert mc.video_size(media_corpus.path("odd322.mp4")) == (322, 242)
    streams = mc.ffprobe_json(media_corpus.path("with_audio.mp4"))["streams"]
    kinds = [s["codec_type"] for s in streams]
    assert sorted(kinds) == ["audio", "video"]
    assert mc.ffprobe_video_stream(media_corpus.path("audio_only.m4a")) is None
    for name in ("idr10.mp4", "idr10.h264"):
        path = media_corpus.path(name)
        times = mc.reference_frame_times(path)
        assert len(times) == 60
        assert [i for i, t in enumerate(times) if t.key_frame] == list(range(0, 60, 10))
        stream = (
            mc.elementary_stream(path, "h264")
            if name.endswith("mp4")
            else pathlib.Path(path).read_bytes()
        )
        assert mc.nal_types(stream, "h264").count(5) == 6


# ---- probe against ffprobe ------------------------------------------------------------------


def _ffprobe_rotation(path: str):
    """The display matrix's rotation as ffprobe gives it; None without a matrix."""
    s = mc.ffprobe_video_stream(path)
    for side in (s or {}).get("side_data_list", []):
        if "rotation" in side:
            return float(side["rotation"])
    return None


@pytest.fixture(scope="module")
def probed(media_corpus):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = vh.probe(media_corpus.path(name))
        return cache[name]

    return get


@needs_probe
@pytest.mark.parametrize("name", mc.ALL_FILES)
def test_probe_container_matches_ffprobe(media_corpus, probed, name):
    path = media_corpus.path(name)
    info = probed(name)
    ref = mc.ffprobe_json(path)
    fmt = ref["format"]
    assert info.path == path or os.fspath(info.path) == path
    assert info.format_name == fmt["format_name"]
    assert info.format_long_name == fmt["format_long_name"]
    assert info.size_bytes == os.path.getsize(path)
    if fmt.get("duration") is not None and "raw" not in media_corpus[name].tags:
        assert info.duration_seconds == pytest.approx(float(fmt["duration"]), abs=1e-3)
    if fmt.get("bit_rate") is not None and "raw" not in media_corpus[name].tags:
        assert info.bit_rate == pytest.approx(int(fmt["bit_rate"]), rel=0.01)
    assert len(info.streams) == len(ref["streams"])
    for mine, theirs in zip(info.streams, ref["streams"]):
        assert mine.index == theirs["index"]
        assert mine.kind == theirs["codec_type"]
        assert mine.codec_name == theirs["codec_name"]
    video = [s for s in ref["streams"] if s["codec_type"] == "video"]
    assert [v.index for v in info.video_streams] == [s["index"] for s in video]
    if video:
        assert info.best_video is not None and info.best_video.index == video[0]["index"]
    else:
        assert info.best_video is None
    # as_dict is what `videohw probe --json` prints: it must serialise
    d = info.as_dict()
    json.dumps(d)
    assert isinstance(d, dict)


@needs_probe
@pytest.mark.parametrize("name", mc.VIDEO_FILES)
def test_probe_video_stream_matches_ffprobe(media_corpus, probed, name):
    path = media_corpus.path(name)
    v = probed(name).best_video
    s = mc.ffprobe_video_stream(path)
    tags = media_corpus[name].tags
    problems = []

    def check(field, got, expected):
        if got != expected:
            problems.append(f"{field}: probe {got!r}, ffprobe {expected!r}")

    check("codec_name", v.codec_name, s["codec_name"])
    check("codec", v.codec, vh.Codec(s["codec_name"]))
    check("size", (v.width, v.height), (int(s["width"]), int(s["height"])))
    check("pixel_format", v.pixel_format, s["pix_fmt"])
    check("bit_depth", v.bit_depth, 10 if "10bit" in tags else 8)
    check("frame_count", v.frame_count, int(s["nb_read_frames"]))
    check("frame_count_exact", v.frame_count_exact, True)
    check("time_base", v.time_base, mc.fraction(s["time_base"]))
    check("real_fps", v.real_fps, mc.fraction(s["r_frame_rate"]))
    packets = mc.reference_packets(path)
    keys_all = sum(p.keyframe for p in packets)
    keys_shown = sum(p.keyframe and not p.discard for p in packets)
    if "edit_list" in tags:
        # one keyframe packet is decoded but hidden by the edit list: either count is defensible
        if v.keyframe_count not in (keys_all, keys_shown):
            problems.append(
                f"keyframe_count: probe {v.keyframe_count}, ffprobe packets "
                f"{keys_all} ({keys_shown} shown)"
            )
    else:
        check("keyframe_count", v.keyframe_count, keys_all)
    ffrot = _ffprobe_rotation(path)
    if ffrot is None:
        # no display matrix: docs/media.md lists 0; python/videohw/media.py documents None
        if v.rotation not in (None, 0):
            problems.append(f"rotation: probe {v.rotation!r}, the file has no display matrix")
    elif v.rotation is None or (v.rotation - ffrot) % 360 != 0:
        problems.append(f"rotation: probe {v.rotation!r}, ffprobe {ffrot!r}")
    check(
        "color",
        (v.color.primaries, v.color.transfer, v.color.matrix, v.color.full_range),
        (
            s.get("color_primaries", "unknown"),
            s.get("color_transfer", "unknown"),
            s.get("color_space", "unknown"),
            s.get("color_range") == "pc",
        ),
    )
    if mc.fraction(s.get("sample_aspect_ratio")):
        check("sample_aspect_ratio", v.sample_aspect_ratio, mc.fraction(s["sample_aspect_ratio"]))
    if v.codec in (vh.Codec.H264, vh.Codec.HEVC):
        length_prefixed = not ({"raw"} & tags) and not name.endswith(".ts")
        expected = (
            (vh.EncodedLayout.AVCC if v.codec is vh.Codec.H264 else vh.EncodedLayout.HVCC)
            if length_prefixed
            else vh.EncodedLayout.ANNEX_B
        )
        check("layout", v.layout, expected)

    # rates, times
    times = mc.reference_frame_times(path)
    one_frame = mc.max_frame_interval(path)
    if "vfr" in tags:
        # the average of a VFR stream lies between its slowest and fastest instantaneous rate
        gaps = [b.pts_time - a.pts_time for a, b in zip(times, times[1:])]
        if not (isinstance(v.avg_fps, Fraction) and 1 / max(gaps) <= v.avg_fps <= 1 / min(gaps)):
            problems.append(
                f"avg_fps of a VFR stream: {v.avg_fps!r}, not within "
                f"{1 / max(gaps):.2f}..{1 / min(gaps):.2f}"
            )
    else:
        check("avg_fps", v.avg_fps, mc.fraction(s["avg_frame_rate"]))
    if s.get("start_time") is not None:
        if v.start_seconds is None or abs(v.start_seconds - float(s["start_time"])) > 1e-3:
            problems.append(f"start_seconds: probe {v.start_seconds!r}, ffprobe {s['start_time']}")
    duration = s.get("duration") or mc.ffprobe_json(path)["format"].get("duration")
    if duration is not None:
        if (
            v.duration_seconds is None
            or abs(v.duration_seconds - float(duration)) > one_frame + 1e-6
        ):
            problems.append(
                f"duration_seconds: probe {v.duration_seconds!r}, ffprobe {duration} "
                f"(allowed: one frame, {one_frame:.4f} s)"
            )
    elif v.duration_seconds is not None:
        # raw streams: no container duration; if one is given it is frames / rate
        expected = len(times) / float(mc.fraction(s["r_frame_rate"]))
        frame = 1 / float(mc.fraction(s["r_frame_rate"]))
        if abs(v.duration_seconds - expected) > one_frame + 1e-6 + frame:
            problems.append(
                f"duration_seconds (raw): probe {v.duration_seconds!r}, "
                f"expected about {expected:.3f}"
            )
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


@needs_probe
def test_probe_takes_a_pathlike(media_corpus):
    path = pathlib.Path(media_corpus.path("idr10.mp4"))
    info = vh.probe(path)
    assert info.best_video.frame_count == 60 and info.best_video.keyframe_count == 6


@needs_probe
def test_probe_lists_the_audio_stream(media_corpus, probed):
    info = probed("with_audio.mp4")
    kinds = sorted((s.kind, s.codec_name) for s in info.streams)
    assert kinds == [("audio", "aac"), ("video", "h264")]
    assert len(info.video_streams) == 1
    audio = [s for s in info.streams if s.kind == "audio"][0]
    assert audio.duration_seconds == pytest.approx(2.0, abs=0.05)


@needs_probe
def test_probe_audio_only_has_no_best_video(media_corpus, probed):
    info = probed("audio_only.m4a")
    assert info.best_video is None
    assert list(info.video_streams) == []
    assert [s.kind for s in info.streams] == ["audio"]


# ---- MediaReader: the packets probe counts --------------------------------------------------

needs_media_reader = pytest.mark.skipif(
    not hasattr(vh, "MediaReader"), reason="this videohw build has no vh.MediaReader yet"
)


@needs_media_reader
@pytest.mark.parametrize("name", mc.VIDEO_FILES)
def test_media_reader_packets_match_ffprobe(media_corpus, name):
    """Every packet in decode order with ffprobe's pts, dts, keyframe flag, discard flag and
    byte position (raw Annex-B: count and keyframes only, ffprobe has no timestamps)."""
    path = media_corpus.path(name)
    ref = mc.reference_packets(path)
    with vh.MediaReader(path) as m:
        got = list(m)
    assert len(got) == len(ref), f"{len(got)} packets, ffprobe {len(ref)}"
    assert [p.is_keyframe for p in got] == [p.keyframe for p in ref]
    if "raw" in media_corpus[name].tags:
        return
    mine = [(p.pts, p.dts, p.discard, p.pos) for p in got]
    theirs = [(p.pts, p.dts, p.discard, p.pos) for p in ref]
    diff = [(i, a, b) for i, (a, b) in enumerate(zip(mine, theirs)) if a != b]
    assert not diff, f"(index, (pts, dts, discard, pos) mine, ffprobe's): {diff[:8]}"


@needs_media_reader
@pytest.mark.parametrize("name", ["h264_bf.mkv", "hevc_bf.mp4", "h264_bf.ts"])
def test_media_reader_packets_decode_to_ffmpegs_frames(media_corpus, name):
    """MediaReader's Annex-B packets, pushed into a plain decode session, give ffmpeg's
    frames in display order (what a user pushing packets from a demuxer gets)."""
    path = media_corpus.path(name)
    ref = mc.reference_rgb(path)
    ctl = vh.SessionController("software")
    with vh.MediaReader(path) as m:
        assert m.stream.codec in (vh.Codec.H264, vh.Codec.HEVC)
        h = ctl.start_decode_session(
            vh.CommonDecodeConfig(codec=m.stream.codec, output=vh.DecodeOutputMode.CPU_RGB)
        )
        frames = []
        for p in m:
            assert p.layout is vh.EncodedLayout.ANNEX_B
            ctl.push_bitstream(h, p.data, pts=p.pts)
            frames += ctl.reap(h)
        frames += ctl.flush(h)
        ctl.close_decode_session(h)
    assert len(frames) == len(ref)
    times = mc.reference_frame_times(path)
    for i, f in enumerate(frames):
        assert np.array_equal(f.rgb, ref[i]), f"frame {i} differs"
        assert f.pts == times[i].pts
