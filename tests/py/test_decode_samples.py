"""Decode sessions fed container samples as they are stored (EncodedLayout.AVCC / HVCC with
the stream's avcC / hvcC record as extradata): what a caller holding packets from another
demuxer (PyAV, a network source) pushes, one sample per push, with no conversion of its own.
Pictures must equal ffmpeg's decode of the file."""

from __future__ import annotations

import numpy as np
import pytest

import videohw as vh
from media_corpus import reference_rgb
from videohw import _core

CASES = [
    ("h264_bf.mp4", vh.Codec.H264, vh.EncodedLayout.AVCC),
    ("h264_bf.mkv", vh.Codec.H264, vh.EncodedLayout.AVCC),
    ("hevc_bf.mp4", vh.Codec.HEVC, vh.EncodedLayout.HVCC),
]


def stored_samples(path: str) -> tuple[bytes, list[dict]]:
    """The stream's record and its samples exactly as stored (length-prefixed)."""
    info = vh.probe(path).best_video
    source = _core.MediaSource(path, path)
    source.select(info.index)
    samples = []
    while (packet := source.read_packet(False)) is not None:
        samples.append(packet)
    return info.extradata, samples


@pytest.mark.parametrize("name,codec,layout", CASES, ids=[c[0] for c in CASES])
def test_length_prefixed_samples_decode_to_ffmpegs_pictures(media_corpus, name, codec, layout):
    path = media_corpus[name].path
    extradata, samples = stored_samples(path)
    assert extradata[:1] == b"\x01", "a decoder configuration record"
    config = vh.CommonDecodeConfig(
        codec=codec, output=vh.DecodeOutputMode.CPU_RGB, input_layout=layout, extradata=extradata
    )
    ctl = vh.SessionController("software")
    frames = []
    with ctl.decode_session(config) as s:
        for packet in samples:
            s.push(packet["data"], pts=packet["pts"])
            frames += s.reap()
        frames += s.flush()
    expected = reference_rgb(path)
    assert len(frames) == len(expected)
    assert [f.pts for f in frames] == sorted(p["pts"] for p in samples)
    for i, (frame, ref) in enumerate(zip(frames, expected)):
        assert np.array_equal(frame.rgb, ref), f"{name}: frame {i} differs"


def test_flush_then_the_next_keyframe_gets_the_records_parameter_sets_again(media_corpus):
    path = media_corpus["idr10.mp4"].path
    extradata, samples = stored_samples(path)
    config = vh.CommonDecodeConfig(
        codec=vh.Codec.H264, input_layout=vh.EncodedLayout.AVCC, extradata=extradata
    )
    ctl = vh.SessionController("software")
    keys = [i for i, p in enumerate(samples) if p["is_keyframe"]]
    assert len(keys) >= 3
    with ctl.decode_session(config) as s:
        for p in samples[: keys[1]]:
            s.push(p["data"], pts=p["pts"])
        first = s.flush()
        for p in samples[keys[2] :]:  # a jump, as after a seek: no SPS/PPS in these samples
            s.push(p["data"], pts=p["pts"])
        second = s.flush()
    assert len(first) == keys[1]
    assert len(second) == len(samples) - keys[2]


def test_a_sample_whose_lengths_run_past_its_end_is_a_decode_error(media_corpus):
    path = media_corpus["h264_bf.mp4"].path
    extradata, samples = stored_samples(path)
    config = vh.CommonDecodeConfig(
        codec=vh.Codec.H264, input_layout=vh.EncodedLayout.AVCC, extradata=extradata
    )
    ctl = vh.SessionController("software")
    with ctl.decode_session(config) as s:
        s.push(samples[0]["data"], pts=0)
        broken = b"\x7f\xff\xff\xff" + samples[1]["data"][4:]
        with pytest.raises(vh.DecodeError, match="NAL lengths run past"):
            s.push(broken, pts=1)
        assert s.telemetry()["last_error"]


def test_layout_needs_the_matching_codec_and_a_record():
    with pytest.raises(vh.ConfigError, match="hvcc is for hevc"):
        vh.CommonDecodeConfig(
            codec=vh.Codec.H264, input_layout=vh.EncodedLayout.HVCC, extradata=b"\x01"
        )
    with pytest.raises(vh.ConfigError, match="needs the stream's decoder configuration"):
        vh.CommonDecodeConfig(codec=vh.Codec.H264, input_layout=vh.EncodedLayout.AVCC)


def test_a_record_that_does_not_parse_is_refused_up_front():
    ctl = vh.SessionController("software")
    config = vh.CommonDecodeConfig(
        codec=vh.Codec.H264,
        input_layout=vh.EncodedLayout.AVCC,
        extradata=b"\x01\x64\x00\x1f\xff\xe1\x00\x40",
    )
    with pytest.raises(vh.UnsupportedConfigError, match="extradata"):
        ctl.start_decode_session(config)
