#!/usr/bin/env python3
"""Fails when a C++ file includes a layer above its own (docs/architecture.md).

Each folder of cpp/ has a floor; a file may include its own folder and folders on lower
floors only. Folders on one floor (software/ and nv_session/, say) do not include each
other, and session/, pipeline/ and bindings/ reach a backend only through backend/. Run by
the test command; `--list` prints every include with the floors."""

from __future__ import annotations

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CPP = ROOT / "cpp"

# Lowest first. A folder not listed here is an error: a new folder gets a floor on purpose.
FLOORS = {
    "contract": 0,
    "ring": 1,
    "bitstream": 1,
    "transform": 1,
    "media": 2,
    "backend": 3,
    "nv_session/cuda": 4,
    "software": 5,
    "nv_session/nvenc": 5,
    "nv_session/nvdec": 5,
    "session": 6,
    "pipeline": 7,
    "bindings": 8,
}

# Backends are reached only through backend/'s interfaces and registries: the layers above
# them never name one.
BACKENDS = ("software", "nv_session/cuda", "nv_session/nvenc", "nv_session/nvdec")
ABOVE_BACKENDS = ("session", "pipeline", "bindings")

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(relative: str) -> str | None:
    best = None
    for name in FLOORS:
        if relative == name or relative.startswith(name + "/"):
            if best is None or len(name) > len(best):
                best = name
    return best


def main() -> int:
    listing = "--list" in sys.argv
    problems: list[str] = []
    for path in sorted(CPP.rglob("*")):
        if path.suffix not in (".cpp", ".hpp", ".h", ".cu"):
            continue
        relative = path.relative_to(CPP).as_posix()
        own = folder_of(relative)
        if own is None:
            problems.append(
                f"{relative}: cpp/{relative.split('/')[0]}/ has no floor in scripts/check_layers.py"
            )
            continue
        for target in INCLUDE.findall(path.read_text(errors="replace")):
            if "/" not in target:
                continue  # a header beside it, or a generated one
            other = folder_of(target)
            if other is None:
                if (CPP / target).exists():
                    problems.append(f"{relative}: includes {target}, a folder with no floor")
                continue
            if listing:
                print(f"{own}({FLOORS[own]}) -> {other}({FLOORS[other]}): {relative} -> {target}")
            if own in ABOVE_BACKENDS and other in BACKENDS:
                problems.append(
                    f"{relative} includes {target}: {own}/ reaches backends only through backend/"
                )
            elif other != own and FLOORS[other] >= FLOORS[own]:
                problems.append(
                    f"{relative} (floor {FLOORS[own]}, {own}/) includes {target} "
                    f"(floor {FLOORS[other]}, {other}/): only lower floors"
                )
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} include(s) against the layers; see docs/architecture.md")
        return 1
    print("layers: every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
