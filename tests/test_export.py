"""Exports: a search's results and a single paper as BibTeX, RIS, CSV and JSON Lines, each
download parsed back with a real parser (bibtexparser, rispy, csv, json) and compared with the
database."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import bibtexparser
import pytest
import rispy
from bibtexparser import middlewares
from django.test import override_settings

from papers.models import Organization, Paper
from tests.catalogue import INFINITE, paper

EXTENSIONS = ("bib", "ris", "csv", "jsonl")
# TeX's special characters, a formula-looking start, accents and another script.
TITLE = 'Zyxquan for Gödel\'s & 100% "$x^2$" costs_{n} #1 {braces} ~tilde \\back: 注意力'
ABSTRACT = (
    "=SUM(A1) looks like a formula.\nSecond line: 50% of café users & co. ^ ~ _ # $ { } \\ end."
)
AUTHORS = ["Kurt Gödel", "José Müller-Ñúñez", "陈伟"]


@pytest.fixture
def special(db) -> Paper:
    org = Organization.objects.create(slug="ecole", name="École & Co")
    return Paper.objects.create(
        title=TITLE,
        abstract=ABSTRACT,
        published=date(2025, 3, 14),
        source="arxiv-jsonl",
        source_id="2503.01234",
        key="2503.01234",
        authors=AUTHORS,
        categories=["cs.LG", "stat.ML"],
        doi="10.1000/xyz_123",
        organization=org,
    )


def download(client, url: str, extension: str):
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].endswith("charset=utf-8")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and disposition.isascii()
    assert disposition.endswith(f'.{extension}"')
    return response.content.decode("utf-8")


def bib_entries(text: str) -> list[dict]:
    library = bibtexparser.parse_string(
        text,
        append_middleware=[middlewares.LatexDecodingMiddleware(), middlewares.SeparateCoAuthors()],
    )
    assert not library.failed_blocks
    return [
        {name: f.value for name, f in e.fields_dict.items()}
        | {"ID": e.key, "ENTRYTYPE": e.entry_type}
        for e in library.entries
    ]


def untex(value: str) -> str:
    """pylatexenc reads \\textasciicircum as the modifier letter ˆ (U+02C6) where TeX prints ^."""
    return value.replace("ˆ", "^")


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_a_paper_round_trips_through_bibtex(client, special):
    text = download(client, f"/papers/{special.pk}/cite.bib", "bib")
    [entry] = bib_entries(text)
    assert entry["ENTRYTYPE"] == "misc"
    assert entry["ID"] == "godel2025zyxquan"
    assert untex(entry["title"]) == TITLE
    assert entry["author"] == AUTHORS
    assert (entry["year"], entry["month"]) == ("2025", "3")
    assert (entry["eprint"], entry["archivePrefix"], entry["primaryClass"]) == (
        "2503.01234", "arXiv", "cs.LG",
    )  # fmt: skip
    assert entry["doi"] == "10.1000/xyz_123"
    assert entry["url"] == "https://arxiv.org/abs/2503.01234"
    assert entry["organization"] == "École & Co"
    assert untex(entry["abstract"]) == one_line(ABSTRACT)
    # Every special character reached the file escaped: none would start a command or comment.
    assert r"\&" in text and r"\%" in text and r"\_" in text and r"\#" in text and r"\$" in text


def test_a_paper_round_trips_through_ris(client, special):
    [entry] = rispy.loads(download(client, f"/papers/{special.pk}/cite.ris", "ris"))
    assert entry["type_of_reference"] == "UNPB"
    assert entry["id"] == "godel2025zyxquan"
    assert entry["title"] == TITLE
    assert entry["authors"] == AUTHORS
    assert (entry["year"], entry["date"]) == ("2025", "2025/03/14/")
    assert entry["abstract"] == one_line(ABSTRACT)
    assert entry["doi"] == "10.1000/xyz_123"
    assert entry["urls"] == ["https://arxiv.org/abs/2503.01234"]
    assert entry["keywords"] == ["cs.LG", "stat.ML"]
    assert entry["accession_number"] == "arXiv:2503.01234"
    assert entry["author_address"] == "École & Co"


def test_a_paper_round_trips_through_csv_with_formulas_neutralized(client, special):
    [row] = csv.DictReader(io.StringIO(download(client, f"/papers/{special.pk}/cite.csv", "csv")))
    assert row["title"] == TITLE
    assert row["authors"] == "; ".join(AUTHORS)
    assert (row["year"], row["published"], row["arxiv_id"]) == ("2025", "2025-03-14", "2503.01234")
    assert (row["primary_class"], row["categories"]) == ("cs.LG", "cs.LG stat.ML")
    assert (row["doi"], row["organization"]) == ("10.1000/xyz_123", "École & Co")
    # A spreadsheet would run "=SUM(A1)": the cell starts with an apostrophe instead.
    assert row["abstract"] == "'" + ABSTRACT


def test_a_paper_round_trips_through_json_lines(client, special):
    text = download(client, f"/papers/{special.pk}/cite.jsonl", "jsonl")
    [line] = [json.loads(line) for line in text.splitlines()]
    api = client.get(f"/api/papers/{special.pk}").json()
    assert line == {"key": "godel2025zyxquan"} | {
        k: v for k, v in api.items() if k not in ("similar", "cite")
    }
    assert (line["title"], line["abstract"], line["authors"]) == (TITLE, ABSTRACT, AUTHORS)


def api_ids(client, query: str) -> list[int]:
    """The strong matches of a search, every page of them, as the API lists them."""
    ids, page = [], 1
    while True:
        body = client.get(f"/api/search?{query}&page={page}").json()
        ids += [r["id"] for r in body["results"] if r["strong"]]
        if page >= body["pages"]:
            return ids
        page += 1


def exported_ids(client, query: str, extension: str) -> list[int]:
    """The papers of a search's download, in its order, read back with each format's parser."""
    text = download(client, f"/export.{extension}?{query}", extension)
    by_url = {p.abs_url or p.get_absolute_url(): p.pk for p in Paper.objects.all()}
    if extension == "jsonl":
        return [json.loads(line)["id"] for line in text.splitlines()]
    if extension == "bib":
        urls = [entry["url"] for entry in bib_entries(text)]
    elif extension == "ris":
        urls = [entry["urls"][0] for entry in rispy.loads(text)]
    else:
        urls = [row["url"] for row in csv.DictReader(io.StringIO(text))]
    return [by_url[url.removeprefix("http://testserver")] for url in urls]


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_a_search_downloads_every_page_of_its_results_in_the_page_order(
    client, catalogue, extension
):
    query = "q=model&mode=keyword"
    expected = api_ids(client, query)
    assert len(expected) > 20  # more than one page
    assert exported_ids(client, query, extension) == expected


def test_a_search_by_meaning_downloads_its_strong_matches_the_count_counts(client, catalogue):
    query = "q=serverless+federated+learning"
    body = client.get(f"/api/search?{query}").json()
    assert body["loosely_related"] > 0  # there are loose ones, and they are left out
    ids = exported_ids(client, query, "jsonl")
    assert len(ids) == body["total"]
    assert ids == api_ids(client, query)


def test_a_search_with_marked_examples_downloads_what_the_page_lists(client, catalogue):
    liked = api_ids(client, "q=serverless+federated+learning")[3]
    query = f"q=serverless+federated+learning&like={liked}"
    ids = exported_ids(client, query, "jsonl")
    assert ids == api_ids(client, query) and liked not in ids
    assert client.get("/export.bib?like=999999999").status_code == 400  # no such paper


def test_a_browse_downloads_the_filtered_list_in_its_sort_order(client, catalogue):
    query = "org=acme&sort=oldest"
    assert exported_ids(client, query, "csv") == api_ids(client, query)
    assert {p.organization.slug for p in Paper.objects.filter(pk__in=api_ids(client, query))} == {
        "acme"
    }


@override_settings(EXPORT_MAX_RESULTS=7)
def test_a_download_holds_at_most_the_cap_the_first_results(client, catalogue):
    assert exported_ids(client, "", "jsonl") == api_ids(client, "")[:7]


def test_the_download_is_named_after_the_query_in_ascii(client, catalogue):
    response = client.get("/export.bib?q=Café+über+serving!&mode=keyword")
    assert response["Content-Disposition"] == 'attachment; filename="papers-cafe-uber-serving.bib"'
    assert response["Content-Type"] == "application/x-bibtex; charset=utf-8"
    browse = client.get("/export.ris")
    assert browse["Content-Disposition"] == 'attachment; filename="papers.ris"'


def test_keys_are_unique_in_a_file_and_the_same_wherever_the_paper_is(client, special):
    twin = Paper.objects.create(
        title="Zyxquan revisited", abstract="Again.", published=date(2025, 6, 1),
        source="arxiv-jsonl", source_id="2506.00001", key="2506.00001", authors=["K. Gödel"],
    )  # fmt: skip
    text = download(client, "/export.bib?q=zyxquan&mode=keyword", "bib")
    keys = {entry["eprint"]: entry["ID"] for entry in bib_entries(text)}
    assert keys == {"2503.01234": "godel2025zyxquan", "2506.00001": "godel2025zyxquanb"}
    [alone] = bib_entries(download(client, f"/papers/{special.pk}/cite.bib", "bib"))
    assert alone["ID"] == "godel2025zyxquan"
    [twin_alone] = bib_entries(download(client, f"/papers/{twin.pk}/cite.bib", "bib"))
    assert twin_alone["ID"] == "godel2025zyxquan"  # alone in its file, it needs no suffix


def test_an_unknown_format_is_a_404_that_names_the_formats(client, catalogue):
    for url in ("/export.docx?q=serving", f"/papers/{paper(INFINITE).pk}/cite.pdf"):
        response = client.get(url)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/plain")
        assert (
            ".bib (BibTeX)" in response.content.decode() and ".jsonl" in response.content.decode()
        )


def test_a_bad_search_or_an_unknown_paper_is_refused_with_a_message(client, catalogue):
    response = client.get("/export.csv?from=2024-13")
    assert response.status_code == 400
    assert "from" in response.json()["errors"]
    missing = client.get("/papers/999999999/cite.bib")
    assert missing.status_code == 404
    assert missing.content.decode() == "No paper with id 999999999.\n"


def test_the_page_offers_the_downloads_beside_the_count(client, catalogue):
    html = client.get("/?q=serving&mode=keyword").content.decode()
    for extension in EXTENSIONS:
        assert f'href="/export.{extension}?q=serving&amp;mode=keyword"' in html
    assert "All " in html and "results" in html


def test_the_api_links_each_download(client, catalogue):
    body = client.get("/api/search?q=serving&page=2").json()
    assert body["exports"]["bib"] == "http://testserver/export.bib?q=serving"  # every page
    pk = paper(INFINITE).pk
    cite = client.get(f"/api/papers/{pk}").json()["cite"]
    assert cite == {e: f"http://testserver/papers/{pk}/cite.{e}" for e in EXTENSIONS}


def test_the_paper_page_offers_cite_with_a_bibtex_block(client, special):
    html = client.get(special.get_absolute_url()).content.decode()
    for extension in EXTENSIONS:
        assert f'href="/papers/{special.pk}/cite.{extension}"' in html
    assert "@misc{godel2025zyxquan," in html
