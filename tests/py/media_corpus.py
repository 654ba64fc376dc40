"""Test media for the reader side (docs/media.md): small files made with Debian's ffmpeg CLI
from ``testsrc2`` (moving content: every frame differs), and independent references made
by ffmpeg / ffprobe, never by videohw.

- ``media_corpus`` (session fixture): a ``Corpus``; ``corpus[name]`` is a ``MediaFile``
  (``.path``, ``.tags``, ``.codec``). Made once into ``tests/py/.media-cache/<key>/``, where
  ``key`` hashes the recipes and the ffmpeg version, so a changed recipe or ffmpeg makes a
  new corpus and a clean clone makes one on first use (``VIDEOHW_MEDIA_CACHE`` moves it).
  Files whose encoder this ffmpeg lacks are listed in ``corpus.missing`` with the reason;
  ``corpus.get(name)`` skips the calling test with that reason.
- References (cached per file): ``reference_rgb(path)`` every frame in display order as
  ffmpeg decodes it, (N, H, W, 3) uint8, stored pixels (``-noautorotate``);
  ``reference_native(path)`` the same as yuv420p10le planes (Y, U, V) of uint16;
  ``reference_frame_times(path)`` pts / pts_time / key_frame / pict_type of every frame in
  display order (ffprobe); ``reference_packets(path)`` every packet in decode order;
  ``ffprobe_json(path)`` streams and format with exact packet and frame counts.
- ``nal_types(path, codec)``: NAL unit types of an elementary stream (open GOP checks).

The names in ``VIDEO_FILES`` are what tests parametrise over (known at collection time, so
the corpus itself is made only when a test first asks for it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Optional

import numpy as np
import pytest

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FFPROBE = shutil.which("ffprobe") or "ffprobe"

# Bump to force a rebuild without changing a recipe (the key also hashes the recipes).
CORPUS_VERSION = "1"

HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------------------
# Recipes


@dataclass(frozen=True)
class Recipe:
    """One corpus file: ``ffmpeg -v error -y <args> <out>``; ``{other.ext}`` in an argument
    is replaced by that corpus file's path (made before this one)."""

    name: str
    args: tuple
    encoders: tuple = ()
    tags: frozenset = frozenset()
    codec: Optional[str] = None  # codec_name of the video stream; None: no video
    note: str = ""


def _src(size: str, rate: str, seconds: float) -> list:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


def _sine(seconds: float) -> list:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]


def _x264(params: str, *extra: str) -> list:
    return [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-x264-params",
        params,
        *extra,
    ]


def _x265(params: str, pix_fmt: str = "yuv420p") -> list:
    return [
        "-c:v",
        "libx265",
        "-preset",
        "superfast",
        "-pix_fmt",
        pix_fmt,
        "-tag:v",
        "hvc1",
        "-x265-params",
        params + ":log-level=error",
    ]


_BT709 = [
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
    "-colorspace",
    "bt709",
    "-color_range",
    "tv",
]
_H264_BF = "keyint=25:min-keyint=25:scenecut=0:bframes=3:b-pyramid=normal:b-adapt=0:open-gop=0"
# keyint 24 with 3 B-frames: the B-frames just before each I (display order) are coded after
# it, so with open-gop they are leading pictures (HEVC: RASL after a CRA).
_H264_OPEN = "keyint=24:min-keyint=24:scenecut=0:bframes=3:b-pyramid=normal:b-adapt=0:open-gop=1"
_HEVC_BF = "keyint=25:min-keyint=25:scenecut=0:bframes=3:b-pyramid=1:b-adapt=0:open-gop=0"
_HEVC_OPEN = "keyint=24:min-keyint=24:scenecut=0:bframes=3:b-pyramid=1:b-adapt=0:open-gop=1"
# Irregular timestamps in ms: 25 frames at 40 ms, 20 at 100 ms, then alternating 23 / 37 ms.
_VFR = (
    "settb=1/1000,setpts='if(lt(N,25),N*40,if(lt(N,45),1000+(N-25)*100,3000+(N-45)*30+7*mod(N,2)))'"
)
# -enc_time_base: the encoder's default time base is 1/frame rate (40 ms), which would round
# the irregular timestamps onto the 25 fps grid.
_VFR_ENC = [
    "-vf",
    _VFR,
    "-fps_mode",
    "passthrough",
    "-enc_time_base",
    "1/1000",
    *_x264("keyint=20:min-keyint=20:scenecut=0:bframes=2:b-adapt=0"),
]

# NVDEC decodes HEVC and VP9 from 144 lines up (H.264 from 48): the files the GPU tests
# read on NVDEC are at least that big.
_NVDEC_MIN = "256x144"

RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "h264_bf.mp4",
        (*_src("192x108", "25", 4), *_x264(_H264_BF), *_BT709),
        ("libx264",),
        frozenset({"bframes", "timed", "bt709"}),
        "h264",
        "H.264 High, 3 B-frames with pyramid, GOP 25 closed, 100 frames, BT.709 tags",
    ),
    Recipe(
        "h264_bf.mkv",
        ("-i", "{h264_bf.mp4}", "-c", "copy"),
        ("libx264",),
        frozenset({"bframes", "timed", "bt709"}),
        "h264",
        "h264_bf.mp4 remuxed to Matroska",
    ),
    Recipe(
        "h264_bf.ts",
        ("-i", "{h264_bf.mp4}", "-c", "copy", "-f", "mpegts"),
        ("libx264",),
        frozenset({"bframes", "timed", "bt709", "start_offset"}),
        "h264",
        "h264_bf.mp4 remuxed to MPEG-TS (starts at 1.48 s)",
    ),
    Recipe(
        "h264_bf.h264",
        ("-i", "{h264_bf.mp4}", "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264"),
        ("libx264",),
        frozenset({"bframes", "raw", "bt709"}),
        "h264",
        "h264_bf.mp4 as raw Annex-B",
    ),
    Recipe(
        "hevc_bf.mp4",
        (*_src(_NVDEC_MIN, "30000/1001", 3), *_x265(_HEVC_BF)),
        ("libx265",),
        frozenset({"bframes", "timed"}),
        "hevc",
        "HEVC Main, 3 B-frames, GOP 25 closed (IDR), 29.97 fps, 90 frames",
    ),
    Recipe(
        "hevc_bf.hevc",
        ("-i", "{hevc_bf.mp4}", "-c", "copy", "-bsf:v", "hevc_mp4toannexb", "-f", "hevc"),
        ("libx265",),
        frozenset({"bframes", "raw"}),
        "hevc",
        "hevc_bf.mp4 as raw Annex-B",
    ),
    Recipe(
        "hevc_opengop.mp4",
        (*_src(_NVDEC_MIN, "25", 3), *_x265(_HEVC_OPEN)),
        ("libx265",),
        frozenset({"bframes", "timed", "open_gop"}),
        "hevc",
        "HEVC open GOP: CRA keyframes with RASL leading pictures",
    ),
    Recipe(
        "h264_opengop.mkv",
        (*_src("192x108", "25", 3), *_x264(_H264_OPEN)),
        ("libx264",),
        frozenset({"bframes", "timed", "open_gop"}),
        "h264",
        "H.264 open GOP (x264 open-gop=1): non-IDR I keyframes with leading B-frames",
    ),
    Recipe(
        "vfr.mkv",
        (*_src("192x108", "25", 3), *_VFR_ENC),
        ("libx264",),
        frozenset({"bframes", "timed", "vfr"}),
        "h264",
        "variable frame rate (40 / 100 / 23-37 ms frames), B-frames, Matroska",
    ),
    Recipe(
        "vfr.mp4",
        (*_src("192x108", "25", 3), *_VFR_ENC),
        ("libx264",),
        frozenset({"bframes", "timed", "vfr"}),
        "h264",
        "the same VFR stream in MP4",
    ),
    Recipe(
        "editlist.mp4",
        ("-ss", "1.4", "-i", "{h264_bf.mp4}", "-c", "copy"),
        ("libx264",),
        frozenset({"bframes", "timed", "edit_list"}),
        "h264",
        "h264_bf.mp4 cut at 1.4 s (mid-GOP) by stream copy: an edit list hides the "
        "first 10 packets",
    ),
    Recipe(
        "hevc10.mp4",
        (*_src(_NVDEC_MIN, "25", 2), *_x265(_HEVC_BF, "yuv420p10le")),
        ("libx265",),
        frozenset({"bframes", "timed", "10bit"}),
        "hevc",
        "HEVC Main 10, yuv420p10le, B-frames",
    ),
    Recipe(
        "vp9.webm",
        (
            *_src(_NVDEC_MIN, "25", 2),
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "good",
            "-cpu-used",
            "5",
            "-g",
            "25",
            "-auto-alt-ref",
            "1",
            "-lag-in-frames",
            "10",
            "-b:v",
            "300k",
        ),
        ("libvpx-vp9",),
        frozenset({"timed"}),
        "vp9",
        "VP9 in WebM with alt-ref (hidden) frames",
    ),
    Recipe(
        "av1.mkv",
        (
            *_src("160x96", "24", 2),
            "-c:v",
            "libaom-av1",
            "-cpu-used",
            "8",
            "-g",
            "24",
            "-lag-in-frames",
            "16",
            "-auto-alt-ref",
            "1",
            "-b:v",
            "200k",
            "-pix_fmt",
            "yuv420p",
        ),
        ("libaom-av1",),
        frozenset({"timed"}),
        "av1",
        "AV1 (libaom) in Matroska with hidden alt-ref and show-existing frames",
    ),
    Recipe(
        "rot90.mp4",
        ("-i", "{h264_bf.mp4}", "-c", "copy", "-metadata:s:v", "rotate=90"),
        ("libx264",),
        frozenset({"bframes", "timed", "rotated"}),
        "h264",
        "h264_bf.mp4 with a 90 degree display matrix",
    ),
    Recipe(
        "odd322.mp4",
        (*_src("322x242", "24", 2), *_x264("keyint=24:min-keyint=24:scenecut=0:bframes=2")),
        ("libx264",),
        frozenset({"bframes", "timed", "odd_size"}),
        "h264",
        "322x242 (not a multiple of 16: cropped SPS)",
    ),
    Recipe(
        "with_audio.mp4",
        (
            *_src("192x108", "25", 2),
            *_sine(2),
            "-map",
            "0:v",
            "-map",
            "1:a",
            *_x264(_H264_BF),
            "-c:a",
            "aac",
            "-b:a",
            "48k",
            "-shortest",
        ),
        ("libx264", "aac"),
        frozenset({"bframes", "timed", "audio"}),
        "h264",
        "H.264 video and an AAC audio track",
    ),
    Recipe(
        "audio_only.m4a",
        (*_sine(2), "-c:a", "aac", "-b:a", "48k"),
        ("aac",),
        frozenset({"audio", "no_video"}),
        None,
        "AAC only, no video stream",
    ),
    Recipe(
        "idr10.mp4",
        (*_src("176x144", "30", 2), *_x264("keyint=10:min-keyint=10:scenecut=0:bframes=0")),
        ("libx264",),
        frozenset({"timed", "idr_only"}),
        "h264",
        "60 frames, no B-frames, an IDR every 10 frames",
    ),
    Recipe(
        "idr10.h264",
        ("-i", "{idr10.mp4}", "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264"),
        ("libx264",),
        frozenset({"raw", "idr_only"}),
        "h264",
        "idr10.mp4 as raw Annex-B",
    ),
)

BY_NAME = {r.name: r for r in RECIPES}
ALL_FILES = [r.name for r in RECIPES]
VIDEO_FILES = [r.name for r in RECIPES if r.codec is not None]
# Files with container timestamps (raw Annex-B has none: ffprobe reports pts N/A).
TIMED_FILES = [r.name for r in RECIPES if "timed" in r.tags]


def files_with(tag: str) -> list[str]:
    return [r.name for r in RECIPES if tag in r.tags]


# --------------------------------------------------------------------------------------
# Building


def _ffmpeg_version() -> str:
    try:
        out = subprocess.run(
            [FFMPEG, "-version"], stdout=subprocess.PIPE, check=True, timeout=30
        ).stdout.decode()
        return out.splitlines()[0]
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable: {e}"


@functools.cache
def _encoders() -> frozenset:
    out = subprocess.run(
        [FFMPEG, "-hide_banner", "-encoders"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        timeout=30,
    ).stdout.decode()
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and re.fullmatch(r"[VAS][F.][S.][X.][B.][D.]", parts[0]):
            names.add(parts[1])
    return frozenset(names)


def corpus_key() -> str:
    h = hashlib.sha256()
    h.update(CORPUS_VERSION.encode())
    h.update(_ffmpeg_version().encode())
    for r in RECIPES:
        h.update(repr((r.name, r.args, r.encoders)).encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class MediaFile:
    name: str
    path: str
    tags: frozenset
    codec: Optional[str]
    note: str

    def __fspath__(self) -> str:
        return self.path


@dataclass
class Corpus:
    directory: Path
    files: dict = field(default_factory=dict)  # name -> MediaFile
    missing: dict = field(default_factory=dict)  # name -> reason
    build_seconds: float = 0.0

    def __getitem__(self, name: str) -> MediaFile:
        return self.get(name)

    def get(self, name: str) -> MediaFile:
        """The file, or skips the calling test saying why it could not be made."""
        if name in self.files:
            return self.files[name]
        pytest.skip(f"corpus file {name} not made: {self.missing.get(name, 'unknown name')}")

    def path(self, name: str) -> str:
        return self.get(name).path


def _cache_root() -> Path:
    env = os.environ.get("VIDEOHW_MEDIA_CACHE")
    return Path(env) if env else HERE / ".media-cache"


def _run_recipe(recipe: Recipe, directory: Path) -> None:
    args = []
    for a in recipe.args:
        m = re.fullmatch(r"\{(.+)\}", a)
        args.append(str(directory / m.group(1)) if m else a)
    cmd = [
        FFMPEG,
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-threads",
        "2",
        *args,
        str(directory / recipe.name),
    ]
    res = subprocess.run(cmd, capture_output=True, timeout=300)
    if res.returncode != 0 or not (directory / recipe.name).exists():
        raise RuntimeError(
            f"making {recipe.name} failed ({res.returncode}): "
            f"{' '.join(cmd)}\n{res.stderr.decode(errors='replace')}"
        )


def build_corpus(root: Optional[Path] = None) -> Corpus:
    """Makes the corpus (or finds the one already made for this key) and returns it."""
    root = root or _cache_root()
    final = root / corpus_key()
    start = time.monotonic()
    available = _encoders()
    missing = {}
    for r in RECIPES:
        lacking = [e for e in r.encoders if e not in available]
        if lacking:
            missing[r.name] = f"this ffmpeg has no {', '.join(lacking)} encoder"
        else:
            # a file made from another corpus file needs that one
            for a in r.args:
                m = re.fullmatch(r"\{(.+)\}", a)
                if m and m.group(1) in missing:
                    missing[r.name] = f"needs {m.group(1)}: {missing[m.group(1)]}"
    manifest = final / "manifest.json"
    if not manifest.exists():
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="build-", dir=root))
        try:
            for r in RECIPES:
                if r.name not in missing:
                    _run_recipe(r, work)
            (work / "manifest.json").write_text(
                json.dumps(
                    {
                        "key": corpus_key(),
                        "ffmpeg": _ffmpeg_version(),
                        "missing": missing,
                        "build_seconds": round(time.monotonic() - start, 2),
                    },
                    indent=1,
                )
            )
            try:
                os.rename(work, final)  # atomic; another session may have won the race
            except OSError:
                if not manifest.exists():
                    raise
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    info = json.loads(manifest.read_text())
    corpus = Corpus(final, missing=dict(info.get("missing", {})))
    corpus.build_seconds = float(info.get("build_seconds", 0.0))
    for r in RECIPES:
        if r.name not in corpus.missing:
            corpus.files[r.name] = MediaFile(r.name, str(final / r.name), r.tags, r.codec, r.note)
    return corpus


@pytest.fixture(scope="session")
def media_corpus() -> Corpus:
    if not shutil.which(FFMPEG) or not shutil.which(FFPROBE):
        pytest.skip("the ffmpeg / ffprobe CLI is not installed (Debian package ffmpeg)")
    return build_corpus()


# --------------------------------------------------------------------------------------
# References (ffmpeg / ffprobe only)


def _run(cmd: Sequence[str], timeout: float = 120) -> bytes:
    res = subprocess.run(list(cmd), capture_output=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({res.returncode}): "
            f"{res.stderr.decode(errors='replace')[-2000:]}"
        )
    return res.stdout


@functools.cache
def ffprobe_json(path: str) -> dict:
    """ffprobe's format and streams, with exact counts (nb_read_frames decodes every frame,
    nb_read_packets reads every packet)."""
    return json.loads(
        _run(
            [
                FFPROBE,
                "-v",
                "error",
                "-count_frames",
                "-count_packets",
                "-show_format",
                "-show_streams",
                "-of",
                "json",
                str(path),
            ]
        )
    )


def ffprobe_video_stream(path: str) -> Optional[dict]:
    for s in ffprobe_json(str(path))["streams"]:
        if s.get("codec_type") == "video":
            return s
    return None


def _int_or_none(v) -> Optional[int]:
    return None if v in (None, "N/A", "") else int(v)


def _float_or_none(v) -> Optional[float]:
    return None if v in (None, "N/A", "") else float(v)


@dataclass(frozen=True)
class FrameTime:
    pts: Optional[int]  # stream time base; None where ffprobe says N/A (raw streams)
    pts_time: Optional[float]
    key_frame: bool
    pict_type: str


@functools.cache
def reference_frame_times(path: str) -> tuple:
    """Every decoded frame of the first video stream in display order (ffprobe)."""
    out = json.loads(
        _run(
            [
                FFPROBE,
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "frame=pts,pts_time,key_frame,pict_type",
                "-of",
                "json",
                str(path),
            ]
        )
    )
    return tuple(
        FrameTime(
            _int_or_none(f.get("pts")),
            _float_or_none(f.get("pts_time")),
            bool(int(f.get("key_frame", 0))),
            f.get("pict_type", "?"),
        )
        for f in out.get("frames", [])
    )


@dataclass(frozen=True)
class PacketInfo:
    pts: Optional[int]
    dts: Optional[int]
    size: int
    keyframe: bool
    discard: bool
    pos: Optional[int] = None  # byte offset in the file


@functools.cache
def reference_packets(path: str) -> tuple:
    """Every packet of the first video stream in decode (file) order (ffprobe)."""
    out = json.loads(
        _run(
            [
                FFPROBE,
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "packet=pts,dts,size,flags,pos",
                "-of",
                "json",
                str(path),
            ]
        )
    )
    return tuple(
        PacketInfo(
            _int_or_none(p.get("pts")),
            _int_or_none(p.get("dts")),
            int(p.get("size", 0)),
            "K" in p.get("flags", ""),
            "D" in p.get("flags", ""),
            _int_or_none(p.get("pos")),
        )
        for p in out.get("packets", [])
    )


def video_size(path: str) -> tuple[int, int]:
    s = ffprobe_video_stream(str(path))
    return int(s["width"]), int(s["height"])


@functools.lru_cache(maxsize=8)
def reference_rgb(path: str) -> np.ndarray:
    """(N, H, W, 3) uint8: every frame in display order as ffmpeg decodes it (stored
    pixels: no autorotation; no frame dropped or duplicated; edit lists applied)."""
    w, h = video_size(str(path))
    raw = _run(
        [
            FFMPEG,
            "-nostdin",
            "-v",
            "error",
            "-noautorotate",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-",
        ]
    )
    frame = w * h * 3
    assert len(raw) % frame == 0, f"{path}: {len(raw)} bytes is not a whole number of frames"
    arr = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
    arr.flags.writeable = False
    return arr


@functools.lru_cache(maxsize=4)
def reference_native(path: str, pix_fmt: str = "yuv420p10le") -> list:
    """Per frame (display order) the planes (Y, U, V) as ffmpeg decodes them in ``pix_fmt``
    (yuv420p10le: uint16 values 0..1023; yuv420p: uint8)."""
    w, h = video_size(str(path))
    raw = _run(
        [
            FFMPEG,
            "-nostdin",
            "-v",
            "error",
            "-noautorotate",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-pix_fmt",
            pix_fmt,
            "-f",
            "rawvideo",
            "-",
        ]
    )
    dtype = np.dtype("<u2") if pix_fmt.endswith("le") and "10" in pix_fmt else np.dtype(np.uint8)
    cw, ch = (w + 1) // 2, (h + 1) // 2
    sizes = [w * h, cw * ch, cw * ch]
    per_frame = sum(sizes) * dtype.itemsize
    assert len(raw) % per_frame == 0
    data = np.frombuffer(raw, dtype)
    frames = []
    step = sum(sizes)
    for start in range(0, data.size, step):
        y = data[start : start + sizes[0]].reshape(h, w)
        u = data[start + sizes[0] : start + sizes[0] + sizes[1]].reshape(ch, cw)
        v = data[start + sizes[0] + sizes[1] : start + step].reshape(ch, cw)
        frames.append((y, u, v))
    return frames


def elementary_stream(path: str, codec: str) -> bytes:
    """The video stream as Annex-B (stream copy through ffmpeg's mp4toannexb filters)."""
    bsf = {"h264": "h264_mp4toannexb", "hevc": "hevc_mp4toannexb"}[codec]
    return _run(
        [
            FFMPEG,
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-bsf:v",
            bsf,
            "-f",
            codec,
            "-",
        ]
    )


def nal_types(data: bytes, codec: str) -> list[int]:
    """NAL unit types of an Annex-B stream, in order."""
    types = []
    for m in re.finditer(b"\x00\x00\x01", data):
        i = m.end()
        if i >= len(data):
            break
        b = data[i]
        types.append((b >> 1) & 0x3F if codec == "hevc" else b & 0x1F)
    return types


def fraction(text: Optional[str]) -> Optional[Fraction]:
    """ffprobe's "num/den" as a Fraction; None for 0/0, N/A or a zero numerator."""
    if text in (None, "N/A", "", "0/0"):
        return None
    num, _, den = str(text).partition("/")
    if ":" in str(text):
        num, _, den = str(text).partition(":")
    den = den or "1"
    if int(den) == 0 or int(num) == 0:
        return None
    return Fraction(int(num), int(den))


def max_frame_interval(path: str) -> float:
    """The longest gap between consecutive frames (seconds): "one frame" for VFR files."""
    times = [f.pts_time for f in reference_frame_times(str(path)) if f.pts_time is not None]
    gaps = [b - a for a, b in zip(times, times[1:])]
    return max(gaps) if gaps else 0.0
