"""FFmpeg's own log lines (docs/logging.md): never printed by the library, records of the
logger ``videohw.ffmpeg`` at the matching levels, counted per session in telemetry, bounded
under a flood, and safe at interpreter exit and across fork."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import videohw as vh
from conftest import common, encode_frames, make_frame, stream_of
from videohw import _ffmpeg_log

HERE = os.path.dirname(os.path.abspath(__file__))
LOGGER = "videohw.ffmpeg"


# ---- streams that make FFmpeg talk -------------------------------------------------------


def damaged_h264(ctl: vh.SessionController) -> list[bytes]:
    """Access units of 12 frames (GOP 4) whose sixth, a P picture, is cut in half: libavcodec
    logs "error while decoding MB" (ERROR) and "concealing ..." (INFO)."""
    frames = [make_frame(vh.PixelFormat.I420, 128, 96, t, pts=t) for t in range(12)]
    packets = encode_frames(ctl, common(vh.Codec.H264, 128, 96, gop_length=4), frames)
    units = [p.data for p in packets]
    units[5] = units[5][: len(units[5]) // 2]
    return units


def garbage_hevc_slices(count: int = 50) -> bytes:
    """TRAIL_R slices of random bytes: "Error parsing NAL unit" (WARNING) and errors."""
    rng = np.random.default_rng(1)
    return b"".join(
        b"\x00\x00\x00\x01\x02\x01" + rng.integers(0, 256, 40, np.uint8).tobytes()
        for _ in range(count)
    )


def garbage_h264_slices(count: int) -> bytes:
    """IDR slices of random bytes without parameter sets: one or more errors each."""
    rng = np.random.default_rng(2)
    return b"".join(
        b"\x00\x00\x00\x01\x65" + rng.integers(0, 256, 40, np.uint8).tobytes() for _ in range(count)
    )


def decode(ctl: vh.SessionController, units, codec: vh.Codec = vh.Codec.H264, **software) -> dict:
    """Pushes every unit (DecodeErrors are expected), closes, returns the telemetry."""
    h = ctl.start_decode_session(
        vh.CommonDecodeConfig(codec=codec),
        vh.SoftwareDecodeConfig(**software) if software else None,
    )
    for unit in units:
        try:
            ctl.push_bitstream(h, unit)
        except vh.DecodeError:
            pass
        ctl.reap(h)
    try:
        ctl.close_decode_session(h)
    except vh.DecodeError:
        pass
    return ctl.telemetry(h)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def ffmpeg(self, level: int, component: str) -> list[logging.LogRecord]:
        return [
            r
            for r in self.records
            if r.levelno == level and getattr(r, "ffmpeg_component", None) == component
        ]


@pytest.fixture
def records():
    """A handler on videohw.ffmpeg that sees only lines logged during the test."""
    vh.set_ffmpeg_log_level(logging.WARNING)
    vh.flush_ffmpeg_log()
    handler = Records()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    vh.set_ffmpeg_log_level(logging.WARNING)
    vh.flush_ffmpeg_log()


def run_python(code: str, env: dict | None = None, timeout: float = 120):
    """Runs ``code`` in a fresh interpreter next to these tests (the installed package)."""
    full_env = dict(os.environ)
    full_env.pop("VIDEOHW_FFMPEG_LOG_LEVEL", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=HERE,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ---- quiet by default ----------------------------------------------------------------------


def test_damaged_stream_prints_nothing_of_ffmpeg_to_stderr_by_default():
    proc = run_python("""
        import videohw as vh
        from test_ffmpeg_logging import damaged_h264, decode
        ctl = vh.SessionController("software")
        print(decode(ctl, damaged_h264(ctl))["ffmpeg_errors"])
    """)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) >= 1  # FFmpeg did complain ...
    assert proc.stderr == ""  # ... to no one


def test_application_that_configures_logging_sees_ffmpeg_errors():
    proc = run_python("""
        import logging
        logging.basicConfig()
        import videohw as vh
        from test_ffmpeg_logging import damaged_h264, decode
        ctl = vh.SessionController("software")
        decode(ctl, damaged_h264(ctl))
    """)
    assert proc.returncode == 0, proc.stderr
    errors = [
        line
        for line in proc.stderr.splitlines()
        if line.startswith("ERROR:videohw.ffmpeg:[h264 @ ")
    ]
    assert errors and "error while decoding MB" in errors[0], proc.stderr
    assert "concealing" not in proc.stderr  # INFO: below the logger's WARNING


def test_library_adds_a_null_handler_and_starts_at_warning():
    proc = run_python("""
        import logging, videohw as vh
        handlers = logging.getLogger("videohw.ffmpeg").handlers
        print(any(isinstance(h, logging.NullHandler) for h in handlers))
        print(logging.getLogger("videohw.ffmpeg").level, vh.ffmpeg_log_stats()["level"])
        print(vh.ffmpeg_log_stats()["forwarder_running"])
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", str(logging.WARNING), "24", "False"]


def test_forwarder_starts_with_the_first_line_and_names_its_thread():
    proc = run_python("""
        import logging, time, videohw as vh
        from test_ffmpeg_logging import damaged_h264, decode, Records
        handler = Records()
        logging.getLogger("videohw.ffmpeg").addHandler(handler)
        ctl = vh.SessionController("software")
        decode(ctl, damaged_h264(ctl))
        deadline = time.monotonic() + 30
        while not handler.records and time.monotonic() < deadline:
            time.sleep(0.01)  # no flush: the forwarder brings them
        print(vh.ffmpeg_log_stats()["forwarder_running"], handler.records[0].threadName)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "videohw-ffmpeg-log"]


# ---- records and levels --------------------------------------------------------------------


def test_errors_arrive_as_records_of_videohw_ffmpeg_with_their_component(ctl, records):
    decode(ctl, damaged_h264(ctl))
    vh.flush_ffmpeg_log()
    errors = records.ffmpeg(logging.ERROR, "h264")
    assert errors, [r.getMessage() for r in records.records]
    record = errors[0]
    assert record.name == LOGGER
    assert record.ffmpeg_level == _ffmpeg_log.AV_LOG_ERROR
    assert record.getMessage().startswith("[h264 @ 0x")
    assert "error while decoding MB" in record.getMessage()
    assert not record.getMessage().endswith("\n")


def test_every_level_maps_onto_its_logging_level(ctl, records):
    vh.set_ffmpeg_log_level("DEBUG")
    decode(ctl, damaged_h264(ctl))
    decode(ctl, [garbage_hevc_slices()], vh.Codec.HEVC)
    vh.flush_ffmpeg_log()
    seen = {r.levelno for r in records.records}
    assert {logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG} <= seen
    for r in records.records:
        assert r.levelno == _ffmpeg_log.python_level(r.ffmpeg_level), r.getMessage()


@pytest.mark.parametrize(
    "av, level",
    [
        (_ffmpeg_log.AV_LOG_PANIC, logging.CRITICAL),
        (_ffmpeg_log.AV_LOG_FATAL, logging.CRITICAL),
        (_ffmpeg_log.AV_LOG_ERROR, logging.ERROR),
        (_ffmpeg_log.AV_LOG_WARNING, logging.WARNING),
        (_ffmpeg_log.AV_LOG_INFO, logging.INFO),
        (_ffmpeg_log.AV_LOG_VERBOSE, logging.DEBUG),
        (_ffmpeg_log.AV_LOG_DEBUG, logging.DEBUG),
        (_ffmpeg_log.AV_LOG_TRACE, _ffmpeg_log.TRACE),
    ],
)
def test_av_level_maps_to_logging_level(av, level):
    assert _ffmpeg_log.python_level(av) == level


@pytest.mark.parametrize(
    "level, av",
    [
        (logging.CRITICAL, _ffmpeg_log.AV_LOG_FATAL),
        (logging.ERROR, _ffmpeg_log.AV_LOG_ERROR),
        (logging.WARNING, _ffmpeg_log.AV_LOG_WARNING),
        (logging.INFO, _ffmpeg_log.AV_LOG_INFO),
        (logging.DEBUG, _ffmpeg_log.AV_LOG_DEBUG),
        (_ffmpeg_log.TRACE, _ffmpeg_log.AV_LOG_TRACE),
        (25, _ffmpeg_log.AV_LOG_WARNING),
        (logging.CRITICAL + 1, _ffmpeg_log.AV_LOG_QUIET),
    ],
)
def test_ffmpeg_formats_exactly_what_a_logger_at_that_level_keeps(level, av):
    assert _ffmpeg_log.av_level(level) == av


def test_default_level_formats_no_info_line(ctl, records):
    before = vh.ffmpeg_log_stats()["lines"]
    # libx264 reports its settings at INFO on every open and close.
    encode_frames(ctl, common(), [make_frame(vh.PixelFormat.I420, 64, 48, t) for t in range(3)])
    assert vh.ffmpeg_log_stats()["lines"] == before
    vh.set_ffmpeg_log_level(logging.INFO)
    encode_frames(ctl, common(), [make_frame(vh.PixelFormat.I420, 64, 48, t) for t in range(3)])
    vh.flush_ffmpeg_log()
    assert records.ffmpeg(logging.INFO, "libx264")


def test_set_ffmpeg_log_level_moves_the_logger_and_ffmpeg_together(records):
    logger = logging.getLogger(LOGGER)
    for level, logger_level, av in [
        ("info", logging.INFO, 32),
        (logging.ERROR, logging.ERROR, 16),
        ("TRACE", _ffmpeg_log.TRACE, 56),
        (35, 35, 16),
    ]:
        vh.set_ffmpeg_log_level(level)
        assert (logger.level, vh.ffmpeg_log_stats()["level"]) == (logger_level, av)
    with pytest.raises(ValueError, match="not a logging level name"):
        vh.set_ffmpeg_log_level("loud")
    with pytest.raises(TypeError):
        vh.set_ffmpeg_log_level(True)


@pytest.mark.parametrize(
    "env, logger_level, av",
    [
        ("info", logging.INFO, 32),
        ("40", logging.DEBUG, 40),
        ("quiet", logging.CRITICAL + 1, -8),
    ],
)
def test_environment_variable_sets_the_initial_level(env, logger_level, av):
    proc = run_python(
        """
        import logging, videohw as vh
        print(logging.getLogger("videohw.ffmpeg").level, vh.ffmpeg_log_stats()["level"])
    """,
        env={"VIDEOHW_FFMPEG_LOG_LEVEL": env},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(logger_level), str(av)]


def test_environment_variable_that_is_no_level_is_ignored_with_a_warning():
    proc = run_python(
        """
        import logging, videohw as vh
        print(logging.getLogger("videohw.ffmpeg").level, vh.ffmpeg_log_stats()["level"])
    """,
        env={"VIDEOHW_FFMPEG_LOG_LEVEL": "loud"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(logging.WARNING), "24"]
    assert "VIDEOHW_FFMPEG_LOG_LEVEL='loud' is not an FFmpeg log level" in proc.stderr


def test_level_an_application_set_before_import_stands():
    proc = run_python("""
        import logging
        logging.getLogger("videohw.ffmpeg").setLevel(logging.INFO)
        import videohw as vh
        print(logging.getLogger("videohw.ffmpeg").level, vh.ffmpeg_log_stats()["level"])
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(logging.INFO), "32"]


def test_record_time_is_when_ffmpeg_logged_the_line(ctl, records):
    start = time.time()
    decode(ctl, damaged_h264(ctl))
    logged = time.time()
    time.sleep(0.2)
    vh.flush_ffmpeg_log()
    error = records.ffmpeg(logging.ERROR, "h264")[0]
    assert start <= error.created <= logged


# ---- telemetry -----------------------------------------------------------------------------


def test_telemetry_counts_the_ffmpeg_errors_of_its_own_session(ctl, records):
    damaged = damaged_h264(ctl)
    clean = [
        p.data
        for p in encode_frames(
            ctl,
            common(vh.Codec.H264, 128, 96, gop_length=4),
            [make_frame(vh.PixelFormat.I420, 128, 96, t) for t in range(12)],
        )
    ]
    bad = ctl.start_decode_session(vh.CommonDecodeConfig())
    good = ctl.start_decode_session(vh.CommonDecodeConfig())
    for bad_unit, good_unit in zip(damaged, clean):  # both sessions live at once
        try:
            ctl.push_bitstream(bad, bad_unit)
        except vh.DecodeError:
            pass
        ctl.push_bitstream(good, good_unit)
    ctl.close_decode_session(bad)
    ctl.close_decode_session(good)
    vh.flush_ffmpeg_log()
    t_bad, t_good = ctl.telemetry(bad), ctl.telemetry(good)
    assert t_bad["ffmpeg_errors"] == len(records.ffmpeg(logging.ERROR, "h264")) >= 1
    assert (t_good["ffmpeg_warnings"], t_good["ffmpeg_errors"]) == (0, 0)


def test_telemetry_counts_ffmpeg_warnings(ctl, records):
    telemetry = decode(ctl, [garbage_hevc_slices()], vh.Codec.HEVC)
    vh.flush_ffmpeg_log()
    assert telemetry["ffmpeg_warnings"] == len(records.ffmpeg(logging.WARNING, "hevc")) >= 1
    assert telemetry["ffmpeg_errors"] == len(records.ffmpeg(logging.ERROR, "hevc")) >= 1


def test_counts_do_not_depend_on_the_log_level(ctl, records):
    vh.set_ffmpeg_log_level("CRITICAL")
    telemetry = decode(ctl, damaged_h264(ctl))
    vh.flush_ffmpeg_log()
    assert telemetry["ffmpeg_errors"] >= 1
    assert records.records == []


def test_lines_of_libavcodecs_frame_threads_arrive_and_count_for_their_session(ctl, records):
    telemetry = decode(ctl, damaged_h264(ctl), threads=4)
    vh.flush_ffmpeg_log()
    errors = records.ffmpeg(logging.ERROR, "h264")
    assert telemetry["ffmpeg_errors"] == len(errors) >= 1
    assert {r.ffmpeg_thread_id for r in errors} - {threading.get_native_id()}


def test_encode_telemetry_has_ffmpeg_counts(ctl):
    h = ctl.start_encode_session(common())
    ctl.submit(h, make_frame(vh.PixelFormat.I420, 64, 48, 0))
    ctl.close_encode_session(h)
    t = ctl.telemetry(h)
    assert (t["ffmpeg_warnings"], t["ffmpeg_errors"]) == (0, 0)


# ---- floods, exit, fork --------------------------------------------------------------------


def test_flood_is_bounded_and_the_drops_are_counted_and_reported(ctl, records):
    release = threading.Event()
    blocked = []

    class Stuck(logging.Handler):
        """A handler that cannot keep up: the first record holds the forwarder."""

        def emit(self, record):
            if not blocked:
                blocked.append(record)
                release.wait(60)

    stuck = Stuck()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(stuck)
    try:
        before = vh.ffmpeg_log_stats()
        telemetry = decode(ctl, [garbage_h264_slices(3000)])
        during = vh.ffmpeg_log_stats()
    finally:
        release.set()
        vh.flush_ffmpeg_log()
        logger.removeHandler(stuck)
    assert telemetry["ffmpeg_errors"] >= 3000  # all counted ...
    assert during["queued"] <= during["capacity"]  # ... few kept
    dropped = during["dropped"] - before["dropped"]
    assert dropped >= telemetry["ffmpeg_errors"] - 2 * during["capacity"]
    reports = [r for r in records.records if getattr(r, "ffmpeg_dropped", 0)]
    assert reports and reports[0].levelno == logging.WARNING
    assert "FFmpeg log lines were dropped" in reports[0].getMessage()


def test_exit_with_lines_queued_neither_hangs_nor_crashes():
    proc = run_python(
        """
        import logging, sys, time, videohw as vh
        from test_ffmpeg_logging import damaged_h264, garbage_h264_slices

        class Slow(logging.Handler):
            def emit(self, record):
                time.sleep(0.001)
                print(record.getMessage(), flush=True)

        logging.getLogger("videohw.ffmpeg").addHandler(Slow())
        vh.set_ffmpeg_log_level("DEBUG")
        ctl = vh.SessionController("software")
        h = ctl.start_decode_session(vh.CommonDecodeConfig(), vh.SoftwareDecodeConfig(threads=4))
        for unit in damaged_h264(ctl) + [garbage_h264_slices(2000)]:
            try:
                ctl.push_bitstream(h, unit)
            except vh.DecodeError:
                pass
        sys.exit(0)  # the session still open, its frame threads and the queue still busy
    """,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Fatal Python error" not in proc.stderr and "Traceback" not in proc.stderr
    assert "[h264 @ 0x" in proc.stdout


def test_lines_queued_at_exit_still_reach_the_handlers():
    proc = run_python("""
        import logging, videohw as vh
        from test_ffmpeg_logging import damaged_h264, decode
        handler = logging.StreamHandler(__import__("sys").stdout)
        logging.getLogger("videohw.ffmpeg").addHandler(handler)
        ctl = vh.SessionController("software")
        decode(ctl, damaged_h264(ctl))
    """)
    assert proc.returncode == 0, proc.stderr
    assert "error while decoding MB" in proc.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_forwards_its_own_lines():
    proc = run_python("""
        import logging, os, time, warnings, videohw as vh
        from test_ffmpeg_logging import damaged_h264, decode, Records
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running
        ctl = vh.SessionController("software")
        units = damaged_h264(ctl)
        decode(ctl, units)  # the parent's forwarder is running now
        pid = os.fork()
        if pid == 0:
            handler = Records()
            logging.getLogger("videohw.ffmpeg").addHandler(handler)
            errors = decode(vh.SessionController("software"), units)["ffmpeg_errors"]
            deadline = time.monotonic() + 30
            while len(handler.records) < errors and time.monotonic() < deadline:
                time.sleep(0.01)  # no flush: the child's own forwarder brings them
            os._exit(0 if errors >= 1 and len(handler.records) == errors else 3)
        print(os.waitpid(pid, 0)[1])
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0"]


# ---- the command line ----------------------------------------------------------------------


def _cli(*args: str):
    env = dict(os.environ)
    env.pop("VIDEOHW_FFMPEG_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-m", "videohw", *args],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def damaged_file(ctl, tmp_path):
    path = tmp_path / "damaged.h264"
    path.write_bytes(b"".join(damaged_h264(ctl)))
    return str(path)


def test_cli_decode_counts_ffmpeg_errors_in_its_summary(damaged_file):
    proc = _cli("decode", damaged_file, "--codec", "h264", "--progress", "off")
    assert proc.returncode == 0, proc.stderr
    summary = [line for line in proc.stdout.splitlines() if line.startswith("  ffmpeg:")]
    assert summary and summary[0].startswith("  ffmpeg: 0 warnings, ")
    assert summary[0].endswith(" errors (-v shows them)")
    assert "[h264 @" not in proc.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_cli_verbose_shows_ffmpeg_errors_on_stderr(damaged_file, where):
    args = ["decode", damaged_file, "--codec", "h264", "--progress", "off"]
    proc = _cli(*(["-v", *args] if where == "before" else [*args, "-v"]))
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("videohw: ffmpeg ")]
    assert lines and lines[0].startswith("videohw: ffmpeg error: [h264 @ 0x"), proc.stderr
    assert "concealing" not in proc.stderr  # info lines need -vv


def test_cli_clean_decode_has_no_ffmpeg_line(ctl, tmp_path):
    path = tmp_path / "clean.h264"
    path.write_bytes(
        stream_of(
            encode_frames(
                ctl, common(), [make_frame(vh.PixelFormat.I420, 64, 48, t) for t in range(4)]
            )
        )
    )
    proc = _cli("decode", str(path), "--codec", "h264", "--progress", "off", "-vv")
    assert proc.returncode == 0, proc.stderr
    assert "ffmpeg:" not in proc.stdout
    assert "videohw: ffmpeg error" not in proc.stderr
