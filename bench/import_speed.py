"""Import speed: parsing a listing, writing papers through the app's loader, and a whole arXiv
snapshot through `manage.py import_papers`.

    .venv/bin/python bench/import_speed.py [--dataset DIR] [--n 5183] [--rounds 2]
        [--lines 20000] [--only snapshot]

Into a throw-away database on the same server (dropped at the end):

- Parsing: the demo Daily Papers listing, parsed --rounds × 20 times.
- Writing: the first N abstracts of a BEIR data set (--dataset, by default SciFact at
  ../shared/eval/scifact) through `papers.loader.upsert_papers`, as `import_papers` writes them:
  "new" into an empty catalogue, then "unchanged", the same papers again (nothing to write).
- Snapshot: a synthetic arxiv-jsonl file of --lines lines in the real format
  (bench/synthetic_arxiv.py, sentences from the data set's corpus), imported by `manage.py
  import_papers --no-embeddings` in a child process into an empty catalogue: lines/s, and the
  child's peak RSS (flat whatever the file's size: parsers stream, the loader holds a batch or
  two). Then the same file again: everything unchanged, what resuming an interrupted import costs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchkit import ROOT, add_dataset_argument, header, load_dataset, setup_django
from synthetic_arxiv import write_snapshot

DATABASE_SUFFIX = "_bench_import"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dataset_argument(parser)
    parser.add_argument("--n", type=int, default=5183, help="papers to write (default 5183)")
    parser.add_argument("--rounds", type=int, default=2, help="repetitions (default 2)")
    parser.add_argument(
        "--lines", type=int, default=20_000, help="snapshot lines (default 20000; 0: none)"
    )
    parser.add_argument("--only", choices=["snapshot"], help="run only the snapshot import")
    args = parser.parse_args()

    setup_django()

    from django.conf import settings
    from django.core.management import call_command

    from config.database import create_database, drop_database, using_database

    records = [] if args.only else scifact_records(load_dataset(args.dataset), args.n)
    corpus = args.dataset / "corpus.jsonl"
    if args.lines and not corpus.is_file():
        sys.exit(f"{corpus}: missing; pass --dataset DIR (a BEIR data set) for the snapshot")
    database = settings.DATABASES["default"]["NAME"] + DATABASE_SUFFIX
    drop_database(database)
    create_database(database)
    timings: dict[str, list[float]] = {"new": [], "unchanged": []}
    snapshot_rows: list[tuple[str, float, int]] = []
    try:
        with using_database(database):
            call_command("migrate", verbosity=0, interactive=False)
            if not args.only:
                parse_times, parsed, listing = time_parsing(args.rounds)
                for _ in range(args.rounds):
                    empty_catalogue()
                    timings["new"].append(timed_upsert(records))
                    timings["unchanged"].append(timed_upsert(records))
            if args.lines:
                empty_catalogue()
                snapshot_rows = time_snapshot(args.lines, corpus, database)
    finally:
        drop_database(database)

    print(header())
    if not args.only:
        best_parse = min(parse_times)
        print(
            f"\nparse the demo listing ({len(parsed)} papers, {listing.stat().st_size:,} bytes): "
            f"{best_parse * 1000:.1f} ms, {len(parsed) / best_parse:,.0f} papers/s"
        )
        print(
            f"\nwrite {len(records)} abstracts with papers.loader.upsert_papers, "
            f"best of {args.rounds}"
        )
        print(f"{'variant':<20}{'seconds':>10}{'papers/s':>12}")
        for variant, values in timings.items():
            best = min(values)
            print(f"{variant:<20}{best:>10.2f}{len(records) / best:>12,.0f}")
    if snapshot_rows:
        print(f"\nimport_papers: synthetic arxiv-jsonl snapshot of {args.lines:,} lines")
        print(f"{'variant':<24}{'seconds':>10}{'lines/s':>10}{'peak RSS':>12}")
        for variant, seconds, rss in snapshot_rows:
            print(
                f"{variant:<24}{seconds:>10.1f}{args.lines / seconds:>10,.0f}{rss / 1024:>9,.0f} MB"
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


def scifact_records(dataset, n: int) -> list:
    from evaluation.catalogue import SOURCE_PREFIX, BeirRecord

    items = list(dataset.corpus.items())[:n]
    return [
        BeirRecord(title=title, abstract=text, source=SOURCE_PREFIX, line=i, doc_id=doc)
        for i, (doc, (title, text)) in enumerate(items, 1)
    ]


def timed_upsert(records) -> float:
    from papers.loader import upsert_papers

    started = time.perf_counter()
    upsert_papers(records, queue_embeddings=False)  # no worker serves this database
    return time.perf_counter() - started


def time_snapshot(lines: int, corpus: Path, database: str) -> list[tuple[str, float, int]]:
    """(variant, seconds, peak RSS in KB) of import_papers on a synthetic snapshot."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_snapshot(Path(folder) / "snapshot.jsonl", lines, corpus)
        return [
            ("new", *timed_command(path, database)),
            ("again: all unchanged", *timed_command(path, database)),
        ]


def timed_command(path: Path, database: str) -> tuple[float, int]:
    command = [sys.executable, "manage.py", "import_papers", str(path), "--no-embeddings"]
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=ROOT, env=database_env(database), stdout=subprocess.PIPE, text=True
    )
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status:
        sys.exit(f"{' '.join(command)} failed with status {status}")
    print(output.strip(), file=sys.stderr)
    return seconds, usage.ru_maxrss


def database_env(database: str) -> dict[str, str]:
    """The environment of a manage.py child working on database, on the app's own server."""
    from urllib.parse import quote, urlencode

    from django.db import connection

    db = connection.settings_dict
    query = urlencode({"host": db["HOST"], "port": db["PORT"]}) if db["HOST"] else ""
    return {**os.environ, "DATABASE_URL": f"postgresql://{quote(db['USER'])}@/{database}?{query}"}


def empty_catalogue() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE papers_paper, papers_organization, papers_keywordsegment, "
            "papers_keywordpostings, papers_keyworddoc CASCADE"
        )


if __name__ == "__main__":
    main()
