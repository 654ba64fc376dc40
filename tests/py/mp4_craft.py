"""Minimal ISO-BMFF (MP4) box surgery for crafting hostile files in tests: parse a file into
boxes, change a few, write it back with every parent's size recomputed. Only what the bad
media tests need; files made by ffmpeg with the moov after the mdat (ffmpeg's default), so
resizing boxes inside moov never moves the media data the chunk offsets point at.

Also ``rewrite_h264_sps_size``: an H.264 SPS re-encoded with another picture size (exp-Golomb
fields rewritten bit by bit, emulation prevention redone).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Callable, Optional

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex", b"udta"}
SAMPLE_ENTRIES = {b"avc1", b"avc3", b"hvc1", b"hev1"}  # VisualSampleEntry: 78 header bytes


@dataclass
class Box:
    type: bytes
    payload: bytes = b""  # leaf boxes: everything after the header
    head: bytes = b""  # containers with a fixed header before children
    children: Optional[list] = None  # container boxes

    def find(self, *path: bytes) -> Iterator[Box]:
        """Every descendant at this path of types (children of children ...)."""
        if not path:
            yield self
            return
        for c in self.children or []:
            if c.type == path[0]:
                yield from c.find(*path[1:])

    def serialize(self) -> bytes:
        if self.children is None:
            body = self.payload
        else:
            body = self.head + b"".join(c.serialize() for c in self.children)
        return struct.pack(">I", 8 + len(body)) + self.type + body


def parse(data: bytes, start: int = 0, end: Optional[int] = None) -> list:
    end = len(data) if end is None else end
    boxes, pos = [], start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"box {kind!r} at {pos}: size {size} runs past {end}")
        body_start, body_end = pos + header, pos + size
        if kind in CONTAINERS:
            boxes.append(Box(kind, children=parse(data, body_start, body_end)))
        elif kind == b"stsd":
            boxes.append(
                Box(
                    kind,
                    head=data[body_start : body_start + 8],
                    children=parse(data, body_start + 8, body_end),
                )
            )
        elif kind in SAMPLE_ENTRIES:
            boxes.append(
                Box(
                    kind,
                    head=data[body_start : body_start + 78],
                    children=parse(data, body_start + 78, body_end),
                )
            )
        else:
            boxes.append(Box(kind, payload=data[body_start:body_end]))
        pos += size
    return boxes


def serialize(boxes: list) -> bytes:
    return b"".join(b.serialize() for b in boxes)


def top(boxes: list, kind: bytes) -> Box:
    return next(b for b in boxes if b.type == kind)


def video_trak(boxes: list) -> Box:
    for trak in top(boxes, b"moov").find(b"trak"):
        hdlr = next(trak.find(b"mdia", b"hdlr"))
        if hdlr.payload[8:12] == b"vide":
            return trak
    raise ValueError("no video trak")


def stbl(boxes: list) -> Box:
    return next(video_trak(boxes).find(b"mdia", b"minf", b"stbl"))


def child(parent: Box, kind: bytes) -> Box:
    return next(c for c in parent.children if c.type == kind)


def mdat_payload_offset(data: bytes) -> int:
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"mdat":
            return pos + (16 if size == 1 else 8)
        pos += size if size > 1 else struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
    raise ValueError("no mdat")


# ---- table boxes ----------------------------------------------------------------------------


def read_stco(box: Box) -> list[int]:
    count = struct.unpack(">I", box.payload[4:8])[0]
    return list(struct.unpack(f">{count}I", box.payload[8 : 8 + 4 * count]))


def write_stco(box: Box, offsets: list[int]) -> None:
    box.payload = box.payload[:4] + struct.pack(f">I{len(offsets)}I", len(offsets), *offsets)


def full_box(version_flags: int, *words: int) -> bytes:
    return struct.pack(f">I{len(words)}I", version_flags, *words)


# ---- H.264 SPS size rewrite -------------------------------------------------------------------


def _unescape(nal: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for b in nal:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _escape(rbsp: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.bits = "".join(f"{b:08b}" for b in data)
        self.pos = 0

    def u(self, n: int) -> int:
        v = int(self.bits[self.pos : self.pos + n] or "0", 2)
        self.pos += n
        return v

    def ue(self) -> int:
        zeros = 0
        while self.bits[self.pos] == "0":
            zeros += 1
            self.pos += 1
        self.pos += 1
        return (1 << zeros) - 1 + (self.u(zeros) if zeros else 0)


def _ue_bits(v: int) -> str:
    b = f"{v + 1:b}"
    return "0" * (len(b) - 1) + b


def rewrite_h264_sps_size(sps_nal: bytes, width_mbs: int, height_mbs: int) -> bytes:
    """The SPS NAL (header byte included, no start code) with pic_width_in_mbs and
    pic_height_in_map_units replaced (progressive streams) and cropping removed."""
    header, rbsp = sps_nal[:1], _unescape(sps_nal[1:])
    r = _Bits(rbsp)
    out = []

    def copy_u(n):
        out.append(f"{r.u(n):0{n}b}")

    def copy_ue():
        v = r.ue()
        out.append(_ue_bits(v))
        return v

    profile = r.u(8)
    out.append(f"{profile:08b}")
    copy_u(8)
    copy_u(8)
    copy_ue()  # seq_parameter_set_id
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        if copy_ue() == 3:  # chroma_format_idc
            copy_u(1)
        copy_ue()
        copy_ue()
        copy_u(1)
        if r.u(1):
            raise ValueError("SPS with scaling matrices: not supported here")
        out.append("0")
    copy_ue()  # log2_max_frame_num_minus4
    poc_type = copy_ue()
    if poc_type == 0:
        copy_ue()
    elif poc_type == 1:
        raise ValueError("pic_order_cnt_type 1: not supported here")
    copy_ue()  # max_num_ref_frames
    copy_u(1)  # gaps_in_frame_num_value_allowed_flag
    r.ue()
    r.ue()
    out.append(_ue_bits(width_mbs - 1) + _ue_bits(height_mbs - 1))
    frame_mbs_only = r.u(1)
    if not frame_mbs_only:
        raise ValueError("interlaced SPS: not supported here")
    out.append("1")
    copy_u(1)  # direct_8x8_inference_flag
    if r.u(1):  # frame_cropping_flag: drop the cropping
        for _ in range(4):
            r.ue()
    out.append("0")
    rest = r.bits[r.pos :]
    rest = rest[: rest.rindex("1")]  # up to (not including) the rbsp stop bit
    bits = "".join(out) + rest + "1"
    bits += "0" * (-len(bits) % 8)
    return header + _escape(bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)))


def rewrite_avcc_sps(avcc: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    """avcC payload with every SPS passed through ``edit``."""
    out = bytearray(avcc[:5])
    n_sps = avcc[5] & 0x1F
    out.append(avcc[5])
    pos = 6
    for _ in range(n_sps):
        size = struct.unpack(">H", avcc[pos : pos + 2])[0]
        sps = edit(avcc[pos + 2 : pos + 2 + size])
        out += struct.pack(">H", len(sps)) + sps
        pos += 2 + size
    out += avcc[pos:]
    return bytes(out)


def sample_sizes(table: Box) -> list[int]:
    stsz = child(table, b"stsz")
    fixed, count = struct.unpack(">II", stsz.payload[4:12])
    if fixed:
        return [fixed] * count
    return list(struct.unpack(f">{count}I", stsz.payload[12 : 12 + 4 * count]))


def rechunk(boxes: list, data: bytes, per_chunk: int) -> list[int]:
    """Re-describes the video samples (stored back to back from the start of the mdat, as
    ffmpeg writes a one-stream file) as chunks of ``per_chunk`` samples; returns the chunk
    offsets written to stco."""
    table = stbl(boxes)
    sizes = sample_sizes(table)
    offsets, pos = [], mdat_payload_offset(data)
    for i, size in enumerate(sizes):
        if i % per_chunk == 0:
            offsets.append(pos)
        pos += size
    child(table, b"stsc").payload = full_box(0, 1, 1, per_chunk, 1)
    write_stco(child(table, b"stco"), offsets)
    return offsets
