"""Per-frame instruction cost of videohw against the encoder-only ceiling, under callgrind.

Wall-clock fps on a shared 2-core machine moves by +-10 % between runs, which hides a 3 %
question. Instruction counts do not: valgrind's callgrind counts the same total for the same
binary and input. Each tool runs twice, with --frames A and --frames B; the difference
divided by (B - A) is the marginal cost of one frame, free of start-up (Python import,
encoder open). The ratio of the two marginal costs is what videohw adds per frame on top of
libx264 fed straight from AVFrames.

    .venv/bin/python bench/instructions_per_frame.py [--size 1920x1080] [--frames 20,50]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bc  # noqa: E402

VIDEOHW_SCRIPT = """
import sys, numpy as np, videohw as vh
raw = sys.argv[1]
w, h, n, distinct = (int(a) for a in sys.argv[2:6])
data = np.fromfile(raw, np.uint8).reshape(distinct, h * 3 // 2, w)
frames = [np.ascontiguousarray(data[i]) for i in range(distinct)]
ctl = vh.SessionController("software")
common = vh.CommonEncodeConfig(width=w, height=h, low_latency=True, gop_length=60,
                               rate_control=vh.RateControl.cbr(8_000_000))
s = ctl.start_encode_session(common, vh.SoftwareEncodeConfig(preset="ultrafast", threads=2))
for i in range(n):
    ctl.submit(s, vh.Frame(frames[i % distinct], vh.PixelFormat.I420))
    ctl.reap(s)
ctl.close_encode_session(s)
"""


def instructions(cmd: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed under callgrind: {proc.stderr[-1500:]}")
        match = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
        if not match:
            raise RuntimeError("callgrind printed no instruction total")
        return int(match.group(1))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--frames", default="20,50", help="the two frame counts A,B (20,50)")
    p.add_argument("--distinct", type=int, default=10)
    p.add_argument("--ceiling", type=Path, default=bc.DEFAULT_CEILING)
    args = p.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    a, b = (int(v) for v in args.frames.split(","))
    raw = bc.ensure_raw(width, height, args.distinct)

    def videohw(n: int) -> list[str]:
        return [
            sys.executable,
            "-c",
            VIDEOHW_SCRIPT,
            str(raw),
            str(width),
            str(height),
            str(n),
            str(args.distinct),
        ]

    def ceiling(n: int) -> list[str]:
        return [
            str(args.ceiling),
            "--input",
            str(raw),
            "--size",
            args.size,
            "--frames",
            str(n),
            "--warmup",
            "0",
            "--distinct",
            str(args.distinct),
            "--threads",
            "2",
        ]

    per_frame = {}
    for name, cmd in (("videohw", videohw), ("ceiling", ceiling)):
        counts = {}
        for n in (a, b):
            bc.progress(f"callgrind: {name} with {n} frames ...")
            counts[n] = instructions(cmd(n))
        per_frame[name] = (counts[b] - counts[a]) / (b - a)
        print(
            f"{name:8s} {counts[a]:>15,} instr @ {a} frames, {counts[b]:>15,} @ {b}: "
            f"{per_frame[name] / 1e6:8.2f} M instructions per frame"
        )
    ratio = per_frame["videohw"] / per_frame["ceiling"]
    print(
        f"videohw / ceiling instructions per frame: {ratio:.4f} "
        f"({(ratio - 1) * 100:+.2f} %; goal: within 3 % -> "
        f"{'MET' if ratio <= 1.03 else 'NOT MET'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
