"""A page of arXiv's OAI-PMH `ListRecords` in its own metadata format (`metadataPrefix=arXiv`).

    <OAI-PMH><ListRecords>
      <record><header><identifier/><datestamp>2026-03-10</datestamp></header>
        <metadata><arXiv><id>2603.01234</id><created>2026-03-09</created>
          <authors><author><keyname>Lovelace</keyname><forenames>Ada</forenames></author></authors>
          <title/><categories>cs.CL cs.LG</categories><doi/><journal-ref/><abstract/>
        </arXiv></metadata></record>
      …
      <resumptionToken cursor="0" completeListSize="2345">token-for-the-next-page</resumptionToken>
    </ListRecords></OAI-PMH>

Parsed as a stream with defusedxml (no entity expansion, no DTDs): each record is dropped from
the tree once read. A record's "line" is its position in the page, from 1. `journal-ref` is
read by nobody yet: PaperRecord has no field for it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from papers.ingest.records import PaperRecord, ParseError
from papers.ingest.text import arxiv_id, clean_text

SOURCE = "arxiv-oai"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"


class OaiError(Exception):
    """An OAI-PMH <error> answer other than noRecordsMatch (which is an empty page)."""

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(f"OAI-PMH error {code}: {message}" if message else f"OAI-PMH error {code}")


@dataclass
class Page:
    records: list[PaperRecord] = field(default_factory=list)
    resumption_token: str = ""  # empty on the last page
    latest_datestamp: date | None = None  # of the records on this page, deleted ones included
    deleted: int = 0


class _Bad(Exception):
    """Why one record cannot become a PaperRecord."""


def parse_list_records(
    stream: BinaryIO,
    *,
    source_name: str,
    on_skip: Callable[[ParseError], None] | None = None,
) -> Page:
    """One ListRecords response. A record that cannot be used raises ParseError (or, given
    `on_skip`, is handed to it and passed over); an OAI-PMH error raises OaiError."""
    page = Page()
    number = 0
    parent: ET.Element | None = None
    try:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                if element.tag == f"{OAI}ListRecords":
                    parent = element
                continue
            if element.tag == f"{OAI}record":
                number += 1
                _read_record(element, number, page, source_name, on_skip)
                if parent is not None:
                    parent.remove(element)  # keep memory flat over a large page
            elif element.tag == f"{OAI}resumptionToken":
                page.resumption_token = (element.text or "").strip()
            elif element.tag == f"{OAI}error":
                code = element.get("code", "")
                if code != "noRecordsMatch":
                    raise OaiError(code, clean_text(element.text or ""))
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise ParseError(source_name, line, f"not well-formed XML: {exc}") from None
    except DefusedXmlException as exc:
        raise ParseError(source_name, None, f"refused XML: {exc}") from None
    return page


def _read_record(
    element: ET.Element,
    number: int,
    page: Page,
    source_name: str,
    on_skip: Callable[[ParseError], None] | None,
) -> None:
    try:
        header = element.find(f"{OAI}header")
        if header is None:
            raise _Bad("record without a header")
        stamp = _date(header.findtext(f"{OAI}datestamp"), "datestamp")
        if stamp and (page.latest_datestamp is None or stamp > page.latest_datestamp):
            page.latest_datestamp = stamp
        if header.get("status") == "deleted":
            page.deleted += 1
            return
        metadata = element.find(f"{OAI}metadata/{ARXIV}arXiv")
        if metadata is None:
            raise _Bad("record without arXiv metadata")
        page.records.append(_record(metadata, number))
    except _Bad as exc:
        error = ParseError(source_name, number, str(exc))
        if on_skip is None:
            raise error from None
        on_skip(error)


def _record(metadata: ET.Element, number: int) -> PaperRecord:
    raw_id = metadata.findtext(f"{ARXIV}id") or ""
    source_id = arxiv_id(raw_id)
    if not source_id:
        raise _Bad(f"id {raw_id!r} is not an arXiv id")
    title = clean_text(metadata.findtext(f"{ARXIV}title") or "")
    abstract = clean_text(metadata.findtext(f"{ARXIV}abstract") or "")
    if not title:
        raise _Bad(f"{source_id}: no title")
    if not abstract:
        raise _Bad(f"{source_id}: no abstract")
    authors = tuple(
        name
        for author in metadata.iterfind(f"{ARXIV}authors/{ARXIV}author")
        if (name := _author_name(author))
    )
    # Several DOIs are given space-separated; the first is the paper's own.
    doi = (clean_text(metadata.findtext(f"{ARXIV}doi") or "").split() or [""])[0]
    return PaperRecord(
        title=title,
        abstract=abstract,
        source=SOURCE,
        line=number,
        published=_date(metadata.findtext(f"{ARXIV}created"), f"{source_id}: created"),
        authors_count=len(authors) or None,
        source_id=source_id,
        authors=authors,
        categories=tuple(clean_text(metadata.findtext(f"{ARXIV}categories") or "").split()),
        doi=doi,
    )


def _author_name(author: ET.Element) -> str:
    """`Ada Lovelace`, `Ada Lovelace Jr` or, for a collaboration, just the keyname."""
    parts = (author.findtext(f"{ARXIV}{tag}") or "" for tag in ("forenames", "keyname", "suffix"))
    return clean_text(" ".join(parts))


def _date(text: str | None, what: str) -> date | None:
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise _Bad(f"{what} is not a date: {text.strip()!r}") from None
