"""The ``omnisense`` command's one table style (rich), shared by every subcommand that prints tables.

Output that is not a terminal (a pipe, a file, a test's buffer) is never wrapped or cut:
the console is wide and colourless there, so scripts can grep the rows.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table

PIPE_WIDTH = 250


def console(out: TextIO | None = None, *, stderr: bool = False) -> Console:
    file = out or (sys.stderr if stderr else sys.stdout)
    tty = file.isatty()
    return Console(file=file, width=None if tty else PIPE_WIDTH, no_color=not tty, highlight=False, soft_wrap=not tty)


def table(columns: Sequence[str], rows: Sequence[Sequence[RenderableType]], *, title: str | None = None,
          numeric: Sequence[str] = ()) -> Table:  # fmt: skip
    """A table in the house style; ``numeric`` columns are right-aligned."""
    out = Table(
        title=title, box=box.SIMPLE_HEAD, header_style="bold", title_justify="left", pad_edge=False, show_edge=False
    )
    for name in columns:
        out.add_column(name, justify="right" if name in numeric else "left", overflow="fold")
    for row in rows:
        out.add_row(*row)
    return out


def print_table(out: TextIO | None, columns: Sequence[str], rows: Sequence[Sequence[RenderableType]], *,
                title: str | None = None, numeric: Sequence[str] = ()) -> None:  # fmt: skip
    console(out).print(table(columns, rows, title=title, numeric=numeric))
