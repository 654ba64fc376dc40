"""``videohw batch transcode MANIFEST|DIR OUTDIR``: many files on Ray workers that keep
their sessions (videohw.distributed.transcode_many); a local Ray unless --address names a
cluster."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from typing import Any, Optional

from ._argtypes import _int, _positive_int, _size
from ._errors import EXIT_FAIL, EXIT_OK, CliError
from .transcode import _backend_config, _ladder, encoder_changes


def add_batch_parser(sub: Any) -> None:
    batch = sub.add_parser("batch", help="many files at once, on Ray (videohw[ray])")
    batch_sub = batch.add_subparsers(dest="batch_command", metavar="COMMAND")
    batch_sub.required = True
    tc = batch_sub.add_parser(
        "transcode",
        help="transcode a folder (or a manifest: one path per line) into OUTDIR",
        description="Transcodes every video of DIR (recursively; subfolders kept) or every "
        "path listed in MANIFEST (one per line, relative to the manifest, # comments) into "
        "OUTDIR on Ray workers that keep their encode and decode sessions from file to file.",
    )
    tc.add_argument("input", metavar="MANIFEST|DIR")
    tc.add_argument("output", metavar="OUTDIR")
    cfg = tc.add_argument_group("encoder (as for videohw transcode)")
    cfg.add_argument("--backend", choices=("auto", "software", "nvidia"), default="auto")
    cfg.add_argument("--codec", choices=("h264", "hevc"), default="h264")
    cfg.add_argument("--size", type=_size, metavar="WxH", help="default: each input's")
    cfg.add_argument("--rc", metavar="SPEC", help="cbr:RATE | vbr:AVG[:MAX] | cqp:I[:P[:B]]")
    cfg.add_argument("--gop", type=_positive_int, metavar="N", help="default: two seconds")
    cfg.add_argument("--b-frames", type=_int, metavar="N", help="default 0")
    cfg.add_argument("--preset", help="software: ultrafast..placebo; nvidia: p1..p7")
    cfg.add_argument("--tune", help="software only: film, animation, grain, ...")
    cfg.add_argument("--ladder", type=_ladder, metavar="WxH:RATE,...", help="outputs per file")
    run = tc.add_argument_group("cluster")
    run.add_argument(
        "--address",
        help="a Ray cluster: auto (the one this machine belongs to) or ray://HOST:PORT; "
        "default: a local Ray started for this run",
    )
    run.add_argument("--workers", type=_positive_int, metavar="N", help="default: CPUs or GPUs")
    run.add_argument("--cpus-per-worker", type=_positive_int, default=1, metavar="N")
    run.add_argument("--max-retries", type=_int, default=2, metavar="N")
    run.add_argument(
        "--segment-seconds",
        type=float,
        metavar="S",
        help="split inputs longer than 2*S at keyframes and transcode the pieces in parallel",
    )
    run.add_argument(
        "--new-sessions",
        action="store_true",
        help="new sessions for every file (for comparison; default: workers keep theirs)",
    )
    out = tc.add_argument_group("output")
    out.add_argument("--audio", choices=("copy", "none"), default="copy")
    out.add_argument("--format", choices=("mp4", "fmp4", "mkv", "ts"))
    out.add_argument(
        "--verify",
        action="store_true",
        help="count every output's frames with ffprobe against the source; exit 1 on a mismatch",
    )
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    out.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    tc.set_defaults(func=cmd_batch_transcode)


def _inputs(path: str) -> Any:
    """A folder as it is; a manifest file as its list of paths."""
    from ..distributed.batch import VIDEO_EXTENSIONS

    if os.path.isdir(path) or path.lower().endswith(VIDEO_EXTENSIONS):
        return path
    if not os.path.isfile(path):
        raise CliError(f"{path}: no such file or folder")
    base = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    paths = [
        line if os.path.isabs(line) else os.path.join(base, line)
        for line in lines
        if line and not line.startswith("#")
    ]
    if not paths:
        raise CliError(f"{path}: the manifest lists no file")
    return paths


def _common_for(vh: Any, args: argparse.Namespace) -> Any:
    """Each file's settings: its own size and rate, with the options given."""
    from ..transcode import default_common

    changes = encoder_changes(vh, args)
    codec = vh.Codec(args.codec)

    def common(video: Any) -> Any:
        base = default_common(video, codec)
        return dataclasses.replace(base, **changes) if changes else base

    return common


def _frames_of(path: str) -> Optional[int]:
    out = subprocess.run(
        [
            "ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
            "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path,
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    try:
        return int(out.stdout.strip().split(",")[0])
    except ValueError:
        return None


def _verify(report: Any) -> list[str]:
    if not shutil.which("ffprobe"):
        raise CliError("--verify needs ffprobe (Debian package ffmpeg)")
    problems = []
    for f in report.done:
        for path in f.outputs:
            counted = _frames_of(path)
            if counted != f.frames:
                problems.append(f"{path}: ffprobe counts {counted} frames, expected {f.frames}")
    return problems


def cmd_batch_transcode(args: argparse.Namespace) -> int:
    import videohw as vh

    from ..distributed import transcode_many

    args.threads = None  # _backend_config's field: threads come from --cpus-per-worker
    rungs = [vh.Rung(w, h, rate) for w, h, rate in args.ladder] if args.ladder else None
    report = transcode_many(
        _inputs(args.input),
        args.output,
        _common_for(vh, args),
        backend=args.backend,
        ladder=rungs,
        address=args.address,
        workers=args.workers,
        segment_seconds=args.segment_seconds,
        progress=not args.no_progress and sys.stderr.isatty(),
        audio=args.audio,
        format=args.format,
        max_retries=args.max_retries,
        cpus_per_worker=args.cpus_per_worker,
        persistent_sessions=not args.new_sessions,
        backend_config=_backend_config(vh, args),
    )
    problems = _verify(report) if args.verify else []
    if args.json:
        out = dataclasses.asdict(report)
        out["verify"] = {"ran": bool(args.verify), "problems": problems}
        print(json.dumps(out, indent=2, default=str))
    else:
        print(report.summary())
        if args.verify:
            print("verify: " + ("ok" if not problems else "FAILED"))
    if problems:
        raise CliError("verify failed: " + "; ".join(problems), EXIT_FAIL)
    if report.failed:
        raise CliError(f"{len(report.failed)} of {len(report.files)} files failed", EXIT_FAIL)
    return EXIT_OK
