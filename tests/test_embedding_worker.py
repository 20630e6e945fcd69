"""The embedding worker: real model, real PostgreSQL, real `manage.py db_worker` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from io import StringIO

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult
from pgvector.django import CosineDistance

from papers.indexing import embedding_status
from papers.ingest.daily_papers import parse_file
from papers.loader import upsert_papers
from papers.models import Paper, embedded_q
from papers.tasks import QUEUE, embed_papers, enqueue_embedding
from tests.catalogue import LISTING_YEAR, ROOT, SEED

WORKER = [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"]
WORKER_TIMEOUT = 300  # seconds; loading torch on a busy 2-core machine is most of it


def import_demo() -> None:
    call_command("import_papers", str(SEED), "--year", str(LISTING_YEAR), stdout=StringIO())


def start_worker(env: dict[str, str], *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*WORKER, *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(worker: subprocess.Popen) -> str:
    try:
        output, _ = worker.communicate(timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
        pytest.fail(f"worker still running after {WORKER_TIMEOUT}s:\n{output}")
    assert worker.returncode == 0, output
    return output


@pytest.fixture
def workers():
    """Started worker processes; whatever a failing test leaves running is killed before the
    database is flushed (a live worker's row locks would block the flush)."""
    started: list[subprocess.Popen] = []
    yield started
    for worker in started:
        if worker.poll() is None:
            worker.kill()
        worker.communicate()


def wait_for(condition, workers: list[subprocess.Popen], what: str) -> None:
    deadline = time.monotonic() + WORKER_TIMEOUT
    while not condition():
        for worker in workers:
            assert worker.poll() is None, worker.communicate()[0]
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def waiting_for_lock(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass", [table]
        )
        return cursor.fetchone()[0]


def assert_each_paper_is_its_own_nearest_neighbour() -> None:
    papers = list(Paper.objects.filter(embedded_q()).only("id", "embedding"))
    assert len(papers) == Paper.objects.count()
    for paper in papers:
        nearest = (
            Paper.objects.filter(embedded_q())
            .order_by(CosineDistance("embedding", paper.embedding))
            .values_list("pk", flat=True)
            .first()
        )
        assert nearest == paper.pk


def test_every_paper_is_its_own_nearest_neighbour(demo_catalogue):
    assert embedding_status() == {"total": 57, "indexed": 57, "pending": 0, "failed": 0}
    for paper in Paper.objects.all():
        assert paper.embedding_state == "indexed"
        assert paper.embedding_model == settings.EMBEDDING_MODEL
        assert paper.embedding_hash == paper.content_hash
        assert len(paper.embedding) == settings.EMBEDDING_DIMENSIONS
        assert np.linalg.norm(paper.embedding) == pytest.approx(1.0, abs=1e-4)
    assert_each_paper_is_its_own_nearest_neighbour()


def test_a_vector_is_kept_in_its_papers_row(demo_catalogue):
    """Not in TOAST, where pgvector puts it (migration papers.0016): ranking papers exactly
    by id reads one page a paper. A long abstract goes to TOAST first."""
    Paper.objects.filter(pk=Paper.objects.first().pk).update(abstract="long words " * 400)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE pg_column_toast_chunk_id(embedding) IS NULL),"
            " count(*) FILTER (WHERE pg_column_toast_chunk_id(abstract) IS NOT NULL)"
            " FROM papers_paper"
        )
        papers, inline, toasted_abstracts = cursor.fetchone()
    assert papers == inline == 57
    assert toasted_abstracts >= 1


def test_an_edited_abstract_is_stale_until_reembedded(demo_catalogue):
    paper = Paper.objects.get(title__startswith="TPI-LLM")
    old_vector = np.array(paper.embedding)
    paper.abstract = "We run 70B-scale language models on a cluster of phones."
    paper.save()  # as the admin would: no importer involved
    paper.refresh_from_db()

    assert paper.embedding_state == "stale"
    assert not Paper.objects.filter(embedded_q(), pk=paper.pk).exists()
    assert embedding_status() == {"total": 57, "indexed": 56, "pending": 1, "failed": 0}
    out = StringIO()
    call_command("embed_papers", "--status", stdout=out)
    assert out.getvalue().strip() == "56 indexed, 1 pending, 0 failed of 57 papers"

    assert embed_papers.call([paper.pk]) == 1

    paper.refresh_from_db()
    assert paper.embedding_state == "indexed"
    assert paper.embedding_hash == paper.content_hash
    assert not np.allclose(paper.embedding, old_vector)
    assert embedding_status()["indexed"] == 57
    assert_each_paper_is_its_own_nearest_neighbour()


def test_a_task_for_fresh_papers_writes_nothing(demo_catalogue):
    before = dict(Paper.objects.values_list("pk", "embedded_at"))
    assert embed_papers.call(list(before)) == 0
    assert dict(Paper.objects.values_list("pk", "embedded_at")) == before


def test_the_importer_queues_new_papers_after_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        import_demo()
    (task,) = DBTaskResult.objects.all()
    assert task.queue_name == QUEUE
    assert task.task_path == "papers.tasks.embed_papers"
    assert sorted(task.args_kwargs["args"][0]) == sorted(Paper.objects.values_list("pk", flat=True))


def test_the_loader_queues_nothing_when_told_not_to(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        summary = upsert_papers(parse_file(SEED, year=LISTING_YEAR), queue_embeddings=False)
    assert summary.new == 57
    assert callbacks == []
    assert not DBTaskResult.objects.exists()


def test_two_workers_at_once_embed_every_paper_exactly_once(manage_py_env, workers):
    import_demo()  # commits, then queues one task for all 57 papers
    ids = list(Paper.objects.values_list("pk", flat=True))
    enqueue_embedding(ids)
    enqueue_embedding(ids[::2])
    enqueue_embedding(ids[10:40])
    assert DBTaskResult.objects.count() == 4
    env = {**manage_py_env, "EMBEDDING_BATCH_SIZE": "8"}

    # A barrier: both workers start, load the model and block on the task table; then go at once.
    table = DBTaskResult._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        workers.extend([start_worker(env, "--queue-name", QUEUE) for _ in range(2)])
        wait_for(lambda: waiting_for_lock(table) == 2, workers, "both workers are ready")
    outputs = [finish(worker) for worker in workers]

    assert embedding_status() == {"total": 57, "indexed": 57, "pending": 0, "failed": 0}
    assert not DBTaskResult.objects.failed().exists()
    # Every write is counted by the task that made it: 57 in all, however the work was split.
    written = [r.return_value for r in DBTaskResult.objects.successful()]
    assert sum(written) == 57, (written, outputs)
    # The work was shared: each worker wrote some of the vectors.
    by_worker: dict[str, int] = {}
    for result in DBTaskResult.objects.successful():
        (worker_id,) = result.worker_ids
        by_worker[worker_id] = by_worker.get(worker_id, 0) + result.return_value
    assert len(by_worker) == 2 and all(by_worker.values()), by_worker
    assert_each_paper_is_its_own_nearest_neighbour()


def test_a_worker_killed_mid_batch_loses_nothing(manage_py_env, workers):
    import_demo()
    env = {**manage_py_env, "EMBEDDING_BATCH_SIZE": "2"}  # 29 committed batches of 2
    worker = start_worker(env, "--queue-name", QUEUE)
    workers.append(worker)

    wait_for(Paper.objects.filter(embedded_q()).exists, workers, "the worker embeds")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    embedded = Paper.objects.filter(embedded_q()).count()
    assert 0 < embedded < 57, "the worker finished before it could be killed mid-batch"
    assert DBTaskResult.objects.running().count() == 1  # its task, never to finish

    restarted = start_worker(env)  # as an operator would: no options, every queue
    workers.append(restarted)
    output = finish(restarted)

    assert f"queued {57 - embedded} papers that still need an embedding" in output
    assert embedding_status() == {"total": 57, "indexed": 57, "pending": 0, "failed": 0}
    written = sum(r.return_value for r in DBTaskResult.objects.successful())
    assert written == 57 - embedded
