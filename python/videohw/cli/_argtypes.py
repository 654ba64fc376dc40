"""Argument types of the ``encode`` options: each parses one value or raises argparse's
error with the text that was given."""

from __future__ import annotations

import argparse


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected WIDTHxHEIGHT, e.g. 1280x720"
        ) from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be positive")
    return w, h


def _fps(text: str) -> tuple[int, int]:
    try:
        num, _, den = text.partition("/")
        n, d = int(num), int(den) if den else 1
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected N or N/D, e.g. 30 or 30000/1001"
        ) from None
    if n <= 0 or d <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: numerator and denominator must be >= 1")
    return n, d


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be >= 1")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer") from None


def _index_list(text: str) -> list[int]:
    try:
        values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected frame indices like 10,50") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: expected frame indices >= 0 like 10,50")
    return values


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number") from None
