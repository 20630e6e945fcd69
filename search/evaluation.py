"""Relevance evaluation on judged queries (BEIR layout), in a catalogue of its own.

The data set is loaded into a separate database on the same server (`<db>_eval_<data set>`), never
into the user's papers, imported with the app's loader and embedded with the app's own path. It is
kept between runs and brought up to date by content (a paper whose text is unchanged keeps its
vector), so repeated evaluation while tuning costs only the queries. Every query runs through
`search.engine` as the web page runs it; the metrics come from pytrec_eval (trec_eval's code).
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connections
from django_tasks_db.models import DBTaskResult

from papers.embeddings import Embedder, paper_text, text_hash
from papers.indexing import embed_ids, workable
from papers.ingest import PaperRecord
from papers.loader import upsert_papers
from papers.models import Paper, embedded_q
from search.engine import ranked_ids
from search.state import MODES, SearchState

SOURCE_PREFIX = "beir"
RECALL_DEPTH = 100  # Recall@100: how many results each query's ranking is read to
MAX_DB_NAME = 63  # PostgreSQL's identifier limit


class DatasetError(Exception):
    """The folder is not a usable BEIR data set; str() says which file and why."""


# --- the data set ---------------------------------------------------------------------------
@dataclass
class Dataset:
    name: str
    path: Path
    split: str
    corpus: dict[str, tuple[str, str]]  # _id -> (title, text), in file order
    queries: dict[str, str]  # the split's judged queries that have a text, in file order
    qrels: dict[str, dict[str, int]]  # query id -> {corpus id: relevance}, judged queries only
    warnings: list[str] = field(default_factory=list)


def load_dataset(path: Path, split: str) -> Dataset:
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(
            f"{path}: no such folder (expected a data set in BEIR layout: corpus.jsonl, "
            "queries.jsonl, qrels/<split>.tsv)"
        )
    qrels_path = path / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        found = sorted(p.stem for p in (path / "qrels").glob("*.tsv"))
        have = f"splits here: {', '.join(found)}" if found else "no qrels/*.tsv at all"
        raise DatasetError(f"{qrels_path}: no judgments for split {split!r} ({have})")
    for name in ("corpus.jsonl", "queries.jsonl"):
        if not (path / name).is_file():
            raise DatasetError(f"{path / name}: missing (a BEIR data set has corpus and queries)")

    warnings: list[str] = []
    qrels = _read_qrels(qrels_path)
    corpus = {
        _id: (str(row.get("title") or ""), str(row.get("text") or ""))
        for _id, row in _read_jsonl(path / "corpus.jsonl")
    }
    texts = {_id: str(row.get("text") or "") for _id, row in _read_jsonl(path / "queries.jsonl")}
    queries = {qid: text for qid, text in texts.items() if qid in qrels}
    if missing := [qid for qid in qrels if qid not in texts]:
        warnings.append(f"{len(missing)} judged queries have no text in queries.jsonl; skipped")
    qrels = {qid: judged for qid, judged in qrels.items() if qid in queries}
    unknown = sum(1 for judged in qrels.values() for doc in judged if doc not in corpus)
    if unknown:
        warnings.append(f"{unknown} judgments name documents missing from corpus.jsonl")
    if not queries:
        raise DatasetError(f"{qrels_path}: no judged query has a text in queries.jsonl")
    return Dataset(path.name, path, split, corpus, queries, qrels, warnings)


def _read_jsonl(path: Path) -> Iterator[tuple[str, dict]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or "_id" not in row:
                raise DatasetError(f"{path}:{number}: expected an object with an _id")
            yield str(row["_id"]), row


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            fields = line.rstrip("\r\n").split("\t")
            if number == 1 and fields[0] == "query-id":
                continue  # the header
            if not line.strip():
                continue
            if len(fields) != 3:
                raise DatasetError(f"{path}:{number}: expected query-id, corpus-id, score")
            qid, doc, score = fields
            try:
                qrels.setdefault(qid, {})[doc] = int(score)
            except ValueError:
                raise DatasetError(f"{path}:{number}: score {score!r} is not a number") from None
    return qrels


def select(dataset: Dataset, *, sample: int | None, corpus_size: int | None) -> Dataset:
    """The first `sample` judged queries, and a corpus of every document judged for them plus
    the first `corpus_size` others (all others by default)."""
    queries = dict(list(dataset.queries.items())[:sample]) if sample else dataset.queries
    qrels = {qid: dataset.qrels[qid] for qid in queries}
    corpus = dataset.corpus
    if corpus_size is not None:
        judged = {doc for docs in qrels.values() for doc in docs}
        others = [d for d in corpus if d not in judged][:corpus_size]
        keep = judged | set(others)
        corpus = {d: doc for d, doc in corpus.items() if d in keep}  # file order kept
    return Dataset(
        dataset.name, dataset.path, dataset.split, corpus, queries, qrels, dataset.warnings
    )


# --- its own database ------------------------------------------------------------------------
def eval_database_name(base: str, dataset_name: str, *, sliced: bool) -> str:
    """`<base>_eval_<data set>`, `_slice` added for a partial corpus so that a quick run on a
    slice never evicts the full catalogue's vectors."""
    slug = re.sub(r"[^a-z0-9]+", "_", dataset_name.lower()).strip("_") or "dataset"
    name = f"{base}_eval_{slug}{'_slice' if sliced else ''}"
    if len(name.encode()) > MAX_DB_NAME:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name.encode()[: MAX_DB_NAME - 9].decode(errors='ignore')}_{digest}"
    return name


def _server_connection():
    """An autocommit psycopg connection to the server, on the database Django is set up for."""
    import psycopg

    params = connections["default"].get_connection_params()
    keep = {k: v for k, v in params.items() if k not in {"cursor_factory", "context", "options"}}
    return psycopg.connect(**keep, autocommit=True)


def database_exists(name: str) -> bool:
    with _server_connection() as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


def create_database(name: str) -> bool:
    """Create it unless it exists; True if created."""
    import psycopg
    from psycopg import sql

    with _server_connection() as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False
    return True


def drop_database(name: str) -> None:
    from psycopg import sql

    if name == connections["default"].settings_dict["NAME"]:
        raise ValueError(f"refusing to drop {name!r}: Django is connected to it")
    with _server_connection() as conn:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(statement.format(sql.Identifier(name)))


@contextmanager
def using_database(name: str) -> Iterator[None]:
    """Point Django's default connection at another database on the same server, then back."""
    connection = connections["default"]
    original = connection.settings_dict["NAME"]
    connection.close()
    # settings.DATABASES["default"] is usually the same dict; set both in case it is not.
    connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = original


# --- the catalogue ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BeirRecord(PaperRecord):
    doc_id: str = ""

    @property
    def key(self) -> str:  # the data set's own id, not an arXiv id or a normalized title
        return f"{SOURCE_PREFIX}:{self.doc_id}"


@dataclass
class SyncSummary:
    kept: int = 0
    loaded: int = 0
    removed: int = 0
    seconds: float = 0.0


def sync_catalogue(dataset: Dataset, *, bar=None) -> SyncSummary:
    """Make the current database hold exactly the data set's corpus, through the app's loader.

    Papers whose text is unchanged are left alone (their vectors stay valid); the embed tasks
    the loader queues are dropped, since this command embeds in-process and no worker serves
    this database.
    """
    started = time.perf_counter()
    source = f"{SOURCE_PREFIX}:{dataset.name}"[: Paper._meta.get_field("source").max_length]
    wanted = {
        f"{SOURCE_PREFIX}:{doc}": text_hash(paper_text(title, text))
        for doc, (title, text) in dataset.corpus.items()
    }
    existing = dict(Paper.objects.values_list("key", "content_hash"))
    removed = [key for key in existing if key not in wanted]
    if removed:
        Paper.objects.filter(key__in=removed).delete()
    records = [
        BeirRecord(title=title, abstract=text, source=source, line=number, doc_id=doc)
        for number, (doc, (title, text)) in enumerate(dataset.corpus.items(), 1)
        if existing.get(f"{SOURCE_PREFIX}:{doc}") != wanted[f"{SOURCE_PREFIX}:{doc}"]
    ]
    if bar is not None:  # a tqdm bar: how many papers there are to write is known only now
        bar.reset(total=len(records))
    if records:
        upsert_papers(records, on_batch=bar.update if bar is not None else None)
    DBTaskResult.objects.all().delete()
    return SyncSummary(
        kept=len(dataset.corpus) - len(records),
        loaded=len(records),
        removed=len(removed),
        seconds=time.perf_counter() - started,
    )


def papers_to_embed() -> list[int]:
    return list(workable().values_list("pk", flat=True))


def embed(ids: list[int], *, progress: Callable[[int], None] | None = None) -> int:
    """Embed through the app's own path (papers.indexing); returns how many vectors it wrote."""
    written = 0
    for start in range(0, len(ids), 256):
        chunk = ids[start : start + 256]
        written += embed_ids(chunk).written
        if progress:
            progress(len(chunk))
    return written


def not_embedded() -> int:
    return Paper.objects.exclude(embedded_q()).count()


def doc_ids_by_pk() -> dict[int, str]:
    prefix = f"{SOURCE_PREFIX}:"
    return {pk: key.removeprefix(prefix) for pk, key in Paper.objects.values_list("pk", "key")}


# --- running the queries ---------------------------------------------------------------------
@dataclass
class ModeRun:
    mode: str
    rankings: dict[str, list[str]]  # query id -> corpus ids, best first
    latency_ms: dict[str, float]
    errors: dict[str, str]  # query id -> the exception the engine raised
    input_errors: dict[str, str]  # query id -> what SearchState said about the text


def run_mode(
    dataset: Dataset,
    mode: str,
    *,
    depth: int,
    doc_ids: dict[int, str],
    progress: Callable[[int], None] | None = None,
) -> ModeRun:
    """Every query as a user would type it, through SearchState and search.engine.

    Each query is timed from the text to the ranked ids: query embedding (not cached: the
    embedder's query cache is cleared first, as for a query the server has not seen) plus the
    engine's one SQL round trip.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    run = ModeRun(mode, {}, {}, {}, {})
    # One untimed search first, as a running server has done before its next request: the first
    # query of a process pays for cold caches (model, database pages), not for the ranking.
    _warm_up(next(iter(dataset.queries.values())), mode, depth)
    for qid, text in dataset.queries.items():
        state = SearchState.from_query({"q": text, "mode": mode})
        if state.errors:
            run.input_errors[qid] = "; ".join(state.errors.values())
        Embedder.encode_query.cache_clear()
        started = time.perf_counter()
        try:
            pks = ranked_ids(state, depth)
        except Exception as exc:  # reported per query; the run goes on
            run.errors[qid] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            pks = []
        run.latency_ms[qid] = (time.perf_counter() - started) * 1000
        run.rankings[qid] = [doc_ids[pk] for pk in pks]
        if progress:
            progress(1)
    return run


def _warm_up(text: str, mode: str, depth: int) -> None:
    with suppress(Exception):  # a failing query is reported when it runs for real
        ranked_ids(SearchState.from_query({"q": text, "mode": mode}), depth)


# --- scoring ---------------------------------------------------------------------------------
@dataclass
class ModeScores:
    mode: str
    queries: int
    ndcg: float
    recall_k: float
    recall_100: float
    mrr: float
    p50_ms: float
    p95_ms: float
    errors: int
    per_query: dict[str, dict[str, float]]


def score(dataset: Dataset, run: ModeRun, *, k: int) -> ModeScores:
    """nDCG@k, Recall@k, Recall@100 and MRR@k from pytrec_eval, averaged over every judged
    query (a query the engine failed on, or that found nothing, counts as 0)."""
    import pytrec_eval

    def as_run(limit: int) -> dict[str, dict[str, float]]:
        # Scores that reproduce our order exactly (trec_eval re-sorts by score).
        return {
            qid: {doc: float(len(ranking) - i) for i, doc in enumerate(ranking[:limit])}
            for qid, ranking in run.rankings.items()
        }

    full = pytrec_eval.RelevanceEvaluator(
        dataset.qrels, {f"ndcg_cut.{k}", f"recall.{k}", f"recall.{RECALL_DEPTH}"}
    ).evaluate(as_run(max(k, RECALL_DEPTH)))
    top = pytrec_eval.RelevanceEvaluator(dataset.qrels, {"recip_rank"}).evaluate(as_run(k))
    per_query: dict[str, dict[str, float]] = {}
    for qid in dataset.queries:
        figures, first = full.get(qid, {}), top.get(qid, {})
        per_query[qid] = {
            f"ndcg@{k}": figures.get(f"ndcg_cut_{k}", 0.0),
            f"recall@{k}": figures.get(f"recall_{k}", 0.0),
            f"recall@{RECALL_DEPTH}": figures.get(f"recall_{RECALL_DEPTH}", 0.0),
            f"mrr@{k}": first.get("recip_rank", 0.0),
            "ms": run.latency_ms[qid],
        }

    def mean(name: str) -> float:
        return statistics.fmean(q[name] for q in per_query.values())

    latencies = sorted(run.latency_ms.values())
    return ModeScores(
        mode=run.mode,
        queries=len(per_query),
        ndcg=mean(f"ndcg@{k}"),
        recall_k=mean(f"recall@{k}"),
        recall_100=mean(f"recall@{RECALL_DEPTH}"),
        mrr=mean(f"mrr@{k}"),
        p50_ms=_percentile(latencies, 50),
        p95_ms=_percentile(latencies, 95),
        errors=len(run.errors),
        per_query=per_query,
    )


def _percentile(values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    import numpy as np

    return float(np.percentile(values, pct)) if values else 0.0
