"""The exit codes every `maskwatch` command uses, so scripts can trust them.

0: every input was processed. 1: some inputs were skipped (each one is named on stderr with its
reason). 2: nothing was processed, or the command line / configuration is wrong.
"""

from __future__ import annotations

import sys

OK = 0
SOME_SKIPPED = 1
NOTHING_DONE = 2

#: The sentence shown at the end of every command's --help and in the README.
EXIT_CODES = (
    "Exit codes: 0 every input was processed; 1 some inputs were skipped (each named on stderr); "
    "2 nothing was processed, or a usage error."
)


def outcome(processed: int, skipped: int) -> int:
    """The exit code for a run that processed `processed` inputs and skipped `skipped`."""
    if processed == 0:
        return NOTHING_DONE
    return SOME_SKIPPED if skipped else OK


def finish(processed: int, skipped: int, what: str = "input", verb: str = "skipped", done: str = "processed") -> None:
    """End a command with its outcome's exit code; says so on stderr when it is not 0 (even with -q).

    The line reads "{skipped} {what}(s) {verb}, {processed} {done}", e.g. "2 file(s) skipped, 5 processed".
    """
    import typer

    code = outcome(processed, skipped)
    if code == NOTHING_DONE:
        print(f"error: nothing was processed ({skipped} {what}(s) {verb})", file=sys.stderr)
    elif code == SOME_SKIPPED:
        print(f"{skipped} {what}(s) {verb}, {processed} {done}", file=sys.stderr)
    if code:
        raise typer.Exit(code)
