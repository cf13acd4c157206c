"""Read OCDS in every shape publishers use, yielding one candidate release at a time.

Shapes: a release package; a record package (records with embedded releases, linked releases and/or a
``compiledRelease``); a bare release, record or compiled release; a JSON array of any of these; JSON lines of
any of these. Whether a stream is JSON lines or one document is decided from its first lines.

Documents up to ``document_in_memory_limit`` bytes are parsed in one go with orjson; larger ones are
streamed release by release with ijson, so memory stays flat however large the input.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson
import orjson

from tenderwatch.ingest.inputs import Input

# The lines tried when deciding whether a stream is JSON lines.
SNIFF_LINES = 3
# The UTF-8 byte order mark some programs write at the start of a text file.
BYTE_ORDER_MARK = b"\xef\xbb\xbf"


# The byte order marks of UTF-16, which some Windows programs write when asked for "Unicode" text.
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def looks_like_utf16(start: bytes) -> bool:
    """Return whether the first bytes of a file are UTF-16 text: its byte order mark, or a JSON document's first
    character with a zero byte beside it (little- or big-endian, without a mark)."""
    return start.startswith(UTF16_MARKS) or start[:2] in (b"{\x00", b"[\x00", b"\x00{", b"\x00[")


# What most often makes text that is not UTF-8.
OTHER_ENCODING = "the file was probably saved in another encoding, such as Windows-1252 or Latin-1"


def not_utf8(data: bytes, where: str = "", *, partial: bool = False) -> str | None:
    """Return how ``data`` (the start of a file when ``partial``, which may cut a character in two at its end)
    fails to be UTF-8 text, ``where`` naming what it is ("the line"), or None if it is UTF-8."""
    if looks_like_utf16(data):
        return "UTF-16 text, not UTF-8 (as some Windows programs save 'Unicode' text)"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        if partial and bad.start >= len(data) - 3:
            return None
        return f"not UTF-8 text (byte 0x{data[bad.start]:02X} at byte {bad.start:,}{' of ' + where if where else ''})"
    return None


def json_error(error: Exception, data: bytes, where: str = "the line") -> str:
    """Return why ``data`` (a line or a document) is not JSON, in words a person can act on: text in another
    encoding than UTF-8 (the cause of most such rejects, which the parser reports as a bad string) is said so."""
    problem = not_utf8(data, where)
    if problem is not None:
        return f"{problem}: {OTHER_ENCODING}; save it as UTF-8 and load it again"
    return f"invalid JSON: {error}"


@dataclass(slots=True)
class Candidate:
    """A JSON value found where a release (or a compiled release) should be."""

    line: int | None
    byte_offset: int | None
    pointer: str
    kind: str
    value: Any
    package: dict[str, Any] | None


@dataclass(slots=True)
class LineChunk:
    """Consecutive JSON lines, as (line number, byte offset, text), to be parsed by a worker."""

    lines: list[tuple[int, int, bytes]]


@dataclass(slots=True)
class Broken:
    """Input that could not be parsed or is not OCDS; it becomes a reject with this reason."""

    line: int | None
    byte_offset: int | None
    pointer: str
    code: str
    reason: str
    data: bytes


def read_input(
    source: Input, in_memory_limit: int, chunk_bytes: int = 4 << 20
) -> Iterator[Candidate | Broken | LineChunk]:
    """Yield the content of one input: chunks of JSON lines (about ``chunk_bytes`` each) for workers to parse,
    or the candidate releases of a document, and every part that could not be read."""
    with source.opener() as stream:
        first = _first_bytes(stream)
        if not first:
            yield Broken(None, 0, "", "empty", "the input is empty", b"")
            return
        if looks_like_utf16(first):
            yield Broken(
                None,
                0,
                "",
                "not-utf8",
                f"{not_utf8(first)}: save it as UTF-8 and load it again",
                first[:200],
            )
            return
        if first[:1] not in b"{[":
            yield Broken(
                None,
                0,
                "",
                "not-json",
                f"not JSON (it starts with {first[:40]!r}); tenderwatch reads OCDS JSON, JSON lines, gzip and zip",
                first[:200],
            )
            return
        skipped = _skip_byte_order_mark(stream)
        head: list[bytes] = []
        is_lines = False
        while len(head) < SNIFF_LINES:
            line = stream.readline(in_memory_limit + 1)
            if not line:
                break
            head.append(line)
            if len(line) > in_memory_limit:
                break
            stripped = line.strip()
            if stripped and _parses_as_container(stripped):
                is_lines = True
                break
        if is_lines:
            yield from _read_lines(stream, head, in_memory_limit, chunk_bytes, skipped)
        else:
            yield from _read_document(source, stream, head, in_memory_limit)


def _first_bytes(stream: BinaryIO) -> bytes:
    """Return the first bytes of the stream after any whitespace or byte-order mark, without consuming them."""
    head = stream.peek(64)[:64]  # type: ignore[attr-defined]
    return head.removeprefix(BYTE_ORDER_MARK).lstrip(b" \t\r\n")


def _skip_byte_order_mark(stream: BinaryIO) -> int:
    """Read past a UTF-8 byte order mark at the start of the stream (Windows programs often write one, and JSON
    parsers reject it); return how many bytes were skipped."""
    if stream.peek(3)[:3] == BYTE_ORDER_MARK:  # type: ignore[attr-defined]
        stream.read(3)
        return 3
    return 0


def _parses_as_container(text: bytes) -> bool:
    try:
        return isinstance(orjson.loads(text), (dict, list))
    except orjson.JSONDecodeError:
        return False


def _read_lines(
    stream: BinaryIO, head: list[bytes], in_memory_limit: int, chunk_bytes: int, offset: int = 0
) -> Iterator[LineChunk | Broken]:
    number = 0
    chunk: list[tuple[int, int, bytes]] = []
    size = 0

    def lines() -> Iterator[bytes]:
        yield from head
        while True:
            line = stream.readline(in_memory_limit + 1)
            if not line:
                return
            yield line

    for line in lines():
        number += 1
        start = offset
        offset += len(line)
        if len(line) > in_memory_limit:
            # Skip the rest of this over-long line.
            rest = line
            while not rest.endswith(b"\n"):
                rest = stream.readline(in_memory_limit + 1)
                if not rest:
                    break
                offset += len(rest)
            yield Broken(
                number,
                start,
                "",
                "too-long",
                f"line is longer than the document_in_memory_limit setting ({in_memory_limit:,} bytes); raise the "
                "setting or give the document as a file of its own",
                b"",
            )
            continue
        text = line.rstrip(b"\r\n")
        if not text.strip():
            continue
        chunk.append((number, start, text))
        size += len(text)
        if size >= chunk_bytes:
            yield LineChunk(chunk)
            chunk = []
            size = 0
    if chunk:
        yield LineChunk(chunk)


def _read_document(
    source: Input, stream: BinaryIO, head: list[bytes], in_memory_limit: int
) -> Iterator[Candidate | Broken]:
    prefix = b"".join(head)
    rest = stream.read(max(in_memory_limit + 1 - len(prefix), 0))
    data = prefix + rest
    if len(data) <= in_memory_limit:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            yield Broken(None, None, "", "invalid-json", json_error(error, data, "the document"), data)
            return
        yield from expand(value, "")
        return
    del data, rest, prefix
    yield from _stream_document(source)


def _stream_document(source: Input) -> Iterator[Candidate | Broken]:
    """Read a document too large for memory: first its package metadata, then its releases or records one by one.

    The first pass builds every top-level value except the ``releases`` or ``records`` array (wherever it is in
    the document); the second streams the items of that array.
    """
    metadata: dict[str, Any] = {}
    array_key = None
    top_is_array = False
    try:
        with source.opener() as stream:
            _skip_byte_order_mark(stream)
            builder: ijson.ObjectBuilder | None = None
            current_key = None
            for prefix, event, value in ijson.parse(stream, use_float=True):
                if prefix == "":
                    if event == "start_array":
                        top_is_array = True
                        break
                    if event in ("map_key", "end_map"):
                        if builder is not None:
                            metadata[current_key] = builder.value
                        builder = None
                        if event == "map_key":
                            current_key = value
                            if value in ("releases", "records") and array_key is None:
                                array_key = value
                            else:
                                builder = ijson.ObjectBuilder()
                    continue
                if builder is not None:
                    builder.event(event, value)
    except (ijson.JSONError, ijson.IncompleteJSONError) as error:
        yield Broken(None, None, "", "invalid-json", f"invalid JSON: {error}", b"")
        return

    try:
        with source.opener() as stream:
            _skip_byte_order_mark(stream)
            if top_is_array:
                for index, item in enumerate(ijson.items(stream, "item", use_float=True)):
                    yield from expand(item, f"/{index}")
            elif array_key == "releases":
                package = metadata
                for index, item in enumerate(ijson.items(stream, "releases.item", use_float=True)):
                    yield Candidate(None, None, f"/releases/{index}", _kind(item), item, package)
            elif array_key == "records":
                for index, item in enumerate(ijson.items(stream, "records.item", use_float=True)):
                    yield from _expand_record(item, f"/records/{index}", metadata)
            else:
                for item in ijson.items(stream, "", use_float=True):
                    yield from expand(item, "")
    except (ijson.JSONError, ijson.IncompleteJSONError) as error:
        yield Broken(None, None, "", "invalid-json", f"invalid JSON: {error}", b"")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        tag = value.get("tag")
        if (isinstance(tag, list) and "compiled" in tag) or tag == "compiled":
            return "compiled"
    return "release"


def expand(value: Any, pointer: str) -> Iterator[Candidate | Broken]:
    """Yield the candidate releases inside one parsed JSON value, whatever OCDS shape it has."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from expand(item, f"{pointer}/{index}")
        return
    if not isinstance(value, dict):
        yield Candidate(None, None, pointer, "release", value, None)
        return
    releases = value.get("releases")
    records = value.get("records")
    if isinstance(records, list) and "ocid" not in value:
        package = {key: item for key, item in value.items() if key != "records"}
        for index, record in enumerate(records):
            yield from _expand_record(record, f"{pointer}/records/{index}", package)
    elif "compiledRelease" in value or "versionedRelease" in value:
        yield from _expand_record(value, pointer, None)
    elif isinstance(releases, list) and "ocid" not in value:
        package = {key: item for key, item in value.items() if key != "releases"}
        for index, release in enumerate(releases):
            yield Candidate(None, None, f"{pointer}/releases/{index}", _kind(release), release, package)
    elif isinstance(releases, list) and "id" not in value:
        yield from _expand_record(value, pointer, None)
    else:
        yield Candidate(None, None, pointer, _kind(value), value, None)


def _is_linked(release: Any) -> bool:
    return isinstance(release, dict) and "url" in release and not ({"ocid", "id"} & release.keys())


def _expand_record(record: Any, pointer: str, package: dict[str, Any] | None) -> Iterator[Candidate | Broken]:
    if not isinstance(record, dict):
        yield Candidate(None, None, pointer, "release", record, package)
        return
    found = False
    linked = []
    releases = record.get("releases")
    if isinstance(releases, list):
        for index, release in enumerate(releases):
            if _is_linked(release):
                linked.append(release.get("url"))
                continue
            found = True
            yield Candidate(None, None, f"{pointer}/releases/{index}", _kind(release), release, package)
    compiled = record.get("compiledRelease")
    if compiled is not None:
        found = True
        yield Candidate(None, None, f"{pointer}/compiledRelease", "compiled", compiled, package)
    if not found:
        ocid = record.get("ocid")
        where = f" (first: {linked[0]})" if linked else ""
        yield Broken(
            None,
            None,
            pointer,
            "linked-only",
            f"the record for {ocid!r} has only linked releases and no compiledRelease, so it holds no data; load the "
            f"release packages it links to{where}",
            orjson.dumps(record)[:4096],
        )
