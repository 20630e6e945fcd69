from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from papers.tasks import enqueue_stale


class Command(DatabaseWorkerCommand):
    help = (
        "Run the task worker (django_tasks_db's db_worker). On start it first queues papers that "
        "still need an embedding, so work lost with a killed worker is picked up again."
    )

    def handle(self, *args, **options):
        papers, _ = enqueue_stale()
        if papers:
            self.stdout.write(f"queued {papers} papers that still need an embedding")
        return super().handle(*args, **options)
