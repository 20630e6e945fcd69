from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from papers.ingest import ParseError
from papers.ingest.daily_papers import parse_file
from papers.loader import upsert_papers


class Command(BaseCommand):
    help = "Import Hugging Face Daily Papers listings (the format of papers/demo/daily_papers.txt)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument(
            "--year",
            type=int,
            default=date.today().year,
            help="the year of the listing's own date line (default: this year); "
            "dates without a year take it, or the year before if that is after the listing",
        )

    def handle(self, *args, paths: list[Path], year: int, **options):
        # Parse every file before writing anything: bad input leaves the catalogue as it was.
        records = []
        for path in paths:
            try:
                records.extend(parse_file(path, year=year))
            except ParseError as exc:
                raise CommandError(str(exc)) from None
        with tqdm(total=len(records), unit="paper", desc="importing", disable=None) as bar:
            summary = upsert_papers(records, on_batch=bar.update)
        for reason in summary.skipped:
            self.stderr.write(f"skipped {reason}")
        self.stdout.write(str(summary))
