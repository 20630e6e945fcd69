"""Writes parsed records into the catalogue: idempotent upserts keyed by `PaperRecord.key`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from papers import keyword_index
from papers.chunks import chunks
from papers.ingest import PaperRecord
from papers.models import Organization, Paper

BATCH_SIZE = 500
# The fields a record sets; a paper whose stored values all equal these is "unchanged".
RECORD_FIELDS = (
    "title",
    "abstract",
    "published",
    "upvotes",
    "authors_count",
    "source",
    "source_id",
)


@dataclass
class ImportSummary:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped"
        )


def upsert_papers(
    records: Sequence[PaperRecord],
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
    queue_embeddings: bool = True,
) -> ImportSummary:
    """Insert new papers, update changed ones, leave the rest; one transaction per batch.

    Each batch's new and changed papers are written into the keyword index in the same
    transaction (findable by words once it commits), and queued for embedding after it unless
    queue_embeddings is false (a caller that embeds them itself, where no worker runs). Segments
    are merged once the import is done.
    """
    summary = ImportSummary()
    for batch in chunks(_drop_duplicates(records, summary), batch_size):
        with transaction.atomic():
            ids = _upsert_batch(batch, summary)
            keyword_index.flush(ids)
            if queue_embeddings:
                transaction.on_commit(lambda ids=ids: _enqueue_embedding(ids))
        summary.changed_ids.extend(ids)
        if on_batch:
            on_batch(len(batch))
    keyword_index.maintain()
    return summary


def _drop_duplicates(records: Sequence[PaperRecord], summary: ImportSummary) -> list[PaperRecord]:
    first_seen: dict[str, PaperRecord] = {}
    for record in records:
        if record.key in first_seen:
            earlier = first_seen[record.key]
            summary.skipped.append(
                f"line {record.line}: {record.title!r} repeats line {earlier.line}"
            )
            continue
        first_seen[record.key] = record
    return list(first_seen.values())


def _upsert_batch(batch: Sequence[PaperRecord], summary: ImportSummary) -> list[int]:
    organizations = _organizations(batch)
    existing = Paper.objects.in_bulk([r.key for r in batch], field_name="key")
    to_create, to_update = [], []
    for record in batch:
        values = {name: getattr(record, name) for name in RECORD_FIELDS}
        values["organization"] = organizations.get(record.organization_slug)
        paper = existing.get(record.key)
        if paper is None:
            to_create.append(Paper(key=record.key, **values))
        elif _apply(paper, values):
            to_update.append(paper)
        else:
            summary.unchanged += 1
    created = Paper.objects.bulk_create(to_create)
    if to_update:
        Paper.objects.bulk_update(
            to_update,
            [*RECORD_FIELDS, "organization", "embedding_attempts", "embedding_error", "updated_at"],
        )
    summary.new += len(created)
    summary.updated += len(to_update)
    return [p.pk for p in created] + [p.pk for p in to_update]


def _apply(paper: Paper, values: dict) -> bool:
    """Set changed values on paper; True if anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(paper, name) != value:
            setattr(paper, name, value)
            changed = True
    if changed:
        # New text deserves fresh embedding attempts, even if the old text failed.
        paper.embedding_attempts, paper.embedding_error = 0, ""
        paper.updated_at = timezone.now()  # bulk_update does not apply auto_now
    return changed


def _organizations(batch: Sequence[PaperRecord]) -> dict[str, Organization]:
    names = {r.organization_slug: r.organization_name for r in batch if r.organization_slug}
    found = Organization.objects.in_bulk(list(names), field_name="slug")
    missing = [Organization(slug=s, name=n) for s, n in names.items() if s not in found]
    for org in Organization.objects.bulk_create(missing, ignore_conflicts=True):
        found[org.slug] = org
    if missing:  # ignore_conflicts leaves pks unset; read back what now exists
        found = Organization.objects.in_bulk(list(names), field_name="slug")
    return found


def _enqueue_embedding(ids: list[int]) -> None:
    from papers.tasks import enqueue_embedding

    enqueue_embedding(ids)
