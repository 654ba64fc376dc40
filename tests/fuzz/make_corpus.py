#!/usr/bin/env python3
"""Writes the fuzz seed corpus (tests/fuzz/corpus/<target>/) from real encoder output.

Encodes short libx264 and libx265 streams with the ffmpeg CLI (B-frames, several GOPs,
a size that needs cropping), remuxes them to MP4 for their avcC/hvcC records, and cuts
seeds in each target's input format (byte 0 selects codec and chunk/length size, see the
targets). Deterministic file names (content hash), so a rerun changes nothing.

    python3 tests/fuzz/make_corpus.py
"""
from __future__ import annotations

import hashlib
import pathlib
import subprocess
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"

ENCODERS = {
    # codec bit, encoder arguments
    "h264": (0, ["-c:v", "libx264", "-bf", "2", "-g", "4", "-x264-params", "scenecut=0"]),
    "hevc": (1, ["-c:v", "libx265", "-x265-params",
                 "log-level=error:bframes=2:keyint=4:min-keyint=4:scenecut=0"]),
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
    size = int.from_bytes(data[at - 4:at], "big")
    return data[at + 4:at - 4 + size]


def length_prefixed(units: list[bytes], size: int) -> bytes:
    return b"".join(len(u).to_bytes(size, "big") + u for u in units)


def write(target: str, seed: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(seed).hexdigest()[:16]).write_bytes(seed)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for codec, (bit, encoder) in ENCODERS.items():
            for size in SIZES:
                es = pathlib.Path(tmp, f"{codec}-{size}.{codec}")
                mp4 = pathlib.Path(tmp, f"{codec}-{size}.mp4")
                run("-f", "lavfi", "-i", f"testsrc=size={size}:rate=10", "-frames:v", "10",
                    *encoder, str(es))
                run("-i", str(es), "-c", "copy", "-tag:v", "hvc1" if codec == "hevc" else "avc1",
                    str(mp4))
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
                    write("fuzz_length_prefixed",
                          bytes([bit | length_index << 1]) + length_prefixed(small[:6], length_size))
                write("fuzz_length_prefixed", bytes([bit | 2 << 1]) + stream[:2048])
                write("fuzz_length_prefixed", bytes([bit]) + record)
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print(f"corpus: {sum(1 for p in CORPUS.rglob('*') if p.is_file())} files, {total} bytes")


if __name__ == "__main__":
    main()
