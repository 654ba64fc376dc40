"""Where ``encode`` writes: the output path and container from ``-o`` / ``--format``, the
refusal to write over the input, and files that appear under their final name only when
complete."""

from __future__ import annotations

import os
from typing import Any, Optional

from ._errors import EXIT_FAIL, CliError

# -o's container by extension (case-insensitive); --format overrides it.
OUTPUT_FORMATS = ("mp4", "fmp4", "mkv", "ts", "annexb")
_FORMAT_OF_EXTENSION = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mp4",
    ".mkv": "mkv",
    ".ts": "ts",
    ".m2ts": "ts",
    ".h264": "annexb",
    ".264": "annexb",
    ".avc": "annexb",
    ".hevc": "annexb",
    ".h265": "annexb",
    ".265": "annexb",
}
_DEFAULT_EXTENSION = {"mp4": ".mp4", "fmp4": ".mp4", "mkv": ".mkv", "ts": ".ts"}
_FORMAT_NAMES = {
    "mp4": "MP4, faststart",
    "fmp4": "fragmented MP4",
    "mkv": "Matroska",
    "ts": "MPEG-TS",
    "annexb": "Annex-B",
}


def output_target(output: Optional[str], fmt: Optional[str], codec: str) -> tuple[str, str]:
    """(path, format) of ``-o`` / ``--format``: the format from the extension unless
    ``--format`` names one; without ``-o``, ``out.<codec>`` (Annex-B) or ``out.mp4`` etc."""
    if output is None:
        ext = _DEFAULT_EXTENSION.get(fmt or "annexb", f".{codec}")
        return f"out{ext}", fmt or "annexb"
    if fmt is not None:
        return output, fmt
    ext = os.path.splitext(output)[1].lower()
    if ext not in _FORMAT_OF_EXTENSION:
        known = " ".join(_FORMAT_OF_EXTENSION)
        raise CliError(
            f"-o {output}: {'no' if not ext else 'unknown'} extension"
            f"{'' if not ext else ' ' + repr(ext)}; expected one of {known}, or "
            f"--format {'|'.join(OUTPUT_FORMATS)}"
        )
    return output, _FORMAT_OF_EXTENSION[ext]


def _same_file(a: str, b: str) -> bool:
    """Whether two names lead to one file (same device and inode: symbolic links are
    followed, hard links match); False when either does not exist."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_input_as_output(input_path: Optional[str], output: str, what: str = "-o") -> None:
    """Exit 2 when ``output`` is the input file under any name: writing it would destroy
    the frames being read."""
    if input_path is not None and _same_file(input_path, output):
        raise CliError(
            f"{what} {output} is the input file --input {input_path} (the same "
            "file); refusing to write over the input: choose another output name"
        )


class _PendingFile:
    """A file written under a temporary name in its final folder, ``.<name>.tmp-<pid>-<hex>``,
    and renamed to its final name by ``commit()``; ``discard()`` removes it. A final name
    that is a symbolic link is written through: the file replaces the link's target."""

    def __init__(self, path: str, flag: str) -> None:
        self.path = path
        self.flag = flag  # how the path is named in messages: "-o", "segment"
        if not path:
            raise CliError(f"{flag}: the output path is empty")
        target = os.path.realpath(path) if os.path.islink(path) else path
        if os.path.isdir(target):
            raise CliError(f"{flag} {path}: is a directory", EXIT_FAIL)
        self._target = target
        self.committed = False
        # A device or FIFO (/dev/null, /dev/full, a pipe) is written in place: renaming a
        # file over it would replace the device.
        self.in_place = os.path.exists(target) and not os.path.isfile(target)
        if self.in_place:
            self.temp = target
            try:
                self.file: Any = open(target, "wb")
            except OSError as exc:
                raise CliError(
                    f"{flag} {path}: cannot open: {exc.strerror or exc}", EXIT_FAIL
                ) from exc
            return
        folder, name = os.path.split(os.path.abspath(target))
        self.temp = os.path.join(folder, f".{name}.tmp-{os.getpid()}-{os.urandom(8).hex()}")
        try:
            fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise CliError(
                f"{flag} {path}: cannot create a file in {folder or '.'}: {exc.strerror or exc}",
                EXIT_FAIL,
            ) from exc
        self.file = os.fdopen(fd, "wb")
        self.committed = False

    def write(self, data: Any) -> None:
        try:
            self.file.write(data)
        except OSError as exc:
            raise CliError(
                f"{self.flag} {self.path}: write failed: {exc.strerror or exc}", EXIT_FAIL
            ) from exc

    def finish(self) -> None:
        """Flushes and closes the temporary file (errors named)."""
        if not self.file.closed:
            try:
                self.file.close()
            except OSError as exc:
                raise CliError(
                    f"{self.flag} {self.path}: write failed: {exc.strerror or exc}", EXIT_FAIL
                ) from exc

    def commit(self) -> None:
        self.finish()
        if self.in_place:
            self.committed = True
            return
        try:
            os.replace(self.temp, self._target)
        except OSError as exc:
            raise CliError(
                f"{self.flag} {self.path}: cannot rename {self.temp} to it: {exc.strerror or exc}",
                EXIT_FAIL,
            ) from exc
        self.committed = True

    def discard(self) -> None:
        """Removes what this file wrote: the temporary file, or the final one if it was
        already renamed (a later segment failed). Never raises."""
        try:
            self.file.close()
        except OSError:
            pass
        if self.in_place:
            return
        try:
            os.unlink(self._target if self.committed else self.temp)
        except OSError:
            pass
