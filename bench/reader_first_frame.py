"""Where a VideoReader's first frame goes, phase by phase, in a fresh process (cold) and
again in the same process (warm): import, controller, capabilities, session start, file
open (demux headers), reader, first frame by iteration and by index.

    python bench/reader_first_frame.py FILE [--backend nvidia] [--output rgb|native]

Prints one line per phase in milliseconds. Each phase runs through the private core the
public VideoReader uses, in the same order, so the sum is the public path's cost.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def phases(path: str, backend: str, output: str) -> dict:
    out = {}
    t = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        out[name] = round((now - t) * 1000, 2)
        t = now

    import videohw as vh
    from videohw import _core
    from videohw.reader import _default_controller

    mark("import videohw")
    ctl = _default_controller(backend)
    mark("controller (decode only)")
    source = _core.MediaSource(path, path)
    mark("open file (libavformat headers, stream info)")
    codec = vh.Codec(source.info()["video_streams"][0]["codec"])
    caps = ctl.decode_capabilities(codec)
    mark(f"decode capabilities ({caps.backend})")
    common = vh.CommonDecodeConfig(codec=codec, output=vh.DecodeOutputMode(output))
    handle = ctl._acquire_decode_session(common, None)
    mark("decode session start")
    reader = _core.FrameReader(
        source, source.info()["best_video_stream"], ctl._manager, handle.id, handle.generation
    )
    mark("frame reader")
    first = reader.next(1)
    mark("first frame (iteration)")
    reader.frames_at([0])
    mark("frame 0 by index (from the start, no scan)")
    assert first and first[0]["index"] == 0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--output", default="rgb", choices=("rgb", "native", "metadata"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        cold = phases(args.file, args.backend, args.output)
        warm = phases(args.file, args.backend, args.output)
        print(json.dumps({"cold": cold, "warm": warm}))
        return 0
    res = subprocess.run(
        [
            sys.executable,
            __file__,
            args.file,
            "--backend",
            args.backend,
            "--output",
            args.output,
            "--child",
        ],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        print(res.stderr, file=sys.stderr)
        return res.returncode
    data = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"{'phase':<48}{'cold ms':>10}{'warm ms':>10}")
    for name in data["cold"]:
        print(f"{name:<48}{data['cold'][name]:>10.1f}{data['warm'].get(name, 0):>10.1f}")
    print(f"{'total':<48}{sum(data['cold'].values()):>10.1f}{sum(data['warm'].values()):>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
