"""What the catalogue holds, said on the search page: how many papers, from where, from when.

A newcomer cannot tell what they are searching without it. Every figure comes without a scan:
the size and dates from search's copy of the per-paper fields (search.keyword_docs), the sources
by a skip scan of the `paper_source` index (one probe per distinct source).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection

SOURCES_SQL = """
WITH RECURSIVE s(source) AS (
  (SELECT source FROM papers_paper ORDER BY source LIMIT 1)
  UNION ALL
  SELECT (SELECT p.source FROM papers_paper p WHERE p.source > s.source ORDER BY p.source LIMIT 1)
  FROM s WHERE s.source IS NOT NULL
)
SELECT source FROM s WHERE source IS NOT NULL
"""
# The import formats (papers.ingest) by the name a reader knows their source by.
SOURCE_NAMES = {"hf-daily": "Hugging Face Daily Papers", "arxiv": "arXiv"}


@dataclass(frozen=True)
class Catalogue:
    size: int
    sources: tuple[str, ...]  # reader-facing names, as SOURCE_NAMES gives them
    first: date | None
    last: date | None


def describe(size: int, published_range: tuple[date, date] | None) -> Catalogue:
    first, last = published_range or (None, None)
    return Catalogue(size, _sources(), first, last)


def _sources() -> tuple[str, ...]:
    with connection.cursor() as cursor:
        cursor.execute(SOURCES_SQL)
        formats = [row[0] for row in cursor.fetchall()]
    names = [_source_name(f) for f in formats]
    return tuple(dict.fromkeys(names))  # distinct, in a stable order


def _source_name(source_format: str) -> str:
    for prefix, name in SOURCE_NAMES.items():
        if source_format.startswith(prefix):
            return name
    return source_format
