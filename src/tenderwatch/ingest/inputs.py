"""Open what a user asks to load: files, folders, standard input; gzip and zip are opened by their content.

Each input becomes one or more :class:`Input` objects (one per file, or per member of a zip archive). An
input can be opened more than once, which the streaming reader needs for very large documents.
"""

from __future__ import annotations

import gzip
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tenderwatch.exceptions import InputError

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Input:
    """One stream of OCDS data: a file, a member of a zip archive, or standard input."""

    source: str
    """The file path (absolute) or ``-``, as stored with every release."""
    member: str | None
    """The member's name when the input is inside a zip archive."""
    opener: Callable[[], BinaryIO]
    """Opens the (decompressed) stream from its start."""
    size: int | None = None
    """Size in bytes of the stored file, when known (for progress)."""

    @property
    def label(self) -> str:
        """Return how the input is named in messages."""
        return f"{self.source}!{self.member}" if self.member else self.source


def expand_inputs(paths: list[str], stdin: BinaryIO | None = None) -> Iterator[Input | InputError]:
    """Yield the inputs named by ``paths`` (files, folders, or ``-`` for standard input), in order.

    A path that cannot be read is yielded as an :class:`InputError`, so the caller can report it and go on.
    """
    for raw in paths:
        if raw == "-":
            spooled = _spool(stdin or sys.stdin.buffer)
            try:
                yield from _inputs_of_file(spooled, "-")
            finally:
                spooled.unlink(missing_ok=True)
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                yield InputError(f"{raw}: the folder holds no files", "give a folder with OCDS files in it")
            for file in files:
                yield from _inputs_of_file(file, str(file.resolve()))
        elif path.is_file():
            yield from _inputs_of_file(path, str(path.resolve()))
        elif path.exists():
            yield InputError(f"{raw}: not a regular file", "give a file, a folder or - for standard input")
        elif raw.lower().startswith(("http://", "https://")):
            yield InputError(
                f"{raw}: load reads files, not addresses on the web",
                f"download it first, or read it with `tenderwatch sync ocds-url --url {raw}`",
            )
        else:
            yield InputError(f"{raw}: no such file or folder", "check the path")


def _spool(stream: BinaryIO) -> Path:
    """Copy standard input to a temporary file, so it can be sniffed and, if huge, read twice."""
    handle = tempfile.NamedTemporaryFile(prefix="tenderwatch-stdin-", delete=False)  # noqa: SIM115
    with handle:
        shutil.copyfileobj(stream, handle, 1024 * 1024)
    return Path(handle.name)


def _inputs_of_file(path: Path, source: str) -> Iterator[Input | InputError]:
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
        size = path.stat().st_size
    except OSError as error:
        yield InputError(f"{source}: cannot be read ({error.strerror})", "check its permissions")
        return
    if magic.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [info for info in archive.infolist() if not info.is_dir()]
        except zipfile.BadZipFile as error:
            yield InputError(f"{source}: not a readable zip archive ({error})", "check the download is complete")
            return
        for info in members:
            yield Input(source, info.filename, _zip_member_opener(path, info.filename), info.file_size)
    else:
        yield Input(source, None, _file_opener(path), size)


def open_file(path: Path) -> BinaryIO:
    """Open a file for reading, decompressing it if it is gzipped (whatever its name)."""
    return _maybe_gunzip(path.open("rb"))


def _file_opener(path: Path) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        return open_file(path)

    return opener


def _zip_member_opener(path: Path, name: str) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        archive = zipfile.ZipFile(path)
        stream = archive.open(name)
        return _maybe_gunzip(stream)  # type: ignore[arg-type]

    return opener


def _maybe_gunzip(stream: BinaryIO) -> BinaryIO:
    """Wrap the stream in gzip decompression if it starts with the gzip signature (possibly more than once).

    Files opened in binary mode, zip members and gzip streams all offer ``peek``.
    """
    if stream.peek(2)[:2] == GZIP_MAGIC:  # type: ignore[attr-defined]
        return _maybe_gunzip(gzip.GzipFile(fileobj=stream, mode="rb"))  # type: ignore[return-value]
    return stream
