"""Papers as files for reference managers and spreadsheets: BibTeX, RIS, CSV and JSON Lines.

One `Entry` per paper (its citation key, its URL and the API's JSON for it), written by one
function per format. The fields are the ones reference managers read: authors, title, year and
month, the arXiv id as eprint, DOI, URL, abstract, organization. bibtexparser lays out BibTeX
and rispy writes RIS; escaping BibTeX's special characters is done here (neither library does),
and UTF-8 is kept as it is (biber and BibTeX 0.99d read it).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import bibtexparser
import rispy
from bibtexparser.model import Entry as BibEntry
from bibtexparser.model import Field
from django.urls import reverse

from papers.models import Paper
from search.state import SearchState


@dataclass(frozen=True)
class Entry:
    paper: Paper  # with its organization
    key: str  # the citation key, unique within one file (cite_keys)
    url: str  # the arXiv abstract page, or this site's page for the paper
    json: dict  # the paper as the API gives it (search.api.paper_json)


@dataclass(frozen=True)
class Format:
    name: str  # as the page names it
    content_type: str
    write: Callable[[list[Entry]], str]


# --- citation keys ----------------------------------------------------------------------------
STOP_WORDS = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards", "toward"}
WORD = re.compile(r"[a-z0-9]+")


def cite_keys(papers: list[Paper]) -> dict[int, str]:
    """A key per paper: first author's surname, year, first significant title word
    (vaswani2017attention), from the paper's data alone, so it is the same in every file that
    holds the paper. Papers that would share a key get b, c, … after it, in id order (the
    oldest in the catalogue keeps the plain key), so keys are unique within a file."""
    by_key: dict[str, list[Paper]] = {}
    for paper in papers:
        by_key.setdefault(base_key(paper), []).append(paper)
    keys: dict[int, str] = {}
    taken = set(by_key)
    for key, group in by_key.items():
        for i, paper in enumerate(sorted(group, key=lambda p: p.pk)):
            keys[paper.pk] = key if i == 0 else _free(key, i, taken)
    return keys


def base_key(paper: Paper) -> str:
    who = _ascii_words(paper.authors[0])[-1:] if paper.authors else []
    if not who and paper.organization_id:
        who = _ascii_words(paper.organization.name)[:1]
    year = [str(paper.published.year)] if paper.published else []
    title = [w for w in _ascii_words(paper.title) if w not in STOP_WORDS][:1]
    return "".join((who or ["anon"]) + year + (title or ["paper"]))


def _free(key: str, i: int, taken: set[str]) -> str:
    """key + a letter (b for the second paper), skipping any key already in the file."""
    while True:
        candidate = key + _letters(i)
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        i += 1


def _letters(i: int) -> str:
    """1 → b, 25 → z, 26 → ba, …: a suffix for the i-th paper sharing a key (0 has none)."""
    letters = ""
    while True:
        i, rest = divmod(i, 26)
        letters = chr(ord("a") + rest) + letters
        if not i:
            return letters


def _ascii_words(text: str) -> list[str]:
    """Lower-case ASCII words: accents dropped (Gödel → godel), other scripts left out."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return WORD.findall(folded)


# --- BibTeX -----------------------------------------------------------------------------------
BIBTEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
BIBTEX_SPECIAL = re.compile("[" + re.escape("".join(BIBTEX_SPECIALS)) + "]")
# url, doi and eprint are verbatim in biblatex: an escape would be read as part of the value.
# Only braces (which would end the field) and backslashes cannot appear in them.
VERBATIM_UNSAFE = re.compile(r"[{}\\\s]")


def bibtex_escape(text: str) -> str:
    """Text as a BibTeX value that typesets as written: the characters TeX treats as commands
    or comments escaped, whitespace runs (an abstract's line breaks) made one space."""
    return BIBTEX_SPECIAL.sub(lambda m: BIBTEX_SPECIALS[m.group()], _one_line(text))


def write_bibtex(entries: list[Entry]) -> str:
    library = bibtexparser.Library()
    for entry in entries:
        library.add(BibEntry("misc", entry.key, [Field(k, v) for k, v in _bibtex_fields(entry)]))
    return bibtexparser.write_string(library)


def _bibtex_fields(entry: Entry) -> list[tuple[str, str]]:
    paper = entry.paper
    primary = paper.categories[0] if paper.arxiv_id and paper.categories else ""
    fields = [
        ("author", " and ".join(bibtex_escape(a) for a in paper.authors)),
        ("title", bibtex_escape(paper.title)),
        ("year", str(paper.published.year) if paper.published else ""),
        ("month", str(paper.published.month) if paper.published else ""),
        ("eprint", _verbatim(paper.arxiv_id)),
        ("archivePrefix", "arXiv" if paper.arxiv_id else ""),
        ("primaryClass", bibtex_escape(primary)),
        ("doi", _verbatim(paper.doi)),
        ("url", _verbatim(entry.url)),
        ("organization", bibtex_escape(paper.organization.name) if paper.organization_id else ""),
        ("keywords", bibtex_escape(", ".join(paper.categories))),
        ("abstract", bibtex_escape(paper.abstract)),
    ]  # fmt: skip
    return [(name, value) for name, value in fields if value]


def _verbatim(value: str) -> str:
    return VERBATIM_UNSAFE.sub("", value)


# --- RIS --------------------------------------------------------------------------------------
class _RisWriter(rispy.RisWriter):
    """rispy's writer without the "1." line it puts before each reference (not in the RIS
    specification, and some readers take it for a broken tag)."""

    def set_header(self, count: int) -> str:
        return ""


def write_ris(entries: list[Entry]) -> str:
    return rispy.dumps([_ris_reference(entry) for entry in entries], implementation=_RisWriter)


def _ris_reference(entry: Entry) -> dict:
    paper = entry.paper
    reference = {
        "type_of_reference": "UNPB",  # a preprint: unpublished work
        "id": entry.key,
        "title": _one_line(paper.title),
        "authors": [_one_line(a) for a in paper.authors],
        "year": str(paper.published.year) if paper.published else "",
        "date": paper.published.strftime("%Y/%m/%d/") if paper.published else "",
        "abstract": _one_line(paper.abstract),
        "doi": paper.doi,
        "urls": [entry.url],
        "keywords": list(paper.categories),
        "accession_number": f"arXiv:{paper.arxiv_id}" if paper.arxiv_id else "",
        "publisher": "arXiv" if paper.arxiv_id else "",
        "author_address": paper.organization.name if paper.organization_id else "",
    }
    return {tag: value for tag, value in reference.items() if value}


def _one_line(text: str) -> str:
    """Whitespace runs made one space: a RIS value ends at the line's end, and an abstract's
    line breaks mean nothing in BibTeX either."""
    return " ".join(text.split())


# --- CSV --------------------------------------------------------------------------------------
CSV_COLUMNS = (
    "key", "title", "authors", "year", "published", "arxiv_id", "primary_class", "categories",
    "doi", "url", "organization", "abstract",
)  # fmt: skip
# A cell a spreadsheet would run as a formula (OWASP's list): written with a leading apostrophe,
# which spreadsheets show as text and do not display.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_csv(entries: list[Entry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow([_cell(value) for value in _csv_row(entry)])
    return out.getvalue()


def _csv_row(entry: Entry) -> list[str]:
    paper = entry.paper
    return [
        entry.key,
        paper.title,
        "; ".join(paper.authors),
        str(paper.published.year) if paper.published else "",
        paper.published.isoformat() if paper.published else "",
        paper.arxiv_id,
        paper.categories[0] if paper.categories else "",
        " ".join(paper.categories),
        paper.doi,
        entry.url,
        paper.organization.name if paper.organization_id else "",
        paper.abstract,
    ]


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


# --- JSON Lines -------------------------------------------------------------------------------
def write_jsonl(entries: list[Entry]) -> str:
    """One paper per line, with the API's fields (docs/API.md) and its citation key."""
    lines = [json.dumps({"key": e.key} | e.json, ensure_ascii=False) for e in entries]
    return "".join(line + "\n" for line in lines)


# --- where to get them ------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportLink:
    extension: str
    name: str  # BibTeX
    url: str


def export_links(state: SearchState) -> list[ExportLink]:
    """The search in each format (any page: an export holds all of them)."""
    query = state.with_changes().to_query()
    return [
        ExportLink(ext, fmt.name, reverse("export", kwargs={"extension": ext}) + f"?{query}")
        for ext, fmt in FORMATS.items()
    ]


def cite_links(paper: Paper) -> list[ExportLink]:
    return [
        ExportLink(ext, fmt.name, reverse("cite", kwargs={"pk": paper.pk, "extension": ext}))
        for ext, fmt in FORMATS.items()
    ]


FORMATS = {
    "bib": Format("BibTeX", "application/x-bibtex; charset=utf-8", write_bibtex),
    "ris": Format("RIS", "application/x-research-info-systems; charset=utf-8", write_ris),
    "csv": Format("CSV", "text/csv; charset=utf-8", write_csv),
    "jsonl": Format("JSON Lines", "application/x-ndjson; charset=utf-8", write_jsonl),
}
