"""How the text a user typed becomes full-text queries.

Typed syntax (quotes, OR, -exclusion) is honoured exactly with websearch_to_tsquery, by the
search by meaning too: hybrid search ranks only the papers that match what was typed (unless
none does) and no mode shows a paper with an excluded word. Plain words are matched with OR and
ranked by BM25, so a paper with most of the words comes first without every word being
required: researchers describe ideas in more words than a title holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "-word" and -"a phrase" exclude; "-2" or "-3" (as in "E2f-1, -2, -3") is a list, not syntax.
SYNTAX = re.compile(r'"|(?:^|\s)-(?=[^\W\d])|\bOR\b')
NEGATED = re.compile(r'(?:^|\s)-(?:"[^"]*"|(?=[^\W\d])\S+)')
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class TextQuery:
    match: str  # argument of websearch_to_tsquery('english', …): which papers match
    rank_words: str  # the words that score a match (never the excluded ones), space-separated
    strict: bool  # typed syntax: every term (or phrase) must match
    exclude: str = ""  # the excluded words and phrases as one websearch OR-query, or ""


def parse_text_query(q: str) -> TextQuery:
    if SYNTAX.search(q):
        positive = NEGATED.sub(" ", q).replace('"', " ")
        excluded = [m.strip().removeprefix("-") for m in NEGATED.findall(q)]
        return TextQuery(
            match=q,
            rank_words=" ".join(WORD.findall(positive)),
            strict=True,
            exclude=" OR ".join(e for e in excluded if WORD.search(e)),
        )
    words = [w for w in WORD.findall(q) if w.lower() != "or"]  # "or" would read as OR
    return TextQuery(match=" OR ".join(words), rank_words=" ".join(words), strict=False)
