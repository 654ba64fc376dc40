#!/usr/bin/env python3
"""Many short clips: videohw.distributed.transcode_many with workers that keep their
sessions, against the same with new sessions for every clip, and against a pool of ffmpeg
CLI processes with the same settings, in one run.

Source: --clips clips of 2 s, 1280x720 at 30 fps (testsrc2 with temporal noise, H.264 with
B-frames, AAC), cut by Debian's ffmpeg from one long file at its keyframes into
bench/.cache/. Every output: 640x360 libx264 --preset, CBR 1 Mb/s with a VBV of twice the
rate, GOP 60 without scene cuts, --b-frames B-frames, one encoder thread per worker
(`-threads 1` for ffmpeg), bilinear scaling, audio copied.

Runs (each on the same clips, outputs checked for their frame count):
  ray_kept      transcode_many, --workers workers, sessions kept from clip to clip
  ray_new       the same with persistent_sessions=False (new sessions per clip)
  ffmpeg_pool   --workers `ffmpeg` processes at a time, one per clip
  ray_kept_1    transcode_many with one worker (scaling)
  ray_new_1     the same with new sessions per clip
  inproc_kept / inproc_new
                one TranscodeWorker in this process, no Ray: the sessions' own share

Ray is started once before the runs (its start-up is not in any run); each run starts its
worker actors, as a user's call does. One untimed round, then --repeats rounds with the
order rotated; medians.

Run:  .venv/bin/python bench/batch_transcode.py [--clips 60] [--workers 2] [--repeats 3]
Needs the ray extra (pip install 'videohw[ray]') and the ffmpeg CLI.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _common as bc

GOAL_VS_NEW = 1.3
GOAL_VS_FFMPEG = 1.0
FPS = 30
OUT_W, OUT_H, RATE = 640, 360, 1_000_000


def make_clips(count: int) -> list[Path]:
    folder = bc.CACHE_DIR / f"batch_clips_{count}"
    clips = sorted(folder.glob("clip*.mp4")) if folder.exists() else []
    if len(clips) == count:
        return clips
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if not shutil.which("ffmpeg"):
        return make_clips_without_ffmpeg(folder, count)
    bc.progress(f"making {count} clips of 2 s 720p ...")
    ffmpeg = bc.require("ffmpeg")
    long = folder / "long.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i"]
        + [f"testsrc2=size=1280x720:rate={FPS},noise=alls=12:allf=t"]
        + ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
        + ["-frames:v", str(count * 2 * FPS), "-c:v", "libx264", "-preset", "veryfast"]
        + ["-b:v", "4M", "-bf", "2", "-g", str(2 * FPS), "-keyint_min", str(2 * FPS)]
        + ["-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k", "-shortest", str(long)],
        check=True,
    )
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-i", str(long), "-c", "copy", "-f", "segment"]
        + ["-segment_time", "2", "-reset_timestamps", "1", str(folder / "clip%03d.mp4")],
        check=True,
    )
    long.unlink()
    return sorted(folder.glob("clip*.mp4"))


def make_clips_without_ffmpeg(folder: Path, count: int) -> list[Path]:
    """The GPU machine has no ffmpeg tool: moving gradients with temporal noise written by
    videohw's software encoder (H.264, 2 B-frames, GOP 60, no audio)."""
    import numpy as np

    import videohw as vh

    bc.progress(f"making {count} clips of 2 s 720p with videohw ...")
    w, h = 1280, 720
    c = vh.CommonEncodeConfig(
        width=w, height=h, fps_num=FPS, gop_length=2 * FPS, b_frames=2,
        rate_control=vh.RateControl.cbr(4_000_000),
    )  # fmt: skip
    rng = np.random.default_rng(7)
    x = np.arange(w, dtype=np.int32)[None, :]
    y = np.arange(h, dtype=np.int32)[:, None]
    clips = []
    for i in range(count):
        path = folder / f"clip{i:03d}.mp4"
        with vh.VideoWriter(str(path), c) as writer:
            for t in range(2 * FPS):
                k = i * 2 * FPS + t
                luma = (x + 2 * y + 5 * k) % 256
                luma = np.clip(luma + rng.integers(-12, 13, luma.shape), 0, 255).astype(np.uint8)
                u = np.full((h // 2, w // 2), (k * 3) % 256, np.uint8)
                v = np.full((h // 2, w // 2), 128, np.uint8)
                writer.write(
                    vh.Frame(
                        np.concatenate([luma.ravel(), u.ravel(), v.ravel()]), vh.PixelFormat.I420
                    )
                )
        clips.append(path)
    return clips


def x264_params(preset_b_frames: int) -> str:
    kbps = RATE // 1000
    p = f"keyint={2 * FPS}:min-keyint={2 * FPS}:scenecut=0:open-gop=0:bframes={preset_b_frames}"
    if preset_b_frames:
        p += ":b-adapt=0"
    return p + f":bitrate={kbps}:vbv-maxrate={kbps}:vbv-bufsize={2 * kbps}"


def common(b_frames: int):
    import videohw as vh

    return vh.CommonEncodeConfig(
        width=OUT_W,
        height=OUT_H,
        fps_num=FPS,
        gop_length=2 * FPS,
        b_frames=b_frames,
        rate_control=vh.RateControl.cbr(RATE, vbv_buffer_bits=2 * RATE),
    )


def run_ray(clips: list[Path], out: Path, args, workers: int, kept: bool) -> dict:
    import videohw as vh
    from videohw.distributed import transcode_many

    start = time.perf_counter()
    report = transcode_many(
        [str(c) for c in clips],
        out,
        common(args.b_frames),
        backend="software",
        workers=workers,
        progress=False,
        persistent_sessions=kept,
        backend_config=vh.SoftwareEncodeConfig(preset=args.preset, threads=1),
    )
    seconds = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(report.summary())
    return {
        "seconds": seconds,
        "frames": report.frames,
        "session_inits": report.session_inits,
        "per_worker": {k: v.get("files") for k, v in report.telemetry.items()},
    }


def run_ffmpeg_pool(clips: list[Path], out: Path, args, workers: int) -> dict:
    ffmpeg = bc.require("ffmpeg")

    def one(clip: Path) -> None:
        subprocess.run(
            [
                ffmpeg,
                "-v",
                "error",
                "-y",
                "-threads",
                "1",
                "-i",
                str(clip),
                "-fps_mode",
                "passthrough",
            ]
            + ["-vf", f"scale={OUT_W}:{OUT_H}:flags=bilinear", "-c:v", "libx264"]
            + ["-preset", args.preset, "-forced-idr", "1", "-g", str(2 * FPS)]
            + ["-bf", str(args.b_frames), "-threads", "1", "-color_range", "tv"]
            + ["-x264-params", x264_params(args.b_frames), "-c:a", "copy"]
            + [str(out / clip.name)],
            check=True,
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, clips))
    return {"seconds": time.perf_counter() - start, "frames": len(clips) * 2 * FPS}


def run_inproc(clips: list[Path], out: Path, args, kept: bool) -> dict:
    import videohw as vh
    from videohw.distributed import Job, TranscodeWorker

    threads = 1 if args.backend == "software" else 0
    worker = TranscodeWorker(
        "bench", args.backend, kept, vh.SoftwareEncodeConfig(preset=args.preset, threads=threads)
    )
    start = time.perf_counter()
    frames = 0
    for clip in clips:
        result = worker.run(
            Job(clip.stem, str(clip), common(args.b_frames), outputs=(str(out / clip.name),))
        )
        frames += result.frames
    seconds = time.perf_counter() - start
    telemetry = worker.telemetry()
    worker.close()
    return {"seconds": seconds, "frames": frames, "session_inits": telemetry["session_inits"]}


def check_outputs(out: Path, clips: list[Path]) -> None:
    ffprobe = shutil.which("ffprobe")
    for clip in clips[:: max(1, len(clips) // 5)]:
        if not ffprobe:  # the GPU machine: videohw's own count of the packets
            import videohw as vh

            got = str(vh.probe(str(out / clip.name)).best_video.frame_count)
        else:
            got = subprocess.run(
                [ffprobe, "-v", "error", "-select_streams", "v:0", "-count_packets"]
                + ["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"]
                + [str(out / clip.name)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        if int(got) != 2 * FPS:
            raise SystemExit(f"{out / clip.name}: {got} frames, expected {2 * FPS}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--b-frames", type=int, default=3)
    parser.add_argument("--runs", default="ray_kept,ray_new,ffmpeg_pool,ray_kept_1,ray_new_1,"
                        "inproc_kept,inproc_new")  # fmt: skip
    parser.add_argument(
        "--backend",
        default="software",
        help="of the in-process runs: software, or auto (NVDEC decoding on a GPU machine)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    chosen = [t for t in args.runs.split(",") if t]
    clips = make_clips(args.clips)
    uses_ray = any(t.startswith("ray_") for t in chosen)
    if uses_ray:
        import ray

        ray.init(
            num_cpus=args.workers,
            include_dashboard=False,
            logging_level="ERROR",
            log_to_driver=False,
        )
    w = args.workers
    tools = {
        "ray_kept": lambda out: run_ray(clips, out, args, w, True),
        "ray_new": lambda out: run_ray(clips, out, args, w, False),
        "ffmpeg_pool": lambda out: run_ffmpeg_pool(clips, out, args, w),
        "ray_kept_1": lambda out: run_ray(clips, out, args, 1, True),
        "ray_new_1": lambda out: run_ray(clips, out, args, 1, False),
        "inproc_kept": lambda out: run_inproc(clips, out, args, True),
        "inproc_new": lambda out: run_inproc(clips, out, args, False),
    }
    seconds: dict[str, list[float]] = {t: [] for t in chosen}
    last: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="vh-batch-bench-") as tmp:
        for r in range(args.repeats + 1):
            order = chosen[r % len(chosen) :] + chosen[: r % len(chosen)]
            for tool in order:
                out = Path(tmp) / f"{tool}-{r}"
                out.mkdir()
                bc.progress(f"round {r}: {tool} ...")
                result = tools[tool](out)
                check_outputs(out, clips)
                shutil.rmtree(out)
                last[tool] = result
                if r > 0:  # round 0 warms caches and is not counted
                    seconds[tool].append(result["seconds"])
    if uses_ray:
        ray.shutdown()
    medians = {t: statistics.median(v) for t, v in seconds.items()}
    results = {
        "clips": len(clips),
        "workers": w,
        "repeats": args.repeats,
        "preset": args.preset,
        "b_frames": args.b_frames,
        "backend_in_process": args.backend,
        "cores": bc.machine_cores(),
        "runs": {
            t: {
                "median_seconds": medians[t],
                "files_per_second": len(clips) / medians[t],
                "fps": last[t]["frames"] / medians[t],
                "all_seconds": seconds[t],
                **{k: v for k, v in last[t].items() if k not in ("seconds",)},
            }
            for t in chosen
        },
    }
    ratios = {}
    if "ray_kept" in medians and "ray_new" in medians:
        ratios["kept_vs_new"] = medians["ray_new"] / medians["ray_kept"]
    if "ray_kept" in medians and "ffmpeg_pool" in medians:
        ratios["kept_vs_ffmpeg_pool"] = medians["ffmpeg_pool"] / medians["ray_kept"]
    if "ray_kept" in medians and "ray_kept_1" in medians:
        ratios["scaling_2_vs_1"] = medians["ray_kept_1"] / medians["ray_kept"]
    if "inproc_kept" in medians and "inproc_new" in medians:
        ratios["inproc_kept_vs_new"] = medians["inproc_new"] / medians["inproc_kept"]
    results["ratios"] = ratios
    results["goals"] = {
        "kept_vs_new": {"goal": GOAL_VS_NEW, "met": ratios.get("kept_vs_new", 0) >= GOAL_VS_NEW},
        "kept_vs_ffmpeg_pool": {
            "goal": GOAL_VS_FFMPEG,
            "met": ratios.get("kept_vs_ffmpeg_pool", 0) >= GOAL_VS_FFMPEG,
        },
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
