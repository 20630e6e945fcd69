"""The group's judgments as a BEIR data set: for `evaluate --judgments`, the admin's export and
`manage.py export_judgments`.

A query is its text; its id is a hash of the text, so an export's ids stay the same from one
export to the next. A paper is its id in this catalogue. When members disagree, the majority
decides and a tie counts as relevant (graded 1, not relevant 0, as BEIR's qrels).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import defaultdict
from pathlib import Path

from django.db.models import QuerySet

from evaluation.beir import Dataset
from evaluation.models import Judgment
from papers.models import Paper

SPLIT = "test"


def query_id(text: str) -> str:
    return "q" + hashlib.sha1(text.encode()).hexdigest()[:10]


def as_dataset(judgments: QuerySet[Judgment] | None = None) -> Dataset:
    """The judgments (all of them by default) as queries, qrels and the judged papers."""
    judgments = Judgment.objects.all() if judgments is None else judgments
    votes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    texts: dict[str, str] = {}
    for text, paper_id, relevant in judgments.values_list("query", "paper_id", "relevant"):
        qid = query_id(text)
        texts[qid] = text
        votes[qid][paper_id] += 1 if relevant else -1
    qrels = {
        qid: {str(pk): int(balance >= 0) for pk, balance in papers.items()}
        for qid, papers in votes.items()
    }
    judged = {int(pk) for papers in qrels.values() for pk in papers}
    corpus = {
        str(pk): (title, abstract)
        for pk, title, abstract in Paper.objects.filter(pk__in=judged)
        .order_by("pk")
        .values_list("pk", "title", "abstract")
    }
    return Dataset(
        name="judgments", path=Path("."), split=SPLIT, corpus=corpus, queries=texts, qrels=qrels,
        catalogue="judgments",
    )  # fmt: skip


def beir_files(dataset: Dataset) -> dict[str, str]:
    """The BEIR layout's files (relative path -> text): queries.jsonl, qrels/test.tsv and the
    judged papers as corpus.jsonl."""
    queries = "".join(
        json.dumps({"_id": qid, "text": text}) + "\n" for qid, text in dataset.queries.items()
    )
    qrels = "query-id\tcorpus-id\tscore\n" + "".join(
        f"{qid}\t{doc}\t{grade}\n"
        for qid, papers in dataset.qrels.items()
        for doc, grade in papers.items()
    )
    corpus = "".join(
        json.dumps({"_id": doc, "title": title, "text": text}) + "\n"
        for doc, (title, text) in dataset.corpus.items()
    )
    return {"queries.jsonl": queries, f"qrels/{SPLIT}.tsv": qrels, "corpus.jsonl": corpus}


def write_beir(dataset: Dataset, folder: Path) -> list[Path]:
    written = []
    for name, text in beir_files(dataset).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def beir_zip(dataset: Dataset) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in beir_files(dataset).items():
            archive.writestr(f"judgments/{name}", text)
    return buffer.getvalue()


def record(user, *, query: str, search: str, paper: Paper, relevant: bool) -> Judgment:
    """A member's judgment; judging the same result again changes it."""
    judgment, _ = Judgment.objects.update_or_create(
        user=user, query=query, paper=paper, defaults={"search": search, "relevant": relevant}
    )
    return judgment


def verdicts(user, query: str, paper_ids: list[int]) -> dict[int, bool]:
    """This member's judgments of these papers for this query: paper id -> relevant."""
    if not (user.is_authenticated and query and paper_ids):
        return {}
    found = Judgment.objects.filter(user=user, query=query, paper_id__in=paper_ids)
    return dict(found.values_list("paper_id", "relevant"))
