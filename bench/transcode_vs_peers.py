#!/usr/bin/env python3
"""videohw's transcode against its peers, in one run, on one source and one set of settings.

Source: 1080p H.264 (testsrc2 with temporal noise, B-frames, AAC audio), --frames frames,
made once by Debian's ffmpeg into bench/.cache/. Every output: libx264 --preset, CBR at the
rung's rate with a VBV buffer of twice the rate (ffmpeg's -b:v 3M -maxrate 3M -bufsize 6M),
keyframes every --gop frames with no scene cuts, --b-frames fixed B-frames, bilinear
scaling (videohw's transform uses SWS_BILINEAR, so the peers are told to as well), audio
copied. The x264 settings each tool really ran with are read back from the SEI in every
output and compared; PSNR against the source is shown, so a faster tool cannot win by
encoding worse.

Sections:
  single   1080p -> 720p 3 Mb/s: videohw (vh.transcode), the ffmpeg CLI
           (`ffmpeg -i SRC -vf scale=...:flags=bilinear -c:v libx264 ... -c:a copy OUT`, the
           whole process timed), a PyAV decode/reformat/encode/mux loop.
  ladder   1080p 6M / 720p 3M / 480p 1.2M from one decode: videohw (rungs), three separate
           ffmpeg runs one after the other, one ffmpeg process with split.
  gpu      (GPU machine) videohw with NVDEC decoding, the frames scaled and encoded by the
           software encoder, against `ffmpeg -hwaccel cuda` where an ffmpeg CLI with CUDA
           exists, else against PyNvVideoCodec decode + torch resize + videohw's software
           encode session; stage times of videohw's run.

Repeats: one untimed round, then --repeats rounds with the tool order rotated; medians.

Run:  .venv/bin/python bench/transcode_vs_peers.py [--sections single,ladder] [--frames 300]
PyAV comes from bench/requirements-media.txt (it bundles its own FFmpeg and libx264).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional

import _common as bc

GOAL_VS_PYAV = 1.3
GOAL_VS_FFMPEG = 1.0
GOAL_LADDER_VS_RUNS = 1.5


@dataclass(frozen=True)
class Rung:
    width: int
    height: int
    bitrate_bps: int


@dataclass(frozen=True)
class Settings:
    preset: str
    gop: int
    b_frames: int
    fps: int = 30

    def x264_params(self, rung: Rung) -> str:
        kbps = str(max(1, (rung.bitrate_bps + 500) // 1000))
        vbv = str(max(1, (2 * rung.bitrate_bps + 500) // 1000))
        p = f"keyint={self.gop}:min-keyint={self.gop}:scenecut=0:open-gop=0:bframes={self.b_frames}"
        if self.b_frames:
            p += ":b-adapt=0"
        return p + f":bitrate={kbps}:vbv-maxrate={kbps}:vbv-bufsize={vbv}"

    def ffmpeg_video_args(self, rung: Rung) -> list[str]:
        return [
            "-c:v",
            "libx264",
            "-preset",
            self.preset,
            "-forced-idr",
            "1",
            "-g",
            str(self.gop),
            "-bf",
            str(self.b_frames),
            "-color_range",
            "tv",
            "-x264-params",
            self.x264_params(rung),
        ]

    def videohw_common(self, rung: Rung):
        import videohw as vh

        return vh.CommonEncodeConfig(
            width=rung.width,
            height=rung.height,
            fps_num=self.fps,
            gop_length=self.gop,
            b_frames=self.b_frames,
            rate_control=vh.RateControl.cbr(rung.bitrate_bps, vbv_buffer_bits=2 * rung.bitrate_bps),
        )


def make_source(width: int, height: int, frames: int, fps: int) -> Path:
    if not shutil.which("ffmpeg"):
        return make_source_without_ffmpeg(width, height, frames, fps)
    path = bc.CACHE_DIR / f"transcode_src_{width}x{height}_{frames}.mp4"
    if path.exists():
        return path
    bc.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    bc.progress(f"making {path.name} ...")
    subprocess.run(
        [bc.require("ffmpeg"), "-v", "error", "-y", "-f", "lavfi", "-i"]
        + [f"testsrc2=size={width}x{height}:rate={fps},noise=alls=12:allf=t"]
        + ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
        + ["-frames:v", str(frames), "-c:v", "libx264", "-preset", "veryfast", "-b:v", "8M"]
        + ["-bf", "2", "-g", "60", "-c:a", "aac", "-b:a", "128k", "-shortest", str(tmp)],
        check=True,
    )
    tmp.rename(path)
    return path


def make_source_without_ffmpeg(width: int, height: int, frames: int, fps: int) -> Path:
    """The GPU machine has no ffmpeg tool: a moving gradient with temporal noise, written by
    videohw's software encoder with the same settings (H.264 veryfast 8 Mb/s, 2 B-frames, GOP
    60), no audio."""
    import numpy as np

    import videohw as vh

    path = bc.CACHE_DIR / f"transcode_src_vh_{width}x{height}_{frames}.mp4"
    if path.exists():
        return path
    bc.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    bc.progress(f"making {path.name} with videohw (no ffmpeg tool here) ...")
    common = vh.CommonEncodeConfig(
        width=width,
        height=height,
        fps_num=fps,
        gop_length=60,
        b_frames=2,
        rate_control=vh.RateControl.cbr(8_000_000),
    )
    rng = np.random.default_rng(42)
    x = np.arange(width, dtype=np.int32)[None, :]
    y = np.arange(height, dtype=np.int32)[:, None]
    with vh.VideoWriter(
        path,
        common,
        vh.SoftwareEncodeConfig(preset="veryfast"),
        controller=vh.SessionController("software"),
    ) as w:
        for t in range(frames):
            luma = ((x * 3 + y * 2 + t * 8) % 256).astype(np.int32)
            luma ^= np.where((y // 64 + t // 4) % 2 == 0, 0x40, 0).astype(np.int32)
            luma = np.clip(luma + rng.integers(-12, 13, luma.shape), 0, 255).astype(np.uint8)
            u = np.full((height // 2, width // 2), (t * 3) % 256, np.uint8)
            v = np.full((height // 2, width // 2), 128, np.uint8)
            w.write(
                vh.Frame(np.concatenate([luma.ravel(), u.ravel(), v.ravel()]), vh.PixelFormat.I420)
            )
    return path


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class Clock:
    """Wall and CPU seconds of one run: this process's CPU for in-process tools, the
    children's for a tool run as a process."""

    def __init__(self, child: bool = False) -> None:
        self.who = resource.RUSAGE_CHILDREN if child else resource.RUSAGE_SELF
        self.wall = time.perf_counter()
        self.cpu = _cpu(self.who)

    def result(self, **extra) -> dict:
        return {
            "seconds": time.perf_counter() - self.wall,
            "cpu_seconds": _cpu(self.who) - self.cpu,
            **extra,
        }


# -- the tools ----------------------------------------------------------------------------


def run_videohw(src: Path, rungs: list[Rung], s: Settings, out: Path, **options) -> dict:
    import videohw as vh

    backend_config = vh.SoftwareEncodeConfig(preset=s.preset)
    clock = Clock()
    if len(rungs) == 1:
        report = vh.transcode(
            src,
            out,
            s.videohw_common(rungs[0]),
            backend="software",
            progress=False,
            backend_config=backend_config,
            **options,
        )
    else:
        report = vh.transcode(
            src,
            out,
            s.videohw_common(rungs[0]),
            backend="software",
            progress=False,
            rungs=[
                vh.Rung(r.width, r.height, r.bitrate_bps, path=rung_file(out, r)) for r in rungs
            ],
            backend_config=backend_config,
            **options,
        )
    return clock.result(report=report)


def rung_file(out: Path, rung: Rung) -> Path:
    return out.with_name(f"{out.stem}_{rung.width}x{rung.height}{out.suffix}")


def run_ffmpeg(src: Path, rung: Rung, s: Settings, out: Path, hwaccel: bool = False) -> dict:
    args = [bc.require("ffmpeg"), "-v", "error", "-y"]
    if hwaccel:
        args += ["-hwaccel", "cuda"]
    args += ["-i", str(src), "-vf", f"scale={rung.width}:{rung.height}:flags=bilinear"]
    args += s.ffmpeg_video_args(rung) + ["-c:a", "copy", str(out)]
    clock = Clock(child=True)
    subprocess.run(args, check=True)
    return clock.result()


def run_ffmpeg_split(src: Path, rungs: list[Rung], s: Settings, out: Path) -> dict:
    labels = "".join(f"[s{i}]" for i in range(len(rungs)))
    graph = f"[0:v]split={len(rungs)}{labels};" + ";".join(
        f"[s{i}]scale={r.width}:{r.height}:flags=bilinear[o{i}]" for i, r in enumerate(rungs)
    )
    args = [bc.require("ffmpeg"), "-v", "error", "-y", "-i", str(src), "-filter_complex", graph]
    for i, r in enumerate(rungs):
        args += ["-map", f"[o{i}]", "-map", "0:a?"] + s.ffmpeg_video_args(r)
        args += ["-c:a", "copy", str(rung_file(out, r))]
    clock = Clock(child=True)
    subprocess.run(args, check=True)
    return clock.result()


def run_pyav(src: Path, rung: Rung, s: Settings, out: Path) -> dict:
    import av

    clock = Clock()
    inp = av.open(str(src))
    dst = av.open(str(out), "w")
    vin = inp.streams.video[0]
    vin.thread_type = "AUTO"
    ain = inp.streams.audio[0] if inp.streams.audio else None
    vout = dst.add_stream("libx264", rate=s.fps)
    vout.width, vout.height, vout.pix_fmt = rung.width, rung.height, "yuv420p"
    cc = vout.codec_context
    cc.gop_size, cc.max_b_frames, cc.color_range = s.gop, s.b_frames, 1
    vout.time_base = vin.time_base
    cc.time_base = Fraction(1, s.fps)
    # Frame threads, as the ffmpeg tool and videohw's adapter use (PyAV's default is slices).
    cc.thread_type = "FRAME"
    cc.options = {"preset": s.preset, "forced-idr": "1", "x264-params": s.x264_params(rung)}
    aout = dst.add_stream_from_template(ain) if ain is not None else None
    streams = [vin] + ([ain] if ain is not None else [])
    n = 0
    for packet in inp.demux(*streams):
        if packet.stream is ain:
            if packet.dts is None:
                continue
            packet.stream = aout
            dst.mux(packet)
            continue
        for frame in packet.decode():
            g = frame.reformat(
                width=rung.width, height=rung.height, format="yuv420p", interpolation="BILINEAR"
            )
            g.pts = n
            g.time_base = Fraction(1, s.fps)
            for p in vout.encode(g):
                dst.mux(p)
            n += 1
    for p in vout.encode(None):
        dst.mux(p)
    dst.close()
    inp.close()
    return clock.result(frames=n)


def run_pynvc_glue(src: Path, rung: Rung, s: Settings, out: Path) -> dict:
    """PyNvVideoCodec decode (device NV12) + torch bilinear resize on the GPU + one copy to
    the host + videohw's software encode session + vh.MediaWriter: the glue a user writes."""
    import PyNvVideoCodec as nvc  # noqa: N813
    import torch

    import videohw as vh

    clock = Clock()
    demuxer = nvc.CreateDemuxer(filename=str(src))
    decoder = nvc.CreateDecoder(
        gpuid=0, codec=demuxer.GetNvCodecId(), cudacontext=0, cudastream=0, usedevicememory=True
    )
    common = s.videohw_common(rung)
    writer = vh.VideoWriter(out, common, vh.SoftwareEncodeConfig(preset=s.preset))
    w, h = rung.width, rung.height

    def encode(frames) -> int:
        count = 0
        for frame in frames:
            nv12 = torch.from_dlpack(frame)  # (H * 3 / 2, W) uint8 on the device
            height = nv12.shape[0] * 2 // 3
            y = nv12[:height].float()[None, None]
            uv = nv12[height:].view(height // 2, -1, 2).permute(2, 0, 1).float()[None]
            ys = torch.nn.functional.interpolate(y, size=(h, w), mode="bilinear")
            uvs = torch.nn.functional.interpolate(uv, size=(h // 2, w // 2), mode="bilinear")
            host = torch.cat([ys.reshape(-1), uvs[0].permute(1, 2, 0).reshape(-1)])
            host = host.round().clamp(0, 255).to(torch.uint8).cpu().numpy()
            writer.write(vh.Frame(host, vh.PixelFormat.NV12))
            count += 1
        return count

    n = 0
    for packet in demuxer:
        n += encode(decoder.Decode(packet))
    n += encode(decoder.Decode(nvc.PacketData()))
    writer.close()
    return clock.result(frames=n)


# -- checks ---------------------------------------------------------------------------------


def x264_options(path: Path) -> Optional[dict]:
    data = path.read_bytes()
    at = data.find(b"x264 - core")
    return bc.x264_info(data[max(0, at - 64) :]) if at >= 0 else None


def output_quality(out: Path, src: Path, rung: Rung) -> dict:
    if not shutil.which("ffmpeg"):
        return {"note": "no ffmpeg tool here to measure PSNR"}
    from videohw.transcode_check import quality, video_frames

    q = quality(str(out), str(src), rung.width, rung.height)
    q["frames"] = len(video_frames(str(out)))
    return q


# -- sections -------------------------------------------------------------------------------


def timed_rounds(tools: dict[str, Callable[[int], dict]], repeats: int) -> dict[str, list[float]]:
    bc.progress("warm-up round")
    for run in tools.values():
        run(-1)
    times: dict[str, list[float]] = {name: [] for name in tools}
    names = list(tools)
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            result = tools[name](r)
            times[name].append(result["seconds"])
            CPU_SECONDS.setdefault(name, []).append(result["cpu_seconds"])
            bc.progress(
                f"  round {r + 1}: {name} {result['seconds']:.2f} s, "
                f"cpu {result['cpu_seconds']:.2f} s"
            )
    return times


# CPU seconds per tool of the section being run (timed_rounds fills it).
CPU_SECONDS: dict[str, list[float]] = {}


def cpu_medians() -> dict[str, float]:
    out = {k: bc.median(v) for k, v in CPU_SECONDS.items()}
    CPU_SECONDS.clear()
    return out


def section_single(src: Path, s: Settings, work: Path, repeats: int, frames: int) -> dict:
    rung = Rung(1280, 720, 3_000_000)
    outs = {name: work / f"single_{name}.mp4" for name in ("videohw", "ffmpeg", "pyav")}
    tools: dict[str, Callable[[int], dict]] = {
        "videohw": lambda r: run_videohw(src, [rung], s, outs["videohw"]),
        "ffmpeg": lambda r: run_ffmpeg(src, rung, s, outs["ffmpeg"]),
    }
    skipped = {}
    try:
        import av  # noqa: F401

        tools["pyav"] = lambda r: run_pyav(src, rung, s, outs["pyav"])
    except ImportError as e:
        skipped["pyav"] = f"PyAV cannot be imported: {e}"
    times = timed_rounds(tools, repeats)
    med = {k: bc.median(v) for k, v in times.items()}
    result = {
        "rung": dataclasses.asdict(rung),
        "seconds": times,
        "median_seconds": med,
        "median_cpu_seconds": cpu_medians(),
        "fps": {k: frames / v for k, v in med.items()},
        "skipped": skipped,
        "quality": {k: output_quality(outs[k], src, rung) for k in tools},
        "x264_differences": bc.option_differences({k: x264_options(outs[k]) for k in tools}),
    }
    vh_s = med["videohw"]
    result["ratios"] = {f"videohw_vs_{k}": med[k] / vh_s for k in med if k != "videohw"}
    report = run_videohw(src, [rung], s, work / "single_stages.mp4")["report"]
    result["videohw_stages"] = report.stage_seconds
    result["videohw_summary"] = report.summary()
    return result


LADDER = [Rung(1920, 1080, 6_000_000), Rung(1280, 720, 3_000_000), Rung(854, 480, 1_200_000)]


def section_ladder(src: Path, s: Settings, work: Path, repeats: int, frames: int) -> dict:
    base = work / "ladder.mp4"

    def three_runs(r: int) -> dict:
        runs = [
            run_ffmpeg(src, rung, s, rung_file(work / "ladder_runs.mp4", rung)) for rung in LADDER
        ]
        return {key: sum(run[key] for run in runs) for key in ("seconds", "cpu_seconds")}

    tools: dict[str, Callable[[int], dict]] = {
        "videohw": lambda r: run_videohw(src, LADDER, s, base),
        "ffmpeg_3_runs": three_runs,
        "ffmpeg_split": lambda r: run_ffmpeg_split(src, LADDER, s, work / "ladder_split.mp4"),
    }
    times = timed_rounds(tools, repeats)
    med = {k: bc.median(v) for k, v in times.items()}
    quality = {}
    for rung in LADDER:
        for name, stem in (("videohw", "ladder"), ("ffmpeg_split", "ladder_split")):
            out = rung_file(work / f"{stem}.mp4", rung)
            quality[f"{name} {rung.width}x{rung.height}"] = output_quality(out, src, rung)
    return {
        "rungs": [dataclasses.asdict(r) for r in LADDER],
        "seconds": times,
        "median_seconds": med,
        "median_cpu_seconds": cpu_medians(),
        "ratios": {f"videohw_vs_{k}": med[k] / med["videohw"] for k in med if k != "videohw"},
        "quality": quality,
    }


def section_gpu(src: Path, s: Settings, work: Path, repeats: int, frames: int) -> dict:
    rung = Rung(1280, 720, 3_000_000)
    tools: dict[str, Callable[[int], dict]] = {
        "videohw_nvdec": lambda r: run_videohw(
            src, [rung], s, work / "gpu_videohw.mp4", decode_backend="nvidia"
        ),
        "videohw_nvdec_cpu_scale": lambda r: run_videohw(
            src, [rung], s, work / "gpu_cpu_scale.mp4", decode_backend="nvidia", gpu_transform=False
        ),
        "videohw_software": lambda r: run_videohw(src, [rung], s, work / "gpu_sw.mp4"),
    }
    skipped = {}
    ffmpeg = shutil.which("ffmpeg")
    hw = (
        ffmpeg
        and "cuda"
        in subprocess.run(
            [ffmpeg, "-hide_banner", "-hwaccels"], capture_output=True, text=True
        ).stdout
    )
    if hw:
        tools["ffmpeg_hwaccel_cuda"] = lambda r: run_ffmpeg(
            src, rung, s, work / "gpu_ffmpeg.mp4", hwaccel=True
        )
    else:
        skipped["ffmpeg_hwaccel_cuda"] = "no ffmpeg CLI with CUDA on this machine"
        try:
            run_pynvc_glue(src, rung, s, work / "gpu_pynvc.mp4")
            tools["pynvc_torch_glue"] = lambda r: run_pynvc_glue(
                src, rung, s, work / "gpu_pynvc.mp4"
            )
        except Exception as e:  # noqa: BLE001 -- reported as a skipped row
            skipped["pynvc_torch_glue"] = f"{type(e).__name__}: {e}"
    times = timed_rounds(tools, repeats)
    med = {k: bc.median(v) for k, v in times.items()}
    report = run_videohw(src, [rung], s, work / "gpu_stages.mp4", decode_backend="nvidia")["report"]
    return {
        "seconds": times,
        "median_seconds": med,
        "median_cpu_seconds": cpu_medians(),
        "fps": {k: frames / v for k, v in med.items()},
        "ratios": {
            f"videohw_nvdec_vs_{k}": med[k] / med["videohw_nvdec"]
            for k in med
            if k != "videohw_nvdec"
        },
        "skipped": skipped,
        "videohw_stages": report.stage_seconds,
        "videohw_summary": report.summary(),
        "decode_backend": report.decode_backend,
        "transform": report.transform,
    }


SECTIONS = {"single": section_single, "ladder": section_ladder, "gpu": section_gpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", default="single,ladder")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--gop", type=int, default=60)
    parser.add_argument("--b-frames", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="JSON on stdout instead of text")
    args = parser.parse_args()
    sections = [x for x in args.sections.split(",") if x]
    for name in sections:
        if name not in SECTIONS:
            parser.error(f"--sections: {name!r}; expected {', '.join(SECTIONS)}")
    s = Settings(preset=args.preset, gop=args.gop, b_frames=args.b_frames)
    src = make_source(1920, 1080, args.frames, s.fps)
    results: dict = {
        "source": str(src),
        "frames": args.frames,
        "settings": dataclasses.asdict(s),
        "machine_cores": bc.machine_cores(),
        "ffmpeg": bc.debian_ffmpeg_version(),
        "pyav": bc.pyav_versions(),
    }
    with tempfile.TemporaryDirectory(prefix="videohw-transcode-") as tmp:
        for name in sections:
            bc.progress(f"section {name}")
            results[name] = SECTIONS[name](src, s, Path(tmp), args.repeats, args.frames)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
        return 0
    print_text(results)
    return 0


def print_text(results: dict) -> None:
    print(f"source {results['source']} ({results['frames']} frames), {results['settings']}")
    print(f"ffmpeg {results['ffmpeg']}; PyAV {results['pyav']}; {results['machine_cores']} cores")
    for name in SECTIONS:
        r = results.get(name)
        if not r:
            continue
        print(f"\n[{name}]")
        for tool, sec in r["median_seconds"].items():
            fps = r.get("fps", {}).get(tool)
            cpu = r.get("median_cpu_seconds", {}).get(tool)
            print(
                f"  {tool:22s} {sec:6.2f} s"
                + (f"  {fps:6.1f} fps" if fps else "")
                + (f"  cpu {cpu:6.2f} s" if cpu is not None else "")
            )
        for k, v in r["ratios"].items():
            print(f"  {k}: {v:.2f}x")
        for k, v in r.get("skipped", {}).items():
            print(f"  skipped {k}: {v}")
        for k, v in r.get("quality", {}).items():
            print(f"  quality {k}: {v}")
        if r.get("x264_differences"):
            print(f"  x264 option differences: {r['x264_differences']}")
        if "videohw_stages" in r:
            print(
                "  videohw stage busy seconds: "
                + ", ".join(f"{k} {v:.2f}" for k, v in r["videohw_stages"].items())
            )
    if "single" in results:
        ratios = results["single"]["ratios"]
        for peer, goal in (("pyav", GOAL_VS_PYAV), ("ffmpeg", GOAL_VS_FFMPEG)):
            if f"videohw_vs_{peer}" in ratios:
                got = ratios[f"videohw_vs_{peer}"]
                print(
                    f"goal single vs {peer} >= {goal}x: {got:.2f}x "
                    f"{'met' if got >= goal else 'NOT met'}"
                )
    if "ladder" in results:
        got = results["ladder"]["ratios"]["videohw_vs_ffmpeg_3_runs"]
        print(
            f"goal ladder vs 3 runs >= {GOAL_LADDER_VS_RUNS}x: {got:.2f}x "
            f"{'met' if got >= GOAL_LADDER_VS_RUNS else 'NOT met'}"
        )


if __name__ == "__main__":
    sys.exit(main())
