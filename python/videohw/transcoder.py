"""``vh.Transcoder``: a transcode fed packet by packet (a network source) and read packet by
packet, on the same stage threads as ``vh.transcode`` (docs/transcode.md, Incremental)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Optional, Union

from . import _args, _convert, _core
from .contract import (
    BackendEncodeConfig,
    Codec,
    CommonEncodeConfig,
    EncodedLayout,
    EncodedPacket,
)
from .controller import SessionController
from .errors import BackpressureError, ConfigError, InvalidTypeError
from .transcode import (
    Rung,
    TranscodeReport,
    TranscodeSwitch,
    _resolve_backends,
    _rung_common,
    core_switch_tuples,
)

BytesLike = Union[bytes, bytearray, memoryview]


class Transcoder:
    """Push the packets of one video stream as they arrive; pull each output's packets.

    ``codec``: the input's codec. ``layout``: ``ANNEX_B`` (start codes; parameter sets in
    band) or ``AVCC`` / ``HVCC`` with ``extradata`` (the avcC / hvcC record). ``time_base``:
    the units of the pushed pts / dts; pulled packets carry the same timeline. The outputs:
    ``common`` alone, or one per ``rungs`` entry (``common`` with the rung's size and rate).

        with vh.Transcoder(vh.Codec.H264, common) as tc:
            for data, pts in network_packets():
                tc.push(data, pts)
                send(tc.pull())              # whatever is ready, never waits
            tc.end()
            while not tc.done:
                send(tc.pull(timeout=0.1))
            report = tc.close()

    Every queue is bounded (``queue_packets`` in and per output): a push finds room once
    packets are pulled, so one thread that pushes and pulls in turn never waits forever
    (``push(block=False)`` raises ``BackpressureError`` instead of waiting).
    """

    def __init__(
        self,
        codec: Union[Codec, str],
        common: CommonEncodeConfig,
        *,
        layout: Union[EncodedLayout, str] = EncodedLayout.ANNEX_B,
        extradata: bytes = b"",
        time_base: Fraction = Fraction(1, 90_000),
        rungs: Optional[Sequence[Rung]] = None,
        switches: Sequence[TranscodeSwitch] = (),
        backend: str = "auto",
        backend_config: Optional[BackendEncodeConfig] = None,
        decode_backend: Optional[str] = None,
        gpu_transform: bool = True,
        queue_packets: int = 128,
    ) -> None:
        call = "Transcoder"
        codec = _args.member(call, "codec", Codec, codec)
        layout = _args.member(call, "layout", EncodedLayout, layout)
        _args.instance(call, "common", common, (CommonEncodeConfig,))
        _args.instance(call, "extradata", extradata, (bytes,))
        if layout is not EncodedLayout.ANNEX_B and not extradata:
            raise ConfigError(f"{call}: layout {layout.value} needs extradata (the codec record)")
        if not isinstance(time_base, Fraction) or time_base <= 0:
            raise InvalidTypeError(f"{call}: time_base {time_base!r}; expected a positive Fraction")
        queue = _args.integer(call, "queue_packets", queue_packets, 1, 1 << 20)
        backend, decode_backend = _resolve_backends(backend, decode_backend)
        configs = [_rung_common(common, r) for r in rungs] if rungs else [common]
        self._encode = SessionController(backend)
        decoder = SessionController._for_decoding(decode_backend)._decoder_provider(None, call)
        provider = self._encode._provider_for(backend_config)
        core_switches = core_switch_tuples(call, switches, len(configs), self._encode)
        self.configs = configs
        self.decode_backend = decoder.name
        self.encode_backend = provider.name
        self._ended = [False] * len(configs)
        self._input_ended = False
        self._closed = False
        self._report: Optional[TranscodeReport] = None
        self._graph = _core.TranscodeGraph.pushed(
            _convert._core_enum(_core.Codec, codec),
            _convert._core_enum(_core.EncodedLayout, layout),
            extradata,
            time_base.numerator,
            time_base.denominator,
            common.fps_num,
            common.fps_den,
            decoder,
            [("", _convert.common_encode_config(c), provider, None, True) for c in configs],
            core_switches,
            gpu_transform=_args.boolean(call, "gpu_transform", gpu_transform),
            queue_packets=queue,
        )
        self._started = time.monotonic()
        self._graph.start()

    # -- input ---------------------------------------------------------------------------

    def push(
        self,
        data: BytesLike,
        pts: Optional[int] = None,
        dts: Optional[int] = None,
        keyframe: bool = False,
        block: bool = True,
        timeout: Optional[float] = None,
    ) -> None:
        """Queues one packet (its bytes are copied). A full queue waits (``block``), up to
        ``timeout`` seconds, then raises ``BackpressureError`` with nothing taken."""
        self._check_open("push")
        if self._input_ended:
            raise ConfigError("Transcoder.push: end() was called; no more input is taken")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidTypeError(
                f"Transcoder.push: data is a {type(data).__name__}; expected bytes"
            )
        for name, value in (("pts", pts), ("dts", dts)):
            _args.integer("Transcoder.push", name, value, -(2**63) + 1, 2**63 - 1, optional=True)
        wait = -1.0 if block and timeout is None else (float(timeout) if block and timeout else 0.0)
        if not self._graph.push(bytes(data), pts, dts, bool(keyframe), wait):
            if self._graph.stopping():
                self._graph.wait(-1.0)  # the stages end at once: their error is the answer
                self._graph_failed("push")
            raise BackpressureError(
                "Transcoder.push: the input queue is full; pull the outputs' packets, then "
                "push again"
            )

    def end(self) -> None:
        """No more input: what is queued is transcoded, then the outputs end."""
        self._check_open("end")
        if not self._input_ended:
            self._input_ended = True
            self._graph.end_input()

    # -- output --------------------------------------------------------------------------

    def pull(
        self, rung: int = 0, max_packets: int = 0, timeout: float = 0.0
    ) -> list[EncodedPacket]:
        """Packets of output ``rung`` that are ready (up to ``max_packets``; 0: all), waiting
        up to ``timeout`` seconds for the first. Timestamps are on the pushed timeline."""
        self._check_open("pull")
        _args.integer("Transcoder.pull", "rung", rung, 0, len(self.configs) - 1)
        _args.integer("Transcoder.pull", "max_packets", max_packets, 0, 1 << 30)
        raw, ended = self._graph.pull(rung, max_packets, float(timeout))
        if not raw and not ended and self._graph.wait(0):
            # The output may have ended between that pull and the stages' end: look again
            # before calling it a failure.
            raw, ended = self._graph.pull(rung, max_packets, 0.0)
            if not raw and not ended:
                self._graph_failed("pull")
        self._ended[rung] = ended
        return _convert.packets(raw)

    @property
    def done(self) -> bool:
        """Every output has ended and every packet was pulled."""
        return all(self._ended)

    def progress(self) -> dict[str, Any]:
        return dict(self._graph.progress())

    # -- the end -------------------------------------------------------------------------

    def close(self) -> TranscodeReport:
        """Ends the input, waits for the outputs (packets not pulled are dropped) and
        reports; raises the transcode's error if it failed."""
        if self._report is not None:
            return self._report
        self._check_open("close")
        self.end()
        while not self._graph.wait(0.05):
            for rung in range(len(self.configs)):
                self._graph.pull(rung, 0, 0.0)  # whatever nobody pulled: the stages must finish
        self._closed = True
        from .transcode import _report_from

        self._report = _report_from(
            self._graph.finish(),
            source="pushed input",
            outputs=[(f"rung {i}", c) for i, c in enumerate(self.configs)],
            decode_backend=self.decode_backend,
            encode_backend=self.encode_backend,
            backend_note=None,
            fps=Fraction(self.configs[0].fps_num, self.configs[0].fps_den),
        )
        return self._report

    def cancel(self) -> None:
        """Stops every stage; close() then raises."""
        self._graph.cancel()

    def __enter__(self) -> Transcoder:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if self._closed:
            return
        if exc_type is None:
            self.close()
            return
        self.cancel()
        self._closed = True
        try:
            self._graph.finish()
        except Exception:  # already failing: the caller's exception is the one raised
            pass

    def _check_open(self, call: str) -> None:
        if self._closed:
            raise ConfigError(f"Transcoder.{call}: the transcoder is closed")

    def _graph_failed(self, call: str) -> None:
        """The stages ended early: raises their error (finish() does)."""
        self._closed = True
        self._graph.finish()
        raise ConfigError(f"Transcoder.{call}: the transcode has ended")
