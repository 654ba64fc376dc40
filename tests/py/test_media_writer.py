"""Writing files (docs/media_writer.md): MediaWriter and VideoWriter, checked with Debian's
ffprobe / ffmpeg only -- frame counts, keyframe positions, timestamps, durations, segments
and what is left on disk when a write is aborted or fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import numpy as np
import pytest

import ffprobe_check as fc
import videohw as vh
from conftest import common, make_frame, rgb_picture
from videohw.writer import SegmentInfo

I420 = vh.PixelFormat.I420
W, H = 160, 96
GOP = 10
FRAME = Fraction(1, 30)

# name -> (file name, format argument, codec)
CONTAINERS = {
    "mp4": ("out.mp4", None, vh.Codec.H264),
    "fmp4": ("out.mp4", "fmp4", vh.Codec.H264),
    "mkv": ("out.mkv", None, vh.Codec.H264),
    "ts": ("out.ts", None, vh.Codec.H264),
    "h264": ("out.h264", None, vh.Codec.H264),
    "hevc": ("out.hevc", None, vh.Codec.HEVC),
}
RAW = {"h264", "hevc"}


# --------------------------------------------------------------------------------------
# ffprobe, read as numbers


@dataclass
class Probed:
    packets: list[dict]  # pts, dts (Fraction seconds or None), key, in file order
    frames: list[dict]  # width, height, key, in presentation order
    stream: dict
    format: dict

    @property
    def keyframes(self) -> list[int]:
        return [i for i, f in enumerate(self.frames) if f["key"]]

    @property
    def duration(self) -> Fraction:
        return Fraction(self.format["duration"])


def probe(path: str) -> Probed:
    proc = subprocess.run(
        [
            fc.FFPROBE,
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts,dts,flags:frame=key_frame,width,height:"
            "stream=time_base,codec_name,codec_tag_string,start_time:"
            "format=duration,start_time,format_name",
            "-of",
            "json",
            path,
        ],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr.decode()
    data = json.loads(proc.stdout)
    stream = data["streams"][0]
    tb = Fraction(stream["time_base"])

    def seconds(value: Optional[int]) -> Optional[Fraction]:
        return None if value is None else value * tb

    packets, frames = [], []
    for entry in data["packets_and_frames"]:
        if entry["type"] == "packet":
            packets.append(
                {
                    "pts": seconds(entry.get("pts")),
                    "dts": seconds(entry.get("dts")),
                    "key": entry["flags"].startswith("K"),
                }
            )
        else:
            frames.append(
                {
                    "width": entry["width"],
                    "height": entry["height"],
                    "key": bool(entry["key_frame"]),
                }
            )
    return Probed(packets, frames, stream, data["format"])


def ffmpeg_complaints(path: str) -> str:
    proc = subprocess.run(
        [fc.FFMPEG, "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=60,
    )
    return proc.stdout.decode(errors="replace")


def check_file(
    path: str, count: int, width: int, height: int, keyframes: list[int], raw: bool = False
) -> Probed:
    """Frame count, sizes and keyframes; for containers also increasing dts, unique pts,
    a duration within one frame, and a clean decode by the ffmpeg tool."""
    p = probe(path)
    assert len(p.frames) == count
    assert {(f["width"], f["height"]) for f in p.frames} == {(width, height)}
    assert p.keyframes == keyframes
    assert ffmpeg_complaints(path) == ""
    if raw:
        return p
    dts = [q["dts"] for q in p.packets if q["dts"] is not None]
    assert dts == sorted(dts) and len(set(dts)) == len(dts), f"dts not increasing: {dts}"
    pts = sorted(q["pts"] for q in p.packets)
    assert len(set(pts)) == count
    tick = Fraction(p.stream["time_base"])  # Matroska rounds to milliseconds
    assert all(abs(b - a - FRAME) <= tick for a, b in zip(pts, pts[1:])), pts
    assert abs(p.duration - count * FRAME) <= FRAME, (p.duration, count)
    return p


# --------------------------------------------------------------------------------------
# packets and frames


def config(
    codec: vh.Codec = vh.Codec.H264,
    width: int = W,
    height: int = H,
    b_frames: int = 0,
    gop: int = GOP,
) -> vh.CommonEncodeConfig:
    return common(
        codec, width, height, gop_length=gop, b_frames=b_frames, frame_interval_p=b_frames + 1
    )


def encode(
    ctl: vh.SessionController,
    cfg: vh.CommonEncodeConfig,
    count: int,
) -> list[vh.EncodedPacket]:
    h = ctl.start_encode_session(cfg)
    packets: list[vh.EncodedPacket] = []
    for i in range(count):
        ctl.submit(h, make_frame(I420, cfg.width, cfg.height, i, pts=i))
        packets += ctl.reap(h)
    return packets + ctl.close_encode_session(h)


def write(
    path: str,
    packets: list[vh.EncodedPacket],
    codec: vh.Codec = vh.Codec.H264,
    width: int = W,
    height: int = H,
    **kwargs,
) -> list[str]:
    with vh.MediaWriter(path, codec, width, height, **kwargs) as w:
        for p in packets:
            w.write_packet(p)
    return w.close()


# --------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("name", list(CONTAINERS))
@pytest.mark.parametrize("b_frames", [0, 2])
def test_round_trip_keeps_every_frame_keyframe_and_timestamp(ctl, tmp_path, name, b_frames):
    file, fmt, codec = CONTAINERS[name]
    path = str(tmp_path / file)
    packets = encode(ctl, config(codec, b_frames=b_frames), 25)
    assert write(path, packets, codec, format=fmt) == [path]
    assert os.listdir(tmp_path) == [file], "only the final file is left"
    check_file(path, 25, W, H, [0, 10, 20], raw=name in RAW)


def test_mp4_with_b_frames_keeps_pts_and_starts_dts_below_zero(ctl, tmp_path):
    packets = encode(ctl, config(b_frames=2), 30)
    assert packets[0].dts < 0
    path = str(tmp_path / "out.mp4")
    write(path, packets)
    p = probe(path)
    assert [q["pts"] for q in p.packets] == [pk.pts * FRAME for pk in packets]
    assert [q["dts"] for q in p.packets] == [pk.dts * FRAME for pk in packets]
    assert Fraction(p.stream["start_time"]) == 0, "an edit list hides the reorder delay"


def test_matroska_with_b_frames_has_the_pts_of_an_ffmpeg_made_matroska(ctl, tmp_path):
    packets = encode(ctl, config(b_frames=2), 30)
    ours, source, theirs = (str(tmp_path / n) for n in ("ours.mkv", "source.ts", "ffmpeg.mkv"))
    write(ours, packets)
    write(source, packets)
    subprocess.run(
        [fc.FFMPEG, "-nostdin", "-v", "error", "-i", source, "-c", "copy", theirs], check=True
    )
    assert [q["pts"] for q in probe(ours).packets] == [q["pts"] for q in probe(theirs).packets]


def test_another_time_base_is_rescaled(ctl, tmp_path):
    packets = [
        vh.EncodedPacket(p.data, p.pts * 3000, p.dts * 3000, p.is_keyframe, p.generation, p.layout)
        for p in encode(ctl, config(b_frames=2), 15)
    ]
    path = str(tmp_path / "out.mp4")
    write(path, packets, time_base=Fraction(1, 90000))
    check_file(path, 15, W, H, [0, 10])


def test_fragmented_mp4_can_be_read_while_it_is_written(ctl, tmp_path):
    packets = encode(ctl, config(gop=5), 23)
    path = str(tmp_path / "live.mp4")
    # A fragment at every keyframe (5 frames = 167 ms > 100 ms): 0-4, 5-9, 10-14, 15-19
    # are complete once the keyframe of frame 20 has arrived.
    w = vh.MediaWriter(path, vh.Codec.H264, W, H, format="fmp4", fragment_ms=100)
    try:
        for p in packets:
            w.write_packet(p)
        live = probe(w.temp_path)
        assert not os.path.exists(path)
        assert len(live.frames) == 20
        assert live.keyframes == [0, 5, 10, 15]
        assert ffmpeg_complaints(w.temp_path) == ""
    finally:
        w.close()
    check_file(path, 23, W, H, [0, 5, 10, 15, 20])


def test_fragmented_mp4_holds_every_finished_fragment_before_close(ctl, tmp_path):
    packets = encode(ctl, config(gop=30), 65)  # keyframes at 0, 30, 60: 1 s apart
    path = str(tmp_path / "live.mp4")
    with vh.MediaWriter(path, vh.Codec.H264, W, H, format="fmp4") as w:
        for p in packets:
            w.write_packet(p)
        live = probe(w.temp_path)
        assert len(live.frames) == 60, "the fragments cut at frames 30 and 60 are readable"
        assert live.keyframes == [0, 30]
    check_file(path, 65, W, H, [0, 30, 60])


# --------------------------------------------------------------------------------------
# VideoWriter and switches


def test_video_writer_writes_frames_and_arrays(ctl, tmp_path):
    path = str(tmp_path / "out.mkv")
    with vh.VideoWriter(path, config(b_frames=2), controller=ctl) as w:
        for i in range(12):
            w.write(rgb_picture(W, H, i) if i % 2 else make_frame(I420, W, H, i))
        assert "VideoWriter('" in repr(w) and "frames=12" in repr(w)
    assert w.close() == [path] == w.paths
    check_file(path, 12, W, H, [0, 10])
    t = w.telemetry()
    assert t["writer_frames"] == 12 and t["writer_packets"] == 12 and t["writer_segments"] == 1
    assert t["session_inits"] >= 1


def resize_switch(w: vh.VideoWriter, width: int, height: int) -> None:
    target = config(width=width, height=height)
    w.switch(
        vh.SessionSwitchRequest(
            target=(target, None), mode=vh.SessionSwitchMode.IMMEDIATE, force_idr_on_activate=True
        )
    )


def test_a_size_switch_makes_a_second_mp4_segment_and_each_verifies(ctl, tmp_path):
    path = str(tmp_path / "out.mp4")
    with vh.VideoWriter(path, config(b_frames=2), controller=ctl) as w:
        for i in range(12):
            w.write(rgb_picture(W, H, i))
        resize_switch(w, 128, 80)
        for i in range(12, 24):
            w.write(rgb_picture(128, 80, i))
    seg2 = str(tmp_path / "out.seg2.mp4")
    assert w.paths == [path, seg2]
    assert sorted(os.listdir(tmp_path)) == ["out.mp4", "out.seg2.mp4"]
    check_file(path, 12, W, H, [0, 10])
    second = check_file(seg2, 12, 128, 80, [0, 10])
    assert Fraction(second.stream["start_time"]) == 0, "each segment starts at 0"
    segments = w.segments
    assert [s.first_generation for s in segments] == [1, 2]
    assert [(s.width, s.height) for s in segments] == [(W, H), (128, 80)]
    assert all(isinstance(s, SegmentInfo) and s.finished for s in segments)
    assert w.telemetry()["writer_segments"] == 2


def test_a_size_switch_stays_in_one_ts_file_that_decodes_through_it(ctl, tmp_path):
    path = str(tmp_path / "out.ts")
    with vh.VideoWriter(path, config(), controller=ctl) as w:
        for i in range(12):
            w.write(rgb_picture(W, H, i))
        resize_switch(w, 128, 80)
        for i in range(12, 24):
            w.write(rgb_picture(128, 80, i))
    assert w.paths == [path]
    p = probe(path)
    assert [(f["width"], f["height"]) for f in p.frames] == [(W, H)] * 12 + [(128, 80)] * 12
    assert p.keyframes == [0, 10, 12, 22]
    assert ffmpeg_complaints(path) == ""


def test_a_codec_switch_in_annexb_continues_in_a_file_named_after_the_codec(ctl, tmp_path):
    path = str(tmp_path / "out.h264")
    with vh.VideoWriter(path, config(), controller=ctl) as w:
        for i in range(5):
            w.write(rgb_picture(W, H, i))
        w.switch(vh.SessionSwitchRequest(target=(config(vh.Codec.HEVC), None)))
        for i in range(5, 10):
            w.write(rgb_picture(W, H, i))
    assert w.paths == [path, str(tmp_path / "out.seg2.hevc")]
    check_file(w.paths[0], 5, W, H, [0], raw=True)
    check_file(w.paths[1], 5, W, H, [0], raw=True)


# --------------------------------------------------------------------------------------
# atomic writes


def test_abort_leaves_no_file(ctl, tmp_path):
    w = vh.MediaWriter(str(tmp_path / "out.mp4"), vh.Codec.H264, W, H)
    assert os.path.dirname(w.temp_path) == str(tmp_path)
    assert os.path.basename(w.temp_path).startswith(".out.mp4.tmp-")
    for p in encode(ctl, config(), 5):
        w.write_packet(p)
    assert os.path.exists(w.temp_path) and not os.path.exists(tmp_path / "out.mp4")
    w.abort()
    assert os.listdir(tmp_path) == []
    assert w.temp_path is None and "aborted" in repr(w)


@pytest.mark.parametrize("file", ["out.mp4", "out.ts", "out.h264"])
def test_an_exception_inside_with_leaves_no_file(ctl, tmp_path, file):
    with pytest.raises(RuntimeError, match="stop"):
        with vh.VideoWriter(str(tmp_path / file), config(), controller=ctl) as w:
            for i in range(5):
                w.write(rgb_picture(W, H, i))
            raise RuntimeError("stop")
    assert os.listdir(tmp_path) == []


def test_a_media_writer_dropped_without_close_leaves_no_file(ctl, tmp_path):
    w = vh.MediaWriter(str(tmp_path / "out.mkv"), vh.Codec.H264, W, H)
    for p in encode(ctl, config(), 3):
        w.write_packet(p)
    del w
    assert os.listdir(tmp_path) == []


def test_no_packets_means_no_file(tmp_path):
    with vh.MediaWriter(str(tmp_path / "out.mp4"), vh.Codec.H264, W, H) as w:
        pass
    assert w.close() == [] and os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------
# errors


def test_an_unknown_extension_is_a_config_error(tmp_path):
    with pytest.raises(vh.ConfigError, match=r"out\.avi.*\.mkv"):
        vh.MediaWriter(str(tmp_path / "out.avi"), vh.Codec.H264, W, H)
    with pytest.raises(vh.ConfigError, match="format"):
        vh.MediaWriter(str(tmp_path / "out.mp4"), vh.Codec.H264, W, H, format="avi")
    assert os.listdir(tmp_path) == []


def test_an_unwritable_folder_is_a_media_error_naming_the_path(tmp_path, ctl):
    missing = str(tmp_path / "no" / "such" / "out.mp4")
    with pytest.raises(vh.MediaError, match=r"no/such/out\.mp4.*No such file"):
        vh.MediaWriter(missing, vh.Codec.H264, W, H)
    with pytest.raises(vh.MediaError, match="no/such/out.mp4"):
        vh.VideoWriter(missing, config(), controller=ctl)


def test_bad_writer_arguments_are_config_errors(tmp_path):
    path = str(tmp_path / "out.mp4")
    for kwargs in (
        {"codec": "mpeg2"},
        {"width": 0},
        {"fps_num": -1},
        {"time_base": (1, 0)},
        {"time_base": 0.5},
    ):
        args = {"path": path, "codec": vh.Codec.H264, "width": W, "height": H, **kwargs}
        with pytest.raises(vh.ConfigError):
            vh.MediaWriter(**args)
    with pytest.raises(vh.ConfigError, match="CommonEncodeConfig"):
        vh.VideoWriter(path, {"codec": "h264"})
    assert os.listdir(tmp_path) == []


def test_wrong_packets_are_refused_and_the_writer_stays_usable(ctl, tmp_path):
    packets = encode(ctl, config(b_frames=2), 12)
    path = str(tmp_path / "out.mp4")
    with vh.MediaWriter(path, vh.Codec.H264, W, H) as w:
        with pytest.raises(vh.ConfigError, match="EncodedPacket"):
            w.write_packet(packets[0].data)
        first = packets[0]
        avcc = vh.EncodedPacket(first.data, first.pts, first.dts, True, 1, vh.EncodedLayout.AVCC)
        with pytest.raises(vh.ConfigError, match="AVCC"):
            w.write_packet(avcc)
        with pytest.raises(vh.InvalidMediaError, match="keyframe"):
            w.write_packet(packets[1])
        for p in packets[:4]:
            w.write_packet(p)
        late = packets[4]
        back = vh.EncodedPacket(late.data, 1000, packets[3].dts, False, 1, late.layout)
        with pytest.raises(
            vh.ConfigError, match=rf"dts {packets[3].dts} .*previous dts {packets[3].dts}"
        ):
            w.write_packet(back)
        for p in packets[4:]:
            w.write_packet(p)
    check_file(path, 12, W, H, [0, 10])


def test_video_writer_refuses_a_wrong_array_and_leaves_nothing_after_abort(ctl, tmp_path):
    w = vh.VideoWriter(str(tmp_path / "out.mp4"), config(), controller=ctl)
    with pytest.raises(vh.InvalidFrameError, match="uint8"):
        w.write(np.zeros((H, W, 3), np.float32))
    with pytest.raises(vh.InvalidFrameError):
        w.write(rgb_picture(W, H - 16, 0))  # fewer rows than the session's size
    w.write(rgb_picture(W, H, 0))
    w.abort()
    assert os.listdir(tmp_path) == []
    with pytest.raises(vh.ConfigError, match="closed"):
        w.write(rgb_picture(W, H, 1))


def test_repr_and_segments_describe_the_writer(ctl, tmp_path):
    path = str(tmp_path / "out.ts")
    w = vh.MediaWriter(path, "h264", W, H)
    assert repr(w) == (
        f"MediaWriter({path!r}, format='ts', codec=h264, 160x96, segments=1, packets=0, open)"
    )
    for p in encode(ctl, config(), 4):
        w.write_packet(p)
    (segment,) = w.segments
    assert (
        segment.path,
        segment.codec,
        segment.packets,
        segment.first_pts,
        segment.last_pts,
        segment.finished,
    ) == (path, vh.Codec.H264, 4, 0, 3, False)
    assert w.close() == [path] and w.segments[0].finished and "closed" in repr(w)
