"""`manage.py evaluate` end to end on a tiny BEIR data set (tests/data/minifact), in its own
database, and its refusals.

Sixteen abstracts say nothing about ranking quality; these tests check that every figure is
computed, that the evaluation catalogue never mixes with the user's papers, and that it does not
outlive the test.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from config.database import database_exists, drop_database
from evaluation.catalogue import eval_database_name
from papers.models import Paper

MINIFACT = Path(__file__).resolve().parent / "data" / "minifact"
DESCRIBED = MINIFACT.parent / "minifact_described"  # its corpus.txt names minifact's corpus
METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


def _fresh_minifact_database(*, sliced: bool):
    """Its name, for a test; dropped before and afterwards even if the command failed half-way."""
    name = eval_database_name(connection.settings_dict["NAME"], "minifact", sliced=sliced)
    drop_database(name)
    yield name
    drop_database(name)


@pytest.fixture
def eval_database(transactional_db):
    """The slice's database name."""
    yield from _fresh_minifact_database(sliced=True)


def evaluate(*args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("evaluate", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def tiny_beir(tmp_path) -> Path:
    """A well-formed BEIR folder with a train split only."""
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "title": "A", "text": "b"}\n')
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "a"}\n')
    (tmp_path / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    return tmp_path


def test_it_computes_every_metric_for_every_mode(eval_database, tmp_path):
    Paper.objects.create(title="The user's own paper", abstract="Untouched.", key="title:own")
    figures_file = tmp_path / "figures.json"

    table, _ = evaluate(
        str(MINIFACT), "--sample", "4", "--corpus-size", "6", "--json", str(figures_file), "--drop"
    )

    report = json.loads(figures_file.read_text())
    assert list(report["modes"]) == ["keyword", "semantic", "hybrid"]
    for figures in report["modes"].values():
        for metric in METRICS:
            assert isinstance(figures[metric], float)
            assert 0.0 <= figures[metric] <= 1.0
        assert figures["p50_ms"] > 0
        assert figures["p95_ms"] >= figures["p50_ms"]
        assert figures["queries"] == 4
        assert figures["errors"] == 0
    assert len(report["per_query"]["hybrid"]) == 4
    assert report["documents"] == 11  # the 5 judged for those 4 claims, then the first 6 others
    assert report["modes"]["semantic"]["mrr@10"] == 1.0  # each claim paraphrases its abstract
    assert report["split"] == "train"
    assert report["commit"] in table
    for header in ("nDCG@10", "Recall@10", "Recall@100", "MRR@10", "p50 ms", "p95 ms"):
        assert header in table
    # The slice went to its own database, which --drop removed; the user's papers are as they were.
    assert report["database"] == eval_database
    assert not database_exists(eval_database)
    assert list(Paper.objects.values_list("key", flat=True)) == ["title:own"]
    assert connection.settings_dict["NAME"] == settings.DATABASES["default"]["NAME"]


def test_it_reuses_the_catalogue_and_applies_overrides(eval_database, tmp_path):
    figures_file = tmp_path / "figures.json"
    slice_args = (str(MINIFACT), "--sample", "3", "--corpus-size", "5", "--modes", "keyword")
    _, first = evaluate(*slice_args)
    assert f"created database {eval_database}" in first

    _, second = evaluate(
        *slice_args, "--set", "SEARCH_BM25_B=0.5", "--set", "SEARCH_RRF_K=30", "--json",
        str(figures_file),
    )  # fmt: skip

    assert f"reusing database {eval_database}" in second
    assert "0 loaded" in second
    report = json.loads(figures_file.read_text())
    assert report["overrides"] == {"SEARCH_BM25_B": 0.5, "SEARCH_RRF_K": 30}
    assert report["settings"]["SEARCH_BM25_B"] == 0.5
    assert settings.SEARCH_BM25_B != 0.5  # only for that run


@pytest.fixture
def minifact_database(transactional_db):
    """The full minifact corpus's database, which every set judging that corpus shares."""
    yield from _fresh_minifact_database(sliced=False)


def test_it_evaluates_a_query_set_whose_corpus_lives_elsewhere(minifact_database, tmp_path):
    figures_file = tmp_path / "figures.json"

    table, log = evaluate(
        str(DESCRIBED), "--split", "test", "--modes", "keyword", "--json", str(figures_file)
    )

    report = json.loads(figures_file.read_text())
    assert report["dataset"] == "minifact_described"
    assert report["corpus"] == str(MINIFACT / "corpus.jsonl")
    assert (report["queries"], report["documents"]) == (3, 16)
    assert report["modes"]["keyword"]["errors"] == 0
    assert f"corpus: {MINIFACT / 'corpus.jsonl'}" in table
    # Named after the corpus, not the query set: minifact's own claims reuse these papers.
    assert f"created database {minifact_database}" in log
    _, again = evaluate(str(MINIFACT), "--sample", "2", "--modes", "keyword")
    assert f"reusing database {minifact_database}" in again
    assert "16 papers unchanged, 0 loaded" in again


def test_corpus_overrides_the_sets_own(minifact_database, tmp_path):
    moved = tmp_path / "elsewhere" / "minifact"
    moved.mkdir(parents=True)
    (moved / "corpus.jsonl").write_bytes((MINIFACT / "corpus.jsonl").read_bytes())
    figures_file = tmp_path / "figures.json"

    table, _ = evaluate(
        str(DESCRIBED), "--split", "test", "--modes", "keyword",
        "--corpus", str(moved / "corpus.jsonl"), "--json", str(figures_file),
    )  # fmt: skip

    report = json.loads(figures_file.read_text())
    assert report["corpus"] == str(moved / "corpus.jsonl")
    assert report["database"] == minifact_database
    assert f"--corpus {moved / 'corpus.jsonl'}" in table


def test_it_refuses_a_corpus_pointer_to_nothing(tiny_beir):
    (tiny_beir / "corpus.jsonl").unlink()
    (tiny_beir / "corpus.txt").write_text("../nowhere/corpus.jsonl\n")
    with pytest.raises(CommandError, match=r"corpus.txt: names ../nowhere/corpus.jsonl, which"):
        evaluate(str(tiny_beir))


def test_it_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="no such folder"):
        evaluate(str(tmp_path / "nowhere"))


def test_it_refuses_a_split_without_judgments(tiny_beir):
    with pytest.raises(CommandError, match=r"no judgments for split 'test' \(splits here: train\)"):
        evaluate(str(tiny_beir), "--split", "test")


def test_it_refuses_a_folder_without_a_corpus(tiny_beir):
    (tiny_beir / "corpus.jsonl").unlink()
    with pytest.raises(CommandError, match="corpus.jsonl: missing"):
        evaluate(str(tiny_beir))


def test_it_refuses_an_unknown_mode(tiny_beir):
    with pytest.raises(CommandError, match="--modes: choose from"):
        evaluate(str(tiny_beir), "--modes", "keyword,fuzzy")


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("DEBUG=1", "expected SEARCH_<NAME>=<number>"),
        ("SEARCH_NO_SUCH=1", "no setting SEARCH_NO_SUCH"),
        ("SEARCH_RRF_K=lots", "is not a number"),
        ("SEARCH_RRF_K=2.5", "takes a whole number"),
    ],
)
def test_it_refuses_a_bad_override(tiny_beir, pair, message):
    with pytest.raises(CommandError, match=message):
        evaluate(str(tiny_beir), "--set", pair)
