""" "Did you mean": a query word the catalogue never uses, swapped for the nearest word it does.

The vocabulary is papers_word (papers.models.Word): every word of every title and abstract,
lower-cased as written, with a trigram index. One round trip per search: each query word is
looked up by primary key, and only the unknown ones search the trigram index (pg_trgm's `%`,
similarity at least 0.3), so no abstract is read. Trigrams alone prefer short words ("trainng"
is nearer "train" than "training"), so the few best are ranked again by edit distance.
"""

from __future__ import annotations

import re

from papers.ingest.text import arxiv_id
from search.replicas import on_replica, search_connection
from search.state import SearchState

WORD = re.compile(r"[A-Za-z]{3,40}")  # as papers.keyword_index.WRITE_WORDS splits the papers
OPERATORS = {"or", "and", "not"}  # typed syntax, not words to correct
CANDIDATES = 8  # nearest by trigrams, ranked again by edit distance
NEAREST_SQL = f"""
SELECT q.word, ARRAY(
  SELECT w.word FROM papers_word w WHERE w.word %% q.word
  ORDER BY similarity(w.word, q.word) DESC, w.word LIMIT {CANDIDATES}
)
FROM unnest(%(words)s::text[]) AS q(word)
WHERE NOT EXISTS (SELECT 1 FROM papers_word w WHERE w.word = q.word)
"""


def did_you_mean(state: SearchState) -> SearchState | None:
    """The same search with its unknown words corrected, in every mode: for the page and the
    API alike."""
    if not state.q or arxiv_id(state.q):  # an id or link names its paper: nothing to correct
        return None
    corrected = suggest(state.q)
    return state.with_changes(q=corrected) if corrected else None


@on_replica
def suggest(text: str) -> str | None:
    """The query with each unknown word replaced by the nearest known one (others kept as typed);
    None when no word is unknown, or none of the unknown ones has a neighbour worth offering."""
    words = sorted({w.lower() for w in WORD.findall(text)} - OPERATORS)
    if not words:
        return None
    with search_connection().cursor() as cursor:
        cursor.execute(NEAREST_SQL, {"words": words})
        nearest = {word: _closest(word, found) for word, found in cursor.fetchall() if found}
    if not nearest:
        return None
    return WORD.sub(lambda m: nearest.get(m.group().lower(), m.group()), text)


def _closest(word: str, candidates: list[str]) -> str:
    """The candidate fewest edits away; among equals, the first (the most trigrams shared)."""
    return min(candidates, key=lambda candidate: _edits(word, candidate))


def _edits(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]
