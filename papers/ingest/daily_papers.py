"""The Hugging Face Daily Papers listing, as scraped to text (e.g. papers/demo/daily_papers.txt).

After a header that ends with the listing's own date (`Mar 10`), entries follow, blocks separated
by blank lines: a title line, an abstract, then optionally a metadata block of three lines:
`• N authors` or `<org-slug> <Org Name>`, a lone `·`, and `<date>[ <upvotes>]`. The date is
`May 5, 2024`, or `Feb 26` without a year, which belongs to the listing's year unless that would
put it after the listing date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path

from django.utils.text import slugify

from papers.ingest.inputs import Input, open_input
from papers.ingest.records import PaperRecord, ParseError

SOURCE = "hf-daily"
HEADER_LINES = 40  # the listing date must show up within the page header
MONTH_DAY = re.compile(r"^([A-Z][a-z]{2}) (\d{1,2})$")
DATE_LINE = re.compile(r"^([A-Z][a-z]{2} \d{1,2})(?:, (\d{4}))?(?: (\d+))?$")
AUTHORS = re.compile(r"^•\s*(\d+)\s+authors?$")
ORGANIZATION = re.compile(r"^(\S+)\s+(\S.*)$")
SEPARATOR = "·"

Block = list[tuple[int, str]]  # (line number, stripped text) of consecutive non-blank lines


def parse_file(path: Path, *, year: int) -> Iterator[PaperRecord]:
    """The listing's records, read as they come (the file may be gzip)."""
    with open_input(path) as opened:
        yield from parse_input(opened, year=year)


def parse_input(opened: Input, *, year: int) -> Iterator[PaperRecord]:
    if not opened.head().strip():
        raise ParseError(opened.name, None, "file is empty")
    yield from parse_lines(_decoded(opened), name=opened.name, year=year)


def parse_text(text: str, *, name: str, year: int) -> Iterator[PaperRecord]:
    return parse_lines(enumerate(text.splitlines(), start=1), name=name, year=year)


def _decoded(opened: Input) -> Iterator[tuple[int, str]]:
    """Numbered text lines; a ParseError for what a user might hand us by mistake."""
    for number, data in opened.lines():
        if data is None:
            raise ParseError(opened.name, number, "line too long: not a text listing")
        if b"\x00" in data:
            raise ParseError(opened.name, number, "binary data (NUL byte): not a text listing")
        try:
            yield number, data.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise ParseError(opened.name, number, "not UTF-8 text: not a text listing") from None


def parse_lines(lines: Iterable[tuple[int, str]], *, name: str, year: int) -> Iterator[PaperRecord]:
    """Records from numbered lines, one entry at a time: memory holds one entry, not the file."""
    lines = iter(lines)
    listing_date = _find_listing_date(lines, name, year)
    blocks = _blocks(lines)
    block = next(blocks, None)
    while block is not None:
        title_block = block
        if _is_metadata(title_block):
            raise ParseError(name, title_block[0][0], "metadata block without a title before it")
        if len(title_block) > 1:
            raise ParseError(name, title_block[0][0], "expected a one-line title")
        abstract_block = next(blocks, None)
        if abstract_block is None or _is_metadata(abstract_block):
            raise ParseError(
                name, title_block[0][0], f"entry {title_block[0][1]!r} has no abstract (truncated?)"
            )
        meta: dict = {}
        block = next(blocks, None)
        if block is not None and _looks_like_metadata(block):
            meta = _parse_metadata(block, name, listing_date)
            block = next(blocks, None)
        yield PaperRecord(
            title=title_block[0][1],
            abstract=" ".join(text for _, text in abstract_block),
            source=SOURCE,
            line=title_block[0][0],
            path=name,
            **meta,
        )


def _find_listing_date(lines: Iterator[tuple[int, str]], name: str, year: int) -> date:
    for number, line in lines:
        match = MONTH_DAY.match(line.strip())
        if match:
            try:
                return datetime.strptime(f"{match[1]} {match[2]} {year}", "%b %d %Y").date()
            except ValueError:
                raise ParseError(name, number, f"bad listing date {line.strip()!r}") from None
        if number >= HEADER_LINES:
            break
    raise ParseError(
        name, 1, "not a Daily Papers listing: no listing date line (like 'Mar 10') in its header"
    )


def _blocks(lines: Iterator[tuple[int, str]]) -> Iterator[Block]:
    current: Block = []
    for number, raw in lines:
        text = raw.strip()
        if text:
            current.append((number, text))
        elif current:
            yield current
            current = []
    if current:
        yield current


def _is_metadata(block: Block) -> bool:
    return len(block) == 3 and block[1][1] == SEPARATOR


def _looks_like_metadata(block: Block) -> bool:
    """A metadata block, or the start of one cut short (which _parse_metadata reports)."""
    first = block[0][1]
    return (
        _is_metadata(block)
        or bool(AUTHORS.match(first))
        or (len(block) > 1 and block[1][1] == SEPARATOR)
    )


def _parse_metadata(block: Block, name: str, listing_date: date) -> dict:
    if not _is_metadata(block):
        raise ParseError(
            name, block[-1][0], "incomplete metadata block: expected who, '·' and a date"
        )
    (who_line, who), _, (date_line, when) = block
    meta: dict = {}
    authors = AUTHORS.match(who)
    if authors:
        meta["authors_count"] = int(authors[1])
    elif org := ORGANIZATION.match(who):
        slug = slugify(org[1])
        if not slug:
            raise ParseError(name, who_line, f"organization without a usable slug: {who!r}")
        meta["organization_slug"], meta["organization_name"] = slug, org[2]
    else:
        raise ParseError(name, who_line, f"expected 'N authors' or an organization, got {who!r}")
    meta["published"], meta["upvotes"] = _parse_date_line(when, name, date_line, listing_date)
    return meta


def _parse_date_line(text: str, name: str, line: int, listing_date: date) -> tuple[date, int]:
    match = DATE_LINE.match(text)
    if not match:
        raise ParseError(name, line, f"expected a date like 'May 5, 2024', got {text!r}")
    month_day, year, upvotes = match.groups()
    try:
        if year:
            published = datetime.strptime(f"{month_day} {year}", "%b %d %Y").date()
        else:
            published = _date_before(month_day, listing_date)
    except ValueError:
        raise ParseError(name, line, f"not a real date: {text!r}") from None
    return published, int(upvotes or 0)


def _date_before(month_day: str, listing_date: date) -> date:
    """A yearless date belongs to the listing's year, or the one before if that is in the future."""
    published = datetime.strptime(f"{month_day} {listing_date.year}", "%b %d %Y").date()
    if published > listing_date:
        published = datetime.strptime(f"{month_day} {listing_date.year - 1}", "%b %d %Y").date()
    return published
