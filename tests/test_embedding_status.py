"""`manage.py embed_papers` (--sync, --all, --status, queueing) and failures of the model."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import F, Q
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from papers.embeddings import get_embedder
from papers.indexing import embedding_status
from papers.models import Paper
from papers.tasks import QUEUE
from tests.catalogue import import_seed

MAX_ATTEMPTS = 2
BROKEN_MODEL = "/nonexistent/sentence-transformers-model"


def embed_papers(*args: str) -> list[str]:
    out = StringIO()
    call_command("embed_papers", *args, stdout=out)
    return out.getvalue().strip().splitlines()


@pytest.fixture
def broken_model():
    """The configured model cannot be loaded: a deleted folder, a typo in EMBEDDING_MODEL."""
    get_embedder.cache_clear()
    with override_settings(EMBEDDING_MODEL=BROKEN_MODEL, EMBEDDING_MAX_ATTEMPTS=MAX_ATTEMPTS):
        yield
    get_embedder.cache_clear()


def run_worker() -> None:
    """django_tasks_db's own worker loop, in this process, until no task is due."""
    Worker(
        queue_names=[QUEUE],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def test_status_counts_a_fresh_import_as_pending(db):
    import_seed()
    assert embed_papers("--status") == ["0 indexed, 57 pending, 0 failed of 57 papers"]
    assert not DBTaskResult.objects.exists()  # --status only reports


def test_status_of_an_empty_catalogue(db):
    assert embed_papers("--status") == ["0 indexed, 0 pending, 0 failed of 0 papers"]


def test_it_queues_the_papers_that_need_a_vector(demo_catalogue):
    Paper.objects.filter(title__startswith="TPI-LLM").update(abstract="Edited.")
    Paper.objects.filter(title__startswith="LIFL:").update(embedding_model="another-model")

    assert embed_papers() == [
        "queued 2 papers in 1 tasks for the worker",
        "55 indexed, 2 pending, 0 failed of 57 papers",
    ]
    (task,) = DBTaskResult.objects.all()
    assert task.queue_name == QUEUE
    stale = Paper.objects.filter(Q(title__startswith="TPI-LLM") | Q(title__startswith="LIFL:"))
    assert sorted(task.args_kwargs["args"][0]) == sorted(stale.values_list("pk", flat=True))


@override_settings(EMBEDDING_TASK_SIZE=20)
def test_it_queues_in_tasks_of_the_task_size(db):
    import_seed()
    assert embed_papers()[0] == "queued 57 papers in 3 tasks for the worker"
    sizes = sorted(len(t.args_kwargs["args"][0]) for t in DBTaskResult.objects.all())
    assert sizes == [17, 20, 20]


def test_sync_embeds_everything_here(db):
    import_seed()
    assert embed_papers("--sync") == [
        "embedded 57 papers",
        "57 indexed, 0 pending, 0 failed of 57 papers",
    ]
    assert not DBTaskResult.objects.exists()  # no worker involved
    assert embed_papers("--sync")[0] == "embedded 0 papers"  # nothing left to do


def test_all_reembeds_everything(demo_catalogue):
    Paper.objects.exclude(pk__in=Paper.objects.order_by("pk")[:5].values("pk")).delete()  # speed
    started = timezone.now()
    assert embed_papers("--all", "--sync") == [
        "embedded 5 papers",
        "5 indexed, 0 pending, 0 failed of 5 papers",
    ]
    assert not Paper.objects.exclude(embedded_at__gte=started).exists()


def test_all_queues_everything(demo_catalogue):
    assert embed_papers("--all")[0] == "queued 57 papers in 1 tasks for the worker"


def test_a_model_that_fails_is_recorded_retried_and_given_up_on(transactional_db, broken_model):
    import_seed()  # committed: queues one task for the 57 papers
    assert DBTaskResult.objects.count() == 1

    for attempt in range(1, MAX_ATTEMPTS + 1):
        run_worker()
        # The task itself never fails: the queue moves on, and the papers carry the error.
        assert not DBTaskResult.objects.failed().exists()
        assert [r.return_value for r in DBTaskResult.objects.successful()] == [0] * attempt
        assert set(Paper.objects.values_list("embedding_attempts", flat=True)) == {attempt}
        for error in Paper.objects.values_list("embedding_error", flat=True):
            assert error.startswith("ImproperlyConfigured: ")
            assert BROKEN_MODEL in error
        # A retry is queued for later, not now, while attempts are left.
        retries = DBTaskResult.objects.ready()
        assert not retries.exists()
        waiting = DBTaskResult.objects.filter(status="READY")
        if attempt < MAX_ATTEMPTS:
            assert waiting.count() == 1
            (retry,) = waiting
            assert retry.run_after > timezone.now()
            assert len(retry.args_kwargs["args"][0]) == 57
            waiting.update(run_after=timezone.now())  # skip the wait
        else:
            assert not waiting.exists()

    assert embedding_status() == {"total": 57, "indexed": 0, "pending": 0, "failed": 57}
    assert {p.embedding_state for p in Paper.objects.all()} == {"failed"}
    assert embed_papers("--status") == ["0 indexed, 0 pending, 57 failed of 57 papers"]
    assert embed_papers()[0] == "queued 0 papers in 0 tasks for the worker"


def test_papers_given_up_on_are_retried_by_all(db):
    import_seed()
    Paper.objects.exclude(pk__in=Paper.objects.order_by("pk")[:3].values("pk")).delete()
    Paper.objects.update(
        embedding_attempts=settings.EMBEDDING_MAX_ATTEMPTS,
        embedding_error="RuntimeError: out of memory",
    )
    assert embedding_status()["failed"] == 3
    assert embed_papers("--sync")[0] == "embedded 0 papers"

    assert embed_papers("--all", "--sync")[-1] == "3 indexed, 0 pending, 0 failed of 3 papers"
    assert set(Paper.objects.values_list("embedding_error", flat=True)) == {""}


def test_the_footers_backlog_agrees_with_the_exact_counts_and_estimates_the_time_left(db):
    from datetime import timedelta

    from papers.indexing import backlog
    from search.templatetags.search_tags import duration

    import_seed()
    first = list(Paper.objects.order_by("pk").values_list("pk", flat=True)[:7])
    Paper.objects.filter(pk__in=first[:3]).update(
        embedding_attempts=settings.EMBEDDING_MAX_ATTEMPTS
    )
    # Three embedded in batches of 1 and 2, 10 s apart: 2 papers in 10 s, 0.2 a second. One
    # more, 5 minutes before them, is an idle gap the rate leaves out. 50 still waiting.
    current = {
        "embedding": [0.1] * settings.EMBEDDING_DIMENSIONS,
        "embedding_model": settings.EMBEDDING_MODEL,
        "embedding_hash": F("content_hash"),
    }
    now = timezone.now()
    for ids, ago in ((first[3:4], 370), (first[4:5], 70), (first[5:7], 60)):
        Paper.objects.filter(pk__in=ids).update(**current, embedded_at=now - timedelta(seconds=ago))
    exact = embedding_status()
    status = backlog(Paper.objects.count())
    assert (status.total, status.indexed, status.pending, status.failed) == (
        exact["total"],
        exact["indexed"],
        exact["pending"],
        exact["failed"],
    )
    assert status.pending == 50
    assert status.rate == pytest.approx(0.2)
    assert status.seconds_left == pytest.approx(50 / 0.2)
    assert duration(status.seconds_left) == "4 min"
    assert [duration(s) for s in (40, 600, 3 * 86400)] == ["40 s", "10 min", "3 days"]
