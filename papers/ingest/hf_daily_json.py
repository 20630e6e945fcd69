"""The Hugging Face daily-papers API's JSON (GET …/api/daily_papers?date=YYYY-MM-DD).

An array of items, each with a `paper` object: `id` (the arXiv id), `title`, `summary`,
`authors` (objects with `name`), `publishedAt`, `upvotes`, and sometimes `organization` (`name`,
`fullname`; on the paper or on the item). Unknown fields are ignored. An item's "line" is its
position in the array, from 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any

from django.utils.text import slugify

from papers.ingest.records import PaperRecord, ParseError
from papers.ingest.text import arxiv_id, clean_text

SOURCE = "hf-daily-json"
MAX_COUNT = 2**31 - 1  # PostgreSQL's integer
MAX_ORGANIZATION_NAME = 200  # Organization.name
MAX_ORGANIZATION_SLUG = 100  # Organization.slug


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
            yield _record(item, number)
        except _Bad as exc:
            error = ParseError(source_name, number, str(exc))
            if on_skip is None:
                raise error from None
            on_skip(error)


def _record(item: Any, number: int) -> PaperRecord:
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
        published=_date(paper.get("publishedAt")),
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


def _count(value: Any, field: str) -> int:
    if value is None:
        return 0
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
