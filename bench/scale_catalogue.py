"""The scale benchmark's catalogue: N synthetic papers in a database of their own, built fast.

Everything here runs on Django's default connection (bench/scale.py points it at the
`<database>_scale_<N>` database first). The papers go in through the app's own import path
(`papers.loader.upsert_papers`, so every trigger and generated column the app keeps is written as
an import writes it); only the vectors take a shortcut, since running the model on a million
texts would take days on this machine: each paper gets the real MiniLM vector of the corpus
document it mostly comes from, plus noise, written with one COPY and one UPDATE.

Build phases, each timed: the snapshot file, import (one process per core: the server does the
work), corpus vectors (cached in bench/out), paper vectors, compaction (VACUUM FULL: the UPDATE
leaves a dead copy of every row, which sequential scans would otherwise read), one CREATE INDEX
per secondary index of the papers table, then VACUUM ANALYZE (statistics and the visibility map,
as autovacuum would leave a live catalogue).

The secondary indexes of the papers table (every index no constraint needs: today HNSW, the two
GIN, the btrees on date and organization) are dropped before the import and built again, from
their own definitions, after the vectors: building each once is much faster than growing it row
by row, and an HNSW index grown by a million single UPDATEs would take hours. Nothing else of the
schema is touched, so whatever triggers and tables a new engine keeps are written by the import
as any import writes them. (Should a trigger ever need one of those indexes while papers are
inserted, keep it out of secondary_indexes.)
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime
from pathlib import Path

import numpy as np
from synthetic_arxiv import GENERATOR_VERSION, CorpusDoc

SOURCE = "arxiv-jsonl"
IMPORT_CHUNK = 5_000  # records per upsert_papers call: memory stays flat whatever N
VECTOR_BLOCK = 10_000  # papers per seeded noise draw and per COPY batch
# Noise added to a document's vector, as a norm: a paper keeps cosine ~0.86 with its document and
# ~0.74 with another paper drawn from it, about the similarity of related abstracts.
NOISE_NORM = 0.6
HNSW_BYTES_PER_VECTOR = 3_000  # maintenance_work_mem to hold the graph in memory (384 dims)


# --- the import path ------------------------------------------------------------------------
def records_from_snapshot(path: Path, *, limit: int | None = None) -> Iterator:
    """PaperRecords from an arxiv-jsonl snapshot, one per line, in file order.

    TODO: replace by the app's own arxiv-jsonl parser (papers.ingest) once that format lands;
    this adapter (with records_from_lines) exists only because there is none yet.
    """
    yield from records_from_lines(_numbered_lines(path, limit))


def records_from_lines(lines: Iterable[tuple[int, str]]) -> Iterator:
    """PaperRecords from (line number, arxiv-jsonl line) pairs. The organization is not an
    arXiv field: synthetic_arxiv writes it as {"name", "fullname"}, as Hugging Face does."""
    from django.utils.text import slugify

    from papers.ingest import PaperRecord

    for number, line in lines:
        row = json.loads(line)
        org = row.get("organization") or {}
        authors = row.get("authors_parsed") or []
        yield PaperRecord(
            title=" ".join(row["title"].split()),
            abstract=" ".join(row["abstract"].split()),
            source=SOURCE,
            line=number,
            published=_first_version_date(row.get("versions") or []),
            authors_count=len(authors) or None,
            organization_slug=slugify(org["name"]) if org.get("name") else None,
            organization_name=org.get("fullname") or org.get("name"),
            source_id=row["id"],
        )


def _numbered_lines(path: Path, limit: int | None) -> Iterator[tuple[int, str]]:
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if limit is not None and number > limit:
                return
            yield number, line


def _first_version_date(versions: list[dict]) -> date | None:
    if not versions:
        return None
    return parsedate_to_datetime(versions[0]["created"]).date()


def import_snapshot(
    path: Path, n: int, *, jobs: int = 1, progress: Callable[[int], None] | None = None
) -> int:
    """Upsert the first n papers of the snapshot, IMPORT_CHUNK lines per upsert_papers call, in
    `jobs` processes at once; returns how many papers the catalogue then holds.

    Nearly all of an import's time is the database's (generated columns, the postings triggers,
    WAL): 3.3 s of Python CPU in 32.7 s for 10,000 papers. Two processes keep both cores of the
    server busy. The loader queues embedding tasks after each batch; they are dropped as they
    come (no worker serves this database, and the vectors are written directly).
    """
    from django.db import connections

    from papers.models import Paper

    chunks = _chunks(_numbered_lines(path, n), IMPORT_CHUNK)
    if jobs <= 1:
        for chunk in chunks:
            written = _import_chunk(chunk)
            if progress:
                progress(written)
    else:
        connections.close_all()  # each process opens its own
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for written in pool.imap_unordered(_import_chunk, chunks):
                if progress:
                    progress(written)
        connections.close_all()
    _drop_queued_tasks()
    return Paper.objects.count()


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _import_chunk(lines: list[tuple[int, str]]) -> int:
    """One upsert_papers call; retried when two processes deadlock creating the same new
    organizations in different orders (the upsert is idempotent: a retry finishes the chunk)."""
    from django.db import OperationalError

    from papers.loader import upsert_papers

    records = list(records_from_lines(lines))
    for attempt in range(1, 6):
        try:
            upsert_papers(records, index_organizations=False)  # built with the other indexes
            break
        except OperationalError as exc:
            if "deadlock" not in str(exc) or attempt == 5:
                raise
            time.sleep(0.1 * attempt)
    _drop_queued_tasks()
    return len(records)


def _drop_queued_tasks() -> None:
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()


# --- vectors --------------------------------------------------------------------------------
def corpus_vectors(docs: list[CorpusDoc], corpus_path: Path, cache_dir: Path) -> np.ndarray:
    """The app's embedding of each corpus document (title + text as the app embeds a paper),
    in `docs` order, computed once and cached as .npy beside a note of what it was made from."""
    from django.conf import settings

    from papers.embeddings import get_embedder, paper_text

    digest = hashlib.sha256(corpus_path.read_bytes()).hexdigest()[:16]
    model = settings.EMBEDDING_MODEL
    name = f"corpus-{digest}-{hashlib.sha256(model.encode()).hexdigest()[:8]}"
    array_path, note_path = cache_dir / f"{name}.npy", cache_dir / f"{name}.json"
    ids = [doc.doc_id for doc in docs]
    if array_path.is_file() and note_path.is_file():
        note = json.loads(note_path.read_text())
        if note.get("ids") == ids and note.get("model") == model:
            return np.load(array_path)
    texts = [paper_text(doc.title, " ".join(doc.sentences)) for doc in docs]
    embedder = get_embedder()
    vectors = np.vstack(
        [embedder.encode(texts[i : i + 256]) for i in range(0, len(texts), 256)]
    ).astype(np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(array_path, vectors)
    note_path.write_text(json.dumps({"model": model, "corpus": str(corpus_path), "ids": ids}))
    return vectors


def paper_vectors(
    doc_rows: np.ndarray, base: np.ndarray, seed: int
) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, vectors) per VECTOR_BLOCK papers: the vector of each paper's corpus document
    (doc_rows[i] indexes base) plus gaussian noise, unit length, float32. Deterministic."""
    sigma = NOISE_NORM / np.sqrt(base.shape[1])
    for start in range(0, len(doc_rows), VECTOR_BLOCK):
        rows = doc_rows[start : start + VECTOR_BLOCK]
        rng = np.random.default_rng([seed, GENERATOR_VERSION, start // VECTOR_BLOCK])
        vectors = base[rows] + rng.standard_normal((len(rows), base.shape[1]), np.float32) * sigma
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        yield start, vectors.astype(np.float32, copy=False)


def all_paper_vectors(doc_rows: np.ndarray, base: np.ndarray, seed: int) -> np.ndarray:
    out = np.empty((len(doc_rows), base.shape[1]), np.float32)
    for start, vectors in paper_vectors(doc_rows, base, seed):
        out[start : start + len(vectors)] = vectors
    return out


def write_vectors(
    arxiv_ids: list[str],
    doc_rows: np.ndarray,
    base: np.ndarray,
    seed: int,
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """COPY every paper's vector (binary, into a temporary table) and set it with one UPDATE,
    marked as made by the configured model from the current text; returns the rows updated."""
    from django.conf import settings
    from pgvector.psycopg import register_vector
    from psycopg import sql

    from papers.models import Paper

    column = {name: Paper._meta.get_field(name).column for name in _VECTOR_FIELDS}
    with _raw_connection() as conn:
        register_vector(conn)
        vector_type = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attname = %s",
            [Paper._meta.db_table, column["embedding"]],
        ).fetchone()[0]
        dimensions = base.shape[1]
        conn.execute(
            f"CREATE TEMPORARY TABLE bench_vectors (source_id text, embedding vector({dimensions}))"
        )
        with conn.cursor() as cursor:
            for start, vectors in paper_vectors(doc_rows, base, seed):
                copy_sql = "COPY bench_vectors (source_id, embedding) FROM STDIN (FORMAT BINARY)"
                with cursor.copy(copy_sql) as copy:
                    copy.set_types(["text", "vector"])
                    for offset, vector in enumerate(vectors):
                        copy.write_row((arxiv_ids[start + offset], vector))
                if progress:
                    progress(len(vectors))
        conn.execute("ANALYZE bench_vectors")
        update = sql.SQL(
            "UPDATE {paper} p SET {embedding} = v.embedding::{vtype}, {embedding_model} = %s,"
            " {embedding_hash} = p.{content_hash}, {embedded_at} = now(),"
            " {embedding_attempts} = 0, {embedding_error} = ''"
            " FROM bench_vectors v WHERE p.{source_id} = v.source_id"
        ).format(
            paper=sql.Identifier(Paper._meta.db_table),
            vtype=sql.SQL(vector_type),
            **{name: sql.Identifier(col) for name, col in column.items()},
        )
        updated = conn.execute(update, [settings.EMBEDDING_MODEL]).rowcount
        conn.commit()
    return updated


_VECTOR_FIELDS = (
    "embedding",
    "embedding_model",
    "embedding_hash",
    "content_hash",
    "embedded_at",
    "embedding_attempts",
    "embedding_error",
    "source_id",  # the arXiv id: "the arXiv id, when the format gives one"
)


def _raw_connection():
    """A psycopg connection of its own to the database Django's default connection uses (not
    Django's: registering pgvector's types there would change what its queries return)."""
    import psycopg
    from django.db import connections

    params = connections["default"].get_connection_params()
    keep = {k: v for k, v in params.items() if k not in {"cursor_factory", "context", "options"}}
    return psycopg.connect(**keep)


# --- indexes --------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexDef:
    name: str
    definition: str  # pg_get_indexdef: CREATE INDEX ... exactly as the migrations made it

    @property
    def method(self) -> str:
        return self.definition.split(" USING ", 1)[1].split(" ", 1)[0]


def secondary_indexes() -> list[IndexDef]:
    """Indexes of the papers table that no constraint needs (the loader finds papers by key,
    through its unique index, which stays): search's indexes, whatever they are."""
    from django.db import connection

    from papers.models import Paper

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
            ORDER BY i.relname""",
            [Paper._meta.db_table],
        )
        return [IndexDef(name, definition) for name, definition in cursor.fetchall()]


def drop_indexes(indexes: list[IndexDef]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for index in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{index.name}"')


def create_index(index: IndexDef, *, n: int) -> float:
    """Build one index with memory enough to do it in one pass; returns the seconds it took."""
    from django.db import connection

    memory_mb = max(256, min(8_192, n * HNSW_BYTES_PER_VECTOR // 2**20))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"SET maintenance_work_mem = '{memory_mb}MB'")
        try:
            cursor.execute(index.definition)
        finally:
            cursor.execute("RESET maintenance_work_mem")
    return time.perf_counter() - started


# --- housekeeping ---------------------------------------------------------------------------
def vacuum_full_papers() -> None:
    from django.db import connection

    from papers.models import Paper

    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM FULL "{Paper._meta.db_table}"')


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def not_embedded() -> int:
    from papers.models import Paper, embedded_q

    return Paper.objects.exclude(embedded_q()).count()
