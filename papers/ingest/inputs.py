"""Opening an input file: gzip or not, which format it is, and reading it in pieces.

Every parser reads through an `Input`, so each gets gzip, a bounded line length, progress by
file position, and read errors (a cut-off download, a corrupt gzip stream) as a `ParseError`
naming the file and line, without having to know about any of it.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from papers.ingest.records import ParseError

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
MAX_LINE = 2 * 1024 * 1024  # an arXiv record is ~2 KB; a longer line is skipped, never held
CHUNK = 256 * 1024
READ_ERRORS = (OSError, EOFError, zlib.error)


@dataclass
class Input:
    """An open input file, decompressed when it is gzip."""

    path: Path
    stream: BinaryIO  # the content, decompressed
    raw: BinaryIO  # the file on disk, for progress
    size: int
    compressed: bool
    _head: bytes = field(default=b"", repr=False)

    @property
    def name(self) -> str:
        return str(self.path)

    def position(self) -> int:
        """Bytes of the file on disk read so far (compressed bytes for gzip)."""
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return self.size

    def head(self) -> bytes:
        """The first bytes of the content, without consuming them."""
        return self._head

    def close(self) -> None:
        self.stream.close()
        self.raw.close()

    def __enter__(self) -> Input:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def lines(self) -> Iterator[tuple[int, bytes | None]]:
        """(line number, the line's bytes without its line break), or None for a line too long
        to hold (skipped whole: memory stays bounded whatever the file holds)."""
        number = 0
        while True:
            number += 1
            line = self._read(lambda: self.stream.readline(MAX_LINE + 1), number)
            if not line:
                return
            if len(line) > MAX_LINE and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # drain the rest of this line
                    line = self._read(lambda: self.stream.readline(CHUNK), number)
                yield number, None
                continue
            yield number, line.rstrip(b"\r\n")

    def chunks(self) -> Iterator[bytes]:
        """The content in pieces of CHUNK bytes."""
        while chunk := self._read(lambda: self.stream.read(CHUNK), None):
            yield chunk

    def _read(self, read, line: int | None) -> bytes:
        try:
            return read()
        except READ_ERRORS as exc:
            what = "gzip stream" if self.compressed else "file"
            raise ParseError(self.name, line, f"cannot read the {what}: {_reason(exc)}") from None


def open_input(path: Path) -> Input:
    """Open path for reading, decompressing gzip; a ParseError for what cannot be read at all."""
    path = Path(path)
    try:
        raw = open(path, "rb", buffering=CHUNK)  # noqa: SIM115 -- closed by Input.close
        size = path.stat().st_size
    except OSError as exc:
        raise ParseError(str(path), None, f"cannot read file: {exc.strerror}") from None
    compressed = raw.peek(2)[:2] == GZIP_MAGIC
    stream: BinaryIO = raw
    if compressed:
        stream = io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=CHUNK)
    opened = Input(path=path, stream=stream, raw=raw, size=size, compressed=compressed)
    try:
        opened._head = opened._read(lambda: stream.peek(HEAD_BYTES)[:HEAD_BYTES], None)
    except ParseError:
        opened.close()
        raise
    return opened


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "it ends too early (cut off?)"
    return str(exc) or type(exc).__name__


# --- which format ----------------------------------------------------------------------------
FORMATS = ("hf-daily-text", "hf-daily-json", "arxiv-jsonl", "arxiv-atom")


def detect_format(opened: Input) -> str:
    """The format the content is in, from its first bytes; a ParseError when it is none of them."""
    head = opened.head()
    if not head.strip():
        raise ParseError(opened.name, None, "file is empty")
    if b"\x00" in head:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise ParseError(opened.name, line, "binary data (NUL byte): not a paper listing")
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    first = text[:1]
    if first == b"<":
        return "arxiv-atom"
    if first == b"[":
        return "hf-daily-json"
    if first == b"{":
        first_line = text.split(b"\n", 1)[0].rstrip()
        if first_line.endswith(b"}"):
            return "arxiv-jsonl"
        raise ParseError(
            opened.name,
            1,
            "one JSON object over several lines: arxiv-jsonl needs one object a line, and "
            "hf-daily-json is an array [...] (--format picks one by hand)",
        )
    return "hf-daily-text"
