"""Errors and warnings raised by tenderwatch.

Every error a user can cause carries a message saying what went wrong and a hint saying what to do; the
CLI prints both on one line and exits with a non-zero code, without a stack trace.

    TenderwatchError
    ├── SettingsError      a setting or the settings file is invalid
    ├── StoreError         the store cannot be opened or is not a tenderwatch store
    ├── InputError         an input path or stream cannot be read at all
    ├── CompileError       the releases of one process cannot be merged (recorded as a reject, not shown)
    └── NothingLoadedError a load read its inputs but stored nothing (everything was rejected)

    TenderwatchWarning (UserWarning)
"""

from __future__ import annotations

import errno
from pathlib import Path


class TenderwatchError(Exception):
    """Base class of all tenderwatch errors."""

    hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message}: {self.hint}" if self.hint else message


class SettingsError(TenderwatchError):
    """Raised when a setting, an environment variable or the settings file is invalid."""

    hint = "fix the value (see docs/settings.md)"


class StoreError(TenderwatchError):
    """Raised when the store file cannot be opened, is locked by another process, or is not a tenderwatch store."""

    hint = "check the --db path, TENDERWATCH_DB, or that no other tenderwatch command is writing to it"


class InputError(TenderwatchError):
    """Raised when an input path or stream cannot be opened or read at all (a missing file, a directory)."""

    hint = "check the path and try again"


class CompileError(TenderwatchError):
    """Raised when the releases of one contracting process cannot be merged into a compiled release."""

    hint = "the releases are kept; correct the publisher's data or report it to them"


class NothingLoadedError(TenderwatchError):
    """Raised when a load read its inputs but could store nothing new and everything was rejected."""

    hint = "see the reasons with `tenderwatch status --rejects`"


class TenderwatchWarning(UserWarning):
    """Base class of tenderwatch warnings."""


def unwritable(path: Path | str, error: OSError) -> InputError:
    """Return the error for an output file that could not be written, with a hint that fits the cause."""
    hints = {
        errno.ENOENT: "check the folder exists",
        errno.ENOSPC: "the disk is full: free some space, or write somewhere else",
        errno.EACCES: "check you may write there, or write somewhere else",
        errno.EPERM: "check you may write there, or write somewhere else",
        errno.EROFS: "that disk is read-only: write somewhere else",
        errno.EISDIR: "give a file name, not a folder",
    }
    reason = error.strerror or type(error).__name__
    return InputError(f"{path}: cannot be written ({reason})", hints.get(error.errno or 0, "check the path"))
