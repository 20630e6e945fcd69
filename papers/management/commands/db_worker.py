from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from ops import heartbeat
from papers import keyword_index
from papers.tasks import enqueue_stale


class Command(DatabaseWorkerCommand):
    help = (
        "Run the task worker (django_tasks_db's db_worker). On start it first queues papers that "
        "still need an embedding, so work lost with a killed worker is picked up again."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        # The stock default is the "default" queue only, which would never run the embedding
        # tasks (papers.tasks.QUEUE): a plain `manage.py db_worker` serves every queue.
        parser.set_defaults(queue_name="*")

    def handle(self, *args, **options):
        flushed = keyword_index.flush_all()
        if flushed:
            self.stdout.write(f"wrote {flushed} papers into the keyword index")
        papers, _ = enqueue_stale()
        if papers:
            self.stdout.write(f"queued {papers} papers that still need an embedding")
        stop = heartbeat.start()  # /healthz: this worker is alive, even when it has nothing to do
        try:
            return super().handle(*args, **options)
        finally:
            stop.set()
