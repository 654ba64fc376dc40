"""Where a long input is cut for parallel transcoding: at source keyframes, so that every
segment decodes on its own, and only at keyframes where the single-process transcode would
put an output keyframe too, so that the joined output has its keyframes where that
transcode has them."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from ..media import MediaReader


@dataclass(frozen=True)
class Segment:
    """Video packets from the keyframe at ``start_pts`` up to the keyframe at ``end_pts``
    (None: to the end); ``first_frame`` and ``frames`` count in display order."""

    index: int
    start_pts: int
    start_dts: Optional[int]
    start_pos: int
    end_pts: Optional[int]
    first_frame: int
    frames: int

    def core_range(self) -> tuple[Optional[int], Optional[int], Optional[int], Optional[int]]:
        """(start_pts, start_dts, start_pos, end_pts) for ``_core.TranscodeGraph(range=)``."""
        return (self.start_pts, self.start_dts, self.start_pos, self.end_pts)


@dataclass(frozen=True)
class _Key:
    pts: int
    dts: Optional[int]
    pos: int
    frame: int  # display index


def plan_segments(
    path: str,
    stream: int,
    time_base: Fraction,
    segment_seconds: float,
    gop_length: int,
) -> tuple[list[Segment], str]:
    """The segments of ``path`` and a note saying how they were chosen (or why the input
    goes whole: then the list holds one segment covering it)."""
    pts_all: list[int] = []
    keys: list[tuple[int, Optional[int], int]] = []
    with MediaReader(path, stream=stream) as reader:
        for packet in reader:
            if packet.pts is None or packet.discard:
                return [], "a packet without a time (cannot cut by time)"
            pts_all.append(packet.pts)
            if packet.is_keyframe:
                keys.append((packet.pts, packet.dts, packet.pos))
    if not pts_all:
        return [], "no video packets"
    order = sorted(pts_all)
    if len(set(order)) != len(order):
        return [], "repeated timestamps"
    index_of = {pts: i for i, pts in enumerate(order)}
    # A cut must be a keyframe that a GOP of `gop_length` frames counted from frame 0 also
    # starts: then every segment's own GOP schedule lands where the whole file's does.
    candidates = [
        _Key(pts, dts, pos, index_of[pts])
        for pts, dts, pos in keys
        if index_of[pts] % max(1, gop_length) == 0
    ]
    if not candidates or candidates[0].frame != 0:
        return [], "the first frame is not a keyframe"
    seconds = [(k.pts - order[0]) * float(time_base) for k in candidates]
    cuts = [candidates[0]]
    for key, at in zip(candidates, seconds):
        if at - (cuts[-1].pts - order[0]) * float(time_base) >= segment_seconds:
            cuts.append(key)
    # A last piece shorter than half a segment joins the one before it.
    end_seconds = (order[-1] - order[0]) * float(time_base)
    if len(cuts) > 1 and end_seconds - (cuts[-1].pts - order[0]) * float(time_base) < (
        segment_seconds / 2
    ):
        cuts.pop()
    segments = []
    for i, key in enumerate(cuts):
        end = cuts[i + 1].pts if i + 1 < len(cuts) else None
        last = bisect.bisect_left(order, end) if end is not None else len(order)
        segments.append(
            Segment(
                index=i,
                start_pts=key.pts,
                start_dts=key.dts,
                start_pos=key.pos,
                end_pts=end,
                first_frame=key.frame,
                frames=last - key.frame,
            )
        )
    note = (
        f"{len(segments)} segments at keyframes {[s.first_frame for s in segments]}"
        if len(segments) > 1
        else "one segment (no keyframe on the output's GOP grid past the first)"
    )
    return segments, note
