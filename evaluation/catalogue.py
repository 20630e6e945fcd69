"""The evaluation catalogue: a database of its own per data set, holding exactly its corpus.

It is written through the app's own loader and kept between runs, brought up to date by content
(a paper whose text is unchanged keeps its vector), so repeated evaluation while tuning costs only
the queries.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

from evaluation.beir import Dataset
from papers.embeddings import paper_text, text_hash
from papers.ingest import PaperRecord
from papers.loader import upsert_papers
from papers.models import Paper

SOURCE_PREFIX = "beir"
MAX_DB_NAME = 63  # PostgreSQL's identifier limit


def eval_database_name(base: str, dataset_name: str, *, sliced: bool) -> str:
    """`<base>_eval_<data set>`, `_slice` added for a partial corpus so that a quick run on a
    slice never evicts the full catalogue's vectors."""
    slug = re.sub(r"[^a-z0-9]+", "_", dataset_name.lower()).strip("_") or "dataset"
    name = f"{base}_eval_{slug}{'_slice' if sliced else ''}"
    if len(name.encode()) > MAX_DB_NAME:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name.encode()[: MAX_DB_NAME - 9].decode(errors='ignore')}_{digest}"
    return name


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

    Papers whose text is unchanged are left alone (their vectors stay valid). Nothing is queued
    for embedding: the command embeds in-process, and no worker serves this database.
    """
    started = time.perf_counter()
    source = f"{SOURCE_PREFIX}:{dataset.catalogue}"[: Paper._meta.get_field("source").max_length]
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
        upsert_papers(
            records, on_batch=bar.update if bar is not None else None, queue_embeddings=False
        )
    return SyncSummary(
        kept=len(dataset.corpus) - len(records),
        loaded=len(records),
        removed=len(removed),
        seconds=time.perf_counter() - started,
    )


def doc_ids_by_pk() -> dict[int, str]:
    prefix = f"{SOURCE_PREFIX}:"
    return {pk: key.removeprefix(prefix) for pk, key in Paper.objects.values_list("pk", "key")}
