"""What every parser yields: `PaperRecord`s, `Rejected` for a record it skips, `ParseError` when the
file itself cannot be read on. Plus the identities records are keyed by."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date


class ParseError(Exception):
    """Input that is not in the expected format; str() is one line naming file and line."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Rejected:
    """A record skipped on the way in: where it was and why. The import goes on without it."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class PaperRecord:
    """One paper as a source gives it. An empty value ("", (), None) means "this source does not
    say": the loader never blanks a stored value with it (papers.loader)."""

    title: str
    abstract: str
    source: str
    line: int
    published: date | None = None
    upvotes: int | None = None
    authors_count: int | None = None
    organization_slug: str | None = None
    organization_name: str | None = None
    source_id: str = ""  # the arXiv id without version (papers.ingest.text.arxiv_id)
    authors: tuple[str, ...] = ()  # names, in the paper's order
    categories: tuple[str, ...] = ()  # arXiv categories, primary first
    doi: str = ""
    path: str = ""  # the file (or URL) it was read from, for reports

    @property
    def key(self) -> str:
        """Identity across imports and sources: the arXiv id when there is one, else the title."""
        if self.source_id:
            return f"arxiv:{self.source_id}"
        key = title_key(self.title)
        if not key:
            raise ValueError("a paper without an arXiv id needs a title to be known by")
        return f"title:{key}"


# --- titles -------------------------------------------------------------------------------------
# Symbols that tell two titles apart ("C++ for X" and "C# for X") become words; other
# punctuation is spacing. Symbols not listed here are spelled by their Unicode name ("∞").
SYMBOL_WORDS = {
    "+": "plus",
    "#": "sharp",
    "&": "and",
    "%": "percent",
    "@": "at",
    "*": "star",
    "=": "equals",
    "<": "less",
    ">": "greater",
    "^": "caret",
    "$": "dollar",
    "~": "tilde",
    "|": "bar",
}
MAX_TITLE_KEY = 200  # longer normalized titles keep this prefix plus a hash: a btree entry's limit


def normalize_title(title: str) -> str:
    """Case, accents, punctuation and spacing do not make two titles different papers; symbols do.

    >>> normalize_title("Ĉ++ for   X!"), normalize_title("C# for X")
    ('c plus plus for x', 'c sharp for x')
    """
    text = unicodedata.normalize("NFKD", title).casefold()
    # Most titles are ASCII: one translate() instead of a Python loop over the characters.
    spelled = text.translate(_ASCII_SPELLING) if text.isascii() else "".join(map(_spell, text))
    return " ".join(spelled.split())


def _spell(ch: str) -> str:
    if unicodedata.combining(ch):
        return ""
    if ch.isalnum():
        return ch
    if ch in SYMBOL_WORDS:
        return f" {SYMBOL_WORDS[ch]} "
    if unicodedata.category(ch).startswith("S"):
        return f" {unicodedata.name(ch, 'symbol').lower()} "
    return " "


_ASCII_SPELLING = {i: _spell(chr(i)) for i in range(128) if not chr(i).isalnum()}


def title_key(title: str) -> str:
    """The normalized title, bounded in length; a hash of the text when nothing is left of it
    ("...", "!!!"). Empty only for a blank title, which no paper may have."""
    normalized = normalize_title(title)
    if not normalized:
        text = " ".join(title.casefold().split())
        return f"#{_digest(text)}" if text else ""
    if len(normalized) > MAX_TITLE_KEY:
        return f"{normalized[:MAX_TITLE_KEY]} #{_digest(normalized)}"
    return normalized


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


# --- dates --------------------------------------------------------------------------------------
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def iso_date(value: object) -> date:
    """The date an ISO 8601 date or timestamp starts with; ValueError for one that does not exist.

    >>> iso_date("2024-01-02T15:04:05.000Z")
    datetime.date(2024, 1, 2)
    """
    match = ISO_DATE.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a date: {value!r}")
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        raise ValueError(f"impossible date: {value!r}") from None
