"""``--switch FRAME:SPEC:MODE``: parsing, one switch per frame, and the target config of
each switch."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._argtypes import _fps, _int, _positive_int, _size
from ._errors import CliError
from ._input import _Input

_SWITCH_MODES = ("immediate", "on_next_keyframe", "drain_then_swap")
_CODECS = ("h264", "hevc")


@dataclass
class SwitchSpec:
    frame: int
    changes: dict
    mode: str
    idr: bool
    text: str = ""  # as given on the command line, for messages


def _switch_spec(text: str) -> SwitchSpec:
    """FRAME:SPEC:MODE; SPEC may itself hold ':' (rc=cbr:2M), so split at the ends."""
    head, _, rest = text.partition(":")
    spec, _, mode = rest.rpartition(":")
    if not head or not spec or mode not in _SWITCH_MODES:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected FRAME:SPEC:MODE with MODE one of {', '.join(_SWITCH_MODES)}"
        )
    frame = _int(head)
    if frame < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: FRAME must be >= 1 (frame 0 starts the session)"
        )
    changes, idr = switch_changes(spec, text)
    return SwitchSpec(frame, changes, mode, idr, text)


def switch_changes(spec: str, text: str) -> tuple[dict, bool]:
    """SPEC (key=value,...) as CommonEncodeConfig changes and force_idr_on_activate."""
    changes: dict = {}
    idr = True
    for item in spec.split(","):
        key, eq, value = item.partition("=")
        if not eq:
            raise argparse.ArgumentTypeError(f"{text!r}: {item!r} is not key=value")
        try:
            if key == "size":
                changes["width"], changes["height"] = _size(value)
            elif key == "rc":
                changes["rate_control"] = value  # parsed with the contract's RateControl.parse
            elif key == "gop":
                changes["gop_length"] = _positive_int(value)
            elif key == "b-frames":
                changes["b_frames"] = _int(value)
                changes["frame_interval_p"] = None
            elif key == "fps":
                changes["fps_num"], changes["fps_den"] = _fps(value)
            elif key == "idr":
                if value not in ("0", "1"):
                    raise argparse.ArgumentTypeError(f"idr={value!r}: expected 0 or 1")
                idr = value == "1"
            elif key == "codec":
                if value not in _CODECS:
                    raise argparse.ArgumentTypeError(
                        f"codec={value!r}: expected {' or '.join(_CODECS)}"
                    )
                changes["codec"] = value  # a new stream: written to a segment file of its own
            else:
                raise argparse.ArgumentTypeError(
                    f"unknown key {key!r}; expected size, rc, gop, b-frames, fps, codec or idr"
                )
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"--switch {text!r}: {exc}") from exc
    return changes, idr


def _one_switch_per_frame(switches: Sequence[SwitchSpec]) -> None:
    """Exit 2 for two --switch entries at one frame. The API would take both, one after the
    other, and the first one's generation would encode no frame; which one a user meant,
    and in which order, a command line cannot say."""
    first: dict[int, SwitchSpec] = {}
    for sw in switches:
        if sw.frame in first:
            raise CliError(
                f"--switch {first[sw.frame].text!r} and --switch {sw.text!r} are "
                f"both at frame {sw.frame}; give one switch per frame (keys "
                "combine: --switch FRAME:size=WxH,rc=SPEC:MODE)"
            )
        first[sw.frame] = sw


def _switch_targets(vh: Any, common: Any, switches: Sequence[SwitchSpec], source: _Input) -> list:
    """The target config of each switch, each starting from the one before it."""
    targets, config = [], common
    for sw in switches:
        if sw.frame >= source.n_frames:
            raise CliError(f"--switch at frame {sw.frame}: the encode has {source.n_frames} frames")
        changes = dict(sw.changes)
        if "rate_control" in changes:
            try:
                changes["rate_control"] = vh.RateControl.parse(changes["rate_control"])
            except vh.ConfigError as exc:
                raise CliError(f"--switch at frame {sw.frame}: {exc}") from exc
        if "codec" in changes:
            changes["codec"] = vh.Codec(changes["codec"])
        if source.path is not None and ("width" in changes or "height" in changes):
            raise CliError(
                f"--switch at frame {sw.frame}: a size change needs frames of the new "
                "size; a raw --input file holds one size (use the synthetic input)"
            )
        try:
            config = dataclasses.replace(config, **changes)
        except vh.ConfigError as exc:
            raise CliError(f"--switch at frame {sw.frame}: {exc}") from exc
        targets.append(config)
    return targets
