"""Parsers, one module per input format (papers.ingest.formats names them). Each yields
`PaperRecord`s, a `Rejected` for a record it skips, and raises `ParseError` for a file it cannot
read on."""

from papers.ingest.records import PaperRecord, ParseError, Rejected

__all__ = ["PaperRecord", "ParseError", "Rejected"]
