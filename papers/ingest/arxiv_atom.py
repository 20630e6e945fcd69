"""Responses of the arXiv query API (export.arxiv.org/api/query): Atom with arXiv's extensions.

    <feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
      <entry>
        <id>http://arxiv.org/abs/2101.00001v2</id>
        <published>2021-01-01T00:00:00Z</published>
        <title>…</title> <summary>…</summary>
        <author><name>Ada Lovelace</name></author> …
        <arxiv:doi>10.1000/x</arxiv:doi> <arxiv:journal_ref>…</arxiv:journal_ref>
        <arxiv:primary_category term="cs.LG"/> <category term="cs.LG"/> <category term="stat.ML"/>
      </entry> …
    </feed>

Parsed with defusedxml (no entity expansion, no DTD fetched: a response is untrusted input), fed
in chunks; only the entry being read is held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element, TreeBuilder
from xml.etree.ElementTree import ParseError as XMLSyntaxError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from papers.ingest.inputs import Input
from papers.ingest.records import PaperRecord, ParseError, Rejected, iso_date
from papers.ingest.text import arxiv_id, clean_text

SOURCE = "arxiv-atom"
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
ERROR_ID = "arxiv.org/api/errors"


def parse_input(opened: Input) -> Iterator[PaperRecord | Rejected]:
    for line, entry in entries(opened):
        yield entry_record(entry, path=opened.name, line=line)


def entry_record(entry: Element, *, path: str, line: int) -> PaperRecord | Rejected:
    entry_id = (entry.findtext(f"{ATOM}id") or "").strip()
    if ERROR_ID in entry_id:
        message = clean_text(entry.findtext(f"{ATOM}summary") or "")
        return Rejected(path, line, f"the arXiv API reported an error: {message}")
    if not entry_id:
        return Rejected(path, line, "entry without an <id>")
    source_id = arxiv_id(entry_id)
    if not source_id:
        return Rejected(path, line, f"not an arXiv id: {entry_id!r}")
    published = None
    if text := (entry.findtext(f"{ATOM}published") or "").strip():
        try:
            published = iso_date(text)
        except ValueError as exc:
            return Rejected(path, line, f"<published>: {exc}")
    primary = entry.find(f"{ARXIV}primary_category")
    terms = [primary.get("term")] if primary is not None else []
    terms += [c.get("term") for c in entry.findall(f"{ATOM}category")]
    return PaperRecord(
        title=clean_text(entry.findtext(f"{ATOM}title") or ""),
        abstract=clean_text(entry.findtext(f"{ATOM}summary") or ""),
        source=SOURCE,
        line=line,
        path=path,
        source_id=source_id,
        published=published,
        authors=tuple(
            clean_text(a.findtext(f"{ATOM}name") or "") for a in entry.findall(f"{ATOM}author")
        ),
        categories=tuple(dict.fromkeys(t.strip() for t in terms if t and t.strip())),
        doi=(entry.findtext(f"{ARXIV}doi") or "").strip(),
    )


def entries(opened: Input) -> Iterator[tuple[int, Element]]:
    """(line, element) for each <entry>, as the parser completes it."""
    target = _Entries()
    parser = DefusedXMLParser(target=target, forbid_dtd=True)
    target.expat = parser.parser
    try:
        for chunk in opened.chunks():
            parser.feed(chunk)
            yield from target.take()
        parser.close()
    except XMLSyntaxError as exc:
        raise ParseError(opened.name, exc.position[0], f"not well-formed XML: {exc}") from None
    except DefusedXmlException as exc:
        raise ParseError(opened.name, None, f"refused XML: {exc}") from None
    yield from target.take()


class _Entries:
    """An ElementTree parser target that builds one <entry> at a time and ignores the rest."""

    def __init__(self) -> None:
        self.expat = None
        self.builder: TreeBuilder | None = None
        self.depth = 0  # of elements open inside the current entry
        self.line = 0
        self.done: list[tuple[int, Element]] = []

    def start(self, tag: str, attrib: dict) -> None:
        if self.builder is None:
            if tag != f"{ATOM}entry":
                return
            self.builder, self.depth = TreeBuilder(), 0
            self.line = self.expat.CurrentLineNumber
        self.depth += 1
        self.builder.start(tag, attrib)

    def end(self, tag: str) -> None:
        if self.builder is None:
            return
        element = self.builder.end(tag)
        self.depth -= 1
        if self.depth == 0:
            self.done.append((self.line, element))
            self.builder = None

    def data(self, text: str) -> None:
        if self.builder is not None:
            self.builder.data(text)

    def close(self) -> None:
        return None

    def take(self) -> list[tuple[int, Element]]:
        done, self.done = self.done, []
        return done
