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
A name spelled like a phrase ("Matrix", "Cell death", "Universal Checkpointing") finds its paper
when it is the whole query; one spelled like a name ("P/D-Serve", "LIFL", "CO2") also when the
query holds it among other words. So "matrix multiplication" or a description that mentions cell
death is not taken for the paper titled "Matrix: …" or "Cell death: …".
"""

from __future__ import annotations

import re

from papers.ingest.text import arxiv_id
from search.query_text import parse_text_query

MAX_NAME_WORDS = 8  # as the migration's limit on a name's length
WHOLE = "="  # the key of the whole query (papers/migrations/0011_paper_name_keys.py)
WORD = re.compile(r"[^\W_]+")  # letters and digits, any script


def query_keys(q: str) -> list[str]:
    """Every run of up to MAX_NAME_WORDS consecutive words of the query, joined and lower-cased
    as the titles' keys are, and the whole query's key."""
    words = WORD.findall(q)
    keys = {WHOLE + "".join(words).lower(): None}
    for start in range(len(words)):
        for end in range(start + 1, min(start + MAX_NAME_WORDS, len(words)) + 1):
            keys["".join(words[start:end]).lower()] = None
    return list(keys)


def plain_query_keys(q: str) -> tuple[str, ...]:
    """The name keys of a plain-text query; none for typed syntax, which says exactly what must
    match. A query that is an arXiv id or link (`2405.10968`, `arXiv:2405.10968v2`, the abs or
    PDF address) names the paper of that id, by its key (`arxiv:2405.10968`), and nothing else."""
    identifier = arxiv_id(q)
    if identifier:
        return (f"arxiv:{identifier}",)
    if not q.strip() or parse_text_query(q).strict:
        return ()
    return tuple(query_keys(q))


def named_sql(alias: str = "p") -> str:
    """A condition: the paper's title has one of the query's name keys (%(name_keys)s), read
    through the expression index of papers/migrations/0011_paper_name_keys.py, or the paper's
    key is one (an arXiv id's, read through the key's unique index; a title's keys hold no ':',
    so neither kind is mistaken for the other)."""
    return (
        f"(paper_name_keys({alias}.title) && %(name_keys)s::text[]"
        f" OR {alias}.key = ANY(%(name_keys)s::text[]))"
    )


def pinned_first(fusion: str, named: str) -> str:
    """The fused candidates with the named papers (the ids of CTE `named`) added when missing
    and scored above every other, so that they come first by relevance, whatever the fusion; a
    date or upvote sort still orders them among the rest. `fusion` names the CTE holding the
    unpinned candidates (id, keyword_rank, semantic_rank, score, similar_title, strong); a named
    paper is a strong match, and says it is named (for the line that says why it is listed)."""
    return f"""
        SELECT u.id, u.keyword_rank, u.semantic_rank,
               CASE WHEN u.id IN (SELECT id FROM {named}) THEN t.best + 1 + coalesce(u.score, 0)
                    ELSE u.score END AS score,
               u.similar_title,
               u.strong OR u.id IN (SELECT id FROM {named}) AS strong,
               u.id IN (SELECT id FROM {named}) AS named
        FROM (
            SELECT id, keyword_rank, semantic_rank, score, similar_title, strong FROM {fusion}
            UNION ALL
            SELECT n.id, NULL::bigint, NULL::bigint, NULL::float8, false, true FROM {named} n
            WHERE n.id NOT IN (SELECT id FROM {fusion})
        ) u, (SELECT coalesce(max(score), 0) AS best FROM {fusion}) t"""
