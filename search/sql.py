"""The SQL behind search.engine: the search by meaning, its fusion with the keyword candidates,
filters, the ranked page, facets, and the rows of a page chosen elsewhere.

Keyword candidates arrive ranked from search.keyword (BM25 over the packed postings, in numpy)
as two arrays; this SQL fuses them with the nearest papers by meaning (pgvector HNSW, cosine) in
one round trip. Every column is named and read by name (search.engine).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings

from papers import organization_indexes
from papers.indexing import NOT_EMBEDDED, NOT_EMBEDDED_CAP
from papers.models import Organization, Paper
from search.keyword import KeywordTuning
from search.names import named_sql, pinned_first
from search.query_text import TextQuery

PAPER = Paper._meta.db_table
# The papers a query names (search.names) are a handful; the LIMIT also tells the planner so.
# Without it PostgreSQL guessed half the catalogue from the index on name keys (491,705 of a
# million), planned the page and the facets for 246,052 candidates instead of ~270, and hashed
# all million papers for them: 180 ms of a 210 ms hybrid search (bench/scale.py, 1M papers).
NAMED_LIMIT = 20
ORG = Organization._meta.db_table
HIGHLIGHT_START, HIGHLIGHT_STOP = "\x02", "\x03"  # swapped for <mark> after HTML escaping
SNIPPET_OPTIONS = (
    f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, MaxFragments=2, MaxWords=40, "
    'MinWords=20, FragmentDelimiter=" … "'
)
TITLE_OPTIONS = f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, HighlightAll=true"
# How hybrid search fuses its two candidate lists (Tuning.fusion). "convex": a weighted sum of
# the keyword score and the cosine similarity rescaled to 0..1 over the semantic candidates; it
# beat rank fusion on judged queries (docs/RELEVANCE.md). The keyword score is divided by the
# best keyword score, or by keyword_strength x the query's idf sum when that is larger: a best
# match that holds only the query's common words (many, large, model) covers little of its
# weight, and no longer takes the whole keyword share and the first place from the papers that
# match the idea. "rrf": reciprocal rank fusion, sum of weight / (k + rank).
FUSED_SCORE = {
    "convex": """
        %(keyword_weight)s * coalesce(k.score / nullif(
            greatest(max(k.score) OVER (), %(keyword_strength)s * %(idf_sum)s), 0), 0)
        + %(semantic_weight)s * CASE WHEN s.id IS NULL THEN 0 ELSE coalesce(
            (s.similarity - min(s.similarity) OVER ())
            / nullif(max(s.similarity) OVER () - min(s.similarity) OVER (), 0), 1) END""",
    "rrf": """
        coalesce(%(keyword_weight)s / (%(rrf_k)s + k.rank), 0)
        + coalesce(%(semantic_weight)s / (%(rrf_k)s + s.rank), 0)""",
}
# A strong match scores at least strong_score in the fusion (by meaning alone: strong_similarity
# of cosine similarity); the other candidates are loosely related. The count is of the strong.
# In the fusion, a paper found by meaning alone must also be as similar as meaning alone asks,
# and the first one that is not ends the strong matches: the min-max rescaling gives the nearest
# papers a high score however far they are, so `C++`, which no demo paper holds, had 16 strong
# matches where "Similar in meaning" had none. By relevance the loose follow the strong (the
# score orders them so); the other sorts, and so the feed, list the strong only, or a date sort
# would list the catalogue. Facets count what is listed (docs/RELEVANCE.md, "Where the list
# ends").
STRONG = {
    "convex": """score >= %(strong_score)s AND score > coalesce(max(score) FILTER (
        WHERE keyword_rank IS NULL AND similarity < %(strong_similarity)s) OVER (), -1)""",
    "rrf": "(keyword_rank IS NOT NULL AND NOT similar_title)"
    " OR similarity >= %(strong_similarity)s",
}
SORT_ORDER = {
    "relevance": "f.score DESC, p.id",
    "newest": "p.published DESC NULLS LAST, f.score DESC, p.id DESC",
    "oldest": "p.published ASC NULLS LAST, f.score DESC, p.id",
    "upvotes": "p.upvotes DESC, f.score DESC, p.id DESC",
}
# The columns of a hit, by name (search.engine._hit reads them so).
HIT_COLUMNS = """
    p.id, p.title, p.abstract, p.published, p.upvotes, p.authors_count, p.source, p.source_id,
    o.id AS org_id, o.slug AS org_slug, o.name AS org_name"""


@dataclass(frozen=True)
class Tuning:
    """Every ranking knob, read from settings once per search, passed down as a value."""

    fusion: str
    keyword_weight: float
    semantic_weight: float
    rrf_k: int
    depth: int
    keyword_strength: float
    strong_score: float
    strong_similarity: float
    noise_floor: float
    keyword: KeywordTuning

    @classmethod
    def from_settings(cls) -> Tuning:
        return cls(
            fusion=settings.SEARCH_FUSION,
            keyword_weight=settings.SEARCH_KEYWORD_WEIGHT,
            semantic_weight=settings.SEARCH_SEMANTIC_WEIGHT,
            rrf_k=settings.SEARCH_RRF_K,
            depth=settings.SEARCH_CANDIDATE_DEPTH,
            keyword_strength=settings.SEARCH_KEYWORD_STRENGTH,
            strong_score=settings.SEARCH_STRONG_SCORE,
            strong_similarity=settings.SEARCH_STRONG_SIMILARITY,
            noise_floor=settings.SEARCH_SEMANTIC_NOISE_FLOOR,
            keyword=KeywordTuning(
                k1=settings.SEARCH_BM25_K1,
                b=settings.SEARCH_BM25_B,
                title_weight=settings.SEARCH_TITLE_WEIGHT,
                extra_weight=settings.SEARCH_EXTRA_WEIGHT,
                min_coverage=settings.SEARCH_KEYWORD_MIN_COVERAGE,
            ),
        )


@dataclass(frozen=True)
class KeywordCandidates:
    """The keyword side of a fused search, ranked: ids and scores, best first."""

    ids: tuple[int, ...] = ()
    scores: tuple[float, ...] = ()
    similar_title: bool = False  # titles that look like the query (a typo), not word matches
    matched_any: bool = False  # a paper within the filters has a typed word
    match_ids: tuple[int, ...] | None = None  # typed syntax in hybrid: meaning ranks only these
    # (FusedSQL.only_ids carries them to the SQL)
    match_phrase: str = ""  # typed syntax with a phrase: match_ids unchecked, the SQL checks them
    idf_sum: float = 0.0  # the query's weight (search.keyword.KeywordMatches.idf_sum)


@dataclass(frozen=True)
class FusedSQL:
    """A search by meaning, alone or fused with keyword candidates, with the filters."""

    vector: tuple[float, ...]
    tuning: Tuning
    keyword: KeywordCandidates | None = None  # None: by meaning alone
    text: TextQuery | None = None  # for highlights, and excluded words
    orgs: tuple[str, ...] = ()
    cats: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    sort: str = "relevance"
    limit: int = 20
    offset: int = 0
    depth: int = 200
    semantic_exclude: str = ""
    # When the filters (or typed syntax) leave few papers, these are all of them: meaning ranks
    # them exactly instead of walking the HNSW graph for the rare ones that pass.
    only_ids: tuple[int, ...] | None = None
    # The query's name keys (search.names): the papers they name come first by relevance.
    name_keys: tuple[str, ...] = ()
    as_of: datetime | None = None  # only papers imported by then (SearchState.as_of)
    excluded: tuple[int, ...] = ()  # the papers marked as examples: not listed
    # The one organization filtered by, when it has a vector index of its own
    # (papers.organization_indexes): meaning walks that index instead of every paper's.
    org_index: int | None = None
    # The nearest papers by meaning (ids, distances) when walk() ran already, on a second
    # connection while the keyword side was found (search.engine): read, not walked again.
    walked: tuple[tuple[int, ...], tuple[float, ...]] | None = None

    def page(self, *, with_facets: bool = False) -> tuple[str, dict]:
        """One ranked page; every row also carries the number of candidates and, when asked,
        the facets of this very candidate set (no second pass over it)."""
        facets = (
            self._facet_columns()
            if with_facets
            else "NULL AS facets, NULL AS category_facets, NULL AS not_indexed, NULL AS months"
        )
        named = "f.named" if self.name_keys else "false"
        sql = f"""
        {self._with()}
        , page AS (
            SELECT f.id, f.score, f.keyword_rank, f.semantic_rank, f.similar_title, f.strong,
                   {named} AS named,
                   count(*) FILTER (WHERE f.strong) OVER () AS total,
                   count(*) OVER () AS listed,
                   row_number() OVER (ORDER BY {SORT_ORDER[self.sort]}) AS position
            FROM fused f JOIN {PAPER} p ON p.id = f.id
            WHERE {self._listed()}
            ORDER BY position
            LIMIT %(limit)s OFFSET %(offset)s
        )
        SELECT {HIT_COLUMNS}, pg.score, pg.keyword_rank, pg.semantic_rank, pg.similar_title,
               pg.strong, pg.named, {self._headlines()}, pg.total, pg.listed, {facets}
        FROM page pg JOIN {PAPER} p ON p.id = pg.id
        LEFT JOIN {ORG} o ON o.id = p.organization_id
        ORDER BY pg.position
        """
        return sql, self.params()

    def candidates(self) -> tuple[str, dict]:
        """Every fused candidate with both ranks and the fused score, best first: the
        fusion's raw material (bench/fusion_experiments.py)."""
        sql = f"""{self._with()}
        SELECT f.id, f.keyword_rank, f.semantic_rank, f.score FROM fused f
        JOIN {PAPER} p ON p.id = f.id ORDER BY {SORT_ORDER["relevance"]}"""
        return sql, self.params()

    def walk(self) -> tuple[str, dict]:
        """The nearest papers by meaning with their cosine distance, before any floor, as
        `walked` takes them."""
        sql = f"WITH {self._semantic_cte()} SELECT id, distance FROM nearest ORDER BY distance"
        return sql, self.params()

    def count(self) -> tuple[str, dict]:
        """The strong matches, and the papers listed (by relevance, the loose ones too)."""
        sql = f"""{self._with()}
        SELECT count(*) FILTER (WHERE f.strong), count(*) FROM fused f WHERE {self._listed()}"""
        return sql, self.params()

    def facets(self) -> tuple[str, dict]:
        """Organizations of the candidates with their counts (a JSON list of [slug, name, count],
        most first), their categories likewise ([category, count]), how many papers lack a
        current vector, and the strong matches per month ({"YYYY-MM": count}, "" undated)."""
        return f"{self._with()} SELECT {self._facet_columns()}", self.params()

    # --- pieces -----------------------------------------------------------------------------
    def _with(self) -> str:
        parts = [self._semantic_cte()]
        if self.keyword is not None:
            parts.insert(0, self._keyword_cte())
        if self.name_keys:
            parts.append(
                f"named AS (SELECT p.id FROM {PAPER} p WHERE {self._named()} LIMIT {NAMED_LIMIT})"
            )
            parts.append(f"unpinned AS ({self._fusion()})")
            parts.append(f"fused AS ({pinned_first('unpinned', 'named')})")
        else:
            parts.append(f"fused AS ({self._fusion()})")
        return "WITH " + ",\n".join(parts)

    def _keyword_cte(self) -> str:
        return """
        keyword AS (
            SELECT k.id, k.score, k.rank, %(similar_title)s AS similar_title
            FROM unnest(%(keyword_ids)s::bigint[], %(keyword_scores)s::float8[])
                 WITH ORDINALITY AS k(id, score, rank)
        )"""

    def _semantic_cte(self) -> str:
        # MATERIALIZED: the HNSW scan runs once, in index order; relaxed iterative scans may
        # return slightly out of order, so rank by the exact distance afterwards.
        return f"""
        nearest AS MATERIALIZED ({self._nearest()}),
        semantic AS (
            SELECT id, 1 - distance AS similarity, rank FROM (
                SELECT id, distance, row_number() OVER (ORDER BY distance, id) AS rank
                FROM nearest
            ) ranked
            WHERE {self._not_noise()}
        )"""

    def _nearest(self) -> str:
        if self.walked is not None:
            return """
            SELECT n.id, n.distance
            FROM unnest(%(walked_ids)s::bigint[], %(walked_distances)s::float8[])
                 AS n(id, distance)"""
        # The typed syntax's check reads the paper's tsvector (from TOAST): only for papers
        # within the filters. PostgreSQL orders the conditions by their cost and put it first,
        # so a walk with a date range read the tsvectors of the three in four papers outside
        # it (60 of 66 ms for `"gene expression" -cancer` at a million papers).
        scope, checks = self._scope(), self._syntax_checks()
        checked = f" AND CASE WHEN {scope} THEN {checks} ELSE false END" if checks else ""
        return f"""
            SELECT p.id, p.embedding <=> %(vector)s::vector AS distance FROM {PAPER} p
            WHERE {_embedded("p")} AND {scope}{checked}
            ORDER BY p.embedding <=> %(vector)s::vector
            LIMIT %(depth)s"""

    def _listed(self) -> str:
        return "TRUE" if self.sort == "relevance" else "f.strong"

    def _facet_columns(self) -> str:
        return (
            f"({self._facets_json()}) AS facets,"
            f" ({self._category_facets_json()}) AS category_facets,"
            f" ({NOT_EMBEDDED}) AS not_indexed, ({_MONTHS_JSON}) AS months"
        )

    def _facets_json(self) -> str:
        """Facets count the papers the pages list, so that each filter offers what is shown."""
        return _FACETS_JSON.format(listed=self._listed())

    def _category_facets_json(self) -> str:
        return _CATEGORY_FACETS_JSON.format(listed=self._listed())

    def _not_noise(self) -> str:
        """Gibberish or an off-topic query matches nothing by meaning: when no word matched and
        even the nearest paper is under the noise floor. A word that matched (an invented name,
        'DistAttention') keeps the list by meaning, to fill the page after the exact hits."""
        return "(%(matched_any)s OR (SELECT min(distance) FROM nearest) <= 1 - %(noise_floor)s)"

    def _scope(self) -> str:
        """Which papers the search by meaning may return. A short list of them is read by id
        and ranked exactly; otherwise the filters are written so that no btree or GIN index can
        serve them (`+ 0`, `|| '{}'`): the planner then walks the HNSW graph and filters as it
        goes, where it chose to read a big organization's 68,000 papers by its index and rank
        them all (0.7 s at a million papers, bench/scale.py)."""
        if self.only_ids is not None:  # within every filter already (search.keyword.within)
            return "p.id = ANY(%(only_ids)s::bigint[])"
        if self.org_index is not None:
            return _filters(
                "p", self, orgs=organization_indexes.condition(self.org_index, "p.organization_id")
            )
        return _filters("p", self)

    def _named(self) -> str:
        """The papers the query names, under the filters (read through the name index)."""
        return f"{named_sql('p')} AND {_filters('p', self)}"

    def _syntax_checks(self) -> str:
        """The typed syntax's conditions on a paper's tsvector, or "" when there are none."""
        clauses = []
        if self.semantic_exclude:
            clauses.append("NOT p.search_vector @@ websearch_to_tsquery('english', %(exclude)s)")
        if self.keyword is not None and self.keyword.match_phrase:
            clauses.append("p.search_vector @@ websearch_to_tsquery('english', %(match_phrase)s)")
        return " AND ".join(clauses)

    def _fusion(self) -> str:
        if self.keyword is not None:
            return f"""
            SELECT id, keyword_rank, semantic_rank, score, similar_title,
                   coalesce({STRONG[self.tuning.fusion]}, false) AS strong
            FROM (
                SELECT coalesce(k.id, s.id) AS id, k.rank AS keyword_rank,
                       s.rank AS semantic_rank, s.similarity,
                       {FUSED_SCORE[self.tuning.fusion]} AS score,
                       coalesce(k.similar_title, false) AS similar_title
                FROM (SELECT * FROM keyword WHERE rank <= %(depth)s) k
                FULL OUTER JOIN semantic s ON s.id = k.id
            ) scored"""
        return """
            SELECT id, NULL::bigint AS keyword_rank, rank AS semantic_rank,
                   similarity AS score, false AS similar_title,
                   similarity >= %(strong_similarity)s AS strong
            FROM semantic"""

    def _headlines(self) -> str:
        return headlines_sql(self.text)

    def params(self) -> dict:
        tuning = self.tuning
        params = {
            "limit": self.limit,
            "offset": self.offset,
            "depth": self.depth,
            "orgs": list(self.orgs),
            "cats": list(self.cats),
            "start": self.start,
            "end": self.end,
            "model": settings.EMBEDDING_MODEL,
            "rrf_k": tuning.rrf_k,
            "keyword_weight": tuning.keyword_weight,
            "semantic_weight": tuning.semantic_weight,
            "vector": "[" + ",".join(f"{x:.7g}" for x in self.vector) + "]",
            "exclude": self.semantic_exclude,
            "only_ids": list(self.only_ids or ()),
            "name_keys": list(self.name_keys),
            "as_of": self.as_of,
            "excluded": list(self.excluded),
            "keyword_strength": tuning.keyword_strength,
            "strong_similarity": tuning.strong_similarity,
            "strong_score": tuning.strong_score,
            "idf_sum": 0.0,
            "noise_floor": tuning.noise_floor,
            "matched_any": bool(self.keyword and self.keyword.matched_any),
            "not_embedded_cap": NOT_EMBEDDED_CAP,
        }
        if self.text:
            params |= {"match": self.text.match}
        if self.walked is not None:
            params |= {"walked_ids": list(self.walked[0]), "walked_distances": list(self.walked[1])}
        if self.keyword is not None:
            params |= {
                "keyword_ids": list(self.keyword.ids),
                "keyword_scores": list(self.keyword.scores),
                "similar_title": self.keyword.similar_title,
                "idf_sum": self.keyword.idf_sum,
                "match_phrase": self.keyword.match_phrase,
            }
        return params | HEADLINE_PARAMS


HEADLINE_PARAMS = {"title_options": TITLE_OPTIONS, "snippet_options": SNIPPET_OPTIONS}


def headlines_sql(text: TextQuery | None) -> str:
    if not text:
        return "NULL AS title_marked, NULL AS snippet_marked"
    query = "websearch_to_tsquery('english', %(match)s)"
    return f"""
        ts_headline('english', p.title, {query}, %(title_options)s) AS title_marked,
        ts_headline('english', p.abstract, {query}, %(snippet_options)s) AS snippet_marked"""


def rows_sql(text: TextQuery | None) -> str:
    """The hits of a page ranked elsewhere (keyword search, browsing), in the given order."""
    return f"""
    SELECT {HIT_COLUMNS}, k.score, k.keyword_rank, NULL::bigint AS semantic_rank,
           %(similar_title)s AS similar_title, {headlines_sql(text)}
    FROM unnest(%(ids)s::bigint[], %(scores)s::float8[], %(ranks)s::bigint[])
         WITH ORDINALITY AS k(id, score, keyword_rank, position)
    JOIN {PAPER} p ON p.id = k.id
    LEFT JOIN {ORG} o ON o.id = p.organization_id
    ORDER BY k.position
    """


def _filters(alias: str, query, orgs: str | None = None) -> str:
    """The organization, category and date filters, written so that no index on those columns
    can serve them (see FusedSQL._scope); a pinned as_of and the marked examples likewise.
    orgs: the organization filter in another form (FusedSQL.org_index)."""
    clauses = ["TRUE"]
    if query.as_of:
        clauses.append(f"({alias}.created_at + interval '0 s') <= %(as_of)s")
    if query.excluded:
        clauses.append(f"({alias}.id + 0) <> ALL(%(excluded)s::bigint[])")
    if query.orgs:
        clauses.append(
            orgs
            or f"({alias}.organization_id + 0) IN (SELECT id FROM {ORG} WHERE slug = ANY(%(orgs)s))"
        )
    if query.cats:
        clauses.append(f"({alias}.categories || '{{}}') && %(cats)s::text[]")
    if query.start:
        clauses.append(f"({alias}.published + 0) >= %(start)s")
    if query.end:
        clauses.append(f"({alias}.published + 0) <= %(end)s")
    return " AND ".join(clauses)


def _embedded(alias: str) -> str:
    """SQL twin of papers.models.embedded_q(): a vector of the configured model, current text.
    `|| ''`: the index on embedding_model (for counting the papers without one) must not become
    the planner's way to read every paper of a filtered search (see FusedSQL._scope)."""
    return (
        f"{alias}.embedding IS NOT NULL AND ({alias}.embedding_model || '') = %(model)s"
        f" AND {alias}.embedding_current"
    )


# Organizations of the candidate set (`fused`), most papers first; slug and name are null for
# the papers without one.
_FACETS_JSON = f"""
    SELECT coalesce(json_agg(json_build_array(c.slug, c.name, c.n) ORDER BY c.n DESC, c.name), '[]')
    FROM (
        SELECT o.slug, o.name, count(*) AS n
        FROM fused f JOIN {PAPER} p ON p.id = f.id
        LEFT JOIN {ORG} o ON o.id = p.organization_id
        WHERE {{listed}}
        GROUP BY o.slug, o.name
    ) c"""
# Categories of the candidate set, most papers first (a paper's first eight, as the keyword side
# counts them: search.keyword_docs.CATEGORY_SLOTS).
_CATEGORY_FACETS_JSON = f"""
    SELECT coalesce(json_agg(json_build_array(c.category, c.n) ORDER BY c.n DESC, c.category), '[]')
    FROM (
        SELECT u.category, count(*) AS n
        FROM fused f JOIN {PAPER} p ON p.id = f.id, unnest(p.categories[1:8]) AS u(category)
        WHERE {{listed}}
        GROUP BY u.category ORDER BY n DESC, u.category LIMIT 30
    ) c"""
# The strong matches per month, as the count counts them (the timeline, search.timeline):
# {"YYYY-MM": n}, "" for the undated.
_MONTHS_JSON = f"""
    SELECT coalesce(json_object_agg(c.month, c.n), '{{}}')
    FROM (
        SELECT coalesce(to_char(p.published, 'YYYY-MM'), '') AS month, count(*) AS n
        FROM fused f JOIN {PAPER} p ON p.id = f.id
        WHERE f.strong
        GROUP BY 1
    ) c"""
