"""One paper across sources: the arXiv id (or the title) is the key, a later source fills in what
an earlier one lacked and never blanks what it does not say; names are searchable at weight C."""

from __future__ import annotations

from datetime import date
from io import StringIO
from pathlib import Path

from django.contrib.postgres.search import SearchQuery
from django.core.management import call_command
from django.db import connection

from papers.ingest import PaperRecord
from papers.loader import upsert_papers
from papers.models import KeywordDoc, Organization, Paper
from tests.test_keyword_index import current_postings, from_vectors, keyword_titles

FIXTURES = Path(__file__).parent / "fixtures"
HF_JSON = FIXTURES / "hf_daily.json"
ARXIV_JSONL = FIXTURES / "arxiv.jsonl"
ARXIV_ATOM = FIXTURES / "arxiv_query.xml"
LISTING = FIXTURES / "daily_listing.txt"


def import_papers(*paths: Path) -> str:
    out, err = StringIO(), StringIO()
    call_command("import_papers", *map(str, paths), "--year", "2026", stdout=out, stderr=err)
    return out.getvalue().strip().splitlines()[-1]


def record(**fields) -> PaperRecord:
    base = {"title": "A paper", "abstract": "Its abstract.", "source": "test", "line": 1}
    return PaperRecord(**{**base, **fields})


def test_the_api_json_then_the_snapshot_make_one_paper_with_everything(db):
    assert import_papers(HF_JSON) == "3 new, 0 updated, 0 unchanged, 0 skipped"
    assert import_papers(ARXIV_JSONL) == "2 new, 1 updated, 0 unchanged, 0 skipped"

    mixtral = Paper.objects.get(source_id="2401.04088")
    assert Paper.objects.filter(title="Mixtral of Experts").count() == 1
    # From the snapshot: all three authors and the categories.
    assert mixtral.authors == ["Albert Q. Jiang", "Alexandre Sablayrolles", "Arthur Mensch"]
    assert mixtral.authors_count == 3
    assert mixtral.categories == ["cs.LG", "cs.CL"]
    # From the daily papers, which the snapshot does not say: kept.
    assert mixtral.upvotes == 153
    assert mixtral.organization.slug == "mistralai"
    assert mixtral.organization.name == "Mistral AI"
    assert mixtral.source == "hf-daily-json"  # the source that first brought it in
    assert mixtral.key == "arxiv:2401.04088"


def test_the_snapshot_then_the_api_json_fills_in_and_blanks_nothing(db):
    import_papers(ARXIV_JSONL)
    assert import_papers(HF_JSON) == "2 new, 1 updated, 0 unchanged, 0 skipped"
    mixtral = Paper.objects.get(source_id="2401.04088")
    assert mixtral.categories == ["cs.LG", "cs.CL"]  # the JSON has none: kept
    assert mixtral.authors == ["Albert Q. Jiang", "Alexandre Sablayrolles"]  # both say: later wins
    assert mixtral.upvotes == 153 and mixtral.organization.slug == "mistralai"


def test_reimporting_in_the_same_order_changes_nothing(db):
    import_papers(HF_JSON, ARXIV_JSONL, ARXIV_ATOM)
    before = list(Paper.objects.order_by("key").values())
    assert import_papers(ARXIV_ATOM) == "0 new, 0 updated, 2 unchanged, 0 skipped"
    assert list(Paper.objects.order_by("key").values()) == before


def test_a_record_without_a_value_keeps_the_stored_one(db):
    full = record(
        source_id="2101.00001",
        published=date(2021, 1, 1),
        upvotes=7,
        authors_count=2,
        organization_slug="acme",
        organization_name="Acme",
        authors=("A", "B"),
        categories=("cs.LG",),
        doi="10.1/x",
    )
    upsert_papers([full])
    summary = upsert_papers([record(source_id="2101.00001")])
    assert str(summary) == "0 new, 0 updated, 1 unchanged, 0 skipped"
    paper = Paper.objects.get()
    assert (paper.published, paper.upvotes, paper.authors_count) == (date(2021, 1, 1), 7, 2)
    assert (paper.organization.slug, paper.authors, paper.categories, paper.doi) == (
        "acme",
        ["A", "B"],
        ["cs.LG"],
        "10.1/x",
    )


def test_a_zero_from_a_source_that_says_zero_is_a_value(db):
    upsert_papers([record(source_id="2101.00001", upvotes=7)])
    upsert_papers([record(source_id="2101.00001", upvotes=0)])
    assert Paper.objects.get().upvotes == 0


def test_a_listing_paper_known_by_title_becomes_the_arxiv_paper_later(db):
    import_papers(LISTING)
    listed = Paper.objects.get(title="Serverless Aggregation for Federated Learning")
    assert listed.key == "title:serverless aggregation for federated learning"
    assert import_papers(ARXIV_ATOM) == "1 new, 1 updated, 0 unchanged, 0 skipped"
    merged = Paper.objects.get(title="Serverless Aggregation for Federated Learning")
    assert merged.pk == listed.pk  # the same row: its vector, its id and its links stay
    assert merged.key == "arxiv:2405.04434" and merged.arxiv_id == "2405.04434"
    assert merged.organization.slug == "microsoft" and merged.upvotes == 3
    assert merged.categories == ["cs.LG", "cs.DC"]
    assert merged.source == "hf-daily"
    # ... and the listing seen again finds it by title instead of making a second paper.
    assert import_papers(LISTING) == "0 new, 0 updated, 3 unchanged, 0 skipped"


def test_a_listing_after_the_snapshot_joins_the_arxiv_paper_of_its_title(db):
    import_papers(ARXIV_ATOM)
    assert import_papers(LISTING) == "2 new, 1 updated, 0 unchanged, 0 skipped"
    paper = Paper.objects.get(title="Serverless Aggregation for Federated Learning")
    assert paper.key == "arxiv:2405.04434"
    assert (paper.organization.slug, paper.upvotes) == ("microsoft", 3)
    assert paper.authors == ["Swarnadeep Saha", "Mohit Bansal"]


def test_a_title_two_arxiv_papers_share_stays_a_paper_of_its_own(db):
    upsert_papers(
        [
            record(title="Attention", source_id="2101.00001"),
            record(title="Attention", source_id="2101.00002"),
        ]
    )
    upsert_papers([record(title="attention!", upvotes=5)])
    assert Paper.objects.count() == 3
    assert Paper.objects.get(key="title:attention").upvotes == 5


def test_a_title_and_an_arxiv_record_in_one_batch_make_one_paper(db):
    summary = upsert_papers(
        [record(title="Same Paper", upvotes=4), record(title="Same paper", source_id="2101.00003")]
    )
    assert Paper.objects.count() == 1
    paper = Paper.objects.get()
    assert (paper.key, paper.upvotes) == ("arxiv:2101.00003", 4)
    assert (summary.new, summary.updated) == (1, 1)


def test_titles_that_differ_by_a_symbol_are_different_papers(db):
    assert import_papers(LISTING) == "3 new, 0 updated, 0 unchanged, 0 skipped"
    assert set(Paper.objects.values_list("key", flat=True)) >= {
        "title:c plus plus for scientists",
        "title:c sharp for scientists",
    }


def test_an_edited_title_changes_the_text_and_makes_the_vector_stale(db):
    upsert_papers([record(source_id="2101.00001")])
    Paper.objects.update(embedding_hash="x", embedding_attempts=3, embedding_error="boom")
    summary = upsert_papers([record(source_id="2101.00001", title="A better title")])
    assert summary.updated == 1 and summary.queued == 1
    paper = Paper.objects.get()
    assert (paper.title, paper.embedding_attempts, paper.embedding_error) == (
        "A better title",
        0,
        "",
    )
    upsert_papers([record(source_id="2101.00001", title="A better title", upvotes=3)])
    assert Paper.objects.get().embedding_attempts == 0  # unchanged text: attempts kept (0 here)


# --- names in keyword search ------------------------------------------------------------------
def weights(paper: Paper) -> dict[str, str]:
    """lexeme -> its weights in the paper's search_vector."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lexeme, array_to_string(weights, '') FROM papers_paper, unnest(search_vector)"
            " WHERE id = %s",
            [paper.pk],
        )
        return dict(cursor.fetchall())


def test_authors_and_the_organization_are_searchable_at_weight_c(db):
    import_papers(HF_JSON, ARXIV_JSONL)
    mixtral = Paper.objects.get(source_id="2401.04088")
    assert mixtral.byline == "Albert Q. Jiang Alexandre Sablayrolles Arthur Mensch Mistral AI"
    found = weights(mixtral)
    assert found["mensch"] == "C" and found["sablayroll"] == "C"
    assert found["mistral"] == "C"
    assert found["mixtral"] == "AB"  # title and abstract keep their weights
    assert KeywordDoc.objects.get(paper_id=mixtral.pk).length == len(found)  # BM25's length
    nadolsky = SearchQuery("Nadolsky", config="english")
    assert Paper.objects.get(search_vector=nadolsky).source_id == "0704.0001"


def test_the_byline_follows_a_new_organization_and_the_keyword_index_follows_it(db):
    upsert_papers([record(source_id="2101.00001", authors=("Grace Hopper",))])
    upsert_papers(
        [record(source_id="2101.00001", organization_slug="navy", organization_name="US Navy")]
    )
    paper = Paper.objects.get()
    assert paper.byline == "Grace Hopper US Navy"
    assert weights(paper)["navi"] == "C"
    assert current_postings() == from_vectors()  # flushed in the batch: nothing pending
    assert not KeywordDoc.objects.filter(segment_id__isnull=True).exists()
    assert keyword_titles("hopper") == keyword_titles("navy") == ["A paper"]


def test_the_organization_keeps_the_name_it_was_first_given(db):
    upsert_papers([record(organization_slug="acme", organization_name="Acme Research")])
    upsert_papers([record(title="Other", organization_slug="acme", organization_name="ACME")])
    assert list(Organization.objects.values_list("name", flat=True)) == ["Acme Research"]
