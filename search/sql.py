"""The SQL behind search.engine: candidate lists, fusion, filters, page and facets.

Keyword ranking is BM25 over the postings the database keeps beside each paper's tsvector
(papers.PaperTerm): term frequency from a lexeme's positions (a title occurrence, weight A, counts
SEARCH_TITLE_WEIGHT times), document frequency from the postings' key, length normalization by
the number of lexemes. Which papers match is still the tsquery against the GIN index.
PostgreSQL's ts_rank has no IDF, which is why BM25 ranks much better on judged queries
(docs/RELEVANCE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings

from papers.models import Organization, Paper, PaperTerm
from search.query_text import TextQuery

PAPER = Paper._meta.db_table
ORG = Organization._meta.db_table
TERM = PaperTerm._meta.db_table
HIGHLIGHT_START, HIGHLIGHT_STOP = "\x02", "\x03"  # swapped for <mark> after HTML escaping
SNIPPET_OPTIONS = (
    f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, MaxFragments=2, MaxWords=40, "
    'MinWords=20, FragmentDelimiter=" … "'
)
TITLE_OPTIONS = f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, HighlightAll=true"
# How hybrid search fuses its two candidate lists (settings.SEARCH_FUSION). "convex": a weighted
# sum of the keyword score divided by the best keyword score and the cosine similarity rescaled
# to 0..1 over the semantic candidates; it beat rank fusion on judged queries
# (docs/RELEVANCE.md). "rrf": reciprocal rank fusion, sum of weight / (k + rank).
FUSED_SCORE = {
    "convex": """
        %(keyword_weight)s * coalesce(k.score / nullif(max(k.score) OVER (), 0), 0)
        + %(semantic_weight)s * CASE WHEN s.id IS NULL THEN 0 ELSE coalesce(
            (s.similarity - min(s.similarity) OVER ())
            / nullif(max(s.similarity) OVER () - min(s.similarity) OVER (), 0), 1) END""",
    "rrf": """
        coalesce(%(keyword_weight)s / (%(rrf_k)s + k.rank), 0)
        + coalesce(%(semantic_weight)s / (%(rrf_k)s + s.rank), 0)""",
}
SORT_ORDER = {
    "relevance": "f.score DESC, p.id",
    "newest": "p.published DESC NULLS LAST, f.score DESC, p.id DESC",
    "oldest": "p.published ASC NULLS LAST, f.score DESC, p.id",
    "upvotes": "p.upvotes DESC, f.score DESC, p.id DESC",
}


@dataclass(frozen=True)
class SearchSQL:
    text: TextQuery | None
    vector: tuple[float, ...] | None
    orgs: tuple[str, ...]
    start: date | None
    end: date | None
    sort: str
    limit: int
    offset: int
    depth: int
    raw_query: str = ""
    # Typed syntax binds the search by meaning too. Hybrid: only papers matching the typed
    # query, unless none does (then meaning alone, as for a typo). Excluded words: always out.
    semantic_within_matches: bool = False
    semantic_exclude: str = ""

    @property
    def exhaustive(self) -> bool:
        """Whether the candidate set is every match (keyword only), or the top of a ranking."""
        return self.vector is None

    # --- statements -------------------------------------------------------------------------
    def page(self, *, with_facets: bool = False) -> tuple[str, dict]:
        """One ranked page; every row also carries the total number of candidates and, when
        asked, the facets of this very candidate set (saving the facet query's second pass over
        the candidate lists: the search page without an organization selected)."""
        facets = f"({_FACETS_JSON}), ({_NOT_INDEXED})" if with_facets else "NULL, NULL"
        sql = f"""
        {self._with()}
        , page AS (
            SELECT p.id, f.score, f.keyword_rank, f.semantic_rank, f.fuzzy,
                   count(*) OVER () AS total
            FROM fused f JOIN {PAPER} p ON p.id = f.id
            ORDER BY {SORT_ORDER[self.sort]}
            LIMIT %(limit)s OFFSET %(offset)s
        )
        SELECT p.id, p.title, p.abstract, p.published, p.upvotes, p.authors_count, p.source,
               p.source_id, o.id, o.slug, o.name, pg.score, pg.keyword_rank, pg.semantic_rank,
               pg.fuzzy, {self._headlines()}, pg.total, {facets}
        FROM page pg JOIN {PAPER} p ON p.id = pg.id
        LEFT JOIN {ORG} o ON o.id = p.organization_id
        ORDER BY {SORT_ORDER[self.sort].replace("f.score", "pg.score")}
        """
        return sql, self._params()

    def count(self) -> tuple[str, dict]:
        return f"{self._with()} SELECT count(*) FROM fused", self._params()

    def facets(self) -> tuple[str, dict]:
        """Organizations of the candidates with their counts (a JSON list of [slug, name, count],
        most first), and how many papers lack a current vector."""
        sql = f"{self._with()} SELECT ({_FACETS_JSON}), ({_NOT_INDEXED})"
        return sql, self._params()

    # --- pieces -----------------------------------------------------------------------------
    def _with(self) -> str:
        parts = []
        if self.text:
            parts += [self._keyword_ctes()]
        if self.vector:
            parts += [self._semantic_cte()]
        parts.append(f"fused AS ({self._fusion()})")
        return "WITH " + ",\n".join(parts)

    def _filters(self, alias: str = "p") -> str:
        clauses = ["TRUE"]
        if self.orgs:
            clauses.append(
                f"{alias}.organization_id IN (SELECT id FROM {ORG} WHERE slug = ANY(%(orgs)s))"
            )
        if self.start:
            clauses.append(f"{alias}.published >= %(start)s")
        if self.end:
            clauses.append(f"{alias}.published <= %(end)s")
        return " AND ".join(clauses)

    def _not_noise(self) -> str:
        """Gibberish or an off-topic query matches nothing by meaning: when no word matched and
        even the nearest paper is under the noise floor. A word that matched (an invented name,
        'DistAttention') keeps the list by meaning, to fill the page after the exact hits."""
        nearest_is_close = "(SELECT min(distance) FROM nearest) <= 1 - %(noise_floor)s"
        if self.text:
            return f"(EXISTS (SELECT 1 FROM matches) OR {nearest_is_close})"
        return nearest_is_close

    def _syntax_filter(self) -> str:
        clauses = ["TRUE"]
        if self.semantic_within_matches:
            clauses.append(
                "(NOT EXISTS (SELECT 1 FROM matches) OR p.id IN (SELECT id FROM matches))"
            )
        if self.semantic_exclude:
            clauses.append("NOT p.search_vector @@ websearch_to_tsquery('english', %(exclude)s)")
        return " AND ".join(clauses)

    def _keyword_ctes(self) -> str:
        return f"""
        tsq AS (SELECT websearch_to_tsquery('english', %(match)s) AS q),
        terms AS (
            SELECT DISTINCT t.lexeme FROM unnest(to_tsvector('english', %(rank_text)s)) t
        ),
        stats AS (
            SELECT count(*)::float AS n, greatest(avg(search_length), 1) AS avgdl FROM {PAPER}
        ),
        idf AS (
            SELECT t.lexeme, ln(1 + (s.n - d.df + 0.5) / (d.df + 0.5)) AS idf
            FROM terms t CROSS JOIN stats s
            CROSS JOIN LATERAL (
                SELECT count(*) AS df FROM {TERM} x WHERE x.lexeme = t.lexeme
            ) d
        ),
        matches AS (
            SELECT p.id, p.search_length FROM {PAPER} p, tsq
            WHERE p.search_vector @@ tsq.q AND {self._filters()}
        ),
        postings AS MATERIALIZED (
            -- Read by term through the (lexeme, paper) key, before meeting the matches: a
            -- common word's rows are fewer than the lexemes of every paper that has it.
            SELECT x.paper_id, x.title_tf * %(title_weight)s + x.body_tf AS tf, i.idf
            FROM {TERM} x JOIN idf i ON i.lexeme = x.lexeme
            WHERE x.lexeme = ANY(ARRAY(SELECT lexeme FROM terms))
        ),
        bm25_all AS (
            SELECT m.id, sum(
                x.idf * x.tf * (%(k1)s + 1)
                / (x.tf + %(k1)s * (1 - %(b)s + %(b)s * m.search_length / s.avgdl))
            ) AS score
            FROM matches m
            JOIN postings x ON x.paper_id = m.id
            CROSS JOIN stats s
            GROUP BY m.id
        ),
        bm25 AS (
            -- Plain words match with OR; a paper must still cover enough of the query's weight
            -- (a paper holding each word once scores about the sum of their idf).
            SELECT id, score FROM bm25_all
            WHERE score >= %(min_coverage)s * (SELECT sum(idf) FROM idf)
        ),
        typo AS (
            SELECT p.id, word_similarity(%(raw)s, p.title) AS score FROM {PAPER} p
            WHERE NOT EXISTS (SELECT 1 FROM matches) AND EXISTS (SELECT 1 FROM terms)
              AND %(raw)s <%% p.title
              AND {self._filters()}
            ORDER BY score DESC LIMIT %(depth)s
        ),
        keyword AS (
            SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS rank,
                   false AS fuzzy
            FROM bm25
            UNION ALL
            SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS rank, true AS fuzzy
            FROM typo
        )"""

    def _semantic_cte(self) -> str:
        # MATERIALIZED: the HNSW scan runs once, in index order; relaxed iterative scans may
        # return slightly out of order, so rank by the exact distance afterwards.
        return f"""
        nearest AS MATERIALIZED (
            SELECT p.id, p.embedding <=> %(vector)s::vector AS distance FROM {PAPER} p
            WHERE {_embedded("p")} AND {self._filters()} AND {self._syntax_filter()}
            ORDER BY p.embedding <=> %(vector)s::vector
            LIMIT %(depth)s
        ),
        semantic AS (
            -- The nearest few always count; past them, only papers close enough in meaning.
            SELECT id, 1 - distance AS similarity, rank FROM (
                SELECT id, distance, row_number() OVER (ORDER BY distance, id) AS rank
                FROM nearest
            ) ranked
            WHERE {self._not_noise()}
              AND (rank <= %(min_semantic)s OR distance <= 1 - %(min_similarity)s)
        )"""

    def _fusion(self) -> str:
        if self.text and self.vector:
            return f"""
            SELECT coalesce(k.id, s.id) AS id, k.rank AS keyword_rank, s.rank AS semantic_rank,
                   {FUSED_SCORE[settings.SEARCH_FUSION]} AS score,
                   coalesce(k.fuzzy, false) AS fuzzy
            FROM (SELECT * FROM keyword WHERE rank <= %(depth)s) k
            FULL OUTER JOIN semantic s ON s.id = k.id"""
        if self.text:  # score: BM25 (or title similarity for a typo)
            return """
            SELECT id, rank AS keyword_rank, NULL::bigint AS semantic_rank, score, fuzzy
            FROM keyword"""
        if self.vector:  # score: cosine similarity
            return """
            SELECT id, NULL::bigint AS keyword_rank, rank AS semantic_rank,
                   similarity AS score, false AS fuzzy
            FROM semantic"""
        return f"""
            SELECT p.id, NULL::bigint AS keyword_rank, NULL::bigint AS semantic_rank,
                   NULL::float AS score, false AS fuzzy
            FROM {PAPER} p WHERE {self._filters()}"""

    def _headlines(self) -> str:
        if not self.text:
            return "NULL, NULL"
        return """
            ts_headline('english', p.title, (SELECT q FROM tsq), %(title_options)s),
            ts_headline('english', p.abstract, (SELECT q FROM tsq), %(snippet_options)s)"""

    def _params(self) -> dict:
        params = {
            "limit": self.limit,
            "offset": self.offset,
            "depth": self.depth,
            "orgs": list(self.orgs),
            "start": self.start,
            "end": self.end,
            "model": settings.EMBEDDING_MODEL,
            "rrf_k": settings.SEARCH_RRF_K,
            "keyword_weight": settings.SEARCH_KEYWORD_WEIGHT,
            "semantic_weight": settings.SEARCH_SEMANTIC_WEIGHT,
        }
        if self.text:
            params |= {
                "match": self.text.match,
                "rank_text": self.text.rank_words,
                "raw": self.raw_query,
                "k1": settings.SEARCH_BM25_K1,
                "b": settings.SEARCH_BM25_B,
                "title_weight": settings.SEARCH_TITLE_WEIGHT,
                "min_coverage": 0 if self.text.strict else settings.SEARCH_KEYWORD_MIN_COVERAGE,
                "title_options": TITLE_OPTIONS,
                "snippet_options": SNIPPET_OPTIONS,
            }
        if self.vector:
            params["exclude"] = self.semantic_exclude
            params["vector"] = "[" + ",".join(f"{x:.7g}" for x in self.vector) + "]"
            # A ranked list may run on into weaker matches; a list sorted by date or upvotes must
            # hold only papers that really match, or it is just the catalogue, sorted.
            params["min_similarity"] = (
                -1.0 if self.sort == "relevance" else settings.SEARCH_SEMANTIC_MIN_SIMILARITY
            )
            params["min_semantic"] = settings.SEARCH_SEMANTIC_MIN_RESULTS
            params["noise_floor"] = settings.SEARCH_SEMANTIC_NOISE_FLOOR
        return params


def _embedded(alias: str) -> str:
    """SQL twin of papers.models.embedded_q(): a vector of the configured model, current text."""
    return (
        f"{alias}.embedding IS NOT NULL AND {alias}.embedding_model = %(model)s"
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
        GROUP BY o.slug, o.name
    ) c"""
_NOT_INDEXED = f"SELECT count(*) FROM {PAPER} x WHERE NOT ({_embedded('x')})"
