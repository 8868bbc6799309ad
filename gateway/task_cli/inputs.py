"""What a task command runs on: files, globs and directories (a batch), a text, or stdin.

Images and audio: each argument is a file, a glob (``'photos/*.jpg'``, ``**`` recurses) or
a directory (its image or audio files, recursively, by suffix); ``-`` reads stdin. Text
tasks: the words of TEXT joined by spaces, or ``-`` for stdin; ``--file`` (repeatable) takes
files, globs or directories whose contents are the texts. A glob, a directory or more than
one file makes a batch.
"""

from __future__ import annotations

import glob
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from omnisense.schema import InputKind

SUFFIXES = {
    InputKind.IMAGE: frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}),
    InputKind.AUDIO: frozenset({".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus"}),
    InputKind.TEXT: frozenset({".txt", ".md", ".text"}),
    InputKind.VIDEO: frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv"}),
}


class InputError(ValueError):
    """The command line names no usable input."""


@dataclass(frozen=True)
class Item:
    name: str  # the path, or "-" / "text"
    source: bytes | str  # media bytes, or the text itself

    @property
    def stem(self) -> str:
        return Path(self.name).stem if self.name not in ("-", "text") else "say"


@dataclass(frozen=True)
class Inputs:
    items: list[Item]
    batch: bool


def _files(pattern: str, kind: InputKind) -> tuple[list[Path], bool]:
    """The files an argument names, and whether it was a glob or a directory."""
    path = Path(pattern)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES[kind])
        if not found:
            raise InputError(f"{pattern}: no {kind.value} files ({', '.join(sorted(SUFFIXES[kind]))})")
        return found, True
    if glob.has_magic(pattern):
        found = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        if not found:
            raise InputError(f"{pattern}: no file matches")
        return found, True
    if not path.is_file():
        raise InputError(f"{pattern}: no such file")
    return [path], False


def expand(patterns: list[str], kind: InputKind, *, as_text: bool) -> Inputs:
    items: list[Item] = []
    batch = False
    for pattern in patterns:
        paths, many = _files(pattern, kind)
        batch = batch or many
        for p in paths:
            data = p.read_bytes()
            items.append(Item(str(p), data.decode("utf-8", errors="replace") if as_text else data))
    return Inputs(items, batch or len(items) > 1)


def media_inputs(args: list[str], kind: InputKind, stdin: BinaryIO | None = None) -> Inputs:
    if args == ["-"]:
        return Inputs([Item("-", (stdin or sys.stdin.buffer).read())], False)
    return expand(args, kind, as_text=False)


def text_inputs(words: list[str], files: list[str], stdin: TextIO | None = None) -> Inputs:
    if files and words:
        raise InputError("give TEXT or --file, not both")
    if files:
        return expand(files, InputKind.TEXT, as_text=True)
    if words == ["-"]:
        return Inputs([Item("-", (stdin or sys.stdin).read())], False)
    if not words:
        raise InputError("no text: give TEXT, '-' for stdin, or --file")
    return Inputs([Item("text", " ".join(words))], False)
