"""Parsers, one module per input format. Each yields `PaperRecord`s and raises `ParseError`."""

from papers.ingest.records import PaperRecord, ParseError

__all__ = ["PaperRecord", "ParseError"]
