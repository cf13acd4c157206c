"""Small helpers shared across tenderwatch."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import html
import importlib.util
import multiprocessing
import re
import sys
import warnings
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class WorkerPool:
    """Worker processes that map a function over a stream of items, yielding results in input order.

    At most ``2 * workers`` items are in flight, so a long input never piles up in memory. With one worker,
    everything runs in this process. Workers are forked where the platform allows (they start at once and
    need no importable ``__main__``, so the library works from notebooks and piped scripts); they never touch
    the store.
    """

    def __init__(self, workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...] = ()) -> None:
        self.workers = workers
        self.initializer = initializer
        self.initargs = initargs
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> WorkerPool:
        self.initializer(*self.initargs)  # the main process works too, on what is not worth sending
        if self.workers > 1:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            context = multiprocessing.get_context(method)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork while DuckDB's threads exist: see above
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=context, initializer=self.initializer, initargs=self.initargs
                )
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Stop the worker processes now, giving back their memory; anything mapped later runs in this process."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def map(self, function: Callable[[T], R], items: Iterable[T | R], done: type | None = None) -> Iterator[R]:
        """Apply ``function`` to every item, in the workers, and yield the results in order.

        Items that are already instances of ``done`` are results computed by the caller; they keep their place
        in the order without going to a worker.
        """
        if self._pool is None:
            for item in items:
                yield item if done is not None and isinstance(item, done) else function(item)
            return
        window: deque[Future[R]] = deque()
        for item in items:
            if done is not None and isinstance(item, done):
                future: Future[R] = Future()
                future.set_result(item)
                window.append(future)
            else:
                window.append(self._pool.submit(function, item))
            if len(window) >= 2 * self.workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


@contextlib.contextmanager
def no_cyclic_gc() -> Generator[None, None, None]:
    """Pause Python's cyclic garbage collector.

    Parsed JSON holds no reference cycles, but millions of short-lived dicts and lists make the collector
    scan the heap again and again (measured: 4 times slower parsing). Memory is still freed by reference
    counting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def skip_missing_pandas() -> None:
    """DuckDB's Python client tries to import pandas for every value it converts (each query parameter, each list
    item of one, each value of a row read back); without pandas installed, each try searches the whole import
    path again: 1.5 s for one list of 20,000 ocids, over a hundred times for one profile page. Marking the module
    missing makes each try fail at once, as it would anyway."""
    if "pandas" not in sys.modules and importlib.util.find_spec("pandas") is None:
        sys.modules["pandas"] = None  # type: ignore[assignment]


def give_back_freed_memory() -> None:
    """Ask the C library, and Arrow's own allocator if Arrow was used, to return the memory freed so far to the
    system (glibc keeps it for reuse otherwise: after reading 100,000 releases, about 90 MB of the main process;
    Arrow, which hands the batches to DuckDB, about 100 MB more). Does nothing where that is not glibc."""
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# A character reference written out in a text: &amp; &#39; &#x2019; (with its semicolon; a bare "&not" or "&copy"
# in a name is left as it is)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def plain_entities(value: Any) -> Any:
    """Return a text from the notices with the HTML character references some publishers leave in it written as
    the characters they stand for ("Residential &amp; Nursing" becomes "Residential & Nursing"); anything else
    unchanged. Pages escape the text again as they show it, so nothing a publisher wrote can become markup."""
    if type(value) is not str or "&" not in value:
        return value
    return _ENTITY.sub(lambda match: html.unescape(match.group(0)), value)


def evidence_text(value: Any) -> str:
    """Return a value of a red flag's evidence in words a reader of the page knows: no value as "not given", a yes or
    no as "yes" or "no", a list as its items and a mapping as its keys and values, not as Python writes them."""
    if value is None or value == "":
        return "not given"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "; ".join(evidence_text(item) for item in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{str(key).replace('_', ' ')}: {evidence_text(item)}" for key, item in value.items())
    if isinstance(value, float):
        # amounts and measures, with their thousands separated and no ".0" (whole numbers, such as a year or a
        # count, come as integers and are left as they are); from 1 up to two decimals, as money is written (an HHI
        # of 3,247.67, not 3,247.6738520164877), and below 1 four significant digits (a share of 0.4746)
        if value.is_integer():
            return f"{int(value):,}"
        if abs(value) >= 1:
            return f"{value:,.2f}".rstrip("0").rstrip(".")
        return f"{value:.4g}"
    return str(plain_entities(value))


def listed(words: list[str]) -> str:
    """Return words as a sentence lists them: "a", "a and b", "a, b and c"."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def plural(count: int, word: str, words: str | None = None) -> str:
    """Return ``count`` with its noun, singular or plural."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def ocid_slices(con: Any, table: str, size: int) -> list[tuple[str, str | None]]:
    """Return the bounds of the slices of ``size`` ocids of ``table``, in order of ocid: a slice holds the ocids
    from its first (included) to the next slice's first (excluded; None for the last slice). Work done a slice at a
    time keeps its memory within the limit however large the store."""
    firsts = [
        row[0]
        for row in con.execute(
            f"""
            SELECT ocid FROM (SELECT ocid, row_number() OVER (ORDER BY ocid) AS n FROM {table})
            WHERE (n - 1) % {int(size)} = 0 ORDER BY ocid
            """
        ).fetchall()
    ]
    return list(zip(firsts, [*firsts[1:], None], strict=True))
