"""A paper's name finds it: a query that is or holds a paper's name puts that paper first.

People type the name of a system or paper ("P/D-Serve", "UFO^3", "tpi-llm"). PostgreSQL's text
parser splits such names by their slashes, hyphens, digits and capitals, so word matching alone
ranked P/D-Serve third in hybrid and found nothing in keyword mode. A paper's names are keys of
its title (papers/migrations/0011_paper_name_keys.py: what stands before the first ':' or ' -- ',
and name-like words), lower-cased with only letters and digits kept; the query offers every run
of consecutive words joined the same way, and an index lookup finds the papers named so.

Only plain text pins (typed syntax says exactly what must match), and only under the filters:
search.keyword.find ranks the named papers first among the keyword matches (keyword mode), and
the fused SQL (search.sql) puts them ahead of its candidates (semantic and hybrid).
A name that is one ordinary word ("Matrix", "Curator") counts when the query is that word alone
or spells it with a capital, so that "matrix multiplication" is not taken for the Matrix paper.
"""

from __future__ import annotations

import re

from search.query_text import parse_text_query

MAX_NAME_WORDS = 8  # as the migration's limit on a name's length
MIN_KEY = 2
WORD = re.compile(r"[^\W_]+")  # letters and digits, any script


def query_keys(q: str) -> list[str]:
    """Every run of up to MAX_NAME_WORDS consecutive words of the query, joined and lower-cased
    as the titles' keys are."""
    words = WORD.findall(q)
    keys: dict[str, None] = {}
    for start in range(len(words)):
        for end in range(start + 1, min(start + MAX_NAME_WORDS, len(words)) + 1):
            span = words[start:end]
            key = "".join(span).lower()
            if len(key) >= MIN_KEY and _may_be_a_name(span, alone=len(span) == len(words)):
                keys[key] = None
    return list(keys)


def _may_be_a_name(span: list[str], *, alone: bool) -> bool:
    """One ordinary word is a name only when it is the whole query or typed with a capital."""
    if len(span) > 1 or alone or not span[0].isalpha():
        return True
    return not span[0].islower()


def plain_query_keys(q: str) -> tuple[str, ...]:
    """The name keys of a plain-text query; none for typed syntax, which says exactly what must
    match."""
    if not q.strip() or parse_text_query(q).strict:
        return ()
    return tuple(query_keys(q))


def named_sql(alias: str = "p") -> str:
    """A condition: the paper's title has one of the query's name keys (%(name_keys)s), read
    through the expression index of papers/migrations/0011_paper_name_keys.py."""
    return f"paper_name_keys({alias}.title) && %(name_keys)s::text[]"


def pinned_first(fusion: str, named: str) -> str:
    """The fused candidates with the named papers (the ids of CTE `named`) added when missing
    and scored above every other, so that they come first by relevance, whatever the fusion; a
    date or upvote sort still orders them among the rest. `fusion` names the CTE holding the
    unpinned candidates (id, keyword_rank, semantic_rank, score, similar_title, strong); a named
    paper is a strong match."""
    return f"""
        SELECT u.id, u.keyword_rank, u.semantic_rank,
               CASE WHEN u.id IN (SELECT id FROM {named}) THEN t.best + 1 + coalesce(u.score, 0)
                    ELSE u.score END AS score,
               u.similar_title,
               u.strong OR u.id IN (SELECT id FROM {named}) AS strong
        FROM (
            SELECT id, keyword_rank, semantic_rank, score, similar_title, strong FROM {fusion}
            UNION ALL
            SELECT n.id, NULL::bigint, NULL::bigint, NULL::float8, false, true FROM {named} n
            WHERE n.id NOT IN (SELECT id FROM {fusion})
        ) u, (SELECT coalesce(max(score), 0) AS best FROM {fusion}) t"""
