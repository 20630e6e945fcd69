"""The Hugging Face daily-papers API's JSON: an array of items, each with a `paper` object.

    [{"paper": {"id": "2401.00001", "title": "…", "summary": "…",
                "authors": [{"name": "Ada Lovelace"}, …], "publishedAt": "2024-01-02T…Z",
                "upvotes": 12, "organization": {"name": "microsoft", "fullname": "Microsoft"}},
      "title": "…", "publishedAt": "…", "organization": {…}, …}, …]

A field missing from `paper` is looked up on the item itself; unknown fields are ignored. The
array is read one item at a time (json.JSONDecoder.raw_decode over a sliding buffer), so a file
of any length is read in bounded memory and each item's line is known for reports: a streaming
library such as ijson gives no line numbers.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any

from django.utils.text import slugify

from papers.ingest.inputs import Input
from papers.ingest.records import (
    PaperRecord,
    ParseError,
    Rejected,
    iso_date,
    normalize_arxiv_id,
    one_line,
)

SOURCE = "hf-daily-json"
MAX_ITEM = 8 * 1024 * 1024  # characters one item may span before it counts as malformed
WHITESPACE = " \t\n\r"


def parse_input(opened: Input) -> Iterator[PaperRecord | Rejected]:
    for line, item in array_items(opened):
        yield item_record(item, path=opened.name, line=line)


def item_record(item: Any, *, path: str, line: int) -> PaperRecord | Rejected:
    if not isinstance(item, dict):
        return Rejected(path, line, f"expected an object, got {type(item).__name__}")
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else {}

    def pick(name: str) -> Any:
        value = paper.get(name)
        return item.get(name) if value is None or value == "" else value

    arxiv_id = pick("id")
    title, summary = pick("title"), pick("summary")
    for name, value in (("id", arxiv_id), ("title", title), ("summary", summary)):
        if value is not None and not isinstance(value, str):
            return Rejected(path, line, f"{name} is not a string: {value!r}")
    try:
        source_id = normalize_arxiv_id(arxiv_id) if arxiv_id else ""
    except ValueError as exc:
        return Rejected(path, line, str(exc))
    published = None
    if (when := pick("publishedAt")) is not None:
        try:
            published = iso_date(when)
        except ValueError as exc:
            return Rejected(path, line, f"publishedAt: {exc}")
    slug, name = _organization(pick("organization"))
    return PaperRecord(
        title=one_line(title or ""),
        abstract=one_line(summary or ""),
        source=SOURCE,
        line=line,
        path=path,
        source_id=source_id,
        published=published,
        upvotes=pick("upvotes"),
        authors=_authors(paper.get("authors") or item.get("authors")),
        organization_slug=slug,
        organization_name=name,
    )


def _authors(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    names = (a.get("name") if isinstance(a, dict) else a for a in value)
    return tuple(n for n in names if isinstance(n, str) and n.strip())


def _organization(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None, None
    fullname = value.get("fullname")
    name = fullname if isinstance(fullname, str) and fullname.strip() else value["name"]
    return slugify(value["name"]) or None, name


def array_items(opened: Input) -> Iterator[tuple[int, Any]]:
    """(line, value) for each element of the top-level JSON array, one at a time."""
    reader = _ArrayReader(opened)
    yield from reader.items()


class _ArrayReader:
    def __init__(self, opened: Input):
        self.opened = opened
        self.chunks = opened.chunks()
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.json = json.JSONDecoder()
        self.buffer = ""
        self.pos = 0
        self.line = 1  # the line of buffer[pos]
        self.eof = False

    def items(self) -> Iterator[tuple[int, Any]]:
        if self._next_char() != "[":
            raise self._error("expected a JSON array [...] of daily papers")
        self.pos += 1
        if self._next_char() == "]":
            return self._end()
        while True:
            line, value = self._value()
            yield line, value
            separator = self._next_char()
            if separator == "":
                raise self._error("the array ends too early: no closing ']' (cut off?)")
            self.pos += 1
            if separator == "]":
                return self._end()
            if separator != ",":
                raise self._error(f"expected ',' or ']' after the item of line {line}")

    def _end(self) -> None:
        self.pos += 1
        if self._next_char() != "":
            raise self._error("data after the end of the array")

    def _value(self) -> tuple[int, Any]:
        """The next value and the line it starts on."""
        if self._next_char() == "":
            raise self._error("the array ends too early: no closing ']' (cut off?)")
        start = self.line
        while True:
            try:
                value, end = self.json.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                # Cut off by the end of the buffer, or malformed: read on until it is certain.
                if not self.eof and len(self.buffer) - self.pos < MAX_ITEM:
                    self._fill()
                    continue
                raise ParseError(
                    self.opened.name,
                    self.line + self.buffer.count("\n", self.pos, exc.pos),
                    f"bad JSON: {exc.msg}",
                ) from None
            self.line += self.buffer.count("\n", self.pos, end)
            self.pos = end
            return start, value

    def _next_char(self) -> str:
        """The next non-blank character (not consumed), or '' at the end of the input."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in WHITESPACE:
                if self.buffer[self.pos] == "\n":
                    self.line += 1
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if self.eof:
                return ""
            self._fill()

    def _fill(self) -> None:
        if self.pos > 0:  # drop what is read
            self.buffer, self.pos = self.buffer[self.pos :], 0
        chunk = next(self.chunks, None)
        try:
            self.buffer += self.decoder.decode(chunk or b"", final=chunk is None)
        except UnicodeDecodeError:
            raise self._error("not UTF-8 text") from None
        self.eof = chunk is None

    def _error(self, message: str) -> ParseError:
        return ParseError(self.opened.name, self.line, message)
