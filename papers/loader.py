"""Writes records into the catalogue: batched, idempotent upserts keyed by `PaperRecord.key`.

Each batch is one transaction of a few set-based statements, whatever its size: the records are
COPied into a temporary table, and one statement merges them into papers_paper and says which
were new, updated or unchanged. No per-row ORM work: an import of a million lines is five hundred
such transactions. Each batch's new and changed papers go into the keyword index once it commits,
on a second connection that works while the next batch is written (keyword_index.BackgroundFlush;
inside a caller's transaction, as under strict, in the batch's own transaction instead), and the
index's segments are merged when the import ends. docs/PERFORMANCE.md has the figures.

Merging, so that one paper found in several sources is one paper:
- The key is the arXiv id when the record has one, else the normalized title (PaperRecord.key).
- A record sets what it says and never blanks what it does not: an empty value ("", (), None)
  keeps the stored one. So an arXiv snapshot adds authors and categories to a paper from the
  daily listing without resetting its upvotes or organization, and the listing adds upvotes back.
  When two sources both give a value, the later import's wins. `source` stays the format that
  first brought the paper in.
- A paper first known by its title (a listing gives no arXiv id) that is later seen with an arXiv
  id and the same normalized title becomes that arXiv paper (re-keyed, one row). A record known
  only by its title joins the arXiv paper with that title, when exactly one has it.
- The same key twice in one import applies both records, in order.

Safety: every record passes papers.ingest.checks first; one the database still refuses (a text
whose tsvector would pass 1 MB) is found by retrying its batch row by row and skipped with the
reason. Nothing of a failed batch is written; earlier batches stay, and a re-run resumes (records
already in are "unchanged"). With strict, the whole import is one transaction and the first bad
record stops it with nothing written.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.db import DataError, IntegrityError, OperationalError, connection, transaction

from papers import keyword_index, organization_indexes
from papers.ingest import PaperRecord, ParseError, Rejected
from papers.ingest.checks import check_record
from papers.ingest.records import title_key

# 2,000 records a transaction: big enough that per-statement costs vanish (7 statements a batch),
# small enough that Ctrl-C waits a second or two and a failed batch retried row by row is short.
BATCH_SIZE = 2000
MAX_REPORTED = 1000  # rejected records kept on the summary; all are counted and passed to on_skip
READ_AHEAD = True  # parse the next batch in a thread while the database writes this one
LOCK_ID = 80_150_001  # pg_advisory_xact_lock: two imports at once take turns batch by batch
DB_REFUSALS = (DataError, IntegrityError, OperationalError)


@dataclass
class ImportSummary:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: list[Rejected] = field(default_factory=list)  # the first MAX_REPORTED skipped
    read: int = 0  # records that passed the checks
    queued: int = 0  # papers queued for embedding
    interrupted: bool = False
    dry_run: bool = False
    org_indexes: organization_indexes.Sync | None = None  # built or dropped at the end

    def __str__(self) -> str:
        if self.dry_run:
            return f"dry run: {self.read} records read, {self.skipped} skipped; nothing written"
        counts = (
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.skipped} skipped"
        )
        indexes = self.org_indexes
        return f"{counts}; {indexes}" if indexes and indexes.changed else counts


class StrictImportError(Exception):
    """A bad record under strict=True; nothing of the import was written."""

    def __init__(self, rejected: Rejected):
        self.rejected = rejected
        super().__init__(str(rejected))


class ImportStopped(Exception):
    """should_stop() said stop under strict=True; nothing of the import was written."""


def upsert_papers(
    records: Iterable[PaperRecord | Rejected],
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
    on_skip: Callable[[Rejected], None] | None = None,
    queue_embeddings: bool = True,
    strict: bool = False,
    dry_run: bool = False,
    should_stop: Callable[[], bool] | None = None,
    index_organizations: bool = True,
) -> ImportSummary:
    """Insert new papers, merge into known ones, leave the rest; one transaction per batch.

    records: any iterable, consumed as it goes (memory holds a batch or two), in a thread of its
    own (READ_AHEAD): it must not use the database. Rejected items (what a parser skipped) are
    counted and reported like records that fail the checks; on_skip is called from that thread
    too. A ParseError raised by the iterable is raised after the records before it are written.
    on_batch(n): after each batch commits, with its number of records. on_skip(rejected): for
    each skipped record, as it is found. should_stop(): asked after each batch; True ends the
    import there (summary.interrupted). queue_embeddings: queue the new and changed papers for
    the worker after each commit (else leave them to `embed_papers`/the worker's start-up sweep).
    index_organizations: at the end, give each organization that has grown big its own vector
    index (papers.organization_indexes; summary.org_indexes says what was built).
    """
    summary = ImportSummary(dry_run=dry_run)

    def skip(rejected: Rejected) -> None:
        summary.skipped += 1
        if len(summary.rejected) < MAX_REPORTED:
            summary.rejected.append(rejected)
        if on_skip:
            on_skip(rejected)
        if strict:
            raise StrictImportError(rejected)

    batches = _checked_batches(records, batch_size, skip)
    # A second connection sees only committed batches: within a transaction, flush in it.
    in_transaction = strict or connection.in_atomic_block
    flusher = None if dry_run or in_transaction else keyword_index.BackgroundFlush()
    try:
        with transaction.atomic() if strict and not dry_run else nullcontext():
            for batch in _read_ahead(batches) if READ_AHEAD else batches:
                summary.read += len(batch)
                if not dry_run:
                    _write_batch(batch, summary, skip, queue_embeddings, flusher)
                if on_batch:
                    on_batch(len(batch))
                if should_stop and should_stop():
                    summary.interrupted = True
                    if strict and not dry_run:
                        raise ImportStopped("stopped: nothing written (--strict)")
                    break
    except BaseException:
        if flusher:
            flusher.abandon()  # fail or stop now; what it had not flushed stays pending
        raise
    if flusher:
        flusher.close()
    if not dry_run:
        # Merge the segments this import wrote, after flushing any paper left pending (by an
        # earlier import that was stopped, for one: its re-run finds those papers unchanged).
        keyword_index.flush_all()
        if index_organizations:
            summary.org_indexes = organization_indexes.sync()
    return summary


def _checked_batches(
    records: Iterable[PaperRecord | Rejected], size: int, skip: Callable[[Rejected], None]
) -> Iterator[list[PaperRecord]]:
    batch: list[PaperRecord] = []
    try:
        for item in records:
            checked = item if isinstance(item, Rejected) else check_record(item)
            if isinstance(checked, Rejected):
                skip(checked)
                continue
            batch.append(checked)
            if len(batch) >= size:
                yield batch
                batch = []
    except ParseError:
        if batch:  # what came before the unreadable part is good: write it, then stop
            yield batch
        raise
    if batch:
        yield batch


def _read_ahead(batches: Iterator[list[PaperRecord]]) -> Iterator[list[PaperRecord]]:
    """The batches, parsed and checked by a thread of their own one batch ahead, so that reading
    the next batch overlaps the database writing this one (the GIL is free while psycopg waits).
    Reading is ~170 µs of Python a snapshot line (20,000 synthetic lines: parse 13,500 lines/s,
    checks 22,700/s, plus COPY), about what PostgreSQL spends storing it on a quiet core: on two
    cores, overlapped instead of added. An exception in the reading (a ParseError, strict's first
    bad record) is raised here, in order, after the batches before it."""
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stopped = threading.Event()

    def put(item: tuple) -> bool:
        while not stopped.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put(("batch", batch)):
                    return
            put(("end", None))
        except BaseException as exc:  # noqa: BLE001 -- handed to the consumer, which raises it
            put(("error", exc))

    reader = threading.Thread(target=read, name="import-reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stopped.set()  # the consumer stopped early (Ctrl-C, an error): let the reader go


# --- one batch ----------------------------------------------------------------------------------
@dataclass
class _Row:
    record: PaperRecord
    key: str  # the key it is written under (an arXiv paper's, for a title that resolved to one)
    title_key: str
    rekey_from: str | None  # a title-keyed paper this arXiv record takes over


def _write_batch(
    batch: list[PaperRecord],
    summary: ImportSummary,
    skip: Callable[[Rejected], None],
    queue_embeddings: bool,
    flusher: keyword_index.BackgroundFlush | None,
) -> None:
    to_embed: list[int] = []
    written: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
        cursor.execute(CREATE_BATCH_TABLE)
        for group in _groups(_resolve(cursor, batch)):
            try:
                with transaction.atomic():
                    counts = _upsert(cursor, group)
            except DB_REFUSALS:
                if not connection.is_usable():
                    raise
                counts = _row_by_row(cursor, group, skip)
            summary.unchanged += counts.existing - counts.updated
            summary.updated += counts.updated
            summary.new += len(counts.inserted)
            to_embed += counts.inserted + counts.stale
            written += counts.inserted + counts.updated_ids
        # Findable by words once this commits (pending papers are read from their tsvectors),
        # and fast to find once their postings are in a segment.
        if flusher:
            transaction.on_commit(lambda: flusher.add(written))
        else:
            keyword_index.flush(written)
        if queue_embeddings and to_embed:
            summary.queued += len(to_embed)
            transaction.on_commit(lambda: _enqueue_embedding(to_embed))


def _resolve(cursor, batch: list[PaperRecord]) -> list[_Row]:
    """Each record's key, once the title-to-arXiv merges are decided (see the module's doc)."""
    rows = [_Row(r, r.key, title_key(r.title), None) for r in batch]
    lookup = {row.key for row in rows}
    lookup |= {f"title:{row.title_key}" for row in rows if row.record.source_id}
    cursor.execute("SELECT key FROM papers_paper WHERE key = ANY(%s)", [list(lookup)])
    exists = {key for (key,) in cursor.fetchall()}
    by_title = {
        row.title_key
        for row in rows
        if not row.record.source_id and row.key.startswith("title:") and row.key not in exists
    }
    arxiv_by_title: dict[str, set[str]] = {}
    if by_title:
        cursor.execute(ARXIV_PAPERS_BY_TITLE, [list(by_title)])
        arxiv_by_title = {tk: set(keys) for tk, keys in cursor.fetchall()}
    for row in rows:
        if row.record.source_id:
            titled = f"title:{row.title_key}"
            if row.key not in exists and titled in exists:
                row.rekey_from = titled
                exists.discard(titled)
            arxiv_by_title.setdefault(row.title_key, set()).add(row.key)
        elif row.key.startswith("title:") and row.key not in exists:
            found = arxiv_by_title.get(row.title_key, set())
            if len(found) == 1:
                row.key = next(iter(found))
        exists.add(row.key)
    return rows


def _groups(rows: list[_Row]) -> Iterator[list[_Row]]:
    """Consecutive runs in which no key is written twice: a repeat is applied after the first."""
    group: list[_Row] = []
    keys: set[str] = set()
    for row in rows:
        if row.key in keys or (row.rekey_from and row.rekey_from in keys):
            yield group
            group, keys = [], set()
        group.append(row)
        keys.add(row.key)
    if group:
        yield group


@dataclass
class _Counts:
    existing: int = 0
    updated: int = 0
    inserted: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)  # updated papers whose vector no longer fits


def _upsert(cursor, group: list[_Row]) -> _Counts:
    cursor.execute("TRUNCATE papers_import_batch")
    with cursor.copy(COPY_BATCH) as copy:
        for seq, row in enumerate(group):
            r = row.record
            copy.write_row(
                (
                    seq,
                    row.key,
                    row.rekey_from,
                    row.title_key,
                    r.source_id,
                    r.title,
                    r.abstract,
                    r.published,
                    r.upvotes,
                    r.authors_count,
                    r.organization_slug,
                    r.organization_name,
                    r.source,
                    list(r.authors),
                    list(r.categories),
                    r.doi,
                )
            )
    # Without statistics the planner guesses the temporary table's size; with them it probes
    # papers_paper's key index instead of scanning the catalogue.
    cursor.execute("ANALYZE papers_import_batch")
    if any(row.record.organization_slug for row in group):
        cursor.execute(INSERT_ORGANIZATIONS)
    if any(row.rekey_from for row in group):
        cursor.execute(REKEY)
    cursor.execute(MERGE)
    existing, updated, stale, inserted = cursor.fetchone()
    return _Counts(existing, len(updated), list(inserted), list(updated), list(stale))


def _row_by_row(cursor, group: list[_Row], skip: Callable[[Rejected], None]) -> _Counts:
    """The batch again one record at a time, skipping the ones the database refuses."""
    total = _Counts()
    for row in group:
        try:
            with transaction.atomic():
                counts = _upsert(cursor, [row])
        except DB_REFUSALS as exc:
            if not connection.is_usable():
                raise
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            skip(Rejected(row.record.path, row.record.line, f"the database refused it: {message}"))
            continue
        total.existing += counts.existing
        total.updated += counts.updated
        total.inserted += counts.inserted
        total.updated_ids += counts.updated_ids
        total.stale += counts.stale
    return total


def _enqueue_embedding(ids: list[int]) -> None:
    from papers.tasks import enqueue_embedding

    enqueue_embedding(ids)


# --- SQL ----------------------------------------------------------------------------------------
CREATE_BATCH_TABLE = """
CREATE TEMPORARY TABLE IF NOT EXISTS papers_import_batch (
    seq integer, key text, rekey_from text, title_key text, source_id text, title text,
    abstract text, published date, upvotes integer, authors_count integer, org_slug text,
    org_name text, source text, authors text[], categories text[], doi text
)
"""

COPY_BATCH = """
COPY papers_import_batch (seq, key, rekey_from, title_key, source_id, title, abstract, published,
    upvotes, authors_count, org_slug, org_name, source, authors, categories, doi) FROM STDIN
"""

ARXIV_PAPERS_BY_TITLE = """
SELECT title_key, array_agg(key) FROM papers_paper
WHERE source_id <> '' AND title_key = ANY(%s)
GROUP BY title_key
"""

INSERT_ORGANIZATIONS = """
INSERT INTO papers_organization (slug, name)
SELECT DISTINCT ON (org_slug) org_slug, org_name FROM papers_import_batch
WHERE org_slug IS NOT NULL
ORDER BY org_slug, seq
ON CONFLICT (slug) DO NOTHING
"""

REKEY = """
UPDATE papers_paper p SET key = b.key
FROM papers_import_batch b
WHERE b.rekey_from IS NOT NULL AND p.key = b.rekey_from
"""

# The fields a record may set; a known paper whose merged values all equal its stored ones is
# "unchanged" and not written at all.
MERGED = [
    "title",
    "abstract",
    "published",
    "upvotes",
    "authors_count",
    "organization_id",
    "source_id",
    "authors",
    "categories",
    "doi",
    "title_key",
    "byline",
]

MERGE = f"""
WITH merged AS (
    SELECT p.id, b.title, b.abstract,
        COALESCE(b.published, p.published) AS published,
        COALESCE(b.upvotes, p.upvotes) AS upvotes,
        COALESCE(b.authors_count, p.authors_count) AS authors_count,
        COALESCE(o.id, p.organization_id) AS organization_id,
        COALESCE(NULLIF(b.source_id, ''), p.source_id) AS source_id,
        CASE WHEN cardinality(b.authors) > 0 THEN b.authors ELSE p.authors END AS authors,
        CASE WHEN cardinality(b.categories) > 0 THEN b.categories ELSE p.categories END
            AS categories,
        COALESCE(NULLIF(b.doi, ''), p.doi) AS doi,
        b.title_key,
        COALESCE(o.name, po.name) AS org_name
    FROM papers_import_batch b
    JOIN papers_paper p ON p.key = b.key
    LEFT JOIN papers_organization o ON o.slug = b.org_slug
    LEFT JOIN papers_organization po ON po.id = p.organization_id
), wanted AS (
    SELECT m.*,
        concat_ws(' ', NULLIF(array_to_string(m.authors, ' '), ''), m.org_name) AS byline
    FROM merged m
), updated AS (
    UPDATE papers_paper p SET
        {", ".join(f"{name} = w.{name}" for name in MERGED)},
        updated_at = now(),
        -- New text deserves fresh embedding attempts, even if the old text failed.
        embedding_attempts = CASE WHEN p.title = w.title AND p.abstract = w.abstract
            THEN p.embedding_attempts ELSE 0 END,
        embedding_error = CASE WHEN p.title = w.title AND p.abstract = w.abstract
            THEN p.embedding_error ELSE '' END
    FROM wanted w
    WHERE p.id = w.id
      AND ({", ".join(f"p.{name}" for name in MERGED)})
          IS DISTINCT FROM ({", ".join(f"w.{name}" for name in MERGED)})
    RETURNING p.id, p.embedding_current
), inserted AS (
    INSERT INTO papers_paper (key, title_key, title, abstract, published, upvotes, authors_count,
        organization_id, source, source_id, authors, categories, doi, byline, created_at,
        updated_at, embedding_model, embedding_hash, embedding_attempts, embedding_error)
    SELECT b.key, b.title_key, b.title, b.abstract, b.published, COALESCE(b.upvotes, 0),
        b.authors_count, o.id, b.source, b.source_id, b.authors, b.categories, b.doi,
        concat_ws(' ', NULLIF(array_to_string(b.authors, ' '), ''), o.name), now(), now(),
        '', '', 0, ''
    FROM papers_import_batch b
    LEFT JOIN papers_organization o ON o.slug = b.org_slug
    WHERE NOT EXISTS (SELECT 1 FROM papers_paper p WHERE p.key = b.key)
    ORDER BY b.seq
    -- Only a writer outside the loader can get here first (imports hold LOCK_ID): skip it.
    ON CONFLICT (key) DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM merged), ARRAY(SELECT id FROM updated),
    ARRAY(SELECT id FROM updated WHERE NOT embedding_current),
    ARRAY(SELECT id FROM inserted)
"""
