#!/usr/bin/env python3
"""Writes the fuzz seed corpus (tests/fuzz/corpus/<target>/) from real encoder output.

Encodes short libx264 and libx265 streams with the ffmpeg CLI (B-frames, several GOPs,
a size that needs cropping), remuxes them to MP4 for their avcC/hvcC records, and cuts
seeds in each target's input format (byte 0 selects codec and chunk/length size, see the
targets). fuzz_decode_session also gets libvpx-vp9 and libaom-av1 streams, and its seeds
are scripts of session calls (see fuzz_decode_session.cpp). File names are content hashes,
so a rerun with the same encoders changes nothing.

    python3 tests/fuzz/make_corpus.py [TARGET...]     # no TARGET: every target
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"

ENCODERS = {
    # codec bit, encoder arguments
    "h264": (0, ["-c:v", "libx264", "-bf", "2", "-g", "4", "-x264-params", "scenecut=0"]),
    "hevc": (
        1,
        [
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=error:bframes=2:keyint=4:min-keyint=4:scenecut=0",
        ],
    ),
}
SIZES = ["64x48", "66x50"]  # 66x50 is no multiple of 16 or 8: both codecs crop


def run(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units (without start codes and trailing zeros) of an Annex-B stream."""
    units, starts, i = [], [], 0
    while (i := data.find(b"\x00\x00\x01", i)) != -1:
        starts.append(i + 3)
        i += 3
    for n, s in enumerate(starts):
        end = starts[n + 1] - 3 if n + 1 < len(starts) else len(data)
        units.append(data[s:end].rstrip(b"\x00"))
    return [u for u in units if u]


def nal_type(codec: str, unit: bytes) -> int:
    return (unit[0] >> 1) & 0x3F if codec == "hevc" else unit[0] & 0x1F


def box(data: bytes, name: bytes) -> bytes:
    """Payload of the first MP4 box called `name` (the records sit deep in moov)."""
    at = data.find(name)
    if at < 4:
        raise RuntimeError(f"no {name!r} box")
    size = int.from_bytes(data[at - 4 : at], "big")
    return data[at + 4 : at - 4 + size]


def length_prefixed(units: list[bytes], size: int) -> bytes:
    return b"".join(len(u).to_bytes(size, "big") + u for u in units)


def write(target: str, seed: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(seed).hexdigest()[:16]).write_bytes(seed)


def bitstream_seeds(tmp: str) -> None:
    """Seeds of fuzz_assembler, fuzz_sps and fuzz_length_prefixed."""
    for codec, (bit, encoder) in ENCODERS.items():
        for size in SIZES:
            es = pathlib.Path(tmp, f"{codec}-{size}.{codec}")
            mp4 = pathlib.Path(tmp, f"{codec}-{size}.mp4")
            run(
                "-f",
                "lavfi",
                "-i",
                f"testsrc=size={size}:rate=10",
                "-frames:v",
                "10",
                *encoder,
                str(es),
            )
            run(
                "-i",
                str(es),
                "-c",
                "copy",
                "-tag:v",
                "hvc1" if codec == "hevc" else "avc1",
                str(mp4),
            )
            stream = es.read_bytes()
            units = split_annexb(stream)
            record = box(mp4.read_bytes(), b"hvcC" if codec == "hevc" else b"avcC")

            # Assembler: whole stream with a few chunk sizes (bits 1..7 of byte 0).
            for chunk_index in (0, 2, 5, 8):
                write("fuzz_assembler", bytes([bit | chunk_index << 1]) + stream)
            # Parameter sets and the start of each kind of slice.
            seen = set()
            for unit in units:
                kind = nal_type(codec, unit)
                if kind not in seen:
                    seen.add(kind)
                    write("fuzz_sps", bytes([bit]) + unit[:64])
            # Length-prefixed samples, Annex-B samples and the decoder config record.
            for length_index, length_size in ((0, 1), (1, 2), (2, 4)):
                small = [u for u in units if len(u) < 1 << (8 * length_size)]
                write(
                    "fuzz_length_prefixed",
                    bytes([bit | length_index << 1]) + length_prefixed(small[:6], length_size),
                )
            write("fuzz_length_prefixed", bytes([bit | 2 << 1]) + stream[:2048])
            write("fuzz_length_prefixed", bytes([bit]) + record)


# ---- fuzz_decode_session: scripts of DecodeSession calls ---------------------------------

H264, HEVC, VP9, AV1 = range(4)  # byte 0, bits 0-1
METADATA, NATIVE, RGB = range(3)  # byte 0, bits 2-3
PUSH, UNIT, REAP, FLUSH, DRAIN, RESET, SWITCH, HANDLES, CLOSE = range(9)  # opcodes
MAX_CHUNK = 4096  # the target caps a push at this
WIDTH_64 = 2  # limits: max_width 64, max_height 512

SESSION_ENCODERS = {
    # codec number, encoder arguments, raw stream suffix, record box in MP4 (a decode
    # session takes one for AVCC / HVCC input only), then the pixel formats: the main
    # seeds' one first (8-bit 4:2:0, 10-bit, 4:4:4), then others that only a short stream
    # gets, so every output path (native planes, RGB conversion) sees 4:0:0 to 4:4:4 and
    # 8 to 12 bits.
    "h264": (
        H264,
        ENCODERS["h264"][1] + ["-crf", "36"],
        "h264",
        b"avcC",
        ["yuv420p", "yuv422p10le", "gray"],
    ),
    # info=0: no x265 settings SEI (2 KB of text) in front of the first picture.
    "hevc": (
        HEVC,
        [
            "-c:v",
            "libx265",
            "-crf",
            "36",
            "-x265-params",
            "log-level=error:bframes=2:keyint=4:min-keyint=4:scenecut=0:info=0",
        ],
        "hevc",
        b"hvcC",
        ["yuv420p10le", "gray", "yuv422p12le"],
    ),
    "vp9": (
        VP9,
        ["-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "8", "-g", "4", "-b:v", "50k"],
        "ivf",
        None,
        ["yuv444p", "yuv420p12le", "yuv440p"],
    ),
    "av1": (
        AV1,
        ["-c:v", "libaom-av1", "-cpu-used", "8", "-g", "4", "-b:v", "50k"],
        "ivf",
        None,
        ["yuv420p", "gray", "yuv444p10le"],
    ),
}


def packets(path: pathlib.Path) -> list[bytes]:
    """The stream's packets as its demuxer cuts them (raw H.264/HEVC: access units)."""
    data = path.read_bytes()
    if path.suffix == ".ivf":  # ffprobe's pos is the frame header's, not the payload's
        out, at = [], int.from_bytes(data[6:8], "little")
        while at + 12 <= len(data):
            size = int.from_bytes(data[at : at + 4], "little")
            out.append(data[at + 12 : at + 12 + size])
            at += 12 + size
        return out
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pos,size",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [
        data[int(p["pos"]) : int(p["pos"]) + int(p["size"])] for p in json.loads(out)["packets"]
    ]


def header(
    codec: int, output: int, record: bytes | None = None, low_latency: bool = False, limits: int = 0
) -> bytes:
    flags = codec | output << 2 | (0x10 if record is not None else 0) | (0x20 if low_latency else 0)
    out = bytes([flags, limits])
    if record is not None:
        out += len(record).to_bytes(2, "big") + record
    return out


def op(code: int, arg: int = 0) -> bytes:
    return bytes([code | arg << 4])


def push(data: bytes, pts: bool = True, code: int = PUSH) -> bytes:
    """One push (or push_unit, code=UNIT) per MAX_CHUNK piece; pts on the first only."""
    out = b""
    for at in range(0, max(len(data), 1), MAX_CHUNK):
        piece = data[at : at + MAX_CHUNK]
        out += op(code, 1 if pts and at == 0 else 0) + len(piece).to_bytes(2, "big") + piece
    return out


def switch(arg: int, limits: int = 0) -> bytes:
    return op(SWITCH, arg) + bytes([limits])


def unit(data: bytes, skip: bool = False) -> bytes:
    return push(data, skip, UNIT)


def chunks(data: bytes, size: int) -> bytes:
    return b"".join(push(data[at : at + size], False) for at in range(0, len(data), size))


def decode_session_seeds(tmp: str) -> None:
    target = "fuzz_decode_session"
    for name, (codec, codec_args, suffix, box_name, formats) in SESSION_ENCODERS.items():
        encoder = codec_args + ["-pix_fmt", formats[0]]
        es = pathlib.Path(tmp, f"{name}.{suffix}")
        run("-f", "lavfi", "-i", "testsrc=size=64x64:rate=10", "-frames:v", "6", *encoder, str(es))
        units = packets(es)
        stream = b"".join(units)
        record, samples = None, []
        if box_name:
            mp4 = pathlib.Path(tmp, f"{name}.mp4")
            tag = {"h264": ["-tag:v", "avc1"], "hevc": ["-tag:v", "hvc1"]}.get(name, [])
            run("-i", str(es), "-c", "copy", *tag, str(mp4))
            record = box(mp4.read_bytes(), box_name)
            samples = packets(mp4)

        # Access units (packets) one push each with their pts, reaped as they come; a
        # double flush at the end.
        write(
            target,
            header(codec, NATIVE) + b"".join(push(u) + op(REAP) for u in units) + op(FLUSH, 1),
        )
        # The same as whole units past the session's assembler, every other one decoded for
        # reference only; a seek (reset) and the stream again; drain.
        write(
            target,
            header(codec, RGB)
            + b"".join(unit(u, skip=bool(i % 2)) for i, u in enumerate(units))
            + op(REAP)
            + op(RESET, 2)
            + b"".join(unit(u) for u in units)
            + op(DRAIN)
            + op(HANDLES),
        )
        if codec in (H264, HEVC):
            # Annex-B in odd chunks; an in-place switch of the output mode; a new stream of
            # another size (cropped) after reset(new_stream).
            other = pathlib.Path(tmp, f"{name}-66x50.{suffix}")
            run(
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=66x50:rate=10",
                "-frames:v",
                "4",
                *encoder,
                str(other),
            )
            write(
                target,
                header(codec, RGB)
                + chunks(stream, 701)
                + op(REAP)
                + op(FLUSH)
                + switch(METADATA)
                + chunks(units[0] + units[1], 97)
                + op(FLUSH)
                + op(RESET, 1)
                + chunks(other.read_bytes(), 1000)
                + op(DRAIN)
                + op(HANDLES)
                + op(CLOSE)
                + op(REAP),
            )
        # Wider than max_width with fewer pixels than max_width x max_height: refused by
        # the size checks, not by libavcodec's max_pixels (libavcodec's HEVC decoder and
        # libdav1d need the checks past get_format).
        wide = pathlib.Path(tmp, f"{name}-96x32.{suffix}")
        run(
            "-f", "lavfi", "-i", "testsrc=size=96x32:rate=10", "-frames:v", "3", *encoder, str(wide)
        )
        write(
            target,
            header(codec, NATIVE, limits=WIDTH_64)
            + b"".join(push(u) for u in packets(wide))
            + op(FLUSH)
            + op(REAP),
        )
        # The other pixel formats, 3 pictures each, alternately as planes and as RGB.
        for i, pixel_format in enumerate(formats[1:]):
            short = pathlib.Path(tmp, f"{name}-{pixel_format}.{suffix}")
            run(
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=64x48:rate=10",
                "-frames:v",
                "3",
                *codec_args,
                "-pix_fmt",
                pixel_format,
                str(short),
            )
            write(
                target,
                header(codec, RGB if i % 2 else NATIVE)
                + b"".join(push(u) + op(REAP) for u in packets(short))
                + op(FLUSH),
            )
        if record is not None:
            # Container samples with their record; a switch to a new decoder (low_latency
            # toggled) in another output mode and with the width limit at the stream's
            # width, and the samples again.
            write(
                target,
                header(codec, METADATA, record)
                + b"".join(push(s) for s in samples)
                + op(FLUSH)
                + switch(NATIVE | 4, WIDTH_64)
                + b"".join(push(s) + op(REAP) for s in samples)
                + op(FLUSH),
            )


TARGETS = {
    "fuzz_assembler": bitstream_seeds,
    "fuzz_sps": bitstream_seeds,
    "fuzz_length_prefixed": bitstream_seeds,
    "fuzz_decode_session": decode_session_seeds,
}


def main(targets: list[str]) -> None:
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        sys.exit(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    makers = []
    for t in targets or TARGETS:
        if TARGETS[t] not in makers:
            makers.append(TARGETS[t])
    with tempfile.TemporaryDirectory() as tmp:
        for make in makers:
            make(tmp)
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        files = [p for p in folder.iterdir() if p.is_file()]
        print(f"{folder.name}: {len(files)} files, {sum(p.stat().st_size for p in files)} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
