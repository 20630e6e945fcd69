"""The Daily Papers listing parser, on every irregular entry of the demo file (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from papers.ingest import ParseError
from papers.ingest.daily_papers import SOURCE, parse_file, parse_text
from tests.catalogue import LISTING_YEAR, SEED

# The demo file's entries that have no metadata block at all.
NO_METADATA = {
    "Can LLMs Clean Up Your Mess? A Survey of Application-Ready Data Preparation with LLMs",
    "Horizon-LM: A RAM-Centric Architecture for LLM Training",
    "Pretraining A Large Language Model using Distributed GPUs: A Memory-Efficient "
    "Decentralized Paradigm",
}


@pytest.fixture(scope="module")
def papers():
    records = parse_file(SEED, year=LISTING_YEAR)
    return {r.title: r for r in records}


def find(papers, prefix: str):
    (record,) = [r for title, r in papers.items() if title.startswith(prefix)]
    return record


def listing(*entries: str, listed: str = "Mar 10") -> str:
    """A small listing in the demo file's shape: header, date line, blank-line separated blocks."""
    return "\n\n".join(["Daily Papers", listed, *entries]) + "\n"


def test_it_finds_all_57_papers():
    records = list(parse_file(SEED, year=LISTING_YEAR))
    assert len(records) == 57
    assert len({r.key for r in records}) == 57
    assert all(r.source == SOURCE and r.title and r.abstract for r in records)


def test_it_dates_54_papers(papers):
    assert sum(1 for r in papers.values() if r.published) == 54


def test_it_reads_a_full_entry(papers):
    lifl = find(papers, "LIFL:")
    assert lifl.title == (
        "LIFL: A Lightweight, Event-driven Serverless Platform for Federated Learning"
    )
    assert lifl.abstract.startswith("Federated Learning (FL) typically involves")
    assert lifl.abstract.endswith("serverful and serverless FL systems.")
    assert lifl.published == date(2024, 5, 5)
    assert lifl.authors_count == 3
    assert lifl.upvotes == 0
    assert lifl.organization_slug is None
    assert lifl.line == 13


def test_it_reads_upvotes_after_the_date(papers):
    assert find(papers, "TPI-LLM").upvotes == 8
    assert find(papers, "TPI-LLM").published == date(2024, 10, 1)
    assert find(papers, "Scaling Retrieval-Based").upvotes == 3
    assert find(papers, "Infinite-LLM").upvotes == 2


def test_it_reads_an_organization_instead_of_authors(papers):
    ufo = find(papers, "UFO^3")
    assert (ufo.organization_slug, ufo.organization_name) == ("microsoft", "Microsoft")
    assert ufo.authors_count is None
    assert ufo.published == date(2025, 11, 14)
    assert ufo.upvotes == 3


def test_it_slugifies_a_capitalized_organization(papers):
    dataflow = find(papers, "DataFlow:")
    assert dataflow.organization_slug == "pekinguniversity"
    assert dataflow.organization_name == "Peking University"
    assert dataflow.upvotes == 4


def test_only_two_papers_have_an_organization(papers):
    with_org = {r.organization_slug for r in papers.values() if r.organization_slug}
    assert with_org == {"microsoft", "pekinguniversity"}


def test_it_keeps_entries_without_metadata_with_nulls(papers):
    bare = [r for r in papers.values() if r.published is None]
    assert {r.title for r in bare} == NO_METADATA
    for record in bare:
        assert record.abstract
        assert record.authors_count is None
        assert record.organization_slug is None
        assert record.upvotes is None  # the listing does not say: a merge keeps what is stored


def test_an_entry_without_metadata_does_not_swallow_the_next(papers):
    # "Can LLMs Clean Up Your Mess?" has no metadata; the next entry keeps its own.
    decentralized = find(papers, "Decentralized Diffusion Models")
    assert decentralized.published == date(2025, 1, 9)
    assert decentralized.upvotes == 1
    assert decentralized.authors_count == 4


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("STELLAR:", date(2026, 2, 26)),
        ("Heterogeneous Low-Bandwidth", date(2026, 1, 5)),
        ("The Science Data Lake", date(2026, 3, 3)),
        ("ThunderAgent", date(2026, 2, 14)),
    ],
)
def test_a_yearless_date_takes_the_listing_year(papers, prefix, expected):
    assert find(papers, prefix).published == expected


def test_a_yearless_date_follows_the_year_option():
    records = {r.title: r for r in parse_file(SEED, year=2030)}
    assert find(records, "STELLAR:").published == date(2030, 2, 26)
    assert find(records, "LIFL:").published == date(2024, 5, 5)  # explicit years stay


def test_no_date_is_after_the_listing_date(papers):
    listed = date(LISTING_YEAR, 3, 10)
    assert max(r.published for r in papers.values() if r.published) <= listed


def test_a_yearless_date_after_the_listing_date_is_from_the_year_before():
    text = listing(
        "Late\n\nIt was posted in December.\n\n• 2 authors\n·\nDec 18 5",
        "Same day\n\nPosted on the listing date.\n\n• 2 authors\n·\nMar 10",
        "Next day\n\nOne day after the listing date.\n\n• 2 authors\n·\nMar 11",
    )
    late, same_day, next_day = parse_text(text, name="x.txt", year=2026)
    assert late.published == date(2025, 12, 18)
    assert late.upvotes == 5
    assert same_day.published == date(2026, 3, 10)
    assert next_day.published == date(2025, 3, 11)


def test_it_reads_one_authors(papers):
    assert find(papers, "The Science Data Lake").authors_count == 1
    assert find(papers, "Large-Scale Network Embedding").authors_count == 1


def test_it_reads_singular_author():
    (record,) = parse_text(
        listing("Solo\n\nOne person.\n\n• 1 author\n·\nMay 5, 2024"), name="x", year=2026
    )
    assert record.authors_count == 1


def test_it_joins_a_wrapped_abstract():
    (record,) = parse_text(
        listing(
            "Title\n\nFirst line of the abstract\nand its second.\n\n• 2 authors\n·\nMay 5, 2024"
        ),
        name="x",
        year=2026,
    )
    assert record.abstract == "First line of the abstract and its second."


def test_it_reads_the_listing_at_the_end_without_a_newline():
    (record,) = parse_text(
        listing("Title\n\nAbstract.\n\n• 2 authors\n·\nFeb 3, 2025").rstrip(), name="x", year=2026
    )
    assert record.published == date(2025, 2, 3)


def test_it_rejects_a_date_that_does_not_exist():
    with pytest.raises(ParseError) as caught:
        list(
            parse_text(listing("T\n\nA.\n\n• 2 authors\n·\nFeb 30, 2024"), name="x.txt", year=2026)
        )
    assert str(caught.value) == "x.txt:11: not a real date: 'Feb 30, 2024'"


def test_it_rejects_a_text_without_a_listing_date():
    with pytest.raises(ParseError) as caught:
        list(parse_text("title,abstract\nA,B\n", name="papers.csv", year=2026))
    assert str(caught.value).startswith("papers.csv:1: not a Daily Papers listing")
