"""How the text a user typed becomes full-text queries.

Typed syntax (quotes, OR, -exclusion) is honoured exactly with websearch_to_tsquery. Plain words
are matched with OR and ranked by BM25, so a paper with most of the words comes first without
every word being required: researchers describe ideas in more words than a title holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SYNTAX = re.compile(r'"|(?:^|\s)-\S|\bOR\b')
NEGATED = re.compile(r'(?:^|\s)-(?:"[^"]*"|\S+)')
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class TextQuery:
    match: str  # argument of websearch_to_tsquery('english', …): which papers match
    rank: str  # the words that score a match (never the excluded ones)
    strict: bool  # typed syntax: every term (or phrase) must match


def parse_text_query(q: str) -> TextQuery:
    if SYNTAX.search(q):
        positive = NEGATED.sub(" ", q).replace('"', " ")
        return TextQuery(match=q, rank=" ".join(WORD.findall(positive)), strict=True)
    words = [w for w in WORD.findall(q) if w.lower() != "or"]  # "or" would read as OR
    return TextQuery(match=" OR ".join(words), rank=" ".join(words), strict=False)
