from __future__ import annotations

import argparse
from contextlib import contextmanager
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from papers import organization_indexes
from papers.sync import SyncError, arxiv, hf_daily
from papers.sync.http import Client
from papers.sync.report import Reporter

SOURCES = ("hf-daily", "arxiv")


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


class Command(BaseCommand):
    help = (
        "Import what a remote source has added since the last run: `hf-daily` (the Hugging Face "
        "daily-papers API, day by day) or `arxiv` (arXiv's OAI-PMH, sets in ARXIV_OAI_SETS). "
        "See docs/OPERATIONS.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", choices=SOURCES, metavar="SOURCE", help=" or ".join(SOURCES))
        parser.add_argument(
            "--since",
            type=iso_date,
            metavar="DATE",
            help="start here instead of where the last run stopped (needed for the first run); "
            "hf-daily: the first day to read; arxiv: OAI-PMH `from`, records changed on or after",
        )
        parser.add_argument(
            "--until",
            type=iso_date,
            metavar="DATE",
            help="hf-daily only: the last day to read (default: today, UTC)",
        )

    def handle(self, *args, source: str, since: date | None, until: date | None, **options):
        if until is not None and source != "hf-daily":
            raise CommandError("--until is for hf-daily only", returncode=2)
        if since and until and since > until:
            raise CommandError(f"--since {since} is after --until {until}", returncode=2)
        report = Reporter(say=self.stdout.write, warn=self.stderr.write)
        client = Client.from_settings()
        try:
            with self._only_run(source):
                if source == "hf-daily":
                    hf_daily.sync(client, since=since, until=until, report=report)
                else:
                    arxiv.sync(client, since=since, sets=settings.ARXIV_OAI_SETS, report=report)
        except SyncError as exc:
            self._index_organizations()  # for the papers written before it stopped
            raise CommandError(f"{exc}\n{self._so_far(source, report)}") from None
        except KeyboardInterrupt:
            raise CommandError(
                f"interrupted; {self._so_far(source, report)}; run again to go on", returncode=130
            ) from None
        self._index_organizations()
        self.stdout.write(self._so_far(source, report))

    def _index_organizations(self) -> None:
        """Once a run, outside the pages' transactions, so that an index is built concurrently
        (papers.organization_indexes)."""
        done = organization_indexes.sync()
        if done.changed:
            self.stdout.write(str(done))

    @staticmethod
    @contextmanager
    def _only_run(source: str):
        """Two runs for one source would fetch the same pages and race to insert the same papers:
        a PostgreSQL advisory lock, let go at the end or when the process dies, keeps it to one."""
        key = f"sync_papers {source}"
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key])
            if not cursor.fetchone()[0]:
                raise CommandError(f"another `sync_papers {source}` is running; try again later")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])

    @staticmethod
    def _so_far(source: str, report: Reporter) -> str:
        unit = "day" if source == "hf-daily" else "page"
        plural = "" if report.pages == 1 else "s"
        return f"{source}: {report.pages} {unit}{plural} written, {report.total}"
