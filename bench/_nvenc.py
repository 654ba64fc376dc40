"""NVENC settings for bench/encode_vs_peers.py, spelt for each tool, and why a tool cannot
use NVENC on this machine. Private to bench/.

Every NVENC tool encodes the same raw I420 frames with the same settings: preset --nv-preset
(p1 fastest .. p7 best), tuning --nv-tuning (ull: ultra low latency), CBR at --bitrate with a
VBV of --vbv bits, an IDR every --gop frames, no B-frames, zero reorder delay. videohw maps
them through its adapter (docs/nvidia.md, "Mapping the contract"); FFmpeg's h264_nvenc /
hevc_nvenc through their options:

    tool                 path timed
    videohw (nvidia)     numpy I420 -> vh.Frame -> submit -> reap, then flush
    pyav-<codec>_nvenc   numpy -> av.VideoFrame.from_ndarray -> CodecContext.encode -> bytes
    ffmpeg-<codec>_nvenc the whole `ffmpeg -f rawvideo -i FILE -c:v <codec>_nvenc ...` process
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import _common as bc

CODECS = ("h264", "hevc")
PEERS = tuple(f"{tool}-{codec}_nvenc" for codec in CODECS for tool in ("pyav", "ffmpeg"))


def peer_codec(tool: str) -> str:
    """ "pyav-hevc_nvenc" -> "hevc"."""
    return tool.split("-", 1)[1].removesuffix("_nvenc")


@dataclass(frozen=True)
class NvencSettings:
    width: int
    height: int
    codec: str = "h264"
    preset: str = "p1"
    tuning: str = "ull"
    fps: int = 30
    gop: int = 60
    bitrate_bps: int = 8_000_000
    vbv_bits: int = 8_000_000

    @property
    def encoder(self) -> str:
        return f"{self.codec}_nvenc"

    def videohw_configs(self):
        import videohw as vh

        common = vh.CommonEncodeConfig(
            codec=vh.Codec(self.codec),
            width=self.width,
            height=self.height,
            fps_num=self.fps,
            fps_den=1,
            low_latency=True,
            gop_length=self.gop,
            b_frames=0,
            rate_control=vh.RateControl.cbr(self.bitrate_bps, vbv_buffer_bits=self.vbv_bits),
        )
        return common, vh.NvidiaEncodeConfig(preset=self.preset, tuning=self.tuning)

    def private_options(self) -> dict[str, str]:
        """FFmpeg's nvenc options for what the adapter sets: the preset and tuning, CBR,
        zeroReorderDelay (low_latency), an IDR (not a plain I) when a keyframe is forced."""
        return {
            "preset": self.preset,
            "tune": self.tuning,
            "rc": "cbr",
            "zerolatency": "1",
            "forced-idr": "1",
        }

    def ffmpeg_output_args(self) -> list[str]:
        args = [
            "-c:v",
            self.encoder,
            "-pix_fmt",
            "yuv420p",
            "-g",
            str(self.gop),
            "-bf",
            "0",
            "-b:v",
            str(self.bitrate_bps),
            "-maxrate",
            str(self.bitrate_bps),
            "-bufsize",
            str(self.vbv_bits),
        ]
        for key, value in self.private_options().items():
            args += [f"-{key}", value]
        return args

    def pyav_context(self):
        """A PyAV encoder context for the same settings (not opened yet)."""
        import av

        cc = av.CodecContext.create(self.encoder, "w")
        cc.width, cc.height = self.width, self.height
        cc.pix_fmt = "yuv420p"
        cc.time_base = Fraction(1, self.fps)
        cc.framerate = Fraction(self.fps, 1)
        cc.gop_size = self.gop
        cc.max_b_frames = 0
        cc.bit_rate = self.bitrate_bps
        cc.options = {
            **self.private_options(),
            "maxrate": str(self.bitrate_bps),
            "bufsize": str(self.vbv_bits),
        }
        return cc


# -- why a tool cannot use NVENC here -------------------------------------------------------


def _last_error_lines(stderr: str, count: int = 3) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "no message"


def videohw_unavailable() -> Optional[str]:
    """The BackendUnavailableError text of backend="nvidia", or None when it opens."""
    try:
        import videohw as vh
    except ImportError as e:
        return f"videohw is not importable ({e}); run scripts/dev_install.sh"
    try:
        vh.SessionController("nvidia")
    except vh.BackendUnavailableError as e:
        return f"BackendUnavailableError: {e}"
    return None


def ffmpeg_unavailable(settings: NvencSettings) -> Optional[str]:
    """None when the ffmpeg CLI can open ``settings.encoder`` here; else ffmpeg's words."""
    try:
        ffmpeg = bc.require("ffmpeg")
    except SystemExit as e:
        return str(e)
    encoders = subprocess.run(
        [ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True
    ).stdout
    if f" {settings.encoder} " not in encoders:
        return f"this ffmpeg ({bc.debian_ffmpeg_version()}) has no {settings.encoder} encoder"
    # Listed is not usable: the encoder loads the driver only when it opens.
    probe = subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"color=c=gray:s={settings.width}x{settings.height}:r={settings.fps}",
            "-frames:v",
            "1",
            *settings.ffmpeg_output_args(),
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if probe.returncode:
        return f"ffmpeg cannot open {settings.encoder}: {_last_error_lines(probe.stderr)}"
    return None


def pyav_unavailable(settings: NvencSettings) -> Optional[str]:
    """None when PyAV can open ``settings.encoder`` and encode a frame; else why not."""
    try:
        import av
    except ImportError:
        return "PyAV is not installed (.venv/bin/pip install av)"
    try:
        av.codec.Codec(settings.encoder, "w")
    except Exception as e:  # PyAV raises its own error types per version
        return f"PyAV {av.__version__}'s FFmpeg has no {settings.encoder} encoder ({e})"
    import av.logging
    import numpy as np

    # With FFmpeg logging on, PyAV appends the encoder's own last error ("Cannot load
    # libcuda.so.1", "OpenEncodeSessionEx failed: unsupported device") to the exception.
    level = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture():  # kept off stderr: the reason carries it
            cc = settings.pyav_context()
            frame = av.VideoFrame.from_ndarray(
                np.full((settings.height * 3 // 2, settings.width), 128, dtype=np.uint8),
                format="yuv420p",
            )
            cc.encode(frame)
            cc.encode(None)
    except Exception as e:
        return f"PyAV {av.__version__} cannot open {settings.encoder}: {e}"
    finally:
        av.logging.set_level(level)
    return None
