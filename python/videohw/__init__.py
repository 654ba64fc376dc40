"""videohw: hardware video encode sessions with explicit session control.

See docs/api.md. The compiled core is ``videohw._core`` (private).
"""

import atexit as _atexit

from . import _core
from ._ffmpeg_log import ffmpeg_log_stats, flush_ffmpeg_log, set_ffmpeg_log_level
from .contract import (
    Capabilities,
    Codec,
    CommonDecodeConfig,
    CommonEncodeConfig,
    DecodeCapabilities,
    DecodeOutputMode,
    DecoderSessionHandle,
    EncodedLayout,
    EncodedPacket,
    EncoderSessionHandle,
    Frame,
    NvidiaDecodeConfig,
    NvidiaEncodeConfig,
    PixelFormat,
    RateControl,
    RateControlMode,
    SessionState,
    SessionSwitchMode,
    SessionSwitchRequest,
    SoftwareDecodeConfig,
    SoftwareEncodeConfig,
    Telemetry,
    VtDecodeConfig,
    VtEncodeConfig,
)
from .controller import EncodeSession, SessionController, available_backends
from .decoder_cache import decoder_cache, release_decoder_cache, set_decoder_cache_limits
from .decoding import ColorInfo, DecodedFrame, DecodeSession
from .errors import (
    BackendUnavailableError,
    BackpressureError,
    ConfigError,
    DecodeError,
    EncodeError,
    InvalidFrameError,
    InvalidHandleError,
    InvalidMediaError,
    InvalidTypeError,
    MediaError,
    SessionClosedError,
    StaleSessionError,
    SwitchError,
    UnsupportedConfigError,
    VideoHwError,
)
from .media import MediaInfo, MediaPacket, MediaReader, StreamInfo, VideoStreamInfo, probe
from .reader import VideoReader
from .transcode import (
    Rung,
    Transcode,
    TranscodeOutput,
    TranscodeProgress,
    TranscodeReport,
    TranscodeSwitch,
    transcode,
)
from .transcoder import Transcoder
from .writer import MediaWriter, VideoWriter

__version__ = "0.1.0"

# At exit, before Python stops threads, wait for calls running in the core without the GIL:
# a daemon thread that took the GIL back during finalization would abort the process.
_atexit.register(_core._begin_shutdown)

__all__ = [
    "BackendUnavailableError",
    "BackpressureError",
    "ConfigError",
    "DecodeError",
    "EncodeError",
    "InvalidFrameError",
    "InvalidHandleError",
    "InvalidMediaError",
    "InvalidTypeError",
    "MediaError",
    "SessionClosedError",
    "StaleSessionError",
    "SwitchError",
    "UnsupportedConfigError",
    "VideoHwError",
    "Capabilities",
    "Codec",
    "CommonDecodeConfig",
    "CommonEncodeConfig",
    "DecodeCapabilities",
    "DecodeOutputMode",
    "DecoderSessionHandle",
    "EncodedLayout",
    "EncodedPacket",
    "EncoderSessionHandle",
    "Frame",
    "NvidiaDecodeConfig",
    "NvidiaEncodeConfig",
    "PixelFormat",
    "RateControl",
    "RateControlMode",
    "SessionState",
    "SessionSwitchMode",
    "SessionSwitchRequest",
    "SoftwareDecodeConfig",
    "SoftwareEncodeConfig",
    "Telemetry",
    "VtDecodeConfig",
    "VtEncodeConfig",
    "EncodeSession",
    "SessionController",
    "available_backends",
    "ColorInfo",
    "DecodedFrame",
    "DecodeSession",
    "decoder_cache",
    "release_decoder_cache",
    "set_decoder_cache_limits",
    "MediaInfo",
    "MediaPacket",
    "MediaReader",
    "StreamInfo",
    "VideoStreamInfo",
    "probe",
    "VideoReader",
    "MediaWriter",
    "VideoWriter",
    "Rung",
    "Transcode",
    "TranscodeOutput",
    "TranscodeProgress",
    "TranscodeReport",
    "TranscodeSwitch",
    "Transcoder",
    "transcode",
    "ffmpeg_log_stats",
    "flush_ffmpeg_log",
    "set_ffmpeg_log_level",
]
