"""Reading a data set in the BEIR layout: corpus.jsonl, queries.jsonl and qrels/<split>.tsv.

Every problem with the files is a DatasetError that names the file (and line) and says why, so the
command can print it instead of a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class DatasetError(Exception):
    """The folder is not a usable BEIR data set; str() says which file and why."""


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
