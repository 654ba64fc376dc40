"""Encode and decode speak one vocabulary (docs/api.md, "Encode and decode side by side"):
the telemetry keys both sides have, counted the same way; the decode keys renamed to it
still answering under their old names with a DeprecationWarning; ``DecodeCapabilities`` a
dataclass like ``Capabilities``, its old dict access warning; the CLI printing the same keys
for both."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import warnings

import pytest

import videohw as vh
from conftest import common, encode_frames, make_frame, stream_of
from videohw.cli import main
from videohw.contract import RENAMED_TELEMETRY_KEYS

I420 = vh.PixelFormat.I420

# The ideas both sides count. docs/api.md's "one vocabulary" table must list exactly these.
SHARED = {
    "kind",
    "backend",
    "codec",
    "state",
    "backend_fallback_reason",
    "generation",
    "session_inits",
    "init_ns",
    "flushes",
    "keyframes_out",
    "convert_ns",
    "ffmpeg_warnings",
    "ffmpeg_errors",
    "switches",
    "switches_in_place",
    "switches_new_session",
    "switch_failures",
    "switch_fail_reason",
}

API_MD = pathlib.Path(__file__).resolve().parents[2] / "docs" / "api.md"


def h264(ctl, count=6):
    frames = [make_frame(I420, 64, 48, t, pts=t) for t in range(count)]
    return stream_of(encode_frames(ctl, common(gop_length=3), frames))


def hevc(ctl, count=3):
    frames = [make_frame(I420, 64, 48, t, pts=t) for t in range(count)]
    return stream_of(encode_frames(ctl, common(vh.Codec.HEVC), frames))


@pytest.fixture
def encode_telemetry(ctl):
    """An encode session through an in-place switch (bitrate) and a new-session one (size)."""
    with ctl.encode_session(common()) as s:
        for t in range(3):
            s.submit(make_frame(I420, 64, 48, t, pts=t))
        s.switch(
            vh.SessionSwitchRequest(
                target=(common(rate_control=vh.RateControl.cbr(2_000_000)), None)
            )
        )
        s.submit(make_frame(I420, 64, 48, 3, pts=3))
        s.switch(vh.SessionSwitchRequest(target=(common(width=96, height=64), None)))
        s.submit(make_frame(I420, 96, 64, 4, pts=4))
        s.flush()
        return s.telemetry()


@pytest.fixture
def decode_telemetry(ctl):
    """A decode session through an in-place switch (output mode) and a new-decoder one
    (codec), with frames out on every generation."""
    with ctl.decode_session(vh.CommonDecodeConfig()) as s:
        s.push(h264(ctl))
        s.flush()
        s.switch(vh.CommonDecodeConfig(output=vh.DecodeOutputMode.CPU_RGB))
        s.push(h264(ctl))
        s.flush()
        s.switch(vh.CommonDecodeConfig(codec=vh.Codec.HEVC))
        s.push(hevc(ctl))
        s.flush()
        return s.telemetry()


# ---- one vocabulary -------------------------------------------------------------------------


def test_both_sides_have_every_shared_key_with_the_same_type(encode_telemetry, decode_telemetry):
    assert SHARED <= set(encode_telemetry), SHARED - set(encode_telemetry)
    assert SHARED <= set(decode_telemetry), SHARED - set(decode_telemetry)
    for key in SHARED:
        assert type(encode_telemetry[key]) is type(decode_telemetry[key]), key
    assert (encode_telemetry["kind"], decode_telemetry["kind"]) == ("encode", "decode")


def test_switches_and_session_inits_count_the_same_on_both_sides(
    encode_telemetry, decode_telemetry
):
    for t in (encode_telemetry, decode_telemetry):
        assert t["generation"] == 3
        assert (t["switches"], t["switches_in_place"], t["switches_new_session"]) == (2, 1, 1)
        assert t["session_inits"] == 1
        assert (t["switch_failures"], t["switch_fail_reason"]) == (0, "")
        assert t["keyframes_out"] >= 3
        assert t["backend"] == "software" and t["backend_fallback_reason"] == ""
    assert (encode_telemetry["flushes"], decode_telemetry["flushes"]) == (1, 3)


def test_no_side_lists_an_old_name(encode_telemetry, decode_telemetry):
    for t in (encode_telemetry, decode_telemetry):
        assert not set(RENAMED_TELEMETRY_KEYS) & set(t)
        assert not set(RENAMED_TELEMETRY_KEYS) & set(json.loads(json.dumps(t)))
    assert set(RENAMED_TELEMETRY_KEYS.values()) <= set(decode_telemetry)


def test_the_docs_table_lists_exactly_the_shared_keys():
    lines = API_MD.read_text(encoding="utf-8").split("### Telemetry: one vocabulary", 1)[1]
    lines = lines.splitlines()
    start = lines.index("| key | meaning |") + 2
    documented = set()
    for row in lines[start:]:
        if not row.startswith("|"):
            break
        documented.update(re.findall(r"`([a-z_]+)`", row.split("|")[1]))
    assert documented == SHARED


# ---- old names --------------------------------------------------------------------------------


@pytest.mark.parametrize("old, new", sorted(RENAMED_TELEMETRY_KEYS.items()))
def test_an_old_key_warns_and_answers_with_the_new_value(decode_telemetry, old, new):
    t = decode_telemetry
    with pytest.warns(DeprecationWarning, match=f"'{old}' is deprecated: use '{new}'") as seen:
        assert t[old] == t[new]
    assert seen[0].filename == __file__  # the warning points at the caller's line
    with pytest.warns(DeprecationWarning, match=f"use '{new}'"):
        assert t.get(old) == t[new]
    with pytest.warns(DeprecationWarning, match=f"use '{new}'"):
        assert old in t
    assert old not in t.keys()


def test_the_renamed_counters_count(decode_telemetry):
    t = decode_telemetry
    assert t["generation"] == 3 and t["chunks_pushed"] == 3 and t["keyframes_out"] >= 3


def test_a_key_that_never_existed_still_fails_without_a_warning(decode_telemetry):
    t = decode_telemetry
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(KeyError):
            t["no_such_key"]
        assert t.get("no_such_key", 7) == 7
        assert "no_such_key" not in t
        assert t.get("generation") == 3


def test_the_suite_treats_a_videohw_deprecation_as_an_error(decode_telemetry):
    with pytest.raises(DeprecationWarning):
        decode_telemetry["active_generation"]


def test_copies_keep_answering_old_names(decode_telemetry):
    copy = decode_telemetry.copy()
    assert isinstance(copy, vh.Telemetry) and copy == decode_telemetry
    with pytest.warns(DeprecationWarning):
        assert copy["switch_new_decoder"] == 1


def test_reader_and_writer_telemetry_are_telemetry(ctl, tmp_path):
    path = tmp_path / "in.h264"
    path.write_bytes(h264(ctl))
    with vh.VideoReader(str(path), backend="software") as r:
        r.get_frames_at([4, 1])
        t = r.telemetry()
    assert isinstance(t, vh.Telemetry) and t["units_pushed"] > 0
    with pytest.warns(DeprecationWarning, match="use 'units_pushed'"):
        assert t["units"] == t["units_pushed"]
    with vh.VideoWriter(str(tmp_path / "out.h264"), common()) as w:
        w.write(make_frame(I420, 64, 48, 0))
        t = w.telemetry()
    assert isinstance(t, vh.Telemetry) and t["writer_frames"] == 1 and t["kind"] == "encode"


# ---- capabilities ----------------------------------------------------------------------------


def test_decode_capabilities_is_a_frozen_dataclass_like_capabilities(ctl):
    caps = ctl.decode_capabilities(vh.Codec.H264)
    assert isinstance(caps, vh.DecodeCapabilities) and dataclasses.is_dataclass(caps)
    assert dataclasses.is_dataclass(ctl.capabilities(vh.Codec.H264))
    assert caps.backend == "software" and caps.codec is vh.Codec.H264 and caps.supported
    assert vh.DecodeOutputMode.CPU_RGB in caps.output_modes and caps.max_width > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        caps.max_width = 1


def test_decode_capabilities_validate_their_fields():
    with pytest.raises(vh.ConfigError, match="DecodeCapabilities.max_width"):
        vh.DecodeCapabilities(
            backend="x",
            codec="h264",
            supported=True,
            max_width=-1,
            max_height=1,
            output_modes=(),
            device_surfaces=False,
            dynamic_resolution=False,
        )


def test_dict_access_to_decode_capabilities_warns_and_answers(ctl):
    caps = ctl.decode_capabilities(vh.Codec.H264)
    with pytest.warns(DeprecationWarning, match="caps.max_width") as seen:
        assert caps["max_width"] == caps.max_width
    assert seen[0].filename == __file__
    with pytest.warns(DeprecationWarning):
        assert caps.get("supported") is True and caps.get("nope", 5) == 5
    with pytest.warns(DeprecationWarning):
        assert "output_modes" in caps and "nope" not in caps
    with pytest.warns(DeprecationWarning):
        assert dict(caps.items()) == dataclasses.asdict(caps)
    with pytest.warns(DeprecationWarning):
        assert caps.keys() == [f.name for f in dataclasses.fields(caps)]
    with pytest.warns(DeprecationWarning), pytest.raises(KeyError):
        caps["nope"]


def test_each_side_says_why_auto_did_not_pick_nvidia():
    ctl = vh.SessionController("software")
    assert ctl.fallback_reason is None and ctl.decode_fallback_reason is None


# ---- CLI -------------------------------------------------------------------------------------


def test_the_cli_prints_both_telemetries_in_one_vocabulary(tmp_path, capsys):
    out = tmp_path / "cli.h264"
    assert (
        main(
            [
                "encode",
                "--size",
                "64x48",
                "--frames",
                "6",
                "--backend",
                "software",
                "-o",
                str(out),
                "--telemetry",
                "--no-progress",
            ]
        )
        == 0
    )
    encoded = json.loads(capsys.readouterr().out.split("telemetry:\n", 1)[1])
    assert (
        main(
            [
                "decode",
                str(out),
                "--codec",
                "h264",
                "--backend",
                "software",
                "--telemetry",
                "--progress",
                "off",
            ]
        )
        == 0
    )
    decoded = json.loads(capsys.readouterr().out.split("telemetry:\n", 1)[1])
    for t in (encoded, decoded):
        assert SHARED <= set(t) and not set(RENAMED_TELEMETRY_KEYS) & set(t)
    assert encoded["keyframes_out"] == decoded["keyframes_out"] == 1
    assert encoded["frames_encoded"] == decoded["frames_out"] == 6
