"""The encode loop: submits every frame, applies the switches, writes packets as they are
reaped, and leaves no output file behind on a failure or an interrupt."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import synthetic
from ..progress import ProgressBar
from ._errors import CliError
from ._input import _Input
from ._segments import _open_output


@dataclass
class _EncodeResult:
    packets: int
    bytes: int
    keyframes: list
    api_s: float
    wall_s: float
    telemetry: dict
    packet_generations: list = field(default_factory=list)  # (pts, generation), decode order
    switches: list = field(default_factory=list)  # (generation, in_place, reopened) per switch
    generation_bytes: dict = field(default_factory=dict)  # generation -> bytes written
    segments: list = field(default_factory=list)  # _Segment per file written, in order
    paths: list = field(default_factory=list)  # the files written (final names), in order


def _encode(
    vh: Any,
    ctl: Any,
    common: Any,
    backend_cfg: Any,
    source: _Input,
    fmt: Any,
    forced: Sequence[int],
    output: str,
    progress: bool,
    switches: Sequence[tuple] = (),
    out_format: str = "annexb",
) -> _EncodeResult:
    """Submits every frame, writing packets as they are reaped; closes the session and
    renames the output into place. On any failure or interrupt no output file is left.
    ``switches``: (SwitchSpec, target config) pairs, applied just before their frame."""
    forced_set = set(forced)
    by_frame = {sw.frame: (sw, target) for sw, target in switches}
    n_packets = n_bytes = 0
    keyframes: list[int] = []
    packet_generations: list[tuple[int, int]] = []
    generation_bytes: dict[int, int] = {}
    switch_paths: list[tuple[int, bool, bool]] = []
    codec_of = {1: common.codec.value}
    generators: dict = {}
    api_s = 0.0

    def picture(i: int, array: np.ndarray) -> np.ndarray:
        """Frame i at the size the session expects now (synthetic input only changes size)."""
        if not by_frame or source.path is not None:
            return array
        state = ctl.session_state(handle)
        size = (
            (state["pending_width"], state["pending_height"])
            if i in forced_set and state["pending_width"]
            else (state["width"], state["height"])
        )
        if size == (source.width, source.height):
            return array
        if size not in generators:
            generators[size] = synthetic.generator(size[0], size[1], source.format)
        return generators[size].frame(i)

    def write(packets: list) -> None:
        nonlocal n_packets, n_bytes
        for p in packets:
            packet_generations.append((p.pts, p.generation))
            generation_bytes[p.generation] = generation_bytes.get(p.generation, 0) + len(p.data)
            out.write(p)
            n_packets += 1
            n_bytes += len(p.data)
            if p.is_keyframe:
                keyframes.append(p.pts)

    # The file first, so a bad -o fails before any encoder starts.
    out = _open_output(vh, output, out_format, common, codec_of, source.path)
    try:
        handle = ctl.start_encode_session(common, backend_cfg)
    except BaseException as exc:
        out.discard()
        if isinstance(exc, vh.ConfigError):
            raise CliError(str(exc)) from exc
        raise
    wall0 = time.perf_counter()
    closed = False
    try:
        with ProgressBar(
            source.n_frames, label="encode", enabled=None if progress else False
        ) as bar:
            for i, array in enumerate(source.frames()):
                t0 = time.perf_counter()
                if i in by_frame:
                    sw, target = by_frame[i]
                    before = ctl.telemetry(handle)
                    try:
                        handle = ctl.switch_encode_session(
                            handle,
                            vh.SessionSwitchRequest(
                                target=(target, None),
                                mode=vh.SessionSwitchMode(sw.mode),
                                force_idr_on_activate=sw.idr,
                            ),
                        )
                    except vh.ConfigError as exc:
                        raise CliError(f"--switch at frame {i}: {exc}") from exc
                    after = ctl.telemetry(handle)
                    codec_of[handle.generation] = target.codec.value
                    # A drain that ended the stream: software reopens, NVENC sends EOS.
                    restarts = lambda t: t["encoder_reopens"] + t["stream_restarts"]  # noqa: E731
                    switch_paths.append(
                        (
                            handle.generation,
                            after["switches_in_place"] > before["switches_in_place"],
                            restarts(after) > restarts(before),
                        )
                    )
                frame = vh.Frame(picture(i, array), fmt, pts=i, force_keyframe=i in forced_set)
                ctl.submit(handle, frame)
                packets = ctl.reap(handle)
                api_s += time.perf_counter() - t0
                write(packets)
                bar.update()
            bar.close()
            t0 = time.perf_counter()
            closed = True
            packets = ctl.close_encode_session(handle)
            api_s += time.perf_counter() - t0
            write(packets)
        paths = out.commit()
    except BaseException:
        out.discard()  # an error or an interrupt: no file under the requested names
        raise
    finally:
        if not closed:  # release the session, keep the cause
            try:
                ctl.close_encode_session(handle)
            except vh.VideoHwError:
                pass
    return _EncodeResult(
        n_packets,
        n_bytes,
        sorted(keyframes),
        api_s,
        time.perf_counter() - wall0,
        ctl.telemetry(handle),
        packet_generations,
        switch_paths,
        generation_bytes,
        out.segments,
        paths,
    )
