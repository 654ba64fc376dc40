"""Writers of the encoded packets: Annex-B segment files, one per codec, or a container
through ``videohw.MediaWriter``; both record what each file holds for the summary and
``--verify``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from ._errors import EXIT_FAIL, CliError
from ._output import _PendingFile, refuse_input_as_output


def segment_path(output: str, number: int, codec: str) -> str:
    """The file of segment ``number`` (2, 3, ...): ``<stem>.seg<N>.<codec>`` beside ``output``
    (out.h264 -> out.seg2.hevc); segment 1 is ``output`` itself."""
    stem, _ = os.path.splitext(output)
    return f"{stem}.seg{number}.{codec}"


@dataclass
class _Segment:
    path: str
    codec: str
    bytes: int = 0  # the file's size once written (until then: the packets' bytes)
    stream_bytes: int = 0  # the encoded packets' bytes
    packet_generations: list = field(default_factory=list)  # (pts, generation), decode order
    # Frames by which a container writer moves the pictures after a switch to deeper
    # reordering later (docs/media_writer.md, Timestamps): its rule, replayed.
    delayed: int = 0
    _last_dts: Optional[int] = None

    def add(self, packet: Any) -> None:
        self.bytes += len(packet.data)
        self.stream_bytes += len(packet.data)
        self.packet_generations.append((packet.pts, packet.generation))
        dts = packet.dts + self.delayed
        if self._last_dts is not None and dts <= self._last_dts:
            self.delayed += self._last_dts + 1 - dts
            dts = self._last_dts + 1
        self._last_dts = dts


class _SegmentWriter:
    """Writes an Annex-B elementary stream to ``output`` until the codec changes, then to a
    new segment file per codec change: one elementary stream cannot hold H.264 and HEVC,
    and a codec switch is always a new session, so each segment starts with an IDR and its
    parameter sets. Every file is written under a temporary name and renamed by
    ``commit()``; ``discard()`` (a failure, Ctrl-C) leaves none of them."""

    format = "annexb"

    def __init__(
        self, output: str, codec: str, codec_of: dict, input_path: Optional[str] = None
    ) -> None:
        self._codec_of = codec_of  # generation -> codec value; the caller adds each switch's
        self._input = input_path
        self.segments: list[_Segment] = []
        self._files: list[_PendingFile] = []
        self._open(output, codec)  # now, so a bad -o fails before anything is encoded

    def _open(self, path: str, codec: str) -> None:
        flag = "-o" if not self.segments else "segment"
        refuse_input_as_output(self._input, path, flag)
        if self._files:
            self._files[-1].finish()
        self._files.append(_PendingFile(path, flag))
        self.segments.append(_Segment(path, codec))

    def write(self, packet: Any) -> None:
        codec = self._codec_of.get(packet.generation)
        if codec is None:
            raise CliError(
                f"a packet of generation {packet.generation}, which no --switch made", EXIT_FAIL
            )
        if codec != self.segments[-1].codec:
            self._open(segment_path(self.segments[0].path, len(self.segments) + 1, codec), codec)
        self._files[-1].write(packet.data)
        self.segments[-1].add(packet)

    def commit(self) -> list[str]:
        """Renames every segment to its final name; on a failure removes them all."""
        try:
            for f in self._files:
                f.commit()
        except BaseException:
            self.discard()
            raise
        return [s.path for s in self.segments]

    def discard(self) -> None:
        for f in self._files:
            f.discard()


class _ContainerWriter:
    """MP4, fragmented MP4, Matroska or MPEG-TS through ``videohw.MediaWriter``, which cuts
    segments itself (docs/media_writer.md): MP4 and Matroska where the parameter sets
    change, MPEG-TS where the codec changes. The same interface as :class:`_SegmentWriter`."""

    def __init__(
        self, vh: Any, output: str, fmt: str, common: Any, input_path: Optional[str] = None
    ) -> None:
        self._vh = vh
        self._input = input_path
        self.format = fmt
        try:
            self._writer = vh.MediaWriter(
                output,
                common.codec,
                common.width,
                common.height,
                common.fps_num,
                common.fps_den,
                format=fmt,
            )
        except vh.MediaError as exc:
            raise CliError(self._named(output, exc, "-o"), EXIT_FAIL) from exc
        self.segments: list[_Segment] = []

    @staticmethod
    def _named(path: str, exc: Exception, flag: str = "") -> str:
        text = str(exc)
        return text if path in text else f"{flag + ' ' if flag else ''}{path}: {text}"

    def write(self, packet: Any) -> None:
        try:
            self._writer.write_packet(packet)
        except self._vh.VideoHwError as exc:
            raise CliError(self._named(self._writer.path, exc), EXIT_FAIL) from exc
        infos = self._writer.segments
        while len(self.segments) < len(infos):  # the writer started a file
            info = infos[len(self.segments)]
            refuse_input_as_output(self._input, info.path, "-o" if not self.segments else "segment")
            self.segments.append(_Segment(info.path, info.codec.value))
        self.segments[-1].add(packet)

    def commit(self) -> list[str]:
        """Finishes and renames every file (MediaWriter.close); their sizes become the
        segments' bytes."""
        try:
            paths = self._writer.close()
        except self._vh.VideoHwError as exc:
            raise CliError(self._named(self._writer.path, exc), EXIT_FAIL) from exc
        for segment in self.segments:
            try:
                segment.bytes = os.path.getsize(segment.path)
            except OSError as exc:
                raise CliError(f"{segment.path}: {exc.strerror or exc}", EXIT_FAIL) from exc
        return paths

    def discard(self) -> None:
        self._writer.abort()


def _open_output(
    vh: Any, output: str, fmt: str, common: Any, codec_of: dict, input_path: Optional[str]
) -> Any:
    if fmt == "annexb":
        return _SegmentWriter(output, common.codec.value, codec_of, input_path)
    return _ContainerWriter(vh, output, fmt, common, input_path)
