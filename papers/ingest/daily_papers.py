"""The Hugging Face Daily Papers listing, as scraped to text (e.g. papers/demo/daily_papers.txt).

After a header that ends with the listing's own date (`Mar 10`), entries follow, blocks separated
by blank lines: a title line, an abstract, then optionally a metadata block of three lines:
`• N authors` or `<org-slug> <Org Name>`, a lone `·`, and `<date>[ <upvotes>]`. The date is
`May 5, 2024`, or `Feb 26` without a year, which belongs to the listing's year unless that would
put it after the listing date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from django.utils.text import slugify

from papers.ingest.records import PaperRecord, ParseError

SOURCE = "hf-daily"
HEADER_LINES = 40  # the listing date must show up within the page header
MONTH_DAY = re.compile(r"^([A-Z][a-z]{2}) (\d{1,2})$")
DATE_LINE = re.compile(r"^([A-Z][a-z]{2} \d{1,2})(?:, (\d{4}))?(?: (\d+))?$")
AUTHORS = re.compile(r"^•\s*(\d+)\s+authors?$")
ORGANIZATION = re.compile(r"^(\S+)\s+(\S.*)$")
SEPARATOR = "·"

Block = list[tuple[int, str]]  # (line number, stripped text) of consecutive non-blank lines


def read_text(path: Path) -> str:
    """The file's text, or a ParseError for what a user might hand us by mistake."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(str(path), None, f"cannot read file: {exc.strerror}") from None
    if not data.strip():
        raise ParseError(str(path), None, "file is empty")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ParseError(str(path), line, "binary data (NUL byte): not a text listing")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(str(path), line, "not UTF-8 text: not a text listing") from None


def parse_file(path: Path, *, year: int) -> list[PaperRecord]:
    return list(parse_text(read_text(path), name=str(path), year=year))


def parse_text(text: str, *, name: str, year: int) -> Iterator[PaperRecord]:
    lines = text.splitlines()
    listing_date, start = _find_listing_date(lines, name, year)
    blocks = _blocks(lines, start)
    index = 0
    while index < len(blocks):
        title_block = blocks[index]
        if _is_metadata(title_block):
            raise ParseError(name, title_block[0][0], "metadata block without a title before it")
        if len(title_block) > 1:
            raise ParseError(name, title_block[0][0], "expected a one-line title")
        if index + 1 >= len(blocks) or _is_metadata(blocks[index + 1]):
            raise ParseError(
                name, title_block[0][0], f"entry {title_block[0][1]!r} has no abstract (truncated?)"
            )
        abstract_block = blocks[index + 1]
        index += 2
        meta: dict = {}
        if index < len(blocks) and _looks_like_metadata(blocks[index]):
            meta = _parse_metadata(blocks[index], name, listing_date)
            index += 1
        yield PaperRecord(
            title=title_block[0][1],
            abstract=" ".join(text for _, text in abstract_block),
            source=SOURCE,
            line=title_block[0][0],
            **meta,
        )


def _find_listing_date(lines: list[str], name: str, year: int) -> tuple[date, int]:
    for number, line in enumerate(lines[:HEADER_LINES], start=1):
        match = MONTH_DAY.match(line.strip())
        if match:
            try:
                listed = datetime.strptime(f"{match[1]} {match[2]} {year}", "%b %d %Y").date()
            except ValueError:
                raise ParseError(name, number, f"bad listing date {line.strip()!r}") from None
            return listed, number
    raise ParseError(
        name, 1, "not a Daily Papers listing: no listing date line (like 'Mar 10') in its header"
    )


def _blocks(lines: list[str], after: int) -> list[Block]:
    blocks: list[Block] = []
    current: Block = []
    for number, raw in enumerate(lines[after:], start=after + 1):
        text = raw.strip()
        if text:
            current.append((number, text))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


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
