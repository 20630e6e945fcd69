"""The Hugging Face daily-papers API's JSON (GET …/api/daily_papers?date=YYYY-MM-DD).

An array of items, each with a `paper` object: `id` (the arXiv id), `title`, `summary`,
`authors` (objects with `name`), `publishedAt`, `upvotes`, and sometimes `organization` (`name`,
`fullname`; on the paper or on the item). Unknown fields are ignored.

Two ways in: `records_from_items` for items already decoded (sync_papers reads the API a page at
a time), where an item's "line" is its position in the array, from 1; and `parse_input` for a
file of any length (import_papers), read one item at a time (json.JSONDecoder.raw_decode over a
sliding buffer) so that memory stays bounded and each item's real line is known for reports: a
streaming library such as ijson gives no line numbers.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any

from django.utils.text import slugify

from papers.ingest.inputs import Input
from papers.ingest.records import PaperRecord, ParseError, Rejected
from papers.ingest.text import arxiv_id, clean_text

SOURCE = "hf-daily-json"
MAX_COUNT = 2**31 - 1  # PostgreSQL's integer
MAX_ORGANIZATION_NAME = 200  # Organization.name
MAX_ORGANIZATION_SLUG = 100  # Organization.slug
MAX_ITEM = 8 * 1024 * 1024  # characters one item may span before it counts as malformed
WHITESPACE = " \t\n\r"


class _Bad(Exception):
    """Why one item cannot become a record."""


def records_from_items(
    items: Iterable[Any],
    *,
    source_name: str,
    on_skip: Callable[[ParseError], None] | None = None,
) -> Iterator[PaperRecord]:
    """A record for each usable item. An unusable one raises ParseError naming `source_name` and
    the item's position, or, given `on_skip`, is handed to it and passed over."""
    for number, item in enumerate(items, start=1):
        try:
            yield _record(item, number, source_name)
        except _Bad as exc:
            error = ParseError(source_name, number, str(exc))
            if on_skip is None:
                raise error from None
            on_skip(error)


def parse_input(opened: Input) -> Iterator[PaperRecord | Rejected]:
    """The records of a file holding the API's array; an unusable item is a Rejected."""
    for line, item in array_items(opened):
        try:
            yield _record(item, line, opened.name)
        except _Bad as exc:
            yield Rejected(opened.name, line, str(exc))


def _record(item: Any, number: int, path: str) -> PaperRecord:
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        raise _Bad("item has no `paper` object")
    paper = item["paper"]
    title = clean_text(_text(paper.get("title") or item.get("title"), "title"))
    abstract = clean_text(_text(paper.get("summary") or item.get("summary"), "summary"))
    if not title:
        raise _Bad("no title")
    if not abstract:
        raise _Bad(f"no abstract (summary) for {title!r}")
    source_id = ""
    if paper.get("id") is not None:
        source_id = arxiv_id(_text(paper["id"], "id")) or ""
        if not source_id:
            raise _Bad(f"id {paper['id']!r} is not an arXiv id")
    authors = _authors(paper.get("authors"))
    organization = paper.get("organization") or item.get("organization")
    slug, name = _organization(organization) if organization else (None, None)
    return PaperRecord(
        title=title,
        abstract=abstract,
        source=SOURCE,
        line=number,
        path=path,
        published=_date(paper.get("publishedAt") or item.get("publishedAt")),
        upvotes=_count(paper.get("upvotes"), "upvotes"),
        authors_count=len(authors) or None,
        organization_slug=slug,
        organization_name=name,
        source_id=source_id,
        authors=authors,
    )


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad(f"{field} is not text: {value!r}")
    return value


def _authors(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Bad(f"authors is not a list: {value!r}")
    names = (clean_text(_text(a.get("name"), "author name")) for a in value if isinstance(a, dict))
    return tuple(name for name in names if name)


def _date(value: Any) -> date | None:
    if value is None:
        return None
    try:
        # "2026-03-10T13:59:05.000Z"; fromisoformat reads the Z since Python 3.11.
        return datetime.fromisoformat(_text(value, "publishedAt")).date()
    except ValueError:
        raise _Bad(f"publishedAt is not a date: {value!r}") from None


def _count(value: Any, field: str) -> int | None:
    if value is None:
        return None  # not said: an import keeps the stored count
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise _Bad(f"{field} is not a count: {value!r}")
    return value


def _organization(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise _Bad(f"organization is not an object: {value!r}")
    name = clean_text(_text(value.get("name"), "organization name"))
    fullname = clean_text(_text(value.get("fullname"), "organization fullname")) or name
    slug = slugify(name or fullname)
    if not slug:
        raise _Bad(f"organization without a usable name: {value!r}")
    if len(slug) > MAX_ORGANIZATION_SLUG or len(fullname) > MAX_ORGANIZATION_NAME:
        raise _Bad(f"organization name too long: {fullname[:60]!r}…")
    return slug, fullname


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
