"""The keyword index (papers.keyword_index) follows every write of a paper, from any path, and
ranks exactly as BM25 computed straight from the stored tsvectors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from django.conf import settings
from django.db import connection

from papers import keyword_index
from papers.ingest import PaperRecord, ParseError
from papers.loader import upsert_papers
from papers.models import KeywordDoc, KeywordPostings, KeywordSegment, Paper
from search import keyword
from search.engine import search
from search.keyword_docs import doc_table
from search.query_text import parse_text_query
from search.sql import Tuning
from search.state import SearchState
from tests.catalogue import INFINITE, paper
from tests.conftest import embed_all

# Every (paper, lexeme, title count, abstract count, extra count) read from the tsvectors.
FROM_VECTORS = """
    SELECT p.id, u.lexeme, cardinality(array_positions(u.weights, 'A')),
           cardinality(array_positions(u.weights, 'B')),
           cardinality(array_positions(u.weights, 'C'))
    FROM papers_paper p, unnest(p.search_vector) u ORDER BY 1, 2
"""


def current_postings() -> list[tuple]:
    """The postings each paper's current segment holds, unpacked."""
    owner = dict(
        KeywordDoc.objects.filter(alive=True, segment_id__isnull=False).values_list(
            "paper_id", "segment_id"
        )
    )
    rows = []
    for row in KeywordPostings.objects.all():
        ids = np.frombuffer(bytes(row.paper_ids), dtype=">i4")
        counts = np.frombuffer(bytes(row.counts), dtype=">u2")
        for pk, packed in zip(ids.tolist(), counts.tolist(), strict=True):
            if owner.get(pk) == row.segment_id:
                rows.append((pk, row.lexeme, packed >> 12, packed & 511, (packed >> 9) & 7))
    return sorted(rows)


def from_vectors() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(FROM_VECTORS)
        return [tuple(row) for row in cursor.fetchall()]


def keyword_titles(q: str) -> list[str]:
    results = search(SearchState.from_query({"q": q, "mode": "keyword"}))
    return [hit.paper.title for hit in results.hits]


def test_an_import_writes_every_papers_postings_into_a_segment(demo_catalogue):
    assert current_postings() == from_vectors()
    assert not KeywordDoc.objects.filter(segment_id__isnull=True).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, length(search_vector) FROM papers_paper")
        lengths = dict(cursor.fetchall())
    assert dict(KeywordDoc.objects.values_list("paper_id", "length")) == lengths


def test_an_edit_is_found_by_its_new_words_at_once_and_by_its_old_ones_no_more(demo_catalogue):
    infinite = paper(INFINITE)
    infinite.abstract = "Zanzibar quokkas serve long contexts; quokkas everywhere."
    infinite.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE papers_paper SET title = 'Quokka attention' WHERE title LIKE 'InstInfer%%'"
        )
    assert KeywordDoc.objects.filter(segment_id__isnull=True).count() == 2  # pending
    assert set(keyword_titles("quokka")) == {"Quokka attention", infinite.title}
    assert infinite.title not in keyword_titles("wastage")  # only in the old abstract

    assert keyword_index.flush_all() == 2
    assert set(keyword_titles("quokka")) == {"Quokka attention", infinite.title}
    assert current_postings() == from_vectors()


def test_a_deleted_paper_is_not_found_and_a_merge_drops_its_postings(demo_catalogue):
    infinite = paper(INFINITE)
    assert infinite.title in keyword_titles("wastage")
    pk = infinite.pk
    infinite.delete()
    assert infinite.title not in keyword_titles("wastage")
    assert KeywordDoc.objects.get(paper_id=pk).alive is False

    paper("InstInfer").save()  # one more segment, so there is something to merge
    Paper.objects.filter(title__startswith="InstInfer").update(abstract="Storage offload.")
    keyword_index.flush_all()
    keyword_index.merge_all()
    assert KeywordSegment.objects.count() == 1
    merged = KeywordPostings.objects.filter(lexeme="wastag").first()
    assert merged is None or pk not in np.frombuffer(bytes(merged.paper_ids), ">i4")
    assert current_postings() == from_vectors()


def test_segments_of_one_size_tier_are_merged_and_searches_do_not_change(
    demo_catalogue, monkeypatch
):
    monkeypatch.setattr(keyword_index, "TIER_BASE", 10)
    for title_start in ("ThunderAgent", "InstInfer", "Infinite-LLM", "xLLM"):
        Paper.objects.filter(title__startswith=title_start).update(abstract="An edited abstract.")
        keyword_index.flush()
    assert KeywordSegment.objects.count() == 5
    before = {q: keyword_titles(q) for q in ("kv cache", "agent memory", '"long context"')}
    assert keyword_index.maintain() >= 1
    assert KeywordSegment.objects.count() < 5
    assert current_postings() == from_vectors()
    assert {q: keyword_titles(q) for q in before} == before


BM25_SQL = """
WITH terms AS (SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', %(q)s))),
stats AS (SELECT count(*)::float AS n, avg(length(search_vector)) AS avgdl FROM papers_paper),
df AS (
    SELECT t.lexeme, count(u.lexeme) AS df
    FROM terms t LEFT JOIN (papers_paper p CROSS JOIN unnest(p.search_vector) u)
         ON u.lexeme = t.lexeme GROUP BY t.lexeme
)
SELECT p.id, sum(
    ln(1 + (s.n - d.df + 0.5) / (d.df + 0.5))
    * tf * (%(k1)s + 1) / (tf + %(k1)s * (1 - %(b)s + %(b)s * length(p.search_vector) / s.avgdl)))
FROM papers_paper p CROSS JOIN stats s,
     LATERAL (
         SELECT u.lexeme, %(title)s * cardinality(array_positions(u.weights, 'A'))
                + cardinality(array_positions(u.weights, 'B'))
                + %(extra)s * cardinality(array_positions(u.weights, 'C')) AS tf
         FROM unnest(p.search_vector) u) x
JOIN df d ON d.lexeme = x.lexeme
GROUP BY p.id
"""


@pytest.mark.parametrize("q", ["kv cache offloading", "agent memory benchmark", "speculative"])
def test_scores_equal_bm25_computed_in_sql_from_the_tsvectors(demo_catalogue, q):
    Paper.objects.filter(title__startswith="xLLM").update(abstract="A pending paper on kv cache.")
    tuning = Tuning.from_settings().keyword
    with connection.cursor() as cursor:
        cursor.execute(
            BM25_SQL,
            {
                "q": q,
                "k1": tuning.k1,
                "b": tuning.b,
                "title": tuning.title_weight,
                "extra": tuning.extra_weight,
            },
        )
        expected = dict(cursor.fetchall())
        no_coverage = keyword.KeywordTuning(tuning.k1, tuning.b, tuning.title_weight, 0.5, 0.0)
        found = keyword.find(
            cursor, parse_text_query(q), keyword.Filters(), no_coverage, doc_table()
        )
    got = dict(zip(found.ids.tolist(), found.scores.tolist(), strict=True))
    assert got.keys() == expected.keys()
    assert all(math.isclose(got[pk], expected[pk], rel_tol=1e-9) for pk in got)
    assert tuning.extra_weight == settings.SEARCH_EXTRA_WEIGHT


@pytest.mark.django_db(transaction=True)
def test_a_committed_import_is_found_by_words_in_the_next_search(demo_catalogue_live):
    assert keyword_titles("quokka") == []
    Paper.objects.create(title="Quokka serving", abstract="Quokkas serve models.", key="q:1")
    assert keyword_titles("quokka") == ["Quokka serving"]  # pending: read from its tsvector
    keyword_index.flush_all()
    assert keyword_titles("quokka") == ["Quokka serving"]
    Paper.objects.filter(key="q:1").delete()
    assert keyword_titles("quokka") == []


def test_a_phrase_search_checks_as_far_as_its_page_and_says_its_total_is_an_estimate(db):
    together = [f"Alpha beta study {i}" for i in range(150)]
    apart = [f"Beta then alpha study {i}" for i in range(150)]
    Paper.objects.bulk_create(
        Paper(title=t, abstract="A note.", key=f"t:{t}", source="test") for t in together + apart
    )
    results = search(SearchState.from_query({"q": '"alpha beta"', "mode": "keyword"}))
    assert {hit.paper.title for hit in results.hits} <= set(together)
    assert len(results.hits) == 20
    assert results.total_approximate
    assert 100 <= results.total <= 200  # 150 really match; the unchecked rest is estimated

    every = search(SearchState.from_query({"q": '"alpha beta"', "mode": "keyword", "page": "8"}))
    assert {hit.paper.title for hit in every.hits} <= set(together)
    assert every.total == 150 and not every.total_approximate  # checked them all by page 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'breast' <-> 'cancer' & !'mice'", "and(phrase(breast, cancer), not(mice))"),
        ("'insulin' | 'glucos'", "or(insulin, glucos)"),
        ("( 'a' | 'b' ) & 'c'", "and(or(a, b), c)"),
        ("'it''s' <2> 'fine'", "phrase(it's, fine)"),
    ],
)
def test_tsquery_text_parses_into_the_expression_postgres_meant(text, expected):
    from search import tsquery

    def show(node):
        if node.op == "term":
            return node.lexeme
        return f"{node.op}({', '.join(show(a) for a in node.args)})"

    assert show(tsquery.parse(text)) == expected
    assert tsquery.parse("") is None


@pytest.mark.parametrize(
    ("text", "union"),
    [
        ("'insulin'", True),
        ("'insulin' | 'glucos' | 'diabet'", True),
        ("'a' | ( 'b' | 'c' )", True),
        ("'a' | 'b' & 'c'", False),
        ("'a' <-> 'b'", False),
        ("!'a'", False),
        ("'a' | !'b'", False),
    ],
)
def test_plain_words_are_read_as_one_union_of_postings(text, union):
    """search.keyword builds one mask for a union of lexemes (plain words): only where holding
    any of them is exactly what the expression means."""
    from search import tsquery

    assert tsquery.parse(text).is_union() is union


def test_a_phrase_search_by_meaning_too_binds_meaning_to_the_checked_matches(demo_catalogue):
    """Hybrid asks for the best matches twice (the fused list, then the set meaning is bound
    to): the second ask must read the first one's checked, renumbered matches right."""
    Paper.objects.bulk_create(
        Paper(title=f"Beta then alpha {i}", abstract="A note.", key=f"b:{i}", source="test")
        for i in range(250)
    )
    Paper.objects.create(title="Alpha beta", abstract="A note.", key="ab", source="test")
    results = search(SearchState.from_query({"q": '"alpha beta"'}))
    assert [hit.paper.title for hit in results.hits if hit.keyword_rank] == ["Alpha beta"]


def test_meaning_ranks_only_the_papers_that_hold_a_typed_phrase(demo_catalogue):
    """Past the matches the page checks (250 for its 200 candidates), the best matches of a
    typed phrase reach the statement that ranks them by meaning unchecked, and are checked
    there: meaning ranks the papers that hold the phrase, not those with its words the other
    way round, however much nearer the query (without the check, they took all 200 places)."""
    # The phrase's papers score higher by words, so the page's checks stop before the others.
    holding = "Cooking pasta: beta alpha, beta alpha, beta alpha."
    together = [Paper(title=f"Beta alpha study {i}", abstract=holding) for i in range(260)]
    reversed_ = [Paper(title=f"Alpha beta {i}", abstract="Alpha beta.") for i in range(300)]
    for i, new in enumerate(together + reversed_):
        new.key, new.source = f"t:{i}", "test"
    Paper.objects.bulk_create(together + reversed_)
    embed_all()
    hits = search(SearchState.from_query({"q": '"beta alpha"'})).hits
    assert len(hits) == 20 and all(hit.paper.title.startswith("Beta alpha") for hit in hits)
    assert sum(hit.semantic_rank is not None for hit in hits) >= 10


def test_a_paper_newer_than_this_processs_copy_waits_for_the_next_search(demo_catalogue):
    """Titles that look like the query are read after the per-paper copy: a paper committed in
    between is beyond the copy's arrays, and must not break the search."""
    from search.keyword import Filters, narrowed

    docs = doc_table()
    beyond = np.array([docs.size + 5], dtype=np.int64)
    matches = narrowed(beyond, np.ones(1), beyond, Filters(org_ids=(1,)), docs)
    assert len(matches.ids) == 0 and not matches.matched_any


def records(n: int, word: str = "wombat") -> list[PaperRecord]:
    return [
        PaperRecord(
            title=f"{word.title()} study {i}", abstract=f"{word}s {i}.", source="test", line=i
        )
        for i in range(1, n + 1)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_bulk_import_flushes_its_committed_batches_on_a_second_connection():
    summary = upsert_papers(records(25), batch_size=4, queue_embeddings=False)
    assert summary.new == 25
    assert not KeywordDoc.objects.filter(segment_id__isnull=True).exists()
    assert current_postings() == from_vectors()
    assert KeywordSegment.objects.count() == 1  # the batches gathered into one segment
    assert len(keyword_titles("wombat")) == 20


@pytest.mark.django_db(transaction=True)
def test_an_import_that_fails_half_way_leaves_its_written_papers_findable_and_flushes_them_later():
    def failing():
        yield from records(6)
        raise ParseError("snapshot.jsonl", 7, "not JSON")

    with pytest.raises(ParseError):
        upsert_papers(failing(), batch_size=2, queue_embeddings=False)
    assert Paper.objects.count() == 6
    assert len(keyword_titles("wombat")) == 6  # pending or flushed, found by words either way
    upsert_papers(records(6), queue_embeddings=False)  # the re-run: all unchanged
    assert not KeywordDoc.objects.filter(segment_id__isnull=True).exists()
    assert current_postings() == from_vectors()


@pytest.mark.django_db(transaction=True)
def test_an_error_in_the_background_flush_is_raised_by_the_import():
    sequence = "pg_get_serial_sequence('papers_paper', 'id')"
    with connection.cursor() as cursor:  # ids past what the index packs in 4 bytes
        cursor.execute(f"SELECT setval({sequence}, 2147483650)")
    try:
        with pytest.raises(OverflowError):
            upsert_papers(records(3), batch_size=2, queue_embeddings=False)
    finally:  # the sequence outlives this test's rows: later tests need small ids again
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT setval({sequence}, 1, false)")
