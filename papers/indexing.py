"""Bring papers' embeddings up to date, safely under any number of concurrent workers.

Each batch is claimed with SELECT ... FOR UPDATE SKIP LOCKED inside one transaction that also
writes the vectors: a paper is embedded by exactly one worker, its text cannot change while it is
being embedded, and a worker that dies mid-batch releases its rows with its connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import Length
from django.utils import timezone

from papers.chunks import chunks
from papers.embeddings import get_embedder, paper_text, text_hash
from papers.models import Paper, embedded_q, failed_q, pending_q

logger = logging.getLogger(__name__)


@dataclass
class EmbedOutcome:
    written: int = 0
    failed: list[int] = field(default_factory=list)  # to retry later (attempts left)
    busy: list[int] = field(default_factory=list)  # locked by another worker right now


def workable(ids: Iterable[int] | None = None):
    """Papers that need a vector and still have attempts left."""
    papers = Paper.objects.filter(pending_q())
    return papers if ids is None else papers.filter(pk__in=list(ids))


def embed_ids(ids: Sequence[int]) -> EmbedOutcome:
    outcome = EmbedOutcome()
    for chunk in chunks(_longest_first(ids), settings.EMBEDDING_BATCH_SIZE):
        _embed_chunk(list(chunk), outcome)
    return outcome


def _longest_first(ids: Sequence[int]) -> list[int]:
    """The ids that still need a vector, longest text first: the model pads every text of a
    batch to the batch's longest, so batches of texts of about one length waste less work."""
    length = Length("title") + Length("abstract")
    return list(
        workable(ids).annotate(length=length).order_by("-length", "pk").values_list("pk", flat=True)
    )


def embed_here(ids: Sequence[int], *, progress: Callable[[int], None] | None = None) -> int:
    """Embed papers in this process instead of the worker (`embed_papers --sync`, `evaluate`),
    a task's worth at a time; progress(n) after each. Returns how many vectors were written."""
    written = 0
    for chunk in chunks(ids, settings.EMBEDDING_TASK_SIZE):
        written += embed_ids(chunk).written
        if progress:
            progress(len(chunk))
    return written


def _embed_chunk(chunk: list[int], outcome: EmbedOutcome) -> None:
    with transaction.atomic():
        papers = list(
            workable(chunk)
            .select_for_update(skip_locked=True, of=("self",))
            .only("id", "title", "abstract", "embedding_attempts")
        )
        if papers:
            _encode_and_save(papers, outcome)
    claimed = {p.pk for p in papers}
    outcome.busy.extend(workable(set(chunk) - claimed).values_list("pk", flat=True))


def _encode_and_save(papers: list[Paper], outcome: EmbedOutcome) -> None:
    texts = [paper_text(p.title, p.abstract) for p in papers]
    try:
        vectors = get_embedder().encode(texts)
    except Exception:
        # One bad text must not sink its neighbours: retry one by one to find it.
        logger.warning("batch of %d failed to embed; retrying one by one", len(papers))
        for paper, text in zip(papers, texts, strict=True):
            _encode_one(paper, text, outcome)
        return
    now = timezone.now()
    for paper, text, vector in zip(papers, texts, vectors, strict=True):
        _set_vector(paper, text, vector, now)
    _save_vectors(papers)
    outcome.written += len(papers)


def _encode_one(paper: Paper, text: str, outcome: EmbedOutcome) -> None:
    try:
        vector = get_embedder().encode([text])[0]
    except Exception as exc:
        paper.embedding_attempts += 1
        paper.embedding_error = f"{type(exc).__name__}: {exc}"[:2000]
        paper.save(update_fields=["embedding_attempts", "embedding_error"])
        logger.error(
            "paper %s failed to embed (attempt %d): %s", paper.pk, paper.embedding_attempts, exc
        )
        if paper.embedding_attempts < settings.EMBEDDING_MAX_ATTEMPTS:
            outcome.failed.append(paper.pk)
        return
    _set_vector(paper, text, vector, timezone.now())
    _save_vectors([paper])
    outcome.written += 1


def _set_vector(paper: Paper, text: str, vector, now) -> None:
    paper.embedding = vector
    paper.embedding_model = settings.EMBEDDING_MODEL
    paper.embedding_hash = text_hash(text)
    paper.embedded_at = now
    paper.embedding_error = ""


def _save_vectors(papers: list[Paper]) -> None:
    Paper.objects.bulk_update(
        papers, ["embedding", "embedding_model", "embedding_hash", "embedded_at", "embedding_error"]
    )


def embedding_status() -> dict[str, int]:
    """How many papers are searchable by meaning, waiting for it, or given up on."""
    return Paper.objects.aggregate(
        total=Count("pk"),
        indexed=Count("pk", filter=embedded_q()),
        pending=Count("pk", filter=pending_q()),
        failed=Count("pk", filter=failed_q()),
    )


# Papers without a current vector of the configured model, capped: read through the partial
# index paper_not_embedded and the index on embedding_model (`<>` written as two ranges, which
# an index can serve), not by scanning the table on every page view.
NOT_EMBEDDED_CAP = 100_000
NOT_EMBEDDED = """
    SELECT count(*) FROM (
        SELECT 1 FROM papers_paper x
        WHERE (x.embedding IS NULL OR NOT x.embedding_current)
           OR x.embedding_model < %(model)s OR x.embedding_model > %(model)s
        LIMIT %(not_embedded_cap)s
    ) capped"""
RATE_WINDOW_MINUTES = 10
# The rate is measured on the worker's recent batches (one embedded_at per batch, taken when its
# vectors are ready): papers written over the time between consecutive batches, gaps longer than
# RATE_MAX_GAP_SECONDS (idle workers, or one that died) left out. With several workers their
# batches interleave and the rate is their sum. At most RATE_SAMPLE papers are read, newest
# first, through the index on embedded_at, so a fast GPU worker does not make it slow.
RATE_MAX_GAP_SECONDS = 60
RATE_SAMPLE = 5000
RATE = """
    SELECT sum(n) / nullif(sum(gap), 0)
    FROM (
        SELECT n, extract(epoch FROM t - lag(t) OVER (ORDER BY t)) AS gap
        FROM (
            SELECT embedded_at AS t, count(*) AS n
            FROM (
                SELECT embedded_at FROM papers_paper
                WHERE embedded_at > now() - make_interval(mins => %(window)s)
                ORDER BY embedded_at DESC LIMIT %(rate_sample)s
            ) recent
            GROUP BY embedded_at
        ) batches
    ) gaps
    WHERE gap < %(max_gap)s"""
BACKLOG = f"""
SELECT ({NOT_EMBEDDED}),
       (SELECT count(*) FROM papers_paper WHERE embedding_attempts >= %(max_attempts)s
           AND (embedding IS NULL OR NOT embedding_current)),
       ({RATE})
"""


@dataclass
class Backlog:
    """The embedding backlog as the search page's footer shows it: cheap enough for every page
    view of a million-paper catalogue (each count reads an index, and the waiting count stops at
    NOT_EMBEDDED_CAP)."""

    total: int
    waiting: int  # without a current vector, failed ones included; capped
    failed: int
    rate: float  # papers embedded a second by the recent batches (RATE); 0 if none lately

    @property
    def capped(self) -> bool:
        return self.waiting >= NOT_EMBEDDED_CAP

    @property
    def pending(self) -> int:
        return max(self.waiting - self.failed, 0)

    @property
    def indexed(self) -> int:
        return max(self.total - self.waiting, 0)

    @property
    def seconds_left(self) -> float | None:
        """At the recent rate; None while nothing was embedded lately (no worker running)."""
        return self.pending / self.rate if self.pending and self.rate else None


def backlog(total: int) -> Backlog:
    """The backlog of a catalogue of `total` papers (the caller knows it: search's copy of the
    per-paper fields counts them without a scan)."""
    with connection.cursor() as cursor:
        cursor.execute(
            BACKLOG,
            {
                "model": settings.EMBEDDING_MODEL,
                "not_embedded_cap": NOT_EMBEDDED_CAP,
                "max_attempts": settings.EMBEDDING_MAX_ATTEMPTS,
                "window": RATE_WINDOW_MINUTES,
                "max_gap": RATE_MAX_GAP_SECONDS,
                "rate_sample": RATE_SAMPLE,
            },
        )
        waiting, failed, rate = cursor.fetchone()
    return Backlog(total, waiting, failed, float(rate or 0))
