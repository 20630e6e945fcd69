"""Bad records are skipped and reported with file, line and reason; --strict, --dry-run; an import
stopped half-way (Ctrl-C, a cut-off file) resumes on a re-run without duplicates."""

from __future__ import annotations

import gzip
import json
import re
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from papers.ingest.formats import read_file
from papers.loader import upsert_papers
from papers.models import Organization, Paper
from tests.catalogue import ROOT

FIXTURES = Path(__file__).parent / "fixtures"
ARXIV_JSONL = FIXTURES / "arxiv.jsonl"


def import_papers(*args: str | Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_papers", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def arxiv_line(n: int, **fields) -> str:
    line = {
        "id": f"2101.{n:05d}",
        "title": f"Paper number {n}",
        "abstract": f"The abstract of paper {n}.",
        "authors_parsed": [["Author", f"A{n}", ""]],
        "categories": "cs.LG",
        "versions": [{"version": "v1", "created": "Fri, 1 Jan 2021 10:00:00 GMT"}],
    }
    return json.dumps({**line, **fields})


def snapshot(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def huge_vocabulary() -> str:
    """An abstract under the line limit whose tsvector passes PostgreSQL's 1 MB."""
    # PostgreSQL's limit is on the lexemes' text: 1 MB of it, here in 1.6 MB of abstract.
    return " ".join(f"q{i:05x}zzzz" for i in range(160_000))


BAD_LINES = {
    2: ('{"id": "2101.00002", "title": "cut', "bad JSON"),
    3: (arxiv_line(3, title=""), "no title"),
    4: (arxiv_line(4, abstract="   "), "'Paper number 4' has no abstract"),
    5: (arxiv_line(5, versions=[{"created": "Mon, 30 Feb 2021 10:00:00 GMT"}]), "impossible date"),
    6: (arxiv_line(6, id="2101.6"), "not an arXiv id: '2101.6'"),
    7: (arxiv_line(7, abstract=huge_vocabulary()), "string is too long for tsvector"),
}


@pytest.fixture
def bad_snapshot(tmp_path) -> Path:
    lines = [arxiv_line(1)] + [BAD_LINES[n][0] for n in sorted(BAD_LINES)] + [arxiv_line(8)]
    return snapshot(tmp_path / "snapshot.jsonl", lines)


def test_every_bad_record_is_skipped_and_reported_with_file_line_and_reason(db, bad_snapshot):
    out, err = import_papers(bad_snapshot)
    assert out.strip().splitlines()[-1] == "2 new, 0 updated, 0 unchanged, 6 skipped"
    reports = err.strip().splitlines()
    assert len(reports) == 6
    for report, (line, (_, reason)) in zip(reports, sorted(BAD_LINES.items()), strict=True):
        assert report.startswith(f"skipped {bad_snapshot}:{line}: "), report
        assert reason in report, report
    assert sorted(Paper.objects.values_list("source_id", flat=True)) == ["2101.00001", "2101.00008"]


def test_values_the_database_cannot_hold_are_skipped_before_any_write(db, tmp_path):
    items = [
        {"paper": {"id": "2101.00001", "title": "Fine", "summary": "Fine."}},
        {"paper": {"id": "2101.00002", "title": "Big org", "summary": "S.",
                   "organization": {"name": "acme", "fullname": "A" * 201}}},
        {"paper": {"id": "2101.00003", "title": "Many votes", "summary": "S.", "upvotes": 2**31}},
        {"paper": {"id": "2101.00004", "title": "Bad count", "summary": "S.", "upvotes": "12"}},
    ]  # fmt: skip
    path = tmp_path / "day.json"
    path.write_text("[\n" + ",\n".join(json.dumps(i) for i in items) + "\n]")
    out, err = import_papers(path)
    assert out.strip().splitlines()[-1] == "1 new, 0 updated, 0 unchanged, 3 skipped"
    assert f"{path}:3: organization name too long" in err
    assert f"{path}:4: upvotes is not a count: 2147483648" in err
    assert f"{path}:5: upvotes is not a count: '12'" in err
    assert not Organization.objects.exists()


def test_control_characters_are_removed_on_the_way_in(db, tmp_path):
    path = snapshot(
        tmp_path / "s.jsonl",
        [arxiv_line(1, title="Bell\u0007 rings\u001b", abstract="NUL\u0000 goes,\u0085 NEL too.")],
    )
    import_papers(path)
    paper = Paper.objects.get()
    assert (paper.title, paper.abstract) == ("Bell rings", "NUL goes, NEL too.")


def test_strict_makes_the_first_bad_record_fatal_with_nothing_written(db, bad_snapshot):
    with pytest.raises(CommandError) as caught:
        import_papers(bad_snapshot, "--strict", "--batch-size", "1")
    assert str(caught.value) == (
        f"{bad_snapshot}:2: bad JSON: Unterminated string starting at: line 1 column 31 "
        "(char 30) (--strict: nothing written)"
    )
    assert not Paper.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_strict_writes_nothing_when_the_database_refuses_a_record(db, tmp_path):
    path = snapshot(
        tmp_path / "s.jsonl",
        [arxiv_line(1), arxiv_line(2), arxiv_line(3, abstract=huge_vocabulary())],
    )
    with pytest.raises(CommandError, match="string is too long for tsvector"):
        import_papers(path, "--strict", "--batch-size", "1")
    assert not Paper.objects.exists()


def test_dry_run_reads_and_reports_without_writing(db, bad_snapshot):
    out, err = import_papers(bad_snapshot, "--dry-run")
    # The tsvector limit is the database's own: a dry run cannot see it.
    assert out.strip().splitlines()[-1] == "dry run: 3 records read, 5 skipped; nothing written"
    assert len(err.strip().splitlines()) == 5
    assert not Paper.objects.exists() and not DBTaskResult.objects.exists()


def test_an_import_stopped_between_batches_resumes_without_duplicates(db, tmp_path):
    path = snapshot(tmp_path / "s.jsonl", [arxiv_line(n) for n in range(1, 11)])
    asked = []

    def stop_after_two_batches() -> bool:
        asked.append(1)
        return len(asked) == 2

    first = upsert_papers(read_file(path), batch_size=3, should_stop=stop_after_two_batches)
    assert first.interrupted and first.new == 6
    assert Paper.objects.count() == 6

    again = upsert_papers(read_file(path), batch_size=3)
    assert str(again) == "4 new, 0 updated, 6 unchanged, 0 skipped"
    assert Paper.objects.count() == 10
    assert Paper.objects.values("key").distinct().count() == 10


def test_a_file_cut_off_mid_stream_keeps_what_came_before_and_resumes(db, tmp_path):
    lines = [arxiv_line(n) for n in range(1, 3001)]
    data = gzip.compress("\n".join(lines).encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])

    with pytest.raises(CommandError) as caught:
        import_papers(cut, "--batch-size", "100")
    assert re.match(
        rf"{cut}:\d+: cannot read the gzip stream: it ends too early", str(caught.value)
    )
    assert "the records before it are imported" in str(caught.value)
    imported = Paper.objects.count()
    assert 100 < imported < 3000

    whole = tmp_path / "whole.jsonl.gz"
    whole.write_bytes(data)
    out, _ = import_papers(whole)
    assert out.strip() == f"{3000 - imported} new, 0 updated, {imported} unchanged, 0 skipped"


def test_a_file_that_cannot_be_read_fails_before_anything_is_written(db, tmp_path):
    pretty = tmp_path / "one.json"
    pretty.write_text(json.dumps({"id": "2101.00001", "title": "T"}, indent=2))
    with pytest.raises(CommandError, match=rf"^{pretty}:1: one JSON object over several lines"):
        import_papers(ARXIV_JSONL, pretty)
    assert not Paper.objects.exists()


def test_the_format_option_overrides_detection(db, tmp_path):
    path = tmp_path / "papers.data"
    path.write_bytes(ARXIV_JSONL.read_bytes())
    out, _ = import_papers(path, "--format", "arxiv-jsonl")
    assert out.strip() == "3 new, 0 updated, 0 unchanged, 0 skipped"


# --- embedding work ------------------------------------------------------------------------------
def queued_ids() -> list[list[int]]:
    return [task.args_kwargs["args"][0] for task in DBTaskResult.objects.order_by("enqueued_at")]


def test_embedding_work_is_queued_in_tasks_the_worker_can_chew(
    db, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.EMBEDDING_TASK_SIZE = 4
    path = snapshot(tmp_path / "s.jsonl", [arxiv_line(n) for n in range(1, 11)])
    with django_capture_on_commit_callbacks(execute=True):
        summary = upsert_papers(read_file(path), batch_size=5)
    assert summary.queued == 10
    assert [len(ids) for ids in queued_ids()] == [4, 1, 4, 1]  # per batch, in tasks of at most 4
    assert sorted(i for ids in queued_ids() for i in ids) == sorted(
        Paper.objects.values_list("pk", flat=True)
    )


def test_no_embeddings_leaves_the_queue_alone(db, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        import_papers(ARXIV_JSONL, "--no-embeddings")
    assert Paper.objects.count() == 3
    assert not DBTaskResult.objects.exists()


# --- Ctrl-C ------------------------------------------------------------------------------------
def test_ctrl_c_stops_between_batches_and_a_rerun_finishes(manage_py_env, tmp_path):
    path = snapshot(tmp_path / "s.jsonl", [arxiv_line(n) for n in range(1, 6001)])
    command = [sys.executable, "manage.py", "import_papers", str(path), "--no-embeddings"]
    running = subprocess.Popen(
        [*command, "--batch-size", "20"],
        cwd=ROOT,
        env=manage_py_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not Paper.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    running.send_signal(signal.SIGINT)
    out, err = running.communicate(timeout=60)

    assert running.returncode == 130, err
    assert "stopping after this batch" in err and "Traceback" not in err
    assert "interrupted between batches" in err
    imported = Paper.objects.count()
    assert 0 < imported < 6000 and imported % 20 == 0  # whole batches only
    assert out.strip() == f"{imported} new, 0 updated, 0 unchanged, 0 skipped"

    done = subprocess.run(command, cwd=ROOT, env=manage_py_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip() == f"{6000 - imported} new, 0 updated, {imported} unchanged, 0 skipped"
    )
    assert Paper.objects.count() == 6000
