from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from papers.indexing import embed_here, embedding_status, workable
from papers.models import Paper
from papers.tasks import enqueue_stale


class Command(BaseCommand):
    help = (
        "Queue every paper whose embedding is missing or stale (wrong model, or text changed) "
        "for the worker; --sync embeds here instead, --status only reports."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="re-embed every paper, fresh or not")
        parser.add_argument(
            "--sync", action="store_true", help="embed in this process, with a progress bar"
        )
        parser.add_argument(
            "--status", action="store_true", help="print indexed / pending / failed counts"
        )

    def handle(self, *args, all: bool, sync: bool, status: bool, **options):
        if status:
            self.print_status()
            return
        if all:
            # Marking every vector stale (and forgiving past failures) makes them all workable.
            Paper.objects.update(embedding_hash="", embedding_attempts=0, embedding_error="")
        if sync:
            self.embed_here()
        else:
            papers, tasks = enqueue_stale()
            self.stdout.write(f"queued {papers} papers in {tasks} tasks for the worker")
        self.print_status()

    def embed_here(self) -> None:
        ids = list(workable().values_list("pk", flat=True))
        with tqdm(total=len(ids), unit="paper", desc="embedding", disable=None) as bar:
            written = embed_here(ids, progress=bar.update)
        self.stdout.write(f"embedded {written} papers")

    def print_status(self) -> None:
        s = embedding_status()
        self.stdout.write(
            f"{s['indexed']} indexed, {s['pending']} pending, {s['failed']} failed "
            f"of {s['total']} papers"
        )
