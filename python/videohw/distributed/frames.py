"""read_frames: frames of many videos as a Ray Dataset, for training pipelines.

Rows are planned in the driver (which frames of which file, in chunks); Ray Data runs the
decoding in actors that each keep one ``SessionController`` and a few open readers, so a
file's chunks reuse one decode session (a seek is a reset, not a new decoder), and the next
file of the same codec reuses the idle one.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from .. import _args, _core
from ..controller import SessionController
from ..errors import ConfigError, InvalidTypeError
from ..media import probe, select_video_stream
from ..reader import VideoReader
from . import _ray

PathLike = Union[str, "os.PathLike[str]"]
Indices = Union[Sequence[int], Mapping[str, Sequence[int]], None]
OUTPUTS = ("rgb",)
_CHUNK = 32  # frames per planned row batch: a GOP or two of one file, decoded in one pass
_OPEN_READERS = 4  # readers an actor keeps open


def _paths(paths: Union[PathLike, Sequence[PathLike]]) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    if not isinstance(paths, Sequence) or not paths:
        raise InvalidTypeError("read_frames: paths must be a path or a non-empty list of paths")
    out = []
    for i, p in enumerate(paths):
        if not isinstance(p, (str, os.PathLike)):
            raise InvalidTypeError(f"read_frames: paths[{i}] is a {type(p).__name__}")
        out.append(os.fspath(p))
    return out


def _size(size: Any) -> Optional[tuple[int, int]]:
    if size is None:
        return None
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise ConfigError(f"read_frames: size is {size!r}; expected (width, height)")
    w = _args.integer("read_frames", "size[0]", size[0], 2, 16384)
    h = _args.integer("read_frames", "size[1]", size[1], 2, 16384)
    return (w, h)


def _plan(
    path: str,
    indices: Indices,
    fps: Optional[float],
    clip_len: Optional[int],
) -> list[dict[str, Any]]:
    """The work items of one file: {"path", "starts" | "seconds", "clip_len"}."""
    video = select_video_stream(probe(path), None)
    count = video.frame_count
    if isinstance(indices, Mapping):
        wanted = indices.get(path)
        if wanted is None:
            return []
        chosen: Optional[list[int]] = list(wanted)
    elif indices is not None:
        chosen = list(indices)
    else:
        chosen = None
    if chosen is not None:
        for i in chosen:
            if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
                raise InvalidTypeError(f"read_frames: index {i!r} of {path} is not an int")
            last = int(i) + (clip_len or 1) - 1
            if i < 0 or last >= count:
                raise ConfigError(
                    f"read_frames: {path} has {count} frames; frame {last} was asked for"
                )
        starts = [int(i) for i in chosen]
    elif fps is not None:
        duration = video.duration_seconds or (count / float(video.avg_fps or 1))
        n = int(duration * fps + 1e-9)
        seconds = [k / fps for k in range(n)]
        return [
            {"path": path, "seconds": seconds[i : i + _CHUNK], "starts": [], "clip_len": 1}
            for i in range(0, len(seconds), _CHUNK)
        ]
    elif clip_len:
        starts = list(range(0, count - clip_len + 1, clip_len))
    else:
        starts = list(range(count))
    step = max(1, _CHUNK // (clip_len or 1))
    return [
        {"path": path, "starts": starts[i : i + step], "seconds": [], "clip_len": clip_len or 1}
        for i in range(0, len(starts), step)
    ]


class FrameDecoder:
    """The Ray Data actor: decodes the planned items on sessions it keeps."""

    def __init__(self, backend: str, size: Optional[tuple[int, int]], clips: bool) -> None:
        self.controller = SessionController._for_decoding(backend)
        self.backend = backend
        self.size = size
        self.clips = clips
        self.readers: OrderedDict[str, VideoReader] = OrderedDict()

    def _reader(self, path: str) -> VideoReader:
        reader = self.readers.pop(path, None)
        if reader is None:
            reader = VideoReader(path, backend=self.backend, controller=self.controller)
            if len(self.readers) >= _OPEN_READERS:
                _, oldest = self.readers.popitem(last=False)
                oldest.close()  # its session goes back to the controller, idle
        self.readers[path] = reader
        return reader

    def _picture(self, frame: Any) -> np.ndarray:
        rgb = frame.rgb
        if self.size is not None and (rgb.shape[1], rgb.shape[0]) != self.size:
            rgb = _core.scale_rgb(np.ascontiguousarray(rgb), self.size[0], self.size[1])
        return np.asarray(rgb)

    def __call__(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        path = item["path"]
        reader = self._reader(path)
        clip_len = int(item["clip_len"])
        if len(item["seconds"]):
            frames = reader.get_frames_played_at([float(s) for s in item["seconds"]])
            groups = [[f] for f in frames]
        else:
            starts = [int(s) for s in item["starts"]]
            wanted = [s + k for s in starts for k in range(clip_len)]
            frames = reader.get_frames_at(wanted)
            groups = [frames[i : i + clip_len] for i in range(0, len(frames), clip_len)]
        rows = []
        for group in groups:
            pictures = [self._picture(f) for f in group]
            if self.clips:
                rows.append(
                    {
                        "frames": np.stack(pictures),
                        "path": path,
                        "index": np.array([f.index for f in group], np.int64),
                        "pts": np.array([f.pts for f in group], np.int64),
                    }
                )
            else:
                f = group[0]
                rows.append({"frame": pictures[0], "path": path, "index": f.index, "pts": f.pts})
        return rows


def read_frames(
    paths: Union[PathLike, Sequence[PathLike]],
    indices: Indices = None,
    fps: Optional[float] = None,
    clip_len: Optional[int] = None,
    output: str = "rgb",
    size: Optional[tuple[int, int]] = None,
    *,
    backend: str = "auto",
    address: Optional[str] = None,
    concurrency: Optional[int] = None,
) -> Any:
    """A ``ray.data.Dataset`` of frames of ``paths``.

    Which frames: ``indices`` (display indices, the same for every file, or a dict of path
    to indices), or ``fps`` (the frame shown at every 1/fps seconds), or every frame.
    ``clip_len``: each row holds that many consecutive frames from each index (without
    indices: the file cut into clips). Rows: ``frame`` (h, w, 3) uint8, ``path``,
    ``index``, ``pts`` -- with ``clip_len``: ``frames`` (n, h, w, 3) and arrays of index and
    pts. ``size=(w, h)`` scales (bilinear). Frames are exact (the media layer's frame-exact
    seeking). Decoding runs in ``concurrency`` actors (default: the CPUs, or the GPUs for
    ``backend="nvidia"``), each keeping its decode sessions. ``address`` joins a cluster;
    None uses this process's Ray or starts a local one (left running for the dataset).
    """
    _args.choice("read_frames", "output", output, OUTPUTS)
    _args.choice("read_frames", "backend", backend, ("auto", "software", "nvidia"))
    if sum(x is not None for x in (indices, fps)) > 1:
        raise ConfigError("read_frames: give indices or fps, not both")
    if fps is not None and (not isinstance(fps, (int, float)) or isinstance(fps, bool) or fps <= 0):
        raise ConfigError(f"read_frames: fps is {fps!r}; expected a rate > 0")
    if fps is not None and clip_len is not None:
        raise ConfigError("read_frames: clip_len goes with indices or whole files, not fps")
    clip_len = _args.integer("read_frames", "clip_len", clip_len, 1, 1 << 20, optional=True)
    scaled = _size(size)
    files = _paths(paths)
    ray = _ray.require()
    items = [item for path in files for item in _plan(path, indices, fps, clip_len)]
    if not items:
        raise ConfigError("read_frames: no frames were asked for")
    _ray.connect(ray, address)
    gpus = int(ray.cluster_resources().get("GPU", 0))
    on_gpu = backend == "nvidia" or (backend == "auto" and gpus > 0)
    workers = concurrency or (
        gpus if on_gpu else max(1, int(ray.cluster_resources().get("CPU", 1)))
    )
    options: dict[str, Any] = {"concurrency": workers}
    if on_gpu:
        options["num_gpus"] = 1
    else:
        options["num_cpus"] = 1
    # A block per item up to a few per actor, so every actor gets work.
    blocks = max(1, min(len(items), 4 * workers))
    return ray.data.from_items(items, override_num_blocks=blocks).flat_map(
        FrameDecoder,
        fn_constructor_kwargs={
            "backend": "nvidia" if on_gpu and backend != "software" else "software",
            "size": scaled,
            "clips": clip_len is not None,
        },
        **options,
    )
