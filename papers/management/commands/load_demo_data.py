from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from papers.models import Paper


class Command(BaseCommand):
    help = (
        "Import the demo listing when the catalogue is empty, and embed it here; otherwise do "
        "nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path: str, **options):
        if Paper.objects.exists():
            self.stdout.write(f"catalogue has {Paper.objects.count()} papers; demo data not loaded")
            return
        # The demo listing was scraped on Mar 10, 2026.
        call_command("import_papers", path, year=2026, stdout=self.stdout, stderr=self.stderr)
        # Its 57 papers are embedded here, in seconds, rather than by the worker once the server
        # is up: `make run` then serves a demo searchable by meaning from its first page, and a
        # fresh checkout builds its model file (papers.onnx_embeddings, about 10 s) before the
        # first search instead of during it. The worker finds the queued papers done.
        try:
            call_command("embed_papers", sync=True, stdout=self.stdout, stderr=self.stderr)
        except Exception as exc:  # a model that will not load: serve by words all the same
            self.stderr.write(f"demo not embedded here ({exc}); the worker will try")
