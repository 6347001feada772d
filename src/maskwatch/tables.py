"""The console the commands print their tables on: fitted to the terminal, one line per row when piped.

Rich wraps a table to 80 columns when the output is not a terminal, so `maskwatch detect ... >
faces.txt` used to cut every row over two or three lines. Piped or redirected, the console is as
wide as the widest row (no wrapping, no colour); on a terminal it fits the terminal's width.
"""

from __future__ import annotations

import sys

from rich.console import Console

#: Width used when the output is not a terminal: wide enough that no row wraps.
PIPED_WIDTH = 10_000


def table_console(stderr: bool = False) -> Console:
    """A rich Console for tables on stdout (or stderr)."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPED_WIDTH, no_color=True, highlight=False, soft_wrap=True)
