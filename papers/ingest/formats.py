"""Every input format by name, and reading any file in any of them (detected when not given)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from papers.ingest import arxiv_atom, arxiv_jsonl, daily_papers, hf_daily_json
from papers.ingest.inputs import FORMATS, Input, detect_format, open_input
from papers.ingest.records import PaperRecord, Rejected

__all__ = ["FORMATS", "detect_format", "open_input", "parse", "read_file"]

Parser = Callable[[Input], Iterator[PaperRecord | Rejected]]


def parse(
    opened: Input, format: str, *, year: int | None = None
) -> Iterator[PaperRecord | Rejected]:
    """The records of an open input in the given format, read as they are consumed.

    year: for hf-daily-text, the year of the listing's own date line (default: this year).
    """
    parsers: dict[str, Parser] = {
        "hf-daily-text": lambda o: daily_papers.parse_input(o, year=year or date.today().year),
        "hf-daily-json": hf_daily_json.parse_input,
        "arxiv-jsonl": arxiv_jsonl.parse_input,
        "arxiv-atom": arxiv_atom.parse_input,
    }
    if format not in parsers:
        raise ValueError(f"unknown format {format!r}: one of {', '.join(FORMATS)}")
    return parsers[format](opened)


def read_file(
    path: Path, *, format: str | None = None, year: int | None = None
) -> Iterator[PaperRecord | Rejected]:
    """Open, detect and parse one file (gzip or not); a ParseError if it cannot be read at all."""
    with open_input(path) as opened:
        yield from parse(opened, format or detect_format(opened), year=year)
