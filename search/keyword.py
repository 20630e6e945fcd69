"""Keyword matches: which papers match the typed words, and their BM25 scores, in numpy.

A search reads the packed postings of its few lexemes (papers.keyword_index), keeps those of
each paper's current segment, and scores them against this process's copy of the per-paper
fields (search.keyword_docs). That costs a few milliseconds per million postings, where the same
BM25 in SQL cost a second at 100,000 papers (docs/PERFORMANCE.md). Papers written since the last
flush are read from their tsvectors, so a paper is findable by its words the moment it commits.

The ranking is the one the SQL computed before, to the same figures: BM25 with term frequency
from the lexeme's positions (title occurrences count `title_weight` times, authors and
organization `extra_weight` times), document frequency over the whole catalogue, length
normalized by the number of lexemes; plain words match with OR and must cover `min_coverage` of
the query's idf; typed syntax must match as PostgreSQL's websearch_to_tsquery reads it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from papers.keyword_index import POSTINGS
from search import postings_cache, tsquery
from search.keyword_docs import GONE, NO_DATE, DocTable
from search.names import named_sql
from search.query_text import TextQuery

PENDING_LIMIT = 5_000  # unflushed papers read from their tsvectors per search, newest first
# The query's words and tsquery, the papers it names (search.names), which segments hold
# postings of each lexeme the typed text holds (a superset of the tsquery's), and what names the
# postings table for search.postings_cache (the rows themselves come from there), in one round
# trip.
TERMS_AND_POSTINGS = f"""
WITH q AS (
    SELECT ARRAY(SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', %(rank)s))) AS rank,
           websearch_to_tsquery('english', %(match)s)::text AS tsquery,
           ARRAY(SELECT p.id FROM papers_paper p WHERE {named_sql("p")}) AS named,
           tsvector_to_array(to_tsvector('english', %(match)s || ' ' || %(rank)s)) AS lexemes,
           ARRAY[(SELECT oid FROM pg_database WHERE datname = current_database())::bigint,
                 pg_relation_filenode('{POSTINGS}')::bigint] AS postings_table
)
SELECT q.rank, q.tsquery, q.named, q.postings_table, x.lexeme, x.segment_id
FROM q LEFT JOIN {POSTINGS} x ON x.lexeme = ANY(q.lexemes)
"""
PENDING_POSTINGS = """
SELECT u.lexeme, array_agg(p.id),
       array_agg(cardinality(array_positions(u.weights, 'A'))),
       array_agg(cardinality(array_positions(u.weights, 'B'))
                 + cardinality(array_positions(u.weights, 'D'))),
       array_agg(cardinality(array_positions(u.weights, 'C')))
FROM papers_paper p, unnest(p.search_vector) u
WHERE p.id = ANY(%(ids)s) AND u.lexeme = ANY(%(lexemes)s)
GROUP BY u.lexeme
"""
VERIFY = """
SELECT id FROM papers_paper
WHERE id = ANY(%(ids)s) AND search_vector @@ websearch_to_tsquery('english', %(match)s)
"""
SAMPLE = 100  # unchecked phrase matches checked at random to estimate the total


@dataclass(frozen=True)
class KeywordTuning:
    k1: float
    b: float
    title_weight: float
    extra_weight: float
    min_coverage: float


@dataclass(frozen=True)
class Filters:
    org_ids: tuple[int, ...] | None = None  # None: any organization
    start: int | None = None  # day numbers (search.keyword_docs.day_number), inclusive
    end: int | None = None
    categories: tuple[int, ...] | None = None  # category numbers (keyword_docs); None: any
    # Sorted paper ids left out of every list and count. `later`: imported after a pinned
    # as_of, so not in that catalogue at all (nor in BM25's statistics); `excluded`: the
    # papers marked as examples, shown above the list instead. Not compared: the SQL side
    # filters on them itself (search.sql), so they never make a search "filtered".
    later: np.ndarray | None = field(default=None, compare=False)
    excluded: np.ndarray | None = field(default=None, compare=False)


@dataclass
class Postings:
    ids: np.ndarray  # int64 paper ids
    title: np.ndarray  # occurrences by weight
    body: np.ndarray
    extra: np.ndarray


@dataclass
class KeywordMatches:
    ids: np.ndarray  # every match, unordered
    scores: np.ndarray
    matched_any: bool  # a paper within the filters has a typed word (else: try titles)
    # The matches without the organization filter, whose organizations the organization facet
    # counts, and those without the category filter, for the category facet (their values are
    # read only when a facet is counted in numpy: search.engine._numpy_facets). None: every
    # paper, which a browse takes from the table; categories are None only when nothing is
    # filtered at all.
    facet_org_ids: np.ndarray | None
    facet_category_ids: np.ndarray | None
    phrase_query: str = ""  # typed syntax with a phrase: matches are checked as they are shown
    estimated_total: int | None = None  # when some were not checked: the count they likely make
    any_org: KeywordMatches | None = None  # the same without the organization filter
    any_category: KeywordMatches | None = None  # the same without the category filter
    idf_sum: float = 0.0  # the query's weight: what min_coverage is a share of
    similar_title: bool = False  # titles that look like the query (a typo), not word matches
    has_terms: bool = True  # the typed words hold a lexeme, not only stop words
    # No paper at all has them, filters aside: a typo, perhaps (a title like the query is tried).
    # Words that only papers outside the filters have are no typo.
    unknown_words: bool = False
    # Whether a paper holds the phrase, for each one checked (top); shared by the matches with
    # and without the organization and category filters, which check the same papers.
    phrase_checked: dict[int, bool] = field(default_factory=dict)
    named: frozenset[int] = frozenset()  # the papers the query names (search.names)

    def without_org_filter(self) -> KeywordMatches:
        return self.any_org or self

    def without_category_filter(self) -> KeywordMatches:
        return self.any_category or self

    @property
    def total(self) -> int:
        return len(self.ids) if self.estimated_total is None else self.estimated_total

    @property
    def approximate(self) -> bool:
        return self.estimated_total is not None


def find(
    cursor,
    text: TextQuery,
    filters: Filters,
    tuning: KeywordTuning,
    docs: DocTable,
    name_keys: tuple[str, ...] = (),
) -> KeywordMatches:
    """The matches of the typed text under the filters. Papers named by `name_keys`
    (search.names) match too, scored above every other."""
    params = {"rank": text.rank_words, "match": text.match, "name_keys": list(name_keys)}
    cursor.execute(TERMS_AND_POSTINGS, params)
    rows = cursor.fetchall()
    rank_terms, query_text, named, table = rows[0][:4]
    tree = tsquery.parse(query_text)
    if tree is None or not rank_terms:
        return _no_matches(has_terms=bool(rank_terms))
    lexemes = sorted(set(rank_terms) | tree.lexemes())
    stored = postings_cache.rows(cursor, tuple(table), [r[4:] for r in rows if r[4] is not None])
    postings = _postings(stored, cursor, lexemes, docs)
    if filters.later is not None:
        postings = {lexeme: _drop(p, filters.later) for lexeme, p in postings.items()}

    def member(lexeme: str) -> np.ndarray:
        return _holding(postings, (lexeme,), docs)

    # Plain words are an OR of lexemes: one mask for all (a mask per word and their OR cost
    # 5 of 32 ms for an eleven-word claim at a million papers).
    if tree.is_union():
        matching = _holding(postings, tree.lexemes(), docs)
    else:
        matching = tree.evaluate(member)
    scores, idf_sum = _bm25(rank_terms, postings, docs, tuning, filters.later)
    dated = in_dates(np.flatnonzero(matching), filters, docs)
    coverage = 0.0 if text.strict else tuning.min_coverage * idf_sum
    strong = scores[dated] > 0
    if coverage:
        strong &= scores[dated] >= coverage
    ids = dated[strong]
    if named:
        pinned = np.array(named, dtype=np.int64)
        ids, dated = _named_first(pinned, ids, dated, scores, filters, docs)
    return narrowed(
        ids,
        scores[ids],
        dated,
        filters,
        docs,
        phrase_query=text.match if tree.has_phrase() else "",
        idf_sum=idf_sum,
        unknown_words=not matching.any(),
        named=frozenset(named or ()),
    )


def _holding(postings: dict[str, Postings], lexemes, docs: DocTable) -> np.ndarray:
    """The mask of papers holding any of the lexemes."""
    mask = np.zeros(docs.size, dtype=bool)
    for lexeme in lexemes:
        if lexeme in postings:
            mask[postings[lexeme].ids] = True
    return mask


def _named_first(named, ids, dated, scores, filters: Filters, docs: DocTable):
    """The matches and the considered papers with the named ones added, which are scored
    (in `scores`, by paper id) above every other match."""
    # A paper committed after this process's copy of the per-paper fields waits for the next
    # search (as in narrowed).
    named = in_dates(named[named < docs.size], filters, docs)
    others = ids[~np.isin(ids, named)]
    scores[named] += (scores[others].max() if len(others) else 0.0) + 1
    return np.union1d(ids, named), np.union1d(dated, named)


def narrowed(
    ids: np.ndarray, scores: np.ndarray, considered: np.ndarray, filters: Filters, docs, **extra
) -> KeywordMatches:
    """The matches (ids, scores, already within the dates) under the organization and category
    filters, with each facet's counts taken without its own filter, and the same matches
    without either filter for the facet queries of a fused search. `considered`: every paper
    that held a typed word, whatever its score (for `matched_any`)."""
    # A paper committed after this process's copy was read (found by a later statement: the
    # titles that look like the query, say) waits for the next search.
    known = (ids < docs.size) & _shown_mask(ids, filters)
    ids, scores, considered = ids[known], scores[known], considered[considered < docs.size]
    org_ok, category_ok = _org_filter(ids, filters, docs), _category_filter(ids, filters, docs)

    def seen(by_org: bool, by_category: bool) -> bool:
        """Whether a considered paper passes these filters. A match that passes them says so
        without reading the considered papers (for common words most of the catalogue: 2 ms a
        filter at a million papers); the matches are among them."""
        passing = (org_ok if by_org else True) & (category_ok if by_category else True)
        if np.any(passing):
            return True
        keep = np.ones(len(considered), dtype=bool)
        if by_org:
            keep &= _org_filter(considered, filters, docs)
        if by_category:
            keep &= _category_filter(considered, filters, docs)
        return bool(keep.any())

    phrase_checked: dict[int, bool] = {}

    def part(keep: np.ndarray, any_match: bool) -> KeywordMatches:
        return KeywordMatches(
            phrase_checked=phrase_checked,
            ids=ids[keep],
            scores=scores[keep],
            matched_any=any_match,
            facet_org_ids=ids if filters.categories is None else ids[category_ok],
            facet_category_ids=ids if filters.org_ids is None else ids[org_ok],
            **extra,
        )

    matches = part(org_ok & category_ok, seen(by_org=True, by_category=True))
    if filters.org_ids is not None:
        matches.any_org = part(category_ok, seen(by_org=False, by_category=True))
    if filters.categories is not None:
        matches.any_category = part(org_ok, seen(by_org=True, by_category=False))
    return matches


def top(
    cursor,
    matches: KeywordMatches,
    n: int,
    docs: DocTable,
    sort: str = "relevance",
    *,
    estimate: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The first n matches in `sort` order (ids, scores). A match that only seemed to hold a
    typed phrase (its words, not next to each other) is dropped here, and the count with it;
    estimate: how many of the unchecked rest hold it (a sample), for a count of the matches."""
    if not matches.phrase_query:
        chosen = _order(matches, docs, sort, n)[:n]
        return matches.ids[chosen], matches.scores[chosen]
    kept: list[int] = []
    checked, limit = 0, _with_margin(n)
    order = _order(matches, docs, sort, limit)
    while len(kept) < n and checked < len(matches.ids):
        if checked >= len(order):
            limit *= 4
            order = _order(matches, docs, sort, limit)
        batch = order[checked : checked + _with_margin(n - len(kept))]
        # A second call (typed syntax in hybrid asks for 5 × depth after the page's depth, the
        # organization facet for the matches of any organization) checks only what is new.
        checked_already = matches.phrase_checked
        unknown = [i for i in matches.ids[batch].tolist() if i not in checked_already]
        if unknown:
            cursor.execute(VERIFY, {"ids": unknown, "match": matches.phrase_query})
            holding = {row[0] for row in cursor.fetchall()}
            checked_already.update((i, i in holding) for i in unknown)
        kept.extend(int(i) for i in batch if checked_already[int(matches.ids[i])])
        checked += len(batch)
    chosen = np.array(kept[:n], dtype=np.int64)
    ids, scores = matches.ids[chosen], matches.scores[chosen]
    _settle_count(cursor, matches, order[:checked], kept, estimate)  # renumbers matches.ids
    return ids, scores


def best(matches: KeywordMatches, n: int, docs: DocTable) -> np.ndarray:
    """The ids of the n best matches by relevance, a typed phrase unchecked."""
    return matches.ids[_order(matches, docs, "relevance", n)[:n]]


def _with_margin(wanted: int) -> int:
    """How many of the best matches to check for `wanted` that hold the phrase: most of the
    best do (their words stand side by side as often as not), and a short batch costs one more
    round trip, where each checked paper costs its tsvector's read (about 8 µs)."""
    return max(wanted + wanted // 4, 100)


def _settle_count(
    cursor, matches: KeywordMatches, checked: np.ndarray, kept: list[int], estimate: bool
) -> None:
    """After checking the best matches: drop the false ones, and estimate how many of the
    unchecked rest hold the phrase from a random sample of them (the best ones are no fair
    sample: high scores and the words standing side by side go together)."""
    rest = np.setdiff1d(np.arange(len(matches.ids)), checked, assume_unique=True)
    estimated = None
    if len(rest) and estimate:
        sample = np.random.default_rng(0).choice(rest, size=min(SAMPLE, len(rest)), replace=False)
        cursor.execute(VERIFY, {"ids": matches.ids[sample].tolist(), "match": matches.phrase_query})
        share = len(cursor.fetchall()) / len(sample)
        estimated = len(kept) + round(share * len(rest))
    keep = np.sort(np.concatenate([np.array(kept, dtype=np.int64), rest]))
    matches.ids, matches.scores = matches.ids[keep], matches.scores[keep]
    matches.estimated_total = estimated


def _order(matches: KeywordMatches, docs: DocTable, sort: str, limit: int) -> np.ndarray:
    """Positions into matches.ids of at least the first `limit` matches (all of them when
    fewer), in the order SearchSQL's SORT_ORDER gives."""
    ids, scores = matches.ids, matches.scores
    if sort in ("newest", "oldest"):
        published = docs.published[ids].astype(np.int64)
        missing = published == NO_DATE
        if sort == "newest":
            keys = (-ids, -scores, np.where(missing, np.iinfo(np.int64).max, -published))
        else:
            keys = (ids, -scores, np.where(missing, np.iinfo(np.int64).max, published))
    elif sort == "upvotes":
        keys = (-ids, -scores, -docs.upvotes[ids])
    else:
        keys = (ids, -scores)
    candidates = np.arange(len(ids))
    if len(ids) > 4 * limit:
        # Sort only what can reach the first `limit`: the primary key's best, ties included.
        primary = keys[-1]
        cutoff = np.partition(primary, limit - 1)[limit - 1]
        candidates = np.flatnonzero(primary <= cutoff)
        keys = tuple(k[candidates] for k in keys)
    return candidates[np.lexsort(keys)]


def _no_matches(*, has_terms: bool) -> KeywordMatches:
    empty = np.zeros(0, dtype=np.int64)
    return KeywordMatches(
        empty, np.zeros(0), False, empty, empty, has_terms=has_terms, unknown_words=True
    )


def _bm25(
    terms: list[str],
    postings: dict[str, Postings],
    docs: DocTable,
    tuning: KeywordTuning,
    later: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Scores by paper id (a dense array), and the summed idf of the query's terms; over the
    catalogue without the papers imported `later` than a pinned as_of, so that a pinned link's
    scores (and so its order) do not move when papers are added."""
    scores = np.zeros(docs.size)
    n, average = _collection(docs, later)
    idf_sum = 0.0
    for term in terms:
        found = postings.get(term)
        df = len(found.ids) if found else 0
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        idf_sum += idf
        if not df:
            continue
        scores[found.ids] += _term_weights(found, idf, docs, tuning, average)  # ids unique
    return scores, idf_sum


def _term_weights(found: Postings, idf: float, docs: DocTable, tuning: KeywordTuning, average):
    """BM25's weight of one term in each paper that holds it: idf·tf·(k1+1) / (tf + k1·(1 − b +
    b·length/average)), computed in place (each temporary array of a common word's postings
    costs about a millisecond at a million papers)."""
    k1, b = tuning.k1, tuning.b
    tf = found.body.astype(float)
    tf += tuning.title_weight * found.title
    if tuning.extra_weight and found.extra.any():
        tf += tuning.extra_weight * found.extra
    denominator = docs.length[found.ids] * (k1 * b / average)
    denominator += k1 * (1 - b)
    denominator += tf
    tf *= idf * (k1 + 1)
    tf /= denominator
    return tf


def _collection(docs: DocTable, later: np.ndarray | None) -> tuple[int, float]:
    """BM25's number of papers and their average length, without the `later` ones."""
    if later is None:
        return docs.alive, docs.average_length
    later = later[later < docs.size]
    gone = later[docs.segment[later] != GONE]
    n = docs.alive - len(gone)
    length = docs.length_sum - int(docs.length[gone].sum())
    return n, (max(length / n, 1.0) if n else 1.0)


def _drop(postings: Postings, ids: np.ndarray) -> Postings:
    keep = ~np.isin(postings.ids, ids)
    return Postings(
        postings.ids[keep], postings.title[keep], postings.body[keep], postings.extra[keep]
    )


def shown(ids: np.ndarray, filters: Filters) -> np.ndarray:
    """The ids that may be listed: not imported after a pinned as_of, not marked examples."""
    if filters.later is None and filters.excluded is None:
        return ids  # nothing hidden: no copy of what may be every paper
    return ids[_shown_mask(ids, filters)]


def _shown_mask(ids: np.ndarray, filters: Filters) -> np.ndarray:
    keep = np.ones(len(ids), dtype=bool)
    for hidden in (filters.later, filters.excluded):
        if hidden is not None and len(hidden):
            keep &= ~np.isin(ids, hidden)
    return keep


def within(ids: np.ndarray, filters: Filters, docs: DocTable) -> np.ndarray:
    """The ids that pass every filter."""
    ids = in_dates(ids, filters, docs)
    return ids[_org_filter(ids, filters, docs) & _category_filter(ids, filters, docs)]


def in_dates(ids: np.ndarray, filters: Filters, docs: DocTable) -> np.ndarray:
    """The ids within the dates (and shown at all)."""
    ids = shown(ids, filters)
    if filters.start is None and filters.end is None:
        return ids
    published = docs.published[ids]
    keep = published != NO_DATE
    if filters.start is not None:
        keep &= published >= filters.start
    if filters.end is not None:
        keep &= published <= filters.end
    return ids[keep]


def _org_filter(ids: np.ndarray, filters: Filters, docs: DocTable) -> np.ndarray:
    if filters.org_ids is None:
        return np.ones(len(ids), dtype=bool)
    orgs = docs.org[ids]
    if len(filters.org_ids) == 1:  # the usual case, and three times faster than isin
        return orgs == filters.org_ids[0]
    return np.isin(orgs, np.array(filters.org_ids, dtype=np.int64), kind="table")


def _category_filter(ids: np.ndarray, filters: Filters, docs: DocTable) -> np.ndarray:
    if filters.categories is None:
        return np.ones(len(ids), dtype=bool)
    wanted = np.array(filters.categories, dtype=np.int16)
    return np.isin(docs.categories[ids], wanted).any(axis=1)


def _postings(
    stored: dict[tuple[str, int], postings_cache.Row], cursor, lexemes: list[str], docs: DocTable
) -> dict[str, Postings]:
    """Each lexeme's current postings: from the segments' rows, and from unflushed papers."""
    parts: dict[str, list[Postings]] = {}
    for (lexeme, segment), (ids, counts) in stored.items():
        current = np.zeros(len(ids), dtype=bool)
        known = ids < docs.size  # papers flushed since this copy was read: next search
        current[known] = docs.segment[ids[known]] == segment
        # Usually all are current: then no copy of a common word's postings is made, and the
        # cache's own arrays are shared (every reader only reads them).
        if not current.all():
            ids, counts = ids[current], counts[current]
        if len(ids):
            parts.setdefault(lexeme, []).append(
                Postings(ids, counts >> 12, counts & 511, (counts >> 9) & 7)
            )
    for lexeme, found in _pending_postings(cursor, lexemes, docs):
        parts.setdefault(lexeme, []).append(found)
    return {lexeme: _concatenate(p) for lexeme, p in parts.items()}


def _pending_postings(cursor, lexemes: list[str], docs: DocTable):
    pending = docs.pending_ids()
    if not len(pending):
        return
    cursor.execute(PENDING_POSTINGS, {"ids": pending[-PENDING_LIMIT:].tolist(), "lexemes": lexemes})
    for lexeme, ids, title, body, extra in cursor.fetchall():
        yield lexeme, Postings(*(np.array(a, dtype=np.int64) for a in (ids, title, body, extra)))


def _concatenate(parts: list[Postings]) -> Postings:
    if len(parts) == 1:
        return parts[0]
    return Postings(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("ids", "title", "body", "extra"))
    )
