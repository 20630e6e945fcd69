"""`manage.py import_papers` and papers.loader: idempotent re-import, edits, and bad input."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from papers.ingest.daily_papers import parse_file
from papers.loader import upsert_papers
from papers.models import Organization, Paper, embedded_q
from tests.catalogue import LISTING_YEAR, ROOT, SEED, import_seed

TPI_DATE_LINE = "Oct 1, 2024 8\n"
LIFL_OPENING = "Federated Learning (FL) typically involves"


def import_papers(*paths: Path | str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(
        "import_papers", *map(str, paths), "--year", str(LISTING_YEAR), stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def catalogue() -> tuple[list[tuple], list[tuple]]:
    """Everything an import may write, to compare before and after."""
    papers = Paper.objects.order_by("key").values_list(
        "key",
        "title",
        "abstract",
        "published",
        "upvotes",
        "authors_count",
        "organization__slug",
        "updated_at",
    )
    organizations = Organization.objects.order_by("slug").values_list("slug", "name")
    return list(papers), list(organizations)


def seed_lines() -> list[str]:
    return SEED.read_text(encoding="utf-8").splitlines(keepends=True)


def write_cut(tmp_path: Path, *, through_line: int) -> Path:
    """The seed listing cut after a given (1-based) line, as a download cut short would be."""
    path = tmp_path / f"cut-at-{through_line}.txt"
    path.write_text("".join(seed_lines()[:through_line]), encoding="utf-8")
    return path


def test_it_imports_the_demo_listing(db):
    out, err = import_papers(SEED)
    assert out.strip().splitlines()[-1] == "57 new, 0 updated, 0 unchanged, 0 skipped"
    assert err == ""
    assert Paper.objects.count() == 57
    assert Paper.objects.filter(published__isnull=False).count() == 54
    assert set(Paper.objects.values_list("source", flat=True)) == {"hf-daily"}


def test_the_demo_that_make_run_loads_is_searchable_by_meaning_at_once(db):
    """`make run` serves the demo as soon as load_demo_data returns: no paper waits for the
    worker to be found by meaning. A second run leaves the catalogue alone."""
    out = StringIO()
    call_command("load_demo_data", str(SEED), stdout=out)
    assert Paper.objects.count() == Paper.objects.filter(embedded_q()).count() == 57
    assert "embedded 57 papers" in out.getvalue()
    call_command("load_demo_data", str(SEED), stdout=(again := StringIO()))
    assert "demo data not loaded" in again.getvalue()


def test_the_demo_is_served_by_words_when_the_model_will_not_load(db, monkeypatch):
    import papers.indexing

    def broken(ids):
        raise RuntimeError("no model here")

    monkeypatch.setattr(papers.indexing, "embed_ids", broken)
    err = StringIO()
    call_command("load_demo_data", str(SEED), stdout=StringIO(), stderr=err)
    assert Paper.objects.count() == 57 and not Paper.objects.filter(embedded_q()).exists()
    assert "demo not embedded here (no model here); the worker will try" in err.getvalue()


def test_it_stores_the_irregular_entries(db):
    import_papers(SEED)
    ufo = Paper.objects.get(title__startswith="UFO^3")
    assert (ufo.organization.slug, ufo.organization.name) == ("microsoft", "Microsoft")
    dataflow = Paper.objects.get(title__startswith="DataFlow:")
    assert dataflow.organization.slug == "pekinguniversity"
    assert dataflow.organization.name == "Peking University"
    assert Paper.objects.get(title__startswith="TPI-LLM").upvotes == 8
    bare = Paper.objects.filter(published__isnull=True)
    assert bare.count() == 3
    assert not bare.filter(authors_count__isnull=False).exists()
    assert not bare.filter(organization__isnull=False).exists()
    assert Organization.objects.count() == 2


def test_reimport_changes_nothing(db):
    import_papers(SEED)
    before = catalogue()
    out, _ = import_papers(SEED)
    assert out.strip().splitlines()[-1] == "0 new, 0 updated, 57 unchanged, 0 skipped"
    assert catalogue() == before
    assert Paper.objects.count() == 57


def test_an_edited_listing_updates_only_the_changed_papers(
    demo_catalogue, tmp_path, django_capture_on_commit_callbacks
):
    text = SEED.read_text(encoding="utf-8")
    assert text.count(TPI_DATE_LINE) == 1 and text.count(LIFL_OPENING) == 1
    edited = tmp_path / "edited.txt"
    edited.write_text(
        text.replace(TPI_DATE_LINE, "Oct 1, 2024 9\n").replace(
            LIFL_OPENING, "Federated Learning (FL) usually involves"
        ),
        encoding="utf-8",
    )
    before = {row[0]: row for row in catalogue()[0]}

    with django_capture_on_commit_callbacks(execute=True):
        out, _ = import_papers(edited)

    assert out.strip().splitlines()[-1] == "0 new, 2 updated, 55 unchanged, 0 skipped"
    after = {row[0]: row for row in catalogue()[0]}
    changed = {key for key in after if after[key] != before[key]}
    lifl = Paper.objects.get(title__startswith="LIFL:")
    tpi = Paper.objects.get(title__startswith="TPI-LLM")
    assert changed == {lifl.key, tpi.key}
    assert lifl.abstract.startswith("Federated Learning (FL) usually involves")
    assert tpi.upvotes == 9
    # New text makes the vector stale; a new upvote count does not.
    assert lifl.embedding_state == "stale"
    assert tpi.embedding_state == "indexed"
    assert set(Paper.objects.exclude(embedded_q()).values_list("pk", flat=True)) == {lifl.pk}
    # ... and the changed paper is queued for the worker once the import has committed.
    queued = [id for task in DBTaskResult.objects.all() for id in task.args_kwargs["args"][0]]
    assert lifl.pk in queued


def test_the_loader_applies_a_repeated_entry_after_the_first(db):
    records = list(parse_file(SEED, year=LISTING_YEAR))
    changed = replace(records[0], upvotes=99)
    summary = upsert_papers([*records, changed])
    assert str(summary) == "57 new, 1 updated, 0 unchanged, 0 skipped"
    assert Paper.objects.get(key=records[0].key).upvotes == 99
    assert Paper.objects.count() == 57


def test_the_loader_queues_only_new_and_changed_papers(db):
    first = import_seed()
    assert first.queued == 57
    summary = upsert_papers(parse_file(SEED, year=LISTING_YEAR))
    assert (summary.new, summary.updated, summary.unchanged) == (0, 0, 57)
    assert summary.queued == 0


def test_a_different_year_updates_only_the_yearless_dates(db):
    import_papers(SEED)
    out = StringIO()
    call_command("import_papers", str(SEED), "--year", "2027", stdout=out)
    # Feb 26, Jan 5, Mar 3 and Feb 14 move; every date with a year stays.
    assert out.getvalue().strip().splitlines()[-1] == "0 new, 4 updated, 53 unchanged, 0 skipped"


# --- bad input -------------------------------------------------------------------------------


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, int | None, str]]:
    """name -> (path, line the error must name or None, words the message must contain)."""
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n\n")
    binary = tmp_path / "listing.gz"
    binary.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Mar 10\n\nCaf\xe9 systems\n\nAbstract.\n".encode("latin-1"))
    csv = tmp_path / "papers.csv"
    csv.write_text("title,abstract,published\nLIFL,Federated learning...,2024-05-05\n")
    prose = tmp_path / "notes.txt"
    prose.write_text(
        "Some notes about papers I liked.\n\nNone of this is a listing, "
        "though it mentions March 10 and May 5, 2024.\n"
    )
    seed_lines_ = seed_lines()
    assert seed_lines_[20].startswith("Batch Query Processing")  # line 21: a title
    assert seed_lines_[24:26] == ["  • 3 authors\n", "·\n"]  # lines 25-26: metadata, no date
    return {
        "empty": (empty, None, "file is empty"),
        "blank": (blank, None, "file is empty"),
        "corrupt gzip": (binary, None, "cannot read the gzip stream"),
        "not utf-8": (latin1, 3, "not UTF-8"),
        "csv": (csv, 1, "not a Daily Papers listing"),
        "prose": (prose, 1, "not a Daily Papers listing"),
        "title without abstract": (write_cut(tmp_path, through_line=21), 21, "no abstract"),
        "metadata cut short": (write_cut(tmp_path, through_line=26), 26, "incomplete metadata"),
        "missing": (tmp_path / "nowhere.txt", None, "No such file"),
        "directory": (tmp_path, None, "cannot read"),
    }


BAD = [
    "empty",
    "blank",
    "corrupt gzip",
    "not utf-8",
    "csv",
    "prose",
    "title without abstract",
    "metadata cut short",
    "missing",
    "directory",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_naming_file_and_line_and_changes_nothing(db, tmp_path, case):
    import_seed()
    before = catalogue()
    path, line, words = bad_files(tmp_path)[case]

    with pytest.raises(CommandError) as caught:
        import_papers(path)

    message = str(caught.value)
    assert "\n" not in message
    where = f"{path}:{line}: " if line else f"{path}: "
    assert message.startswith(where), message
    assert words in message
    assert catalogue() == before


def test_a_truncated_file_cut_after_a_partial_date_is_an_error(db, tmp_path):
    lines = seed_lines()
    assert lines[34] == "Jul 9, 2024 3\n"
    path = tmp_path / "cut.txt"
    path.write_text("".join(lines[:34]) + "Jul 9, 2", encoding="utf-8")
    with pytest.raises(CommandError, match=rf"^{path}:35: expected a date"):
        import_papers(path)


def test_a_good_file_with_a_bad_one_writes_nothing(db, tmp_path):
    bad = write_cut(tmp_path, through_line=21)
    with pytest.raises(CommandError, match=str(bad)):
        import_papers(SEED, bad)
    assert Paper.objects.count() == 0
    assert Organization.objects.count() == 0
    assert not DBTaskResult.objects.exists()


def test_the_command_line_fails_with_one_line_and_no_traceback(manage_py_env, tmp_path):
    import_seed()
    before = catalogue()
    bad = write_cut(tmp_path, through_line=26)

    done = subprocess.run(
        [sys.executable, "manage.py", "import_papers", str(SEED), str(bad), "--year", "2026"],
        cwd=ROOT,
        env=manage_py_env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"CommandError: {bad}:26: incomplete metadata block: expected who, '·' and a date"
    ]
    assert "Traceback" not in done.stdout + done.stderr
    assert catalogue() == before
