"""One search function for the page, the API, the feed, the evaluation and the benchmarks.

`search(state)` finds keyword matches with BM25 over the packed postings (search.keyword, in
numpy), ranks by meaning with pgvector HNSW, and fuses both (search.sql) in one SQL round trip for
a hybrid page with its organization facets. A keyword-only search or browsing without a query is
ranked, counted and faceted entirely in numpy over this process's copy of the per-paper fields
(search.keyword_docs); SQL then only reads the page's rows. Filters are applied inside each
candidate list, before fusion, so a filtered search still fills its page. Facets ignore the
organization filter, so that others can be added.
"""

from __future__ import annotations

import math
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
from django.conf import settings

from ops.statement_timeout import statement_timeout
from papers import organization_indexes
from papers.indexing import NOT_EMBEDDED, NOT_EMBEDDED_CAP
from papers.models import Organization, Paper
from search import examples, keyword, names, query_vectors, side_connection
from search.examples import Examples
from search.keyword_docs import (
    NO_DATE,
    DocTable,
    category_name,
    category_number,
    day_number,
    doc_table,
)
from search.query_text import TextQuery, parse_text_query
from search.replicas import on_replica, search_connection
from search.sql import (
    HEADLINE_PARAMS,
    FusedSQL,
    KeywordCandidates,
    Tuning,
    rows_sql,
)
from search.state import SearchState

FACET_LIMIT = 30  # organizations listed beside an exhaustive result list, most papers first
TYPO_SQL = """
SELECT p.id, word_similarity(%(raw)s, p.title) AS score FROM papers_paper p
WHERE %(raw)s <%% p.title AND p.id = ANY(%(allowed)s)
ORDER BY score DESC, p.id LIMIT %(depth)s
"""
TYPO_SQL_ANY = TYPO_SQL.replace(" AND p.id = ANY(%(allowed)s)", "")
# Typed syntax binds the search by meaning to the keyword matches; past this many, to the
# best-scored of them, ranked exactly (search.sql.FusedSQL.only_ids).
MATCH_IDS_LIMIT = 5_000
# With a typed phrase, past this many of the best matches (about 1,000 of them hold the phrase).
PHRASE_MATCH_IDS_LIMIT = 1_250
# Filters that leave at most this many papers: meaning ranks them exactly, by id (a few ms),
# instead of walking the HNSW graph past the many that fail the filter.
EXACT_LIMIT = 5_000


@dataclass
class Hit:
    paper: Paper
    score: float | None
    keyword_rank: int | None
    semantic_rank: int | None
    similar_title: bool  # matched by title similarity (a typo), not by full text
    title_marked: str | None  # the title with matched terms between HIGHLIGHT_START/STOP
    snippet_marked: str | None  # the best fragments of the abstract, marked the same way
    strong: bool = True  # a strong match; False: loosely related (search.sql.SORT_ORDER)
    judgment: bool | None = None  # the signed-in member's verdict for this query, if any
    named: bool = False  # the query is or holds its name, or is its arXiv id (search.names)


@dataclass
class OrgFacet:
    slug: str
    name: str
    count: int
    selected: bool


@dataclass
class CategoryFacet:
    name: str  # cs.LG
    count: int
    selected: bool


@dataclass
class Results:
    state: SearchState
    hits: list[Hit]
    total: int  # strong matches (every match, for keyword search and browsing)
    facets: list[OrgFacet] = field(default_factory=list)
    category_facets: list[CategoryFacet] = field(default_factory=list)
    # Whether the candidates (total, facet counts) are every match, or by meaning the top ones.
    exhaustive: bool = True
    total_approximate: bool = False  # a typed phrase was checked only as far as this page
    catalogue_size: int = 0  # papers in the catalogue, counted without a scan
    published_range: tuple[date, date] | None = None  # the catalogue's first and last dates
    not_indexed: int = 0  # papers not yet searchable by meaning
    similar_titles: bool = False  # some keyword matches came from title similarity (a typo)
    meaning_fallback: bool = False  # nothing matched the typed syntax: these match by meaning
    listed: int = 0  # papers the pages run through: by relevance, the loose ones too
    # The strong matches per month ("YYYY-MM"), under every filter, for the timeline
    # (search.timeline); and those without a date. Empty without facets.
    month_counts: dict[str, int] = field(default_factory=dict)
    undated: int = 0
    examples: Examples = field(default_factory=Examples)  # the papers marked like / unlike

    @property
    def loose(self) -> int:
        """Loosely related papers listed after the strong matches."""
        return self.listed - self.total

    @property
    def page_size(self) -> int:
        return settings.SEARCH_PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.listed / self.page_size))

    @property
    def first_index(self) -> int:
        return (self.state.page - 1) * self.page_size + 1

    @property
    def has_next(self) -> bool:
        return self.state.page < self.pages


@on_replica
def search(state: SearchState, *, with_facets: bool = True) -> Results:
    connection = search_connection()
    # A slow search stops here (and is a 503, ops.unavailable) rather than holding a web worker.
    with statement_timeout(connection), connection.cursor() as cursor:
        marked = examples.load(state, connection.alias)
        query = Query.of(state, marked)
        docs = doc_table(connection.alias)
        if not query.by_meaning:
            results = _ranked_in_numpy(cursor, query, docs, with_facets)
        else:
            with _through_the_graph(cursor):
                results = _fused(cursor, query, docs, with_facets)
    results.similar_titles = any(h.similar_title for h in results.hits)
    results.examples = marked
    results.catalogue_size = docs.alive
    results.published_range = docs.published_range
    return results


@on_replica
def ranked_ids(state: SearchState, n: int) -> list[int]:
    """The ids of the first n results, in the order pages 1, 2, … of `search(state)` show them.

    The same ranking as the page, asked for n rows at once (the evaluation needs the top 100).
    The candidate depth is only raised when n exceeds it, so for n <= SEARCH_CANDIDATE_DEPTH
    the ranking is exactly the web page's.
    """
    connection = search_connection()
    query = _marked_query(state.with_changes(page=1), connection)
    query = replace(query, limit=n, offset=0, depth=max(query.depth, n))
    with connection.cursor() as cursor:
        docs = doc_table(connection.alias)
        if not query.by_meaning:
            ids, _, _ = _keyword_page(cursor, query, docs)
            return [int(i) for i in ids]
        filters = _filters(cursor, query.state)
        matches = _keyword_matches(cursor, query, docs, filters)
        with _through_the_graph(cursor):
            cursor.execute(*_fused_sql(cursor, query, docs, matches, filters).page())
            return [row[0] for row in cursor.fetchall()]


@on_replica
def strong_ids(state: SearchState, limit: int) -> list[int]:
    """The ids of the strong matches, the papers the count counts, in the order the pages list
    them, at most `limit`: what an export of the search holds. The candidates are the first
    page's (the same depth), so the export is the papers the page counts, not a deeper search."""
    connection = search_connection()
    query = replace(_marked_query(state.with_changes(page=1), connection), limit=limit, offset=0)
    with statement_timeout(connection), connection.cursor() as cursor:
        docs = doc_table(connection.alias)
        if not query.by_meaning:  # ranked in numpy: every match is a strong one
            ids, _, _ = _keyword_page(cursor, query, docs)
            return [int(i) for i in ids]
        filters = _filters(cursor, query.state)
        matches = _keyword_matches(cursor, query, docs, filters)
        sql = replace(_fused_sql(cursor, query, docs, matches, filters), text=None)  # no headlines
        with _through_the_graph(cursor):
            cursor.execute(*sql.page())
            return [row["id"] for row in _named_rows(cursor) if row["strong"]]


def _marked_query(state: SearchState, connection) -> Query:
    """The state made ready to run, steered by the papers it marks (like=, unlike=)."""
    return Query.of(state, examples.load(state, connection.alias))


@dataclass(frozen=True)
class Query:
    """A search state made ready to run: parsed text, query vector, tuning, page window."""

    state: SearchState
    text: TextQuery | None
    meaning: Future | None  # the query vector, being worked out beside the keyword side
    tuning: Tuning
    limit: int
    offset: int
    depth: int

    @classmethod
    def of(cls, state: SearchState, marked: Examples | None = None) -> Query:
        text = parse_text_query(state.q) if state.q else None
        meaning = None
        by_words = bool(state.q) and state.mode in ("hybrid", "semantic")
        if marked is not None and marked.papers:  # steered: the vector is needed now
            vector = examples.rocchio(query_vectors.embed(state.q) if by_words else None, marked)
            meaning = query_vectors.ready(vector) if vector is not None else None
        elif by_words:
            meaning = query_vectors.start(state.q)
        tuning = Tuning.from_settings()
        page_size = settings.SEARCH_PAGE_SIZE
        return cls(
            state=state,
            text=text if state.mode in ("hybrid", "keyword") else None,
            meaning=meaning,
            tuning=tuning,
            limit=page_size,
            offset=(state.page - 1) * page_size,
            depth=max(tuning.depth, state.page * page_size),
        )

    @property
    def strict(self) -> bool:
        return self.text is not None and self.text.strict

    @property
    def by_meaning(self) -> bool:
        """Ranked by meaning too (known at once, while the vector is still being made)."""
        return self.meaning is not None

    @property
    def vector(self) -> tuple[float, ...] | None:
        return None if self.meaning is None else self.meaning.result()


def build_sql(state: SearchState) -> FusedSQL | None:
    """The fused SQL a search by meaning runs (None for keyword-only and browsing, which rank
    in numpy): its candidates() are the fusion's raw material for experiments."""
    connection = search_connection()
    query = _marked_query(state, connection)
    if not query.by_meaning:
        return None
    with connection.cursor() as cursor:
        docs = doc_table(connection.alias)
        filters = _filters(cursor, query.state)
        matches = _keyword_matches(cursor, query, docs, filters)
        return _fused_sql(cursor, query, docs, matches, filters)


# --- ranked in numpy: keyword only, or browsing ----------------------------------------------
def _ranked_in_numpy(cursor, query: Query, docs: DocTable, with_facets: bool) -> Results:
    ids, scores, found = _keyword_page(cursor, query, docs)
    page_ids, page_scores = ids[query.offset :], scores[query.offset :]
    ranked = query.text is not None
    cursor.execute(
        rows_sql(query.text),
        {
            "ids": page_ids.tolist(),
            "scores": page_scores.tolist() if ranked else [None] * len(page_ids),
            "ranks": _ranks(found, page_ids, query) if ranked else [None] * len(page_ids),
            "similar_title": found.similar_title,
            "match": query.text.match if query.text else "",
        }
        | HEADLINE_PARAMS,
    )
    hits = [_hit(row) for row in _named_rows(cursor)]
    for hit in hits:
        hit.named = hit.paper.pk in found.named
    results = Results(state=query.state, hits=hits, total=found.total, listed=found.total)
    results.total_approximate = found.approximate
    if with_facets:
        orgs, categories, months = _numpy_facets(docs, found)
        _add_facets(results, *_org_counts(cursor, orgs))
        _add_category_facets(results, categories)
        _add_months(results, months)
    return results


def _numpy_facets(docs: DocTable, found: keyword.KeywordMatches) -> tuple:
    """(organization counts, category facets, months) of the matches. A browse counts what
    holds for every paper once per table (search.keyword_docs.DocTable.memo): all of it
    unfiltered (the home page, 43 -> 14 ms at a million papers), the organizations when only
    organizations are chosen (their facet ignores their own filter)."""
    every = _every_paper(docs) if found.facet_org_ids is None else None
    orgs = every[0] if every else _org_values(docs.org[found.facet_org_ids])
    if found.facet_category_ids is None:
        return orgs, every[1], every[2]
    categories = _category_counts(docs.categories[found.facet_category_ids])
    return orgs, categories, _month_counts(docs.published[found.ids])


def _every_paper(docs: DocTable) -> tuple:
    if "every paper" not in docs.memo:
        living = docs.living_ids()
        docs.memo["every paper"] = (
            _org_values(docs.org[living]),
            _category_counts(docs.categories[living]),
            _month_counts(docs.published[living]),
        )
    return docs.memo["every paper"]


def _ranks(found: keyword.KeywordMatches, page_ids: np.ndarray, query: Query) -> list[int]:
    """Each paper's place by score among all matches: its place in the list when sorted by
    relevance; under a date sort, the place it would have."""
    first = query.offset + 1
    if query.state.effective_sort == "relevance":
        return list(range(first, first + len(page_ids)))
    ranks = []
    for pk in page_ids.tolist():
        score = found.scores[found.ids == pk][0]
        ahead = (found.scores > score) | ((found.scores == score) & (found.ids < pk))
        ranks.append(int(ahead.sum()) + 1)
    return ranks


def _keyword_page(cursor, query: Query, docs: DocTable):
    """The first offset + limit of a keyword search or a browse: ids, scores, all matches."""
    filters = _filters(cursor, query.state)
    n = query.offset + query.limit
    sort = query.state.effective_sort
    if query.text is None:
        matches = _browse(docs, filters)
    else:
        name_keys = names.plain_query_keys(query.state.q)
        matches = keyword.find(cursor, query.text, filters, query.tuning.keyword, docs, name_keys)
        if not matches.matched_any and _may_be_a_typo(query, matches):
            matches = _typo(cursor, query, docs, filters)
            sort = "relevance"  # by how alike the titles are
    ids, scores = keyword.top(cursor, matches, n, docs, sort)
    return ids, scores, matches


def _browse(docs: DocTable, filters: keyword.Filters) -> keyword.KeywordMatches:
    only_orgs = keyword.Filters(org_ids=filters.org_ids)
    if filters == only_orgs and filters.later is None and filters.excluded is None:
        # No filter but organizations: the organization facet is every paper's, kept with the
        # table (_numpy_facets); with none at all, the other facets too.
        ids = keyword.within(docs.living_ids(), filters, docs)
        return keyword.KeywordMatches(
            ids=ids, scores=np.zeros(len(ids)), matched_any=bool(len(ids)), facet_org_ids=None,
            facet_category_ids=None if filters.org_ids is None else ids,
        )  # fmt: skip
    ids = keyword.in_dates(docs.living_ids(), filters, docs)
    return keyword.narrowed(ids, np.zeros(len(ids)), ids, filters, docs)


def _may_be_a_typo(query: Query, found: keyword.KeywordMatches) -> bool:
    """No paper has a typed word: a typo, perhaps, unless the words were all stop words. When
    papers outside the filters have them, nothing within matches: no typo there (and the
    trigram scan of every title sharing a few letters with a long query cost 66 ms at 100,000
    papers, for titles that only looked like it)."""
    return bool(query.state.q.strip()) and found.has_terms and found.unknown_words


def _typo(cursor, query: Query, docs: DocTable, filters: keyword.Filters):
    """Titles that look like the query (_may_be_a_typo), under the filters."""
    ids, scores = _typo_candidates(cursor, query, docs, filters)
    matches = keyword.narrowed(ids, scores, ids, filters, docs)
    matches.similar_title = bool(len(matches.ids))
    return matches


def _typo_candidates(cursor, query: Query, docs: DocTable, filters: keyword.Filters):
    """Titles like the query, within the dates (organizations and categories are filtered
    afterwards, in numpy, so that their facets can ignore their own filter)."""
    params = {"raw": query.state.q, "depth": query.depth}
    if filters.start is None and filters.end is None:
        cursor.execute(TYPO_SQL_ANY, params)
    else:
        allowed = keyword.in_dates(docs.living_ids(), filters, docs)
        cursor.execute(TYPO_SQL, params | {"allowed": allowed.tolist()})
    rows = cursor.fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    return ids, np.array([r[1] for r in rows], dtype=float)


# --- fused with meaning: semantic and hybrid -------------------------------------------------
def _fused(cursor, query: Query, docs: DocTable, with_facets: bool) -> Results:
    state = query.state
    filters = _filters(cursor, state)
    walk = _walk_beside(cursor, query, docs, filters)
    matches = _keyword_matches(cursor, query, docs, filters)
    unfiltered = _facets_without_their_filter(cursor, query, docs, matches, filters)
    sql = _fused_sql(cursor, query, docs, matches, filters)
    if walk is not None:
        sql = replace(sql, walked=walk.result())
    # Each facet counts the candidates without its own filter (so others can be added): when
    # none is selected, those are the page's own, counted in the same query.
    cursor.execute(*sql.page(with_facets=with_facets))
    rows = list(_named_rows(cursor))
    hits = [_hit(row) for row in rows]
    if rows:
        total, listed = rows[0]["total"], rows[0]["listed"]
    else:
        total, listed = _count_when_past_the_end(cursor, sql, state)
    results = Results(state=state, hits=hits, total=total, exhaustive=False, listed=listed)
    if with_facets:
        first = rows[0] if rows else None
        orgs, categories, not_indexed, months = (
            (first["facets"], first["category_facets"], first["not_indexed"], first["months"])
            if first else _fused_facets(cursor, query, docs, matches, filters)
        )  # fmt: skip
        if "orgs" in unfiltered:
            orgs = unfiltered["orgs"].result()[0]
        if "cats" in unfiltered:
            categories = unfiltered["cats"].result()[1]
        _add_facets(results, orgs, not_indexed)
        _add_category_facets(results, [(c, n) for c, n in categories])
        _add_months(results, months)
    results.meaning_fallback = (
        query.strict
        and state.mode == "hybrid"
        and bool(hits)
        and all(h.keyword_rank is None for h in hits)
    )
    return results


@contextmanager
def _through_the_graph(cursor):
    """A search by meaning walks the HNSW graph, filtering as it goes. PostgreSQL cannot
    estimate how many papers pass its conditions, guesses few, and then prefers reading the
    whole table and sorting it by distance (0.6 s at 100,000 papers unfiltered, 0.7 s at a
    million with a big organization's filter): for these statements, it may not. Nor may it
    start parallel workers: the statements read a few hundred papers, and starting two cost
    about 6 ms (the papers a query names, at a million papers)."""
    cursor.execute("SET enable_seqscan = off; SET max_parallel_workers_per_gather = 0")
    try:
        yield
    finally:
        cursor.execute("RESET enable_seqscan; RESET max_parallel_workers_per_gather")


def _walk_beside(cursor, query: Query, docs: DocTable, filters: keyword.Filters):
    """Hybrid plain words: the walk of the graph by meaning, started on a second connection
    while this one finds the keyword matches (search.side_connection), where it can be; its
    (ids, distances) are the fused statement's then, which walks no more. Typed syntax binds
    meaning to its keyword matches, so it waits for them."""
    if query.text is None or query.strict or not side_connection.apart(cursor):
        return None

    def job(c):
        c.execute(*_fused_sql(c, query, docs, None, filters).walk())
        rows = c.fetchall()
        return tuple(r[0] for r in rows), tuple(r[1] for r in rows)

    return side_connection.start(cursor, job, _through_the_graph)


def _facets_without_their_filter(
    cursor, query: Query, docs: DocTable, matches, filters: keyword.Filters
) -> dict[str, side_connection.Later]:
    """Under an organization filter, the facets of the same search over every organization
    ("orgs"), and under a category filter over every category ("cats"): each a statement of
    its own, started now beside the page's."""
    state, started = query.state, {}
    if state.orgs:
        any_org = replace(query, state=state.with_changes(orgs=()))
        any_org_matches = matches.without_org_filter() if matches else None
        started["orgs"] = _facets_beside(
            cursor, any_org, docs, any_org_matches, replace(filters, org_ids=None), matches
        )
    if state.cats:
        any_category = replace(query, state=state.with_changes(cats=()))
        any_category_matches = matches.without_category_filter() if matches else None
        started["cats"] = _facets_beside(
            cursor, any_category, docs, any_category_matches,
            replace(filters, categories=None), matches,
        )  # fmt: skip
    return started


def _facets_beside(cursor, query: Query, docs: DocTable, matches, filters, page_matches):
    """_fused_facets, started on a second connection. Not when its matches are the page's own
    (a filter that matched nothing): the page may rank them again, and one thread at a time may
    check their phrases."""

    def job(c):
        return _fused_facets(c, query, docs, matches, filters)

    if matches is not None and matches is page_matches:
        return side_connection.here(cursor, job)
    return side_connection.start(cursor, job, _through_the_graph)


def _fused_facets(cursor, query: Query, docs: DocTable, matches, filters) -> tuple:
    """(organization facets, category facets, not indexed, strong matches per month) of a
    fused candidate set."""
    cursor.execute(*_fused_sql(cursor, query, docs, matches, filters).facets())
    return cursor.fetchone()


def _keyword_matches(
    cursor, query: Query, docs: DocTable, filters: keyword.Filters
) -> keyword.KeywordMatches | None:
    if query.text is None:
        return None
    return keyword.find(cursor, query.text, filters, query.tuning.keyword, docs)


def _fused_sql(
    cursor,
    query: Query,
    docs: DocTable,
    matches: keyword.KeywordMatches | None,
    filters: keyword.Filters,
) -> FusedSQL:
    state = query.state
    candidates = None
    if matches is not None:
        candidates = _keyword_candidates(cursor, query, docs, matches, filters)
    exclude = query.text.exclude if query.strict else ""
    if state.mode == "semantic" and state.q:
        text = parse_text_query(state.q)
        exclude = text.exclude if text.strict else ""
    only_ids = _only_ids(candidates, filters, docs)
    if candidates is not None and candidates.match_ids is not None:
        exclude = ""  # the matches of typed syntax lack its excluded words already
    return FusedSQL(
        vector=query.vector,
        tuning=query.tuning,
        keyword=candidates,
        text=query.text,
        orgs=state.orgs,
        cats=state.cats,
        start=state.start_date,
        end=state.end_date,
        sort=state.effective_sort,
        limit=query.limit,
        offset=query.offset,
        depth=query.depth,
        semantic_exclude=exclude,
        only_ids=only_ids,
        org_index=_organization_index(cursor, filters) if only_ids is None else None,
        name_keys=names.plain_query_keys(state.q),
        as_of=state.as_of_time,
        excluded=state.marked,
    )


def _only_ids(
    candidates: KeywordCandidates | None, filters: keyword.Filters, docs: DocTable
) -> tuple[int, ...] | None:
    """The papers meaning may rank, when they are few enough to rank exactly: the matches of
    typed syntax in hybrid, or everything the filters leave when that is a small share."""
    if candidates is not None and candidates.match_ids is not None:
        return candidates.match_ids
    if filters == keyword.Filters():
        return None
    allowed = keyword.within(docs.living_ids(), filters, docs)
    return tuple(allowed.tolist()) if len(allowed) <= EXACT_LIMIT else None


def _organization_index(cursor, filters: keyword.Filters) -> int | None:
    """The organization filtered by, when it is one and has a vector index of its own."""
    if filters.org_ids is None or len(filters.org_ids) != 1:
        return None
    org_id = filters.org_ids[0]
    return org_id if organization_indexes.usable(cursor, org_id) else None


def _keyword_candidates(
    cursor, query: Query, docs: DocTable, matches: keyword.KeywordMatches, filters
) -> KeywordCandidates:
    if not matches.matched_any:
        typo = _may_be_a_typo(query, matches)
        similar = _typo(cursor, query, docs, filters) if typo else matches
        ids, scores = keyword.top(cursor, similar, query.depth, docs, estimate=False)
        return KeywordCandidates(
            tuple(ids.tolist()), tuple(scores.tolist()), similar_title=bool(len(ids)),
            idf_sum=matches.idf_sum,
        )  # fmt: skip
    # The count comes from the fused statement: no estimate of the unchecked phrase matches.
    if query.strict and matches.phrase_query:
        ids, scores = keyword.top(cursor, matches, query.depth, docs, estimate=False)
        # Meaning ranks the best few matches of a typed phrase and checks that they hold it in
        # the same statement, which reads each one's row anyway (a check of its own read them
        # all once more, at a million papers 10 ms for 1,250).
        match_ids = keyword.best(matches, PHRASE_MATCH_IDS_LIMIT, docs)
        phrase = matches.phrase_query
    else:
        # Typed syntax binds meaning to its best matches; the page's candidates are the first.
        limit = MATCH_IDS_LIMIT if query.strict else query.depth
        match_ids, best_scores = keyword.top(cursor, matches, limit, docs)
        ids, scores = match_ids[: query.depth], best_scores[: query.depth]
        phrase = ""
    return KeywordCandidates(
        tuple(ids.tolist()),
        tuple(scores.tolist()),
        matched_any=True,
        match_ids=tuple(match_ids.tolist()) if query.strict and len(match_ids) else None,
        match_phrase=phrase,
        idf_sum=matches.idf_sum,
    )


def _count_when_past_the_end(cursor, sql: FusedSQL, state: SearchState) -> tuple[int, int]:
    """(strong matches, papers listed) of a page past the last."""
    if state.page == 1:
        return 0, 0
    cursor.execute(*sql.count())
    return cursor.fetchone()


# --- shared -------------------------------------------------------------------------------------
def _filters(cursor, state: SearchState) -> keyword.Filters:
    org_ids = None
    if state.orgs:
        cursor.execute(
            "SELECT id FROM papers_organization WHERE slug = ANY(%s)", [list(state.orgs)]
        )
        org_ids = tuple(row[0] for row in cursor.fetchall())
    categories = None
    if state.cats:
        categories = tuple(category_number(c) for c in state.cats)
    return keyword.Filters(
        org_ids=org_ids,
        categories=categories,
        start=day_number(state.start_date) if state.start_date else None,
        end=day_number(state.end_date) if state.end_date else None,
        later=examples.later_ids(state.as_of_time, cursor),
        excluded=np.array(sorted(state.marked), dtype=np.int64) if state.marked else None,
    )


def _org_values(orgs: np.ndarray) -> dict[int, int]:
    """{organization id: count} of the most frequent organizations among matches."""
    values, counts = np.unique(orgs[orgs >= 0], return_counts=True)
    best = np.lexsort((values, -counts))[:FACET_LIMIT]
    return dict(zip(values[best].tolist(), counts[best].tolist(), strict=True))


def _org_counts(cursor, wanted: dict[int, int]) -> tuple[list, int]:
    """[slug, name, count] of the organizations counted (_org_values), most first; and the
    number of papers not yet searchable by meaning (one round trip for both)."""
    cursor.execute(
        f"SELECT ({NOT_EMBEDDED}), ARRAY(SELECT ARRAY[id::text, slug, name]"
        " FROM papers_organization WHERE id = ANY(%(ids)s))",
        {
            "ids": list(wanted),
            "not_embedded_cap": NOT_EMBEDDED_CAP,
            "model": settings.EMBEDDING_MODEL,
        },
    )
    not_indexed, names = cursor.fetchone()
    facets = [[slug, name, wanted[int(pk)]] for pk, slug, name in names]
    return sorted(facets, key=lambda f: (-f[2], f[1])), not_indexed


def _category_counts(categories: np.ndarray) -> list[tuple[str, int]]:
    """(category, count) of the most frequent categories among matches, most first."""
    values, counts = np.unique(categories[categories >= 0], return_counts=True)
    facets = [(category_name(int(v)), int(c)) for v, c in zip(values, counts, strict=True)]
    return sorted(facets, key=lambda f: (-f[1], f[0]))[:FACET_LIMIT]


def _month_counts(days: np.ndarray) -> dict[str, int]:
    """Papers per month ("YYYY-MM", "" for undated) from their day numbers. Counted per day
    first (one bincount over the matches, no sort), then the few thousand days are summed into
    months: 7 ms for a million matches, where converting each to its month and counting those
    took 70 ms (bench/timeline.py)."""
    dated = days[days != NO_DATE]
    counts = {"": len(days) - len(dated)} if len(dated) < len(days) else {}
    if not len(dated):
        return counts
    first = int(dated.min())
    per_day = np.bincount(dated - first)
    month_of_day = np.arange(first, first + len(per_day)).astype("datetime64[D]")
    month_of_day = month_of_day.astype("datetime64[M]").astype(np.int64)
    first_month = int(month_of_day[0])
    per_month = np.bincount(month_of_day - first_month, weights=per_day).astype(np.int64)
    for offset in np.flatnonzero(per_month):
        counts[str(np.datetime64(first_month + int(offset), "M"))] = int(per_month[offset])
    return counts


def _add_months(results: Results, counts: dict[str, int]) -> None:
    counts = dict(counts)
    results.undated = counts.pop("", 0)
    results.month_counts = counts


def _named_rows(cursor):
    names = [column.name for column in cursor.description]
    for row in cursor.fetchall():
        yield dict(zip(names, row, strict=True))


def _hit(row: dict) -> Hit:
    paper = Paper(
        pk=row["id"], title=row["title"], abstract=row["abstract"], published=row["published"],
        upvotes=row["upvotes"], authors_count=row["authors_count"], source=row["source"],
        source_id=row["source_id"], organization_id=row["org_id"],
    )  # fmt: skip
    if row["org_id"] is not None:
        paper.organization = Organization(
            pk=row["org_id"], slug=row["org_slug"], name=row["org_name"]
        )
    # PostgreSQL computes the fused score as numeric: a Decimal, which JSON writes as a string.
    score = None if row["score"] is None else float(row["score"])
    return Hit(
        paper, score, row["keyword_rank"], row["semantic_rank"], row["similar_title"],
        row["title_marked"], row["snippet_marked"], row.get("strong", True),
        named=bool(row.get("named")),
    )  # fmt: skip


def _add_category_facets(results: Results, counts: list[tuple[str, int]]) -> None:
    selected = results.state.cats
    results.category_facets = [
        CategoryFacet(name, count, name in selected) for name, count in counts
    ]
    # Selected categories stay visible (with 0) so they can be switched off again.
    shown = {f.name for f in results.category_facets}
    results.category_facets += [CategoryFacet(c, 0, True) for c in selected if c not in shown]


def _add_facets(results: Results, counts: list, not_indexed: int) -> None:
    state = results.state
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
