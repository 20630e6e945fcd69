"""The arXiv metadata snapshot (the Kaggle "arxiv-metadata-oai-snapshot.json"): one JSON object a
line.

    {"id": "0704.0001", "title": "Calculation of prompt diphoton production cross sections at\n
     Tevatron colliders", "abstract": "  A fully differential calculation…\n…",
     "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
     "authors_parsed": [["Bal\\'azs", "C.", ""], ["Berger", "E. L.", ""], …],
     "categories": "hep-ph", "doi": "10.1103/PhysRevD.76.013009", "journal-ref": "…",
     "update_date": "2008-11-13",
     "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}, …]}

The published date is the first version's; titles and abstracts lose the source's hard line
breaks; LaTeX accents in names (`Bal\\'azs`) become letters (pylatexenc).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

from pylatexenc.latex2text import LatexNodes2Text

from papers.ingest.inputs import MAX_LINE, Input
from papers.ingest.records import PaperRecord, Rejected, iso_date
from papers.ingest.text import arxiv_id, clean_text

SOURCE = "arxiv-jsonl"


def parse_input(opened: Input) -> Iterator[PaperRecord | Rejected]:
    for line, data in opened.lines():
        if data is None:
            yield Rejected(opened.name, line, f"line longer than {MAX_LINE:,} bytes")
            continue
        if not data.strip():
            continue
        try:
            obj = json.loads(data)
        except UnicodeDecodeError:
            yield Rejected(opened.name, line, "not UTF-8 text")
            continue
        except ValueError as exc:
            yield Rejected(opened.name, line, f"bad JSON: {exc}")
            continue
        yield line_record(obj, path=opened.name, line=line)


def line_record(obj: Any, *, path: str, line: int) -> PaperRecord | Rejected:
    if not isinstance(obj, dict):
        return Rejected(path, line, f"expected a JSON object, got {type(obj).__name__}")
    for name in ("id", "title", "abstract"):
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            return Rejected(path, line, f"{name} is not a string: {value!r}")
    if not obj.get("id"):
        return Rejected(path, line, "no id")
    source_id = arxiv_id(obj["id"])
    if not source_id:
        return Rejected(path, line, f"not an arXiv id: {obj['id']!r}")
    try:
        published = _published(obj)
    except ValueError as exc:
        return Rejected(path, line, str(exc))
    categories = obj.get("categories")
    doi = obj.get("doi")
    return PaperRecord(
        title=clean_text(obj.get("title") or ""),
        abstract=clean_text(obj.get("abstract") or ""),
        source=SOURCE,
        line=line,
        path=path,
        source_id=source_id,
        published=published,
        authors=_authors(obj),
        categories=tuple(categories.split()) if isinstance(categories, str) else (),
        doi=doi.strip() if isinstance(doi, str) else "",
    )


def _published(obj: dict) -> date | None:
    """The first version's date; the snapshot's update_date when it lists no versions."""
    versions = obj.get("versions")
    if isinstance(versions, list) and versions:
        first = versions[0]
        created = first.get("created") if isinstance(first, dict) else None
        if not isinstance(created, str):
            raise ValueError(f"versions[0] has no created date: {first!r}")
        try:
            return parsedate_to_datetime(created).date()
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"impossible date in versions[0].created: {created!r}") from None
    if obj.get("update_date"):
        return iso_date(obj["update_date"])
    return None


def _authors(obj: dict) -> tuple[str, ...]:
    parsed = obj.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for parts in parsed:
            if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
                last, first, *suffix = [*parts, "", ""][:3]
                names.append(" ".join(p for p in (first, last, *suffix) if p.strip()))
        return tuple(latex_to_text(n) for n in names if n)
    text = obj.get("authors")
    if not isinstance(text, str):
        return ()
    names = clean_text(text).replace(" and ", ", ").split(",")
    return tuple(latex_to_text(n.strip()) for n in names if n.strip())


_latex = LatexNodes2Text()


@lru_cache(maxsize=65536)
def latex_to_text(name: str) -> str:
    """`Bal\\'azs` -> `Balázs`. Only names with LaTeX in them pay for the parser (90 µs a name);
    the same names recur across a snapshot, hence the cache."""
    if "\\" not in name and "{" not in name:
        return name
    try:
        return clean_text(_latex.latex_to_text(name))
    except Exception:  # tolerant parsing still raises on some malformed input: keep the name
        return name
