"""One error type for everything a user can get wrong (or we can).

The CLI turns an :class:`MltlError` into one red line on stderr and an exit
code: 2 for bad input, 1 for internal errors. Library code raises these with a
message that names the file (and line) so notebook users get the same text.
"""

from __future__ import annotations

from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1


class MltlError(Exception):
    """An error with a user-facing message and an exit code."""

    exit_code: int = EXIT_BAD_INPUT

    def __init__(
        self, message: str, *, path: str | Path | None = None, line: int | None = None, exit_code: int | None = None
    ) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = str(path) if path is not None else None
        self.line = line
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)


class InputError(MltlError):
    """Bad input from the user: a file, an option, a language code (exit 2)."""

    exit_code = EXIT_BAD_INPUT


class InternalError(MltlError):
    """Something mltl itself got wrong (exit 1)."""

    exit_code = EXIT_INTERNAL
