"""What the sources say about a paper, shown on its page and in the JSON API."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from papers.ingest import PaperRecord
from papers.loader import upsert_papers
from papers.models import Paper

FIXTURES = Path(__file__).parent / "fixtures"


def import_fixtures() -> Paper:
    for name in ("hf_daily.json", "arxiv.jsonl"):
        call_command("import_papers", str(FIXTURES / name), stdout=StringIO(), stderr=StringIO())
    return Paper.objects.get(source_id="0704.0001")


def test_the_paper_page_shows_arxiv_links_authors_categories_and_doi(client, db):
    paper = import_fixtures()
    html = client.get(paper.get_absolute_url()).content.decode()
    assert '<a href="https://arxiv.org/abs/0704.0001">0704.0001</a>' in html
    assert '<a href="https://arxiv.org/pdf/0704.0001">PDF</a>' in html
    assert "C. Balázs, E. L. Berger, P. M. Nadolsky, C. -P. Yuan" in html
    assert "<code>hep-ph</code>" in html
    assert 'href="https://doi.org/10.1103/PhysRevD.76.013009"' in html


def test_a_paper_without_sources_shows_none_of_it(client, db):
    call_command(
        "import_papers", str(FIXTURES / "daily_listing.txt"), "--year", "2026", stdout=StringIO()
    )
    paper = Paper.objects.get(title="C++ for Scientists")
    html = client.get(paper.get_absolute_url()).content.decode()
    assert (
        "arxiv.org" not in html and 'class="sources' not in html and 'class="authors"' not in html
    )


def test_the_paper_api_gives_the_sources_fields(client, db):
    paper = import_fixtures()
    body = client.get(f"/api/papers/{paper.pk}").json()
    assert body["arxiv_id"] == "0704.0001"
    assert body["abs_url"] == "https://arxiv.org/abs/0704.0001"
    assert body["pdf_url"] == "https://arxiv.org/pdf/0704.0001"
    assert body["authors"] == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert body["categories"] == ["hep-ph"]
    assert body["doi"] == "10.1103/PhysRevD.76.013009"


def test_search_results_in_the_api_carry_them_too(client, db):
    import_fixtures()
    body = client.get("/api/search?q=mixtral&mode=keyword").json()
    (mixtral,) = body["results"]
    assert mixtral["arxiv_id"] == "2401.04088"
    assert mixtral["authors"] == ["Albert Q. Jiang", "Alexandre Sablayrolles", "Arthur Mensch"]
    assert mixtral["categories"] == ["cs.LG", "cs.CL"]
    assert mixtral["organization"] == {"slug": "mistralai", "name": "Mistral AI"}


def test_a_collaboration_shows_its_first_25_authors_and_how_many_more(client, db):
    names = tuple(f"Physicist {n}" for n in range(1, 3001))
    upsert_papers(
        [PaperRecord(title="Higgs", abstract="Found.", source="t", line=1, authors=names)]
    )
    html = client.get(Paper.objects.get().get_absolute_url()).content.decode()
    listed = re.search(r'<p class="authors">(.*?)</p>', html).group(1)
    assert listed.endswith("Physicist 25 and 2975 more") and "Physicist 26" not in listed
    assert "Physicist 3000" in html  # the citation below it names every author
