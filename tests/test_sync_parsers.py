"""The parsers behind `sync_papers`: papers.ingest.hf_daily_json and papers.ingest.arxiv_oai."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest

from papers.ingest import ParseError
from papers.ingest.arxiv_oai import parse_list_records
from papers.ingest.hf_daily_json import records_from_items
from papers.ingest.text import arxiv_id, clean_text

GOOD = {"id": "2603.01234", "title": "A Title", "summary": "An abstract."}


def hf_item(**paper) -> dict:
    return {"paper": {**GOOD, **paper}}


def hf_skips(item) -> list[str]:
    skipped: list[ParseError] = []
    records = list(records_from_items([item], source_name="day", on_skip=skipped.append))
    assert len(records) + len(skipped) == 1
    return [error.message for error in skipped]


def test_a_usable_item_becomes_a_record_with_clean_text():
    (record,) = records_from_items(
        [hf_item(title="A\x00 Ti\x07tle\n  split", authors=[{"name": " Ada\nLovelace "}, {}])],
        source_name="day",
    )
    assert (record.title, record.authors, record.authors_count) == (
        "A Title split",
        ("Ada Lovelace",),
        1,
    )
    # No upvotes in the item: None, so that an import keeps the count it has.
    assert (record.key, record.upvotes, record.published) == ("arxiv:2603.01234", None, None)


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("a string", "item has no `paper` object"),
        ({"title": "x"}, "item has no `paper` object"),
        (hf_item(title="  "), "no title"),
        (hf_item(summary=None), "no abstract (summary) for 'A Title'"),
        (hf_item(title=7), "title is not text: 7"),
        (hf_item(id="not-an-id"), "id 'not-an-id' is not an arXiv id"),
        (hf_item(upvotes=True), "upvotes is not a count: True"),
        (hf_item(upvotes=-1), "upvotes is not a count: -1"),
        (hf_item(upvotes=2**31), "upvotes is not a count: 2147483648"),
        (hf_item(publishedAt="2026-02-30T00:00:00Z"), "publishedAt is not a date"),
        (hf_item(authors="Ada"), "authors is not a list"),
        (hf_item(organization={"name": "x" * 201}), "organization name too long"),
        (hf_item(organization={"name": "!!!"}), "organization without a usable name"),
    ],
)
def test_an_unusable_item_is_skipped_with_its_reason(item, reason):
    (message,) = hf_skips(item)
    assert message.startswith(reason)


def test_without_on_skip_an_unusable_item_raises_naming_its_position():
    items = [hf_item(), hf_item(id="2603.01235", summary="")]
    with pytest.raises(ParseError, match=r"^hf-daily 2026-03-10:2: no abstract"):
        list(records_from_items(items, source_name="hf-daily 2026-03-10"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2603.01234v3", "2603.01234"),
        ("arXiv:1501.0001", "1501.0001"),
        ("math.AG/0601001v1", "math.AG/0601001"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("2603.1", None),
        ("../etc/passwd", None),
    ],
)
def test_arxiv_ids_lose_their_version_and_must_have_an_arxiv_shape(raw, expected):
    assert arxiv_id(raw) == expected


def test_clean_text_joins_wrapped_lines_and_drops_control_characters():
    assert clean_text("  Wrapped\n  title\tand\x1b[0m  runs  ") == "Wrapped title and[0m runs"


def oai(records: str, token: str = "") -> BytesIO:
    return BytesIO(
        f"""<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<ListRecords>{records}<resumptionToken>{token}</resumptionToken></ListRecords></OAI-PMH>""".encode()
    )


def arxiv_record(inner: str, datestamp: str = "2026-03-10") -> str:
    return f"""<record><header><datestamp>{datestamp}</datestamp></header><metadata>
<arXiv xmlns="http://arxiv.org/OAI/arXiv/">{inner}</arXiv></metadata></record>"""


def test_an_unusable_arxiv_record_is_skipped_and_the_rest_of_the_page_read():
    skipped: list[ParseError] = []
    page = parse_list_records(
        oai(
            arxiv_record("<id>nonsense</id><title>T</title><abstract>A</abstract>")
            + arxiv_record(
                "<id>2603.00001</id><created>2026-02-31</created><title>T</title>"
                "<abstract>A</abstract>"
            )
            + arxiv_record(
                "<id>2603.00002</id><title>T</title><abstract>A</abstract>", "2026-03-12"
            ),
            token="next",
        ),
        source_name="page",
        on_skip=skipped.append,
    )
    assert [str(e) for e in skipped] == [
        "page:1: id 'nonsense' is not an arXiv id",
        "page:2: 2603.00001: created is not a date: '2026-02-31'",
    ]
    assert [r.source_id for r in page.records] == ["2603.00002"]
    assert (page.resumption_token, page.latest_datestamp) == ("next", date(2026, 3, 12))


def test_without_on_skip_an_unusable_arxiv_record_raises():
    with pytest.raises(ParseError, match=r"^page:1: 2603.00001: no abstract$"):
        parse_list_records(
            oai(arxiv_record("<id>2603.00001</id><title>T</title>")), source_name="page"
        )


def test_xml_with_a_dtd_is_refused_so_entities_cannot_expand():
    bomb = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><OAI-PMH>&b;</OAI-PMH>"""
    with pytest.raises(ParseError, match="refused XML"):
        parse_list_records(BytesIO(bomb), source_name="page")


def test_xml_cut_short_is_reported_with_its_line():
    with pytest.raises(ParseError, match=r"^page:2: not well-formed XML"):
        parse_list_records(BytesIO(b"<OAI-PMH>\n<ListRecords><record>"), source_name="page")
