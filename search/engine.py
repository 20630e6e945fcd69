"""One search function for the page, the API, the feed, the evaluation and the benchmarks.

`search(state)` runs keyword (BM25 over the postings of the generated tsvector), semantic
(pgvector HNSW, cosine) or hybrid (a weighted fusion of both, search.sql) retrieval in one SQL
round trip for the ranked page with its organization facets; a second one counts the facets when
an organization is selected (they ignore that filter). Filters are applied inside each candidate
list, before fusion, so a filtered search still fills its page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import connection

from papers.models import Organization, Paper
from search.query_text import parse_text_query
from search.sql import SearchSQL
from search.state import SearchState


@dataclass
class Hit:
    paper: Paper
    score: float | None
    keyword_rank: int | None
    semantic_rank: int | None
    similar_title: bool  # matched by title similarity (a typo), not by full text
    title_marked: str | None  # the title with matched terms between HIGHLIGHT_START/STOP
    snippet_marked: str | None  # the best fragments of the abstract, marked the same way


@dataclass
class OrgFacet:
    slug: str
    name: str
    count: int
    selected: bool


@dataclass
class Results:
    state: SearchState
    hits: list[Hit]
    total: int
    facets: list[OrgFacet] = field(default_factory=list)
    # Whether the candidates (total, facet counts) are every match, or by meaning the top ones.
    exhaustive: bool = True
    not_indexed: int = 0  # papers not yet searchable by meaning
    similar_titles: bool = False  # some keyword matches came from title similarity (a typo)
    meaning_fallback: bool = False  # nothing matched the typed syntax: these match by meaning

    @property
    def page_size(self) -> int:
        return settings.SEARCH_PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def first_index(self) -> int:
        return (self.state.page - 1) * self.page_size + 1

    @property
    def has_next(self) -> bool:
        return self.state.page < self.pages


# Columns of a page row (SearchSQL.page) after the hit's own: the number of candidates, then
# the facets and the count of papers without a current vector (NULL unless asked for).
TOTAL, FACETS = 17, 18


def search(state: SearchState, *, with_facets: bool = True) -> Results:
    sql = build_sql(state)
    # Facets count the candidates without the organization filter (so others can be added):
    # when no organization is selected, those are the page's own, counted in the same query.
    facet_sql = build_sql(state.with_changes(orgs=(), page=1)) if with_facets else None
    inline = facet_sql is not None and replace(facet_sql, limit=sql.limit, offset=sql.offset) == sql
    with connection.cursor() as cursor:
        cursor.execute(*sql.page(with_facets=inline))
        rows = cursor.fetchall()
        hits = [_hit(row) for row in rows]
        total = rows[0][TOTAL] if rows else _count_when_past_the_end(cursor, sql, state)
        results = Results(state=state, hits=hits, total=total)
        if facet_sql is not None:
            if inline and rows:
                counts, not_indexed = rows[0][FACETS:]
            else:
                cursor.execute(*facet_sql.facets())
                counts, not_indexed = cursor.fetchone()
            _add_facets(results, counts, not_indexed, state)
            results.exhaustive = sql.exhaustive
    results.similar_titles = any(h.similar_title for h in hits)
    results.meaning_fallback = (
        sql.semantic_within_matches and bool(hits) and all(h.keyword_rank is None for h in hits)
    )
    return results


def ranked_ids(state: SearchState, n: int) -> list[int]:
    """The ids of the first n results, in the order pages 1, 2, … of `search(state)` show them.

    The same SQL as the page, asked for n rows at once (the evaluation needs the top 100).
    The candidate depth is only raised when n exceeds it, so for n <= SEARCH_CANDIDATE_DEPTH
    the ranking is exactly the web page's.
    """
    sql = build_sql(state.with_changes(page=1))
    sql = replace(sql, limit=n, offset=0, depth=max(sql.depth, n))
    with connection.cursor() as cursor:
        cursor.execute(*sql.page())
        return [row[0] for row in cursor.fetchall()]


def build_sql(state: SearchState) -> SearchSQL:
    text = parse_text_query(state.q) if state.q else None
    vector = None
    if state.q and state.mode in ("hybrid", "semantic"):
        from papers.embeddings import get_embedder

        vector = get_embedder().encode_query(state.q)
    page_size = settings.SEARCH_PAGE_SIZE
    strict = text is not None and text.strict
    return SearchSQL(
        text=text if state.mode in ("hybrid", "keyword") else None,
        vector=vector,
        orgs=state.orgs,
        start=state.start_date,
        end=state.end_date,
        sort=state.effective_sort,
        limit=page_size,
        offset=(state.page - 1) * page_size,
        depth=max(settings.SEARCH_CANDIDATE_DEPTH, state.page * page_size),
        raw_query=state.q,
        semantic_within_matches=strict and state.mode == "hybrid",
        semantic_exclude=text.exclude if strict else "",
    )


def _count_when_past_the_end(cursor, sql: SearchSQL, state: SearchState) -> int:
    if state.page == 1:
        return 0
    cursor.execute(*sql.count())
    return cursor.fetchone()[0]


def _hit(row) -> Hit:
    (
        pk, title, abstract, published, upvotes, authors_count, source, source_id,
        org_id, org_slug, org_name, score, keyword_rank, semantic_rank, similar_title,
        title_html, snippet_html,
    ) = row[:TOTAL]  # fmt: skip
    paper = Paper(
        pk=pk, title=title, abstract=abstract, published=published, upvotes=upvotes,
        authors_count=authors_count, source=source, source_id=source_id,
        organization_id=org_id,
    )  # fmt: skip
    if org_id is not None:
        paper.organization = Organization(pk=org_id, slug=org_slug, name=org_name)
    # PostgreSQL computes the fused score as numeric: a Decimal, which JSON writes as a string.
    score = None if score is None else float(score)
    return Hit(paper, score, keyword_rank, semantic_rank, similar_title, title_html, snippet_html)


def _add_facets(results: Results, counts: list, not_indexed: int, state: SearchState) -> None:
    results.facets = [
        OrgFacet(slug, name, count, slug in state.orgs) for slug, name, count in counts if slug
    ]
    # Selected organizations stay visible (with 0) so they can be switched off again.
    shown = {f.slug for f in results.facets}
    missing = [slug for slug in state.orgs if slug not in shown]
    if missing:
        names = dict(Organization.objects.filter(slug__in=missing).values_list("slug", "name"))
        results.facets += [OrgFacet(s, names.get(s, s), 0, True) for s in missing]
    results.not_indexed = not_indexed
