"""bench/scale.py and its synthetic arXiv snapshot (bench/synthetic_arxiv.py), on a tiny corpus.

The figures of a 40-paper catalogue mean nothing; these tests check that the snapshot is what the
arxiv-jsonl importer will read, that the catalogue is built through the app's import path with
every paper searchable by meaning, that every table is printed, and that the catalogue is kept
for the next run and does not outlive the test.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from django.db import connection

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import scale  # noqa: E402
import synthetic_arxiv  # noqa: E402
from scale_catalogue import records_from_snapshot  # noqa: E402

from config.database import database_exists, drop_database, using_database  # noqa: E402

TOPICS = (
    ("Insulin resistance in obese mice", "insulin", "glucose", "adipose tissue"),
    ("Tumor growth and angiogenesis", "tumor", "endothelial cells", "vascular growth factor"),
    ("Gene expression in stem cells", "gene expression", "stem cells", "transcription factors"),
    ("Breast cancer screening outcomes", "breast cancer", "mammography", "mortality"),
    ("Vaccine efficacy against influenza", "vaccine", "antibody titres", "influenza"),
    ("Blood pressure and salt intake", "blood pressure", "sodium", "hypertension"),
    ("DNA repair after radiation damage", "DNA repair", "double-strand breaks", "radiation"),
    ("Immune response to bacterial infection", "immune response", "macrophages", "bacteria"),
    ("Dementia risk in older adults", "dementia", "cognitive decline", "older adults"),
    ("Antibiotic resistance in hospitals", "antibiotic resistance", "infection", "hospital"),
    ("Cholesterol and myocardial infarction", "cholesterol", "myocardial infarction", "statins"),
    ("Smoking and lung cancer incidence", "smoking", "lung cancer", "incidence"),
)


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A BEIR corpus.jsonl of 12 short abstracts, five sentences each."""
    path = tmp_path / "corpus.jsonl"
    with path.open("w") as out:
        for number, (title, a, b, c) in enumerate(TOPICS):
            text = (
                f"We studied {a} in a cohort of {100 + number} patients. "
                f"Changes in {b} were measured over two years. "
                f"The effect of {c} was larger than expected. "
                f"Results for {a} and {b} were consistent across sites. "
                f"These findings suggest that {c} matters for {a}."
            )
            out.write(json.dumps({"_id": str(1000 + number), "title": title, "text": text}))
            out.write("\n")
    return path


@pytest.fixture
def claims(tmp_path) -> Path:
    path = tmp_path / "queries.jsonl"
    path.write_text(
        '{"_id": "1", "text": "Insulin resistance rises with obesity."}\n'
        '{"_id": "2", "text": "Statins lower the risk of myocardial infarction."}\n'
    )
    return path


def snapshot_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- the snapshot ---------------------------------------------------------------------------
def test_a_snapshot_is_the_same_for_a_seed_and_the_start_of_a_bigger_one(corpus, tmp_path):
    small = synthetic_arxiv.write_snapshot(tmp_path / "a.jsonl", 30, corpus, seed=3)
    again = synthetic_arxiv.write_snapshot(tmp_path / "b.jsonl", 30, corpus, seed=3)
    bigger = synthetic_arxiv.write_snapshot(tmp_path / "c.jsonl", 50, corpus, seed=3)
    other = synthetic_arxiv.write_snapshot(tmp_path / "d.jsonl", 30, corpus, seed=4)

    assert small.read_bytes() == again.read_bytes()
    assert bigger.read_text().splitlines()[:30] == small.read_text().splitlines()
    assert other.read_bytes() != small.read_bytes()


def test_each_line_reads_as_arxiv_metadata(corpus, tmp_path):
    papers = snapshot_lines(synthetic_arxiv.write_snapshot(tmp_path / "s.jsonl", 200, corpus))
    corpus_ids = {str(1000 + n) for n in range(len(TOPICS))}

    assert len({p["id"] for p in papers}) == 200
    for paper in papers:
        assert re.fullmatch(r"\d{4}\.\d{5}", paper["id"])
        created = parsedate_to_datetime(paper["versions"][0]["created"])
        assert paper["id"][:4] == f"{created.year % 100:02d}{created.month:02d}"
        assert date(2015, 1, 1) <= created.date() <= date(2026, 10, 31)
        assert date.fromisoformat(paper["update_date"]) >= created.date()
        assert [v["version"] for v in paper["versions"]][0] == "v1"
        assert paper["title"] and paper["abstract"] and paper["categories"]
        assert paper["authors_parsed"] and paper["authors"]
        assert paper["corpus_doc"] in corpus_ids
        assert paper["organization"] is None or set(paper["organization"]) == {"name", "fullname"}


def test_about_four_in_ten_papers_have_an_organization_and_a_few_hold_most(corpus, tmp_path):
    papers = snapshot_lines(synthetic_arxiv.write_snapshot(tmp_path / "s.jsonl", 3000, corpus))
    names = [p["organization"]["name"] for p in papers if p["organization"]]
    counts = sorted((names.count(name) for name in set(names)), reverse=True)

    assert 0.35 < len(names) / len(papers) < 0.45
    assert counts[0] > 0.1 * len(names)  # the biggest: about 18% of them
    assert sum(counts[:10]) > 0.4 * len(names)
    assert counts.count(1) > 50  # and a long tail of organizations with a single paper
    assert names.count(synthetic_arxiv.big_organization().name) == counts[0]


def test_a_missing_corpus_says_which_file(tmp_path):
    with pytest.raises(synthetic_arxiv.CorpusError, match="nowhere.jsonl: no such file"):
        synthetic_arxiv.load_corpus(tmp_path / "nowhere.jsonl")


def test_records_carry_the_arxiv_id_first_version_date_and_organization(corpus, tmp_path):
    path = synthetic_arxiv.write_snapshot(tmp_path / "s.jsonl", 40, corpus)
    papers = snapshot_lines(path)

    records = list(records_from_snapshot(path, limit=30))

    assert len(records) == 30
    for record, paper in zip(records, papers, strict=False):
        assert record.key == f"arxiv:{paper['id']}"
        assert record.title == paper["title"]
        created = parsedate_to_datetime(paper["versions"][0]["created"])
        assert record.published == created.date()
        assert record.authors_count == len(paper["authors_parsed"])
        if paper["organization"]:
            assert record.organization_slug == paper["organization"]["name"]
            assert record.organization_name == paper["organization"]["fullname"]
        else:
            assert record.organization_slug is None


# --- the benchmark end to end ---------------------------------------------------------------
@pytest.fixture
def scale_database(transactional_db, monkeypatch, tmp_path):
    """The 40-paper catalogue's database, dropped before and after; outputs go to tmp_path."""
    monkeypatch.setattr(scale, "OUT", tmp_path / "out")
    name = f"{connection.settings_dict['NAME']}_scale_40"
    drop_database(name)
    yield name
    drop_database(name)


def test_it_builds_a_searchable_catalogue_and_prints_every_table(
    scale_database, corpus, claims, capsys, tmp_path, monkeypatch
):
    # One import process: forking the test process after other tests have started threads
    # (live servers, the browser's event loop) left children that wrote nothing, in the full
    # suite only. The bench itself forks from a fresh process.
    monkeypatch.setattr(scale, "IMPORT_JOBS", 1)
    args = ["--papers", "40", "--queries", "1", "--corpus", str(corpus)]
    args += ["--queries-file", str(claims)]

    scale.main(args)
    first = capsys.readouterr().out

    for heading in ("## Build: 40 papers", "## Sizes", "## search() latency", "## Baseline",
                    "recall@10", "| claims · big org |", "| browse · 2019–2021 |"):  # fmt: skip
        assert heading in first
    assert "reused" not in first
    assert "searches failed" not in first
    result = json.loads((tmp_path / "out" / "result-40.json").read_text())
    modes = {key.split(" | ")[0] for key in result["latency_ms"]}
    assert modes == {"keyword", "semantic", "hybrid", "any"}
    assert set(result["baseline_ms"]) == {"keyword", "semantic", "hybrid", "embed query"}
    assert "import (upsert_papers, " in " ".join(result["phases"])
    for figures in result["recall_at_10"].values():  # a paper of the exact ten counts in both
        assert all(w >= r for w, r in zip(figures["within"], figures["recall"], strict=True))

    with using_database(scale_database), connection.cursor() as cursor:
        from django_tasks_db.models import DBTaskResult

        from papers.models import Paper, embedded_q

        assert Paper.objects.count() == 40
        assert not Paper.objects.exclude(embedded_q()).exists()
        assert not DBTaskResult.objects.exists()  # the import's embedding tasks were dropped
        assert Paper.objects.filter(source_id__regex=r"^\d{4}\.\d{5}$").count() == 40
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'papers_paper'")
        assert "paper_embedding_hnsw" in {name for (name,) in cursor.fetchall()}

    scale.main([*args, "--skip-baseline", "--modes", "keyword"])
    second = capsys.readouterr().out

    assert "reused (built" in second
    assert "## Baseline" not in second
    assert database_exists(scale_database)


def test_a_missing_corpus_file_is_a_usage_error(tmp_path, claims, capsys):
    with pytest.raises(SystemExit) as exit_:
        scale.main(["--papers", "10", "--corpus", str(tmp_path / "none.jsonl"),
                    "--queries-file", str(claims)])  # fmt: skip

    assert exit_.value.code == 2
    assert "none.jsonl: no such file" in capsys.readouterr().err
