"""The checks every record passes on its way into the catalogue, whichever parser made it.

A record the database could not hold, or that could not be told apart from another paper, is
turned into a `Rejected` here, before any write: one bad record must not fail a batch of good ones
after earlier batches have committed.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from papers.ingest.records import PaperRecord, Rejected, title_key
from papers.ingest.text import arxiv_id, clean_text, tex_escapes_undone, without_controls

MAX_INT = 2**31 - 1  # PostgreSQL integer
MAX_ORGANIZATION_NAME = 200  # papers.Organization.name
MAX_ORGANIZATION_SLUG = 100  # papers.Organization.slug
MAX_SOURCE = 50  # papers.Paper.source


def check_record(record: PaperRecord) -> PaperRecord | Rejected:
    """The record with its texts cleaned (control characters out, titles and names on one line,
    TeX's escaped `%` `&` `#` `_` `$` plain, the arXiv id normalized), or why it cannot be
    imported."""
    try:
        return _checked(record)
    except _Refused as refused:
        return Rejected(record.path, record.line, str(refused))


class _Refused(Exception):
    pass


def _checked(record: PaperRecord) -> PaperRecord:
    title = tex_escapes_undone(clean_text(record.title))
    abstract = tex_escapes_undone(without_controls(record.abstract).strip())
    if not title:
        raise _Refused("no title")
    if not abstract:
        raise _Refused(f"{title!r} has no abstract")
    source_id = ""
    if record.source_id:
        source_id = arxiv_id(record.source_id) or ""
        if not source_id:
            raise _Refused(f"not an arXiv id: {record.source_id!r}")
    if not title_key(title):
        raise _Refused(f"title {title!r} cannot be keyed")
    if len(record.source) > MAX_SOURCE or not record.source:
        raise _Refused(f"source name {record.source!r} is empty or over {MAX_SOURCE} characters")
    if record.published is not None and not isinstance(record.published, date):
        raise _Refused(f"published is not a date: {record.published!r}")
    authors = tuple(name for name in (clean_text(a) for a in record.authors) if name)
    categories = tuple(dict.fromkeys(filter(None, (clean_text(c) for c in record.categories))))
    authors_count = _count("authors_count", record.authors_count)
    if authors_count is None and authors:
        authors_count = len(authors)
    slug, name = _organization(record)
    return dataclasses.replace(
        record,
        title=title,
        abstract=abstract,
        source_id=source_id,
        upvotes=_count("upvotes", record.upvotes),
        authors_count=authors_count,
        organization_slug=slug,
        organization_name=name,
        authors=authors,
        categories=categories,
        doi=clean_text(record.doi),
    )


def _count(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Refused(f"{name} is not a whole number: {value!r}")
    if not 0 <= value <= MAX_INT:
        raise _Refused(f"{name} {value} is out of range (0 to {MAX_INT})")
    return value


def _organization(record: PaperRecord) -> tuple[str | None, str | None]:
    slug = clean_text(record.organization_slug or "")
    name = clean_text(record.organization_name or "") or slug
    if not slug:
        if name:
            raise _Refused(f"organization {name!r} has no slug")
        return None, None
    if len(slug) > MAX_ORGANIZATION_SLUG:
        raise _Refused(f"organization slug is over {MAX_ORGANIZATION_SLUG} characters")
    if len(name) > MAX_ORGANIZATION_NAME:
        raise _Refused(
            f"organization name is over {MAX_ORGANIZATION_NAME} characters: {name[:40]!r}…"
        )
    return slug, name
