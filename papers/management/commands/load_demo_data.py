from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from papers.models import Paper


class Command(BaseCommand):
    help = "Import the demo listing when the catalogue is empty; otherwise do nothing."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path: str, **options):
        if Paper.objects.exists():
            self.stdout.write(f"catalogue has {Paper.objects.count()} papers; demo data not loaded")
            return
        # The demo listing was scraped on Mar 10, 2026.
        call_command("import_papers", path, year=2026, stdout=self.stdout, stderr=self.stderr)
