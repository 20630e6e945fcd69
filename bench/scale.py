"""Search at scale: the page's own search on a catalogue of N papers, beside an in-memory baseline.

    .venv/bin/python bench/scale.py --papers 100000 [--queries 5] [--modes keyword,semantic,hybrid]
        [--corpus ../shared/eval/scifact/corpus.jsonl] [--queries-file .../queries.jsonl]
        [--rebuild] [--skip-baseline]

The catalogue lives in a database of its own on the app's server (`<database>_scale_<N>`, e.g.
papersearch_scale_100000), kept between runs and reused when it is complete and was built from the
same generator, seed and corpus; --rebuild drops it and builds it again. It is built through the
app's import path from a synthetic arXiv snapshot (bench/synthetic_arxiv.py: SciFact sentences
recombined, organizations skewed, dates 2015–2026) with vectors made from real MiniLM embeddings
of the corpus plus noise (bench/scale_catalogue.py, which says how and why).

The query set is fixed: SciFact claims, common words, phrases and typed syntax, each alone, with a
big organization, with a small one and with a date range; and browsing by newest with no query,
with the same filters. Each query runs `search.engine.search(SearchState.from_query(...))` as the
search page runs it (ranked page with facets), per mode, after one untimed warm-up search per
mode; the embedder's query cache is cleared before each, so semantic and hybrid times include
embedding the query. --queries K takes the first K queries of each kind (default 20: about 760
searches in all three modes; at 100,000 papers today's engine needs about a second for a keyword
search, so --queries 5 keeps that run near 6 minutes).

Printed: the build phases, table and index sizes (in all and per paper), p50/p95/max per mode and
query kind, and in the same run an in-memory baseline over the same texts and vectors (bm25s
BM25 top-200; exact numpy cosine top-200 after embedding the query; both fused for hybrid) with
the ratio app / baseline, and the recall@10 of the app's search by meaning against exact search
over the same (filtered) papers. The figures also go to bench/out/scale/result-<N>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from benchkit import ROOT, header, setup_django

OUT = ROOT / "bench" / "out" / "scale"
SEED = 1
DEPTH = 200  # the baseline's candidate depth, as the app's SEARCH_CANDIDATE_DEPTH
RECALL_AT = 10
TIE_EPSILON = 1e-3  # cosine: a found paper this close to the exact 10th counts (ann-benchmarks)
IMPORT_JOBS = max(1, min(4, os.cpu_count() or 1))  # the server does the work: one per core
MODES = ("keyword", "semantic", "hybrid")


def _shared(*parts: str) -> Path:
    """../shared/... of the checkout; of the main checkout when run from a worktree of it."""
    candidates = [ROOT.parent / "shared", ROOT.parent.parent / "shared"]
    found = next((c for c in candidates if (c / Path(*parts)).exists()), candidates[0])
    return found / Path(*parts)


# --- the query set --------------------------------------------------------------------------
WORDS = (
    "cell", "protein expression", "cancer risk", "mortality", "gene", "immune response",
    "insulin resistance", "blood pressure", "mice", "patients", "DNA repair", "inflammation",
    "vaccine efficacy", "obesity", "tumor growth", "brain", "antibiotic resistance", "HIV",
    "cholesterol", "stem cells",
)  # fmt: skip
PHRASES = (
    '"gene expression"', '"breast cancer"', '"cell death"', '"stem cells"',
    '"randomized controlled trial"', '"blood pressure"', '"immune response"',
    '"type 2 diabetes"', '"myocardial infarction"', '"risk factors"',
)  # fmt: skip
SYNTAX = (
    '"breast cancer" -mice', "insulin OR glucose", "tumor -mouse", '"T cells" OR macrophages',
    "obesity -children", '"gene expression" -cancer', "vaccine OR antibody",
    'apoptosis -"cell cycle"', 'smoking "lung cancer"', "dementia OR alzheimer",
)  # fmt: skip
FAMILIES = ("claims", "words", "phrases", "syntax", "browse")
RECALL_FAMILIES = ("claims", "words", "phrases")  # no excluded words: exact search is comparable


@dataclass(frozen=True)
class Query:
    family: str
    scope: str  # "" or the filter's name
    q: str
    filters: tuple[tuple[str, str], ...]

    @property
    def kind(self) -> str:
        return f"{self.family} · {self.scope}" if self.scope else self.family

    def state(self, mode: str):
        from django.http import QueryDict

        from search.state import SearchState

        pairs = ([("q", self.q)] if self.q else []) + [("mode", mode), *self.filters]
        return SearchState.from_query(QueryDict(urlencode(pairs)))


def scopes() -> dict[str, tuple[tuple[str, str], ...]]:
    from synthetic_arxiv import big_organization, small_organization

    return {
        "": (),
        "big org": (("org", big_organization().name),),
        "small org": (("org", small_organization().name),),
        "2019–2021": (("from", "2019"), ("to", "2021")),
    }


def query_set(claims: list[str], per_kind: int | None) -> list[Query]:
    texts = {"claims": claims, "words": WORDS, "phrases": PHRASES, "syntax": SYNTAX, "browse": [""]}
    queries = []
    for family in FAMILIES:
        for scope, filters in scopes().items():
            chosen = list(texts[family])[:per_kind] if family != "browse" else [""]
            # Browsing has one "query"; it runs as often as the others so that p95 means something.
            repeat = min(per_kind or 10, 10) if family == "browse" else 1
            queries += [Query(family, scope, q, filters) for q in chosen for _ in range(repeat)]
    return queries


def load_claims(path: Path) -> list[str]:
    """Claims from a BEIR queries.jsonl ({"_id", "text"} a line) or a text file, one a line."""
    claims = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            if path.suffix == ".jsonl":
                try:
                    line = str(json.loads(line)["text"]).strip()
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise SystemExit(f"{path}: expected a {{'text': ...}} object a line") from None
            claims.append(line)
    return claims


# --- the catalogue --------------------------------------------------------------------------
@dataclass
class Catalogue:
    database: str
    n: int
    snapshot: Path
    arxiv_ids: list[str]
    doc_rows: np.ndarray  # per paper (snapshot order): its corpus document's row in base
    phases: dict[str, float] = field(default_factory=dict)
    built_at: str = ""
    reused: bool = False


def marker(n: int, corpus_digest: str) -> dict:
    from scale_catalogue import NOISE_NORM
    from synthetic_arxiv import GENERATOR_VERSION

    return {
        "papers": n,
        "generator": GENERATOR_VERSION,
        "seed": SEED,
        "corpus": corpus_digest,
        "noise": NOISE_NORM,
    }


def read_marker(database: str) -> dict | None:
    with _server() as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [database],
        ).fetchone()
    try:
        return json.loads(row[0]) if row and row[0] else None
    except json.JSONDecodeError:
        return None


def write_marker(database: str, note: dict) -> None:
    from psycopg import sql

    with _server() as conn:
        statement = sql.SQL("COMMENT ON DATABASE {} IS {}")
        conn.execute(statement.format(sql.Identifier(database), sql.Literal(json.dumps(note))))


def _server():
    import psycopg
    from django.db import connections

    params = connections["default"].get_connection_params()
    keep = {k: v for k, v in params.items() if k not in {"cursor_factory", "context", "options"}}
    return psycopg.connect(**keep, autocommit=True)


def snapshot_index(path: Path, n: int, docs) -> tuple[list[str], np.ndarray]:
    """Each paper's arXiv id and its corpus document's row, for the first n lines."""
    row_of = {doc.doc_id: row for row, doc in enumerate(docs)}
    ids, rows = [], np.empty(n, np.int32)
    with path.open(encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            if i == n:
                break
            paper = json.loads(line)
            ids.append(paper["id"])
            rows[i] = row_of[paper["corpus_doc"]]
    if len(ids) < n:
        raise SystemExit(f"{path}: {len(ids):,} papers, {n:,} needed (delete it to rewrite it)")
    return ids, rows


def ensure_snapshot(n: int, docs, corpus: Path, digest: str) -> tuple[Path, float]:
    from synthetic_arxiv import GENERATOR_VERSION, write_snapshot

    path = OUT / f"arxiv-{n}-seed{SEED}-v{GENERATOR_VERSION}-{digest}.jsonl"
    if path.is_file():
        return path, 0.0
    started = time.perf_counter()
    print(f"writing the snapshot {os.path.relpath(path)} ...", file=sys.stderr)
    write_snapshot(path, n, docs, SEED)
    return path, time.perf_counter() - started


def open_catalogue(n: int, docs, corpus: Path, base_vectors_for, *, rebuild: bool) -> Catalogue:
    """Reuse the kept catalogue when it is complete and made the same way; else build it."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from config.database import create_database, database_exists, drop_database, using_database
    from evaluation.catalogue import MAX_DB_NAME

    database = f"{settings.DATABASES['default']['NAME']}_scale_{n}"
    if len(database.encode()) > MAX_DB_NAME:
        raise SystemExit(f"database name {database!r} is longer than PostgreSQL allows")
    digest = corpus_digest(corpus)
    wanted = marker(n, digest)
    snapshot, snapshot_seconds = ensure_snapshot(n, docs, corpus, digest)
    found = read_marker(database) if database_exists(database) else None
    if not rebuild and found and found.get("complete") and _same(found, wanted):
        catalogue = Catalogue(database, n, snapshot, *snapshot_index(snapshot, n, docs))
        catalogue.phases, catalogue.built_at = found.get("phases", {}), found.get("built_at", "")
        catalogue.reused = True
        with using_database(database):
            if MigrationExecutor(connection).migration_plan(
                MigrationExecutor(connection).loader.graph.leaf_nodes()
            ):
                started = time.perf_counter()
                call_command("migrate", verbosity=0, interactive=False)
                catalogue.phases["migrate on reuse"] = time.perf_counter() - started
            from papers import keyword_index

            if keyword_index.status().pending or keyword_index.status().segments > 1:
                from scale_catalogue import vacuum_analyze

                started = time.perf_counter()
                keyword_index.flush_all()
                keyword_index.merge_all()
                # A migration that rewrote rows left dead copies in the HNSW graph, which crowd
                # out live ones (recall fell to 0.947 before this VACUUM at 100,000 papers).
                vacuum_analyze()
                catalogue.phases["keyword index and VACUUM on reuse"] = (
                    time.perf_counter() - started
                )
            from papers import organization_indexes

            started = time.perf_counter()
            if organization_indexes.sync().created:  # a catalogue built before they existed
                catalogue.phases["organization vector indexes on reuse"] = (
                    time.perf_counter() - started
                )
        return catalogue

    if database_exists(database):
        why = "--rebuild" if rebuild else "incomplete or made differently"
        print(f"dropping {database} ({why})", file=sys.stderr)
        drop_database(database)
    create_database(database)
    catalogue = Catalogue(database, n, snapshot, *snapshot_index(snapshot, n, docs))
    if snapshot_seconds:
        catalogue.phases["snapshot file"] = snapshot_seconds
    # A crash while building loses the build anyway: no need to wait for each commit's flush.
    _set_database_option(database, "SET synchronous_commit = off")
    with using_database(database):
        build(catalogue, base_vectors_for)
    _set_database_option(database, "RESET synchronous_commit")
    catalogue.built_at = datetime.now(UTC).isoformat(timespec="seconds")
    write_marker(
        database, {**wanted, "complete": True, "phases": catalogue.phases,
                   "built_at": catalogue.built_at}
    )  # fmt: skip
    return catalogue


def _set_database_option(database: str, option: str) -> None:
    from psycopg import sql

    with _server() as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} " + option).format(sql.Identifier(database)))


def _same(found: dict, wanted: dict) -> bool:
    return all(found.get(key) == value for key, value in wanted.items())


def corpus_digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def build(catalogue: Catalogue, base_vectors_for) -> None:
    from django.core.management import call_command
    from scale_catalogue import (
        create_index,
        drop_indexes,
        import_snapshot,
        not_embedded,
        secondary_indexes,
        vacuum_analyze,
        vacuum_full_papers,
        write_vectors,
    )
    from tqdm import tqdm

    phases, n = catalogue.phases, catalogue.n

    def timed(name: str, fn, *args, **kwargs):
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        phases[name] = time.perf_counter() - started
        return result

    timed("migrate", call_command, "migrate", verbosity=0, interactive=False)
    indexes = secondary_indexes()
    drop_indexes(indexes)
    with tqdm(total=n, desc="import", unit="paper", file=sys.stderr, leave=False) as bar:
        held = timed(f"import (upsert_papers, {IMPORT_JOBS} processes)", import_snapshot,
                     catalogue.snapshot, n, jobs=IMPORT_JOBS, progress=bar.update)  # fmt: skip
    if held != n:
        raise SystemExit(f"the import left {held:,} papers, not {n:,}")
    base = timed("corpus vectors (cached after the first run)", base_vectors_for)
    with tqdm(total=n, desc="vectors", unit="paper", file=sys.stderr, leave=False) as bar:
        updated = timed("paper vectors (COPY + UPDATE)", write_vectors, catalogue.arxiv_ids,
                        catalogue.doc_rows, base, SEED, progress=bar.update)  # fmt: skip
    if updated != n or not_embedded():
        raise SystemExit(
            f"{updated:,} vectors written, {not_embedded():,} papers not counted as embedded: "
            "bench/scale_catalogue.write_vectors no longer matches papers.models.embedded_q"
        )
    from papers import keyword_index, organization_indexes

    # The loader wrote each batch's postings and merged by size tier; one segment is what
    # `manage.py keyword_index --merge-all` leaves after a bulk import (docs/OPERATIONS.md).
    timed("keyword index: merge every segment", keyword_index.merge_all)
    timed("VACUUM FULL papers", vacuum_full_papers)
    for index in tqdm(indexes, desc="indexes", file=sys.stderr, leave=False):
        phases[f"index {index.name} ({index.method})"] = create_index(index, n=n)
    timed("organization vector indexes", organization_indexes.sync)
    timed("VACUUM ANALYZE", vacuum_analyze)


# --- sizes ----------------------------------------------------------------------------------
def sizes() -> tuple[list[tuple], list[tuple], int]:
    """(tables, indexes, database bytes): every table of 1 MB or more with its heap, TOAST and
    index bytes, every index of those tables with its method."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid),
                      coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0),
                      pg_indexes_size(c.oid)
            FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'm', 'p') AND ns.nspname = current_schema()
              AND pg_total_relation_size(c.oid) >= 1048576
            ORDER BY 2 DESC"""
        )
        tables = cursor.fetchall()
        cursor.execute(
            """SELECT i.relname, t.relname, am.amname, pg_relation_size(i.oid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = i.relam
            WHERE t.relname = ANY(%s) ORDER BY 4 DESC""",
            [[t[0] for t in tables]],
        )
        indexes = cursor.fetchall()
        cursor.execute("SELECT pg_database_size(current_database())")
        total = cursor.fetchone()[0]
    return tables, indexes, total


# --- replaying the queries ------------------------------------------------------------------
@dataclass
class Replay:
    ms: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    baseline_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    semantic_top: dict[int, list[int]] = field(default_factory=dict)  # query index -> pks
    errors: list[str] = field(default_factory=list)


def replay(queries: list[Query], modes: list[str], memory: Memory | None = None) -> Replay:
    """Every query through search() in each mode; with a baseline (memory with BM25), the
    baseline's answer to the same query right after the app's, so that both meet the same
    moment of a shared machine's load (and the query embedding alone, in the first mode)."""
    from tqdm import tqdm

    from papers.embeddings import get_embedder
    from search.engine import search

    embedder = get_embedder()
    out = Replay()
    steps = baseline_steps(memory) if memory is not None and memory.bm25 is not None else {}
    text = [(i, q) for i, q in enumerate(queries) if q.q]
    browse = [(i, q) for i, q in enumerate(queries) if not q.q]
    runs = [(mode, text) for mode in modes] + [("any", browse)]
    total = sum(len(items) for _, items in runs)
    with tqdm(total=total, desc="searches", file=sys.stderr, leave=False) as bar:
        for mode, items in runs:
            if not items:
                continue
            app_mode = mode if mode != "any" else "hybrid"
            mine = [
                steps[m] for m in (mode, "embed query" if mode == modes[0] else "") if m in steps
            ]
            search(items[0][1].state(app_mode))  # warm-up, untimed
            for step in mine:
                step(items[0][1])
            for i, query in items:
                state = query.state(app_mode)
                embedder.encode_query.cache_clear()
                started = time.perf_counter()
                try:
                    results = search(state)
                except Exception as exc:  # reported, the run goes on
                    out.errors.append(f"{mode} {query.kind} {query.q!r}: {exc}".splitlines()[0])
                    bar.update()
                    continue
                out.ms[(mode, query.kind)].append((time.perf_counter() - started) * 1000)
                if mode == "semantic":
                    out.semantic_top[i] = [hit.paper.pk for hit in results.hits[:RECALL_AT]]
                for name, step in zip((mode, "embed query"), mine, strict=False):
                    started = time.perf_counter()
                    step(query)
                    out.baseline_ms[name].append((time.perf_counter() - started) * 1000)
                bar.update()
    return out


# --- the in-memory baseline and exact search ------------------------------------------------
class Memory:
    """The same papers in memory: bm25s over their texts, their vectors, and each scope's mask."""

    def __init__(self, catalogue: Catalogue, vectors: np.ndarray, with_bm25: bool):
        from papers.models import Paper

        self.vectors = vectors
        position = {arxiv_id: i for i, arxiv_id in enumerate(catalogue.arxiv_ids)}
        self.pk = np.zeros(catalogue.n, np.int64)
        org = np.empty(catalogue.n, object)
        published = np.zeros(catalogue.n, "datetime64[D]")
        rows = Paper.objects.values_list("source_id", "pk", "organization__slug", "published")
        for source_id, pk, slug, day in rows.iterator(chunk_size=20_000):
            i = position[source_id]
            self.pk[i], org[i], published[i] = pk, slug, day
        self.masks: dict[str, np.ndarray | None] = {}
        for scope, filters in scopes().items():
            mask = np.ones(catalogue.n, bool)
            for name, value in filters:
                if name == "org":
                    mask &= org == value
                elif name == "from":
                    mask &= published >= np.datetime64(f"{value}-01-01")
                elif name == "to":
                    mask &= published <= np.datetime64(f"{value}-12-31")
            self.masks[scope] = None if not filters else mask
        self.bm25 = self.tokenizer = None
        if with_bm25:
            self._index_texts(catalogue)

    def _index_texts(self, catalogue: Catalogue) -> None:
        from array import array

        import bm25s
        import Stemmer
        from bm25s.tokenization import Tokenized
        from scale_catalogue import records_from_snapshot

        from papers.embeddings import paper_text

        self.tokenizer = bm25s.tokenization.Tokenizer(
            stemmer=Stemmer.Stemmer("english"), stopwords="en"
        )
        texts = (
            paper_text(r.title, r.abstract)
            for r in records_from_snapshot(catalogue.snapshot, limit=catalogue.n)
        )
        # Compact arrays, not lists of ints: a million papers' tokens fit in a few hundred MB.
        ids = [array("i", doc) for doc in self.tokenizer.streaming_tokenize(texts)]
        self.bm25 = bm25s.BM25()
        self.bm25.index(Tokenized(ids=ids, vocab=self.tokenizer.get_vocab_dict()),
                        show_progress=False)  # fmt: skip

    def keyword(self, q: str, scope: str) -> np.ndarray:
        tokens = self.tokenizer.tokenize([q], update_vocab=False, show_progress=False)
        if not tokens[0]:
            return np.empty(0, np.int64)
        docs, _ = self.bm25.retrieve(tokens, k=min(DEPTH, len(self.pk)), show_progress=False,
                                     weight_mask=self.masks[scope], n_threads=1)  # fmt: skip
        return docs[0]

    def nearest(self, vector: np.ndarray, scope: str, k: int) -> np.ndarray:
        scores = self.vectors @ vector
        mask = self.masks[scope]
        k = min(k, len(scores))
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
            k = min(k, int(mask.sum()))
        if k == 0:
            return np.empty(0, np.int64)
        top = np.argpartition(-scores, k - 1)[:k]
        return top[np.argsort(-scores[top], kind="stable")]


def embed_query(q: str) -> np.ndarray:
    from papers.embeddings import get_embedder

    embedder = get_embedder()
    embedder.encode_query.cache_clear()
    return np.asarray(embedder.encode_query(q), np.float32)


def baseline_steps(memory: Memory) -> dict:
    """The baseline's answer per mode (typed syntax read as plain words), each with its own
    query embedding, and the query embedding alone."""
    return {
        "keyword": lambda q: memory.keyword(q.q, q.scope),
        "semantic": lambda q: memory.nearest(embed_query(q.q), q.scope, DEPTH),
        "hybrid": lambda q: _fuse(
            memory.keyword(q.q, q.scope), memory.nearest(embed_query(q.q), q.scope, DEPTH)
        ),
        "embed query": lambda q: embed_query(q.q),
    }


def _fuse(keyword: np.ndarray, semantic: np.ndarray) -> list[int]:
    """Reciprocal rank fusion of the two lists: the cost of a fusion step, not the app's."""
    scores: dict[int, float] = defaultdict(float)
    for ranking in (keyword, semantic):
        for rank, doc in enumerate(ranking.tolist(), 1):
            scores[doc] += 1 / (60 + rank)
    return sorted(scores, key=scores.__getitem__, reverse=True)[:DEPTH]


def recall(memory: Memory, queries: list[Query], top: dict[int, list[int]]) -> dict[str, dict]:
    """Recall@10 of the app's search by meaning against exact cosine over the same papers, per
    scope: the share of the exact top 10 (or of every paper in scope, if fewer) it returned
    ("recall"), and the share of its first 10 that are as near as the exact 10th, within
    TIE_EPSILON ("within"; ann-benchmarks counts recall so: the synthetic catalogue holds
    near-copies of each vector, and one of them returned for another is no worse an answer).

    A query whose nearest paper in scope is under the app's noise floor is left out and counted
    apart: the app rightly answers nothing by meaning there (search.sql, "gibberish or an
    off-topic query"), which is no fault of the index.
    """
    from django.conf import settings

    floor = getattr(settings, "SEARCH_SEMANTIC_NOISE_FLOOR", -1.0)
    out: dict[str, dict] = defaultdict(lambda: {"recall": [], "within": [], "off_topic": 0})
    row_of = {pk: row for row, pk in enumerate(memory.pk.tolist())}
    for i, query in enumerate(queries):
        if i not in top or query.family not in RECALL_FAMILIES:
            continue
        vector = embed_query(query.q)
        exact = memory.nearest(vector, query.scope, RECALL_AT)
        if not len(exact):
            continue
        if float(memory.vectors[exact[0]] @ vector) < floor:
            out[query.scope]["off_topic"] += 1
            continue
        found = set(memory.pk[exact].tolist()) & set(top[i])
        out[query.scope]["recall"].append(len(found) / len(exact))
        tenth = float(memory.vectors[exact[-1]] @ vector) - TIE_EPSILON
        near = [pk for pk in top[i] if float(memory.vectors[row_of[pk]] @ vector) >= tenth]
        out[query.scope]["within"].append(min(len(near), len(exact)) / len(exact))
    return out


# --- the report -----------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else float("nan")


def mb(size: float) -> str:
    return f"{size / 2**20:,.1f}"


def report(catalogue, args, table_sizes, replayed, recalls, memory_seconds) -> dict:
    base = replayed.baseline_ms
    n = catalogue.n
    print(f"## Build: {n:,} papers in {catalogue.database}")
    if catalogue.reused:
        print(f"reused (built {catalogue.built_at}); its build phases then:")
    print("\n| phase | seconds |\n| --- | ---: |")
    for name, seconds in catalogue.phases.items():
        print(f"| {name} | {seconds:,.1f} |")
    print(f"| **total** | **{sum(catalogue.phases.values()):,.1f}** |")

    tables, indexes, total = table_sizes
    print(f"\n## Sizes (database {mb(total)} MB, {total / n:,.0f} bytes per paper)")
    print("\n| table | total MB | heap MB | TOAST MB | indexes MB | bytes/paper |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, all_, heap, toast, idx in tables:
        print(f"| {name} | {mb(all_)} | {mb(heap)} | {mb(toast)} | {mb(idx)} | {all_ / n:,.0f} |")
    print("\n| index | table | method | MB | bytes/paper |\n| --- | --- | --- | ---: | ---: |")
    for name, table, method, size in indexes:
        if size >= 2**20:
            print(f"| {name} | {table} | {method} | {mb(size)} | {size / n:,.0f} |")

    modes = [m for m in args.modes if any(k[0] == m for k in replayed.ms)]
    kinds = list(dict.fromkeys(kind for (_, kind) in replayed.ms))
    print(f"\n## search() latency, ms ({n:,} papers; p50 / p95 / max; queries per kind in [])")
    print("\n| query kind | " + " | ".join(modes) + " |")
    print("| --- |" + " ---: |" * len(modes))
    for kind in kinds:
        if kind.startswith("browse"):
            continue
        cells = []
        for mode in modes:
            ms = replayed.ms.get((mode, kind), [])
            cells.append(f"{pct(ms, 50):,.0f} / {pct(ms, 95):,.0f} / {max(ms):,.0f} [{len(ms)}]"
                         if ms else "—")  # fmt: skip
        print(f"| {kind} | " + " | ".join(cells) + " |")
    print("\n| browse, newest first (no query; any mode) | p50 / p95 / max |\n| --- | ---: |")
    for kind in kinds:
        ms = replayed.ms.get(("any", kind), [])
        if kind.startswith("browse") and ms:
            print(f"| {kind} | {pct(ms, 50):,.0f} / {pct(ms, 95):,.0f} / {max(ms):,.0f} |")

    if base:
        print(
            f"\n## Baseline in memory, same papers and queries (loaded in {memory_seconds:,.1f} s)"
        )
        print(
            "text queries of every kind and scope, each run right after the app's search of it;"
            " typed syntax read as plain words\n"
        )
        print("| mode | app p50 | app p95 | baseline p50 | baseline p95 | app/baseline p50 |"
              " app/baseline p95 |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |")  # fmt: skip
        for mode in modes:
            app = [ms for (m, _), values in replayed.ms.items() if m == mode for ms in values]
            mine = base.get(mode)
            if not mine:
                continue
            print(
                f"| {mode} | {pct(app, 50):,.1f} | {pct(app, 95):,.1f} | {pct(mine, 50):,.1f} | "
                f"{pct(mine, 95):,.1f} | {pct(app, 50) / pct(mine, 50):,.1f}× | "
                f"{pct(app, 95) / pct(mine, 95):,.1f}× |"
            )
        if base.get("embed query"):
            ms = base["embed query"]
            print(f"| (query embedding alone) | | | {pct(ms, 50):,.1f} | {pct(ms, 95):,.1f} | | |")
    if recalls:
        print(f"\n## Search by meaning: recall@{RECALL_AT} against exact cosine, same papers")
        print("claims, words and phrases (typed exclusions left out)\n")
        print(
            f"| scope | queries | mean | min | mean, as near as the 10th (±{TIE_EPSILON}) | min |"
            " left out: nearest under the noise floor |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for scope, figures in recalls.items():
            values = figures["recall"] or [float("nan")]
            within = figures["within"] or [float("nan")]
            print(f"| {scope or 'no filter'} | {len(figures['recall'])} | "
                  f"{statistics.fmean(values):.3f} | {min(values):.3f} | "
                  f"{statistics.fmean(within):.3f} | {min(within):.3f} | "
                  f"{figures['off_topic']} |")  # fmt: skip
    if replayed.errors:
        print(f"\n{len(replayed.errors)} searches failed:")
        for line in replayed.errors[:20]:
            print(f"  {line}")
    return {
        "papers": n,
        "database": catalogue.database,
        "phases": catalogue.phases,
        "reused": catalogue.reused,
        "sizes": {"tables": tables, "indexes": indexes, "database": total},
        "latency_ms": {f"{m} | {k}": v for (m, k), v in replayed.ms.items()},
        "baseline_ms": dict(base),
        "recall_at_10": dict(recalls or {}),
        "errors": replayed.errors,
    }


# --- main -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, required=True, help="catalogue size N")
    parser.add_argument(
        "--queries", type=int, default=20, help="at most K queries of each kind (default 20)"
    )
    parser.add_argument(
        "--corpus", type=Path, default=_shared("eval", "scifact", "corpus.jsonl"),
        help="the BEIR corpus.jsonl whose sentences make the papers (default SciFact's)",
    )  # fmt: skip
    parser.add_argument(
        "--queries-file", type=Path, default=_shared("eval", "scifact", "queries.jsonl"),
        help="the claims: a BEIR queries.jsonl or a text file, one a line",
    )  # fmt: skip
    parser.add_argument("--rebuild", action="store_true", help="drop the catalogue, build again")
    parser.add_argument("--skip-baseline", action="store_true", help="no in-memory BM25 baseline")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated (default all)")
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if bad := [m for m in args.modes if m not in MODES]:
        parser.error(f"unknown mode {bad[0]!r}: choose from {', '.join(MODES)}")
    if args.papers < 1:
        parser.error("--papers must be at least 1")
    if args.queries is not None and args.queries < 1:
        parser.error("--queries must be at least 1")
    for option, path in (("--corpus", args.corpus), ("--queries-file", args.queries_file)):
        if not path.is_file():
            parser.error(f"{option} {path}: no such file (SciFact lies in ../shared/eval/scifact)")

    sys.path.insert(0, str(ROOT / "bench"))
    # Connections kept between searches, as in production: the bench's own stays open anyway,
    # and a search's second connection (search.side_connection) is only used where they are.
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
    setup_django()
    from scale_catalogue import all_paper_vectors, corpus_vectors
    from synthetic_arxiv import CorpusError, load_corpus

    from config.database import using_database

    try:
        docs = load_corpus(args.corpus)
    except CorpusError as exc:
        raise SystemExit(str(exc)) from None
    claims = load_claims(args.queries_file)
    base_vectors = lambda: corpus_vectors(docs, args.corpus, OUT)  # noqa: E731
    catalogue = open_catalogue(args.papers, docs, args.corpus, base_vectors, rebuild=args.rebuild)
    queries = query_set(claims, args.queries)

    with using_database(catalogue.database):
        table_sizes = sizes()
        memory = recalls = None
        memory_seconds = 0.0
        want_recall = "semantic" in args.modes
        if want_recall or not args.skip_baseline:
            started = time.perf_counter()
            vectors = all_paper_vectors(catalogue.doc_rows, base_vectors(), SEED)
            memory = Memory(catalogue, vectors, with_bm25=not args.skip_baseline)
            memory_seconds = time.perf_counter() - started
        replayed = replay(queries, args.modes, memory)
        if want_recall:
            recalls = recall(memory, queries, replayed.semantic_top)

    print(header())
    result = report(catalogue, args, table_sizes, replayed, recalls, memory_seconds)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"result-{catalogue.n}.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
