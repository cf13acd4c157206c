"""Errors of the live sources.

TenderwatchError
└── SourceError     a sync could not finish (the window, the URL and what to do are in the message)
    └── FetchError  a request failed for good: a client error, or every attempt failed
"""

from __future__ import annotations

from tenderwatch.exceptions import TenderwatchError


class SourceError(TenderwatchError):
    """Raised when a sync cannot finish a source; what was read before is kept and the next sync goes on."""

    hint = "run the same sync again to retry; the windows already read are kept"


class FetchError(SourceError):
    """Raised when a request fails for good: a client error (400, 404…), or every attempt failed."""
