"""Background work, through Django's Tasks API (django-tasks backport, django_tasks_db backend)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from papers.chunks import chunks
from papers.indexing import embed_ids, workable

QUEUE = "embeddings"
RETRY_DELAY = timedelta(seconds=30)  # failed texts wait this long times their attempt number
BUSY_DELAY = timedelta(seconds=20)  # papers another worker holds: look again after this


@task(queue_name=QUEUE)
def embed_papers(paper_ids: list[int]) -> int:
    """Embed the given papers if they still need it; returns how many vectors it wrote."""
    outcome = embed_ids(paper_ids)
    if outcome.failed:
        enqueue_embedding(outcome.failed, delay=RETRY_DELAY)
    if outcome.busy:
        # Usually another worker finishes them; if it died instead, this follow-up does.
        enqueue_embedding(outcome.busy, delay=BUSY_DELAY)
    return outcome.written


def enqueue_embedding(ids: Iterable[int], *, delay: timedelta | None = None) -> int:
    """Queue embed tasks for ids in chunks of EMBEDDING_TASK_SIZE; returns the task count."""
    runner = embed_papers.using(run_after=timezone.now() + delay) if delay else embed_papers
    count = 0
    for chunk in chunks(sorted(set(ids)), settings.EMBEDDING_TASK_SIZE):
        runner.enqueue(list(chunk))
        count += 1
    return count


def enqueue_stale(*, everything: bool = False) -> tuple[int, int]:
    """Queue every paper that needs a vector (all papers with everything); (papers, tasks)."""
    from papers.models import Paper

    papers = Paper.objects.all() if everything else workable()
    ids = list(papers.values_list("pk", flat=True))
    return len(ids), enqueue_embedding(ids)
