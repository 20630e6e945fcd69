"""Reading a data set in the BEIR layout: corpus.jsonl, queries.jsonl and qrels/<split>.tsv.

A query set may judge a corpus kept elsewhere (the repository's eval/descriptive/scifact judges the
SciFact corpus, which is not copied into the repository): instead of corpus.jsonl its folder holds
corpus.txt, one line naming the corpus file, relative to that folder; `--corpus` overrides both.

Every problem with the files is a DatasetError that names the file (and line) and says why, so the
command can print it instead of a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path


class DatasetError(Exception):
    """The folder is not a usable BEIR data set; str() says which file and why."""


CORPUS_POINTER = "corpus.txt"


@dataclass
class Dataset:
    name: str
    path: Path
    split: str
    corpus: dict[str, tuple[str, str]]  # _id -> (title, text), in file order
    queries: dict[str, str]  # the split's judged queries that have a text, in file order
    qrels: dict[str, dict[str, int]]  # query id -> {corpus id: relevance}, judged queries only
    warnings: list[str] = field(default_factory=list)
    # The corpus's folder name, which names the evaluation database: query sets that share a
    # corpus share its catalogue and its vectors (embedding SciFact once takes minutes).
    catalogue: str = ""
    corpus_path: Path | None = None


def load_dataset(path: Path, split: str, *, corpus: Path | None = None) -> Dataset:
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
    if not (path / "queries.jsonl").is_file():
        raise DatasetError(f"{path / 'queries.jsonl'}: missing (a BEIR data set has queries)")
    corpus_path = Path(corpus) if corpus is not None else corpus_file(path)

    warnings: list[str] = []
    qrels = _read_qrels(qrels_path)
    documents = {
        _id: (str(row.get("title") or ""), str(row.get("text") or ""))
        for _id, row in _read_jsonl(corpus_path)
    }
    texts = {_id: str(row.get("text") or "") for _id, row in _read_jsonl(path / "queries.jsonl")}
    queries = {qid: text for qid, text in texts.items() if qid in qrels}
    if missing := [qid for qid in qrels if qid not in texts]:
        warnings.append(f"{len(missing)} judged queries have no text in queries.jsonl; skipped")
    qrels = {qid: judged for qid, judged in qrels.items() if qid in queries}
    unknown = sum(1 for judged in qrels.values() for doc in judged if doc not in documents)
    if unknown:
        warnings.append(f"{unknown} judgments name documents missing from corpus.jsonl")
    if not queries:
        raise DatasetError(f"{qrels_path}: no judged query has a text in queries.jsonl")
    catalogue = corpus_path.resolve().parent.name
    return Dataset(
        path.name, path, split, documents, queries, qrels, warnings, catalogue, corpus_path
    )


def corpus_file(path: Path) -> Path:
    """The set's own corpus.jsonl, or the file its corpus.txt names (relative to the set)."""
    own, pointer = path / "corpus.jsonl", path / CORPUS_POINTER
    if own.is_file() or not pointer.is_file():
        return own  # a missing corpus.jsonl is reported when it is read
    lines = [line.strip() for line in pointer.read_text(encoding="utf-8").splitlines()]
    named = next((line for line in lines if line and not line.startswith("#")), "")
    if not named:
        raise DatasetError(f"{pointer}: names no corpus file")
    target = path / named
    if not target.is_file():
        raise DatasetError(
            f"{pointer}: names {named}, which is not a file here ({target.resolve()}); "
            "pass --corpus PATH to say where that corpus is"
        )
    return target


def _read_jsonl(path: Path) -> Iterator[tuple[str, dict]]:
    if not path.is_file():
        raise DatasetError(f"{path}: missing (a BEIR data set has a corpus: corpus.jsonl)")
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
    return replace(dataset, corpus=corpus, queries=queries, qrels=qrels)
