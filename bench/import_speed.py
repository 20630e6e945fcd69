"""Import speed: parsing a listing, writing papers through the app's loader, and a whole
arXiv snapshot through `manage.py import_papers`.

    .venv/bin/python bench/import_speed.py [--n 5183] [--rounds 2] [--lines 20000]
        [--corpus ../shared/eval/scifact] [--only snapshot]

Parsing: the demo Daily Papers listing, parsed --rounds × 20 times. Writing: the first N SciFact
abstracts (../shared/eval/scifact/corpus.jsonl) through `papers.loader.upsert_papers`, exactly as
`import_papers` writes, into a throw-away database on the same server (dropped at the end):

- "new": every paper inserted, into an empty catalogue;
- "new, postings off": the same with the postings triggers disabled (papers.PaperTerm; the loader
  before keyword search read them), to show what keeping BM25's postings costs an import;
- "unchanged": the same papers again, nothing to write.

Rounds alternate the two "new" variants so that both see the same machine load.

Snapshot: a synthetic arxiv-jsonl file of --lines lines in the real format
(bench/synthetic_arxiv.py, sentences from the corpus), imported by `manage.py import_papers
--no-embeddings` in a child process, into an empty catalogue of the same throw-away database:
lines/s, and the child's peak RSS (flat whatever the file's size: parsers stream, the loader
holds one batch). Once without the postings triggers, once with them, then the same file again
(everything unchanged: what resuming an interrupted import costs).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchkit import ROOT, header, setup_django
from synthetic_arxiv import write_snapshot

CORPUS = ROOT.parent / "shared" / "eval" / "scifact"
DATABASE_SUFFIX = "_bench_import"
TRIGGERS = ("papers_paper_terms_insert", "papers_paper_terms_update")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5183, help="papers to write (default 5183)")
    parser.add_argument("--rounds", type=int, default=2, help="repetitions (default 2)")
    parser.add_argument(
        "--lines", type=int, default=20_000, help="snapshot lines (default 20000; 0: none)"
    )
    parser.add_argument(
        "--corpus", type=Path, default=CORPUS, help=f"a BEIR data set folder (default {CORPUS})"
    )
    parser.add_argument("--only", choices=["snapshot"], help="run only the snapshot import")
    args = parser.parse_args()

    setup_django()

    from django.conf import settings
    from django.core.management import call_command

    from search.evaluation import (
        create_database,
        drop_database,
        load_dataset,
        using_database,
    )

    database = settings.DATABASES["default"]["NAME"] + DATABASE_SUFFIX
    drop_database(database)
    create_database(database)
    timings: dict[str, list[float]] = {"new": [], "new, postings off": [], "unchanged": []}
    snapshot_rows: list[tuple[str, float, int]] = []
    try:
        with using_database(database):
            call_command("migrate", verbosity=0, interactive=False)
            if args.only != "snapshot":
                parse_times, parsed, listing = time_parsing(args.rounds)
                records = scifact_records(load_dataset(args.corpus, "train"), args.n)
                for _ in range(args.rounds):
                    for variant in ("new, postings off", "new"):
                        empty_catalogue()
                        set_postings_triggers(enabled=variant == "new")
                        timings[variant].append(timed_upsert(records))
                    timings["unchanged"].append(timed_upsert(records))
                set_postings_triggers(enabled=True)
            if args.lines:
                snapshot_rows = time_snapshot(args.lines, args.corpus / "corpus.jsonl", database)
    finally:
        drop_database(database)

    print(f"{header()} · best of {args.rounds}")
    if args.only != "snapshot":
        best_parse = min(parse_times)
        print(
            f"\nparse the demo listing ({len(parsed)} papers, {listing.stat().st_size:,} bytes): "
            f"{best_parse * 1000:.1f} ms, {len(parsed) / best_parse:,.0f} papers/s"
        )
        print(f"\nwrite {len(records)} SciFact abstracts with papers.loader.upsert_papers")
        print(f"{'variant':<20}{'seconds':>10}{'papers/s':>12}{'vs postings off':>18}")
        baseline = min(timings["new, postings off"])
        for variant, values in timings.items():
            best = min(values)
            print(
                f"{variant:<20}{best:>10.2f}{len(records) / best:>12,.0f}{baseline / best:>17.2f}x"
            )
    if snapshot_rows:
        print(f"\nimport_papers: synthetic arxiv-jsonl snapshot of {args.lines:,} lines")
        print(f"{'variant':<28}{'seconds':>10}{'lines/s':>10}{'peak RSS':>12}")
        for variant, seconds, rss in snapshot_rows:
            print(
                f"{variant:<28}{seconds:>10.1f}{args.lines / seconds:>10,.0f}{rss / 1024:>9,.0f} MB"
            )


def time_parsing(rounds: int) -> tuple[list[float], list, Path]:
    from papers.ingest.daily_papers import parse_file

    listing = ROOT / "papers" / "demo" / "daily_papers.txt"
    parse_times = []
    for _ in range(rounds * 20):
        started = time.perf_counter()
        parsed = list(parse_file(listing, year=2026))
        parse_times.append(time.perf_counter() - started)
    return parse_times, parsed, listing


def time_snapshot(lines: int, corpus: Path, database: str) -> list[tuple[str, float, int]]:
    """(variant, seconds, peak RSS in KB) of import_papers on a synthetic snapshot."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = write_snapshot(Path(folder) / "snapshot.jsonl", lines, corpus)
        for variant, postings, empty in [
            ("new, postings off", False, True),
            ("new", True, True),
            ("again: all unchanged", True, False),
        ]:
            if empty:
                empty_catalogue()
            set_postings_triggers(enabled=postings)
            rows.append((variant, *timed_command(path, database)))
        set_postings_triggers(enabled=True)
    return rows


def timed_command(path: Path, database: str) -> tuple[float, int]:
    command = [sys.executable, "manage.py", "import_papers", str(path), "--no-embeddings"]
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=ROOT, env=database_env(database), stdout=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status:
        raise SystemExit(f"{' '.join(command)} failed with status {status}")
    print(child.stdout.read().strip(), file=sys.stderr)
    return seconds, usage.ru_maxrss


def database_env(database: str) -> dict[str, str]:
    """The environment of a manage.py child working on database, on the app's own server."""
    from urllib.parse import quote, urlencode

    from django.db import connection

    db = connection.settings_dict
    query = urlencode({"host": db["HOST"], "port": db["PORT"]}) if db["HOST"] else ""
    return {**os.environ, "DATABASE_URL": f"postgresql://{quote(db['USER'])}@/{database}?{query}"}


def scifact_records(dataset, n: int) -> list:
    from search.evaluation import SOURCE_PREFIX, BeirRecord

    items = list(dataset.corpus.items())[:n]
    return [
        BeirRecord(title=title, abstract=text, source=SOURCE_PREFIX, line=i, doc_id=doc)
        for i, (doc, (title, text)) in enumerate(items, 1)
    ]


def timed_upsert(records) -> float:
    from django_tasks_db.models import DBTaskResult

    from papers.loader import upsert_papers

    started = time.perf_counter()
    upsert_papers(records)
    seconds = time.perf_counter() - started
    DBTaskResult.objects.all().delete()  # the embedding tasks it queued: no worker serves these
    return seconds


def empty_catalogue() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE papers_paperterm, papers_paper, papers_organization CASCADE")


def set_postings_triggers(*, enabled: bool) -> None:
    from django.db import connection

    action = "ENABLE" if enabled else "DISABLE"
    with connection.cursor() as cursor:
        for trigger in TRIGGERS:
            cursor.execute(f"ALTER TABLE papers_paper {action} TRIGGER {trigger}")


if __name__ == "__main__":
    main()
