"""One exit path for every command line (pretrain, evaluate, study, pack, read, export, drill, ...).

An expected error (an exception class with an ``exit_code``) prints one line, ``error: <message naming the file, key or value>``, on stderr
and exits with 2:
- a bad parameter (ParameterError, including a run folder that would be clobbered);
- unusable data (DataError);
- an unusable checkpoint or recognizer file (CheckpointError);
- a failed export (ExportError);
- a file that cannot be read or written (OSError: missing, permissions, disk full).

A non-finite stop (NonFiniteLossError) exits with 3. ``--debug`` anywhere on the command line
shows the traceback instead. Anything else is a bug and keeps its traceback (exit 1).
"""

from __future__ import annotations

import functools
import sys
from typing import Callable

EXIT_ERROR = 2
EXIT_NONFINITE = 3


def exit_code(err: BaseException) -> int | None:
    """The exit code of an expected error (its class's ``exit_code``: 2, or 3 for a non-finite
    stop; 2 for an OSError), None for anything else."""
    code = getattr(type(err), "exit_code", None)
    if code is not None:
        return int(code)
    return EXIT_ERROR if isinstance(err, OSError) else None


def one_line(err: BaseException) -> str:
    """The message on one line (an OSError without a file name gets its class name)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if not isinstance(err, OSError) or getattr(err, "filename", None) else f"{type(err).__name__}: {text}"


def guarded(main: Callable[[list[str]], int | None]) -> Callable[[list[str] | None], int]:
    """Wrap a ``main(argv)``: strips ``--debug``, turns expected errors into one line and an exit code."""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        argv = list(sys.argv[1:] if argv is None else argv)
        debug = "--debug" in argv
        argv = [a for a in argv if a != "--debug"]
        try:
            return int(main(argv) or 0)
        except Exception as err:
            code = exit_code(err)
            if code is None or debug:
                raise
            print(f"error: {one_line(err)}", file=sys.stderr)
            return code

    return run
