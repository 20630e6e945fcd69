"""Import speed: parsing a listing, and writing papers through the app's loader.

    .venv/bin/python bench/import_speed.py [--dataset DIR] [--n 5183] [--rounds 2]

Parsing: the demo Daily Papers listing, parsed --rounds × 20 times. Writing: the first N abstracts
of a BEIR data set (--dataset, by default SciFact at ../shared/eval/scifact) through
`papers.loader.upsert_papers`, exactly as `import_papers` writes, into a throw-away database on
the same server (dropped at the end):

- "new": every paper inserted, into an empty catalogue;
- "new, postings off": the same with the postings triggers disabled (papers.PaperTerm; the loader
  before keyword search read them), to show what keeping BM25's postings costs an import;
- "unchanged": the same papers again, nothing to write.

Rounds alternate the two "new" variants so that both see the same machine load.
"""

from __future__ import annotations

import argparse
import time

from benchkit import ROOT, add_dataset_argument, header, load_dataset, setup_django

DATABASE_SUFFIX = "_bench_import"
TRIGGERS = ("papers_paper_terms_insert", "papers_paper_terms_update")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dataset_argument(parser)
    parser.add_argument("--n", type=int, default=5183, help="papers to write (default 5183)")
    parser.add_argument("--rounds", type=int, default=2, help="repetitions (default 2)")
    args = parser.parse_args()

    setup_django()

    from django.conf import settings
    from django.core.management import call_command

    from config.database import create_database, drop_database, using_database
    from papers.ingest.daily_papers import parse_file

    listing = ROOT / "papers" / "demo" / "daily_papers.txt"
    parse_times = []
    for _ in range(args.rounds * 20):
        started = time.perf_counter()
        parsed = parse_file(listing, year=2026)
        parse_times.append(time.perf_counter() - started)

    records = scifact_records(load_dataset(args.dataset), args.n)
    database = settings.DATABASES["default"]["NAME"] + DATABASE_SUFFIX
    drop_database(database)
    create_database(database)
    timings: dict[str, list[float]] = {"new": [], "new, postings off": [], "unchanged": []}
    try:
        with using_database(database):
            call_command("migrate", verbosity=0, interactive=False)
            for _ in range(args.rounds):
                for variant in ("new, postings off", "new"):
                    empty_catalogue()
                    set_postings_triggers(enabled=variant == "new")
                    timings[variant].append(timed_upsert(records))
                timings["unchanged"].append(timed_upsert(records))
            set_postings_triggers(enabled=True)
    finally:
        drop_database(database)

    print(f"{header()} · best of {args.rounds}")
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
        print(f"{variant:<20}{best:>10.2f}{len(records) / best:>12,.0f}{baseline / best:>17.2f}x")


def scifact_records(dataset, n: int) -> list:
    from evaluation.catalogue import SOURCE_PREFIX, BeirRecord

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
