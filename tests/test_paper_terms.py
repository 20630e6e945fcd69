"""BM25's postings (papers.PaperTerm) follow every write of a paper's text, from any path."""

from __future__ import annotations

from django.db import connection

from papers.models import Paper, PaperTerm
from search.engine import search
from search.state import SearchState
from tests.catalogue import INFINITE, paper

# Every (paper, lexeme, title count, abstract count) read straight from the stored tsvectors.
FROM_VECTORS = """
    SELECT p.id, u.lexeme, count(*) FILTER (WHERE w = 'A'), count(*) FILTER (WHERE w <> 'A')
    FROM papers_paper p, unnest(p.search_vector) u, unnest(u.weights) w
    GROUP BY p.id, u.lexeme ORDER BY 1, 2
"""


def postings() -> list[tuple]:
    return list(
        PaperTerm.objects.order_by("paper_id", "lexeme").values_list(
            "paper_id", "lexeme", "title_tf", "body_tf"
        )
    )


def from_vectors() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(FROM_VECTORS)
        return [tuple(row) for row in cursor.fetchall()]


def test_an_import_writes_the_postings_of_every_paper(demo_catalogue):
    rows = postings()
    assert len({row[0] for row in rows}) == Paper.objects.count() == 57
    assert rows == from_vectors()
    lengths = dict(Paper.objects.values_list("id", "search_length"))
    assert all(lengths[pk] == sum(1 for row in rows if row[0] == pk) for pk in lengths)


def test_an_edit_rewrites_them_whether_made_by_the_orm_or_by_sql(demo_catalogue):
    infinite = paper(INFINITE)
    infinite.abstract = "Zanzibar quokkas serve long contexts; quokkas everywhere."
    infinite.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE papers_paper SET title = 'Quokka attention' WHERE title LIKE 'InstInfer%%'"
        )
    assert postings() == from_vectors()
    assert PaperTerm.objects.get(paper=infinite, lexeme="quokka").body_tf == 2
    assert PaperTerm.objects.get(paper__title="Quokka attention", lexeme="quokka").title_tf == 1
    distattention = PaperTerm.objects.get(paper=infinite, lexeme="distattent")
    assert (distattention.title_tf, distattention.body_tf) == (1, 0)  # gone from the abstract

    found = search(SearchState.from_query({"q": "quokka", "mode": "keyword"}))
    assert {hit.paper.title for hit in found.hits} == {"Quokka attention", infinite.title}


def test_deleting_a_paper_deletes_its_postings(demo_catalogue):
    infinite = paper(INFINITE)
    infinite.delete()
    assert not PaperTerm.objects.filter(paper_id=infinite.pk).exists()
    assert postings() == from_vectors()
