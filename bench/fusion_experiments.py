"""Fusion experiments on a BEIR data set: how to combine the keyword and semantic lists.

Runs every judged query once through the engine's own pieces (search.keyword's BM25 scores,
search.sql.FusedSQL.walk()'s cosine distances, 200 deep, no floors), then tries fusion
variants offline and scores each with pytrec_eval. The winner still has to be confirmed with
`manage.py evaluate`, which runs the real page query.

    .venv/bin/python bench/fusion_experiments.py [--dataset DIR] [--split train]

Needs the evaluation database that `manage.py evaluate DIR` builds (and keeps) first.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from benchkit import add_dataset_argument, header, load_dataset, setup_django

setup_django()

import pytrec_eval  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from tqdm import tqdm  # noqa: E402

from config.database import using_database  # noqa: E402
from evaluation.catalogue import doc_ids_by_pk, eval_database_name  # noqa: E402
from papers.embeddings import get_embedder  # noqa: E402
from search import keyword  # noqa: E402
from search.keyword_docs import doc_table  # noqa: E402
from search.query_text import parse_text_query  # noqa: E402
from search.sql import FusedSQL, Tuning  # noqa: E402

DEPTH = 200


def collect(dataset) -> dict:
    """query id -> {"k": {doc: bm25}, "s": {doc: similarity}, "t": sum of query idf}"""
    tuning = Tuning.from_settings()
    tuning = replace(tuning, keyword=replace(tuning.keyword, min_coverage=0.0))
    ids = doc_ids_by_pk()
    lists = {}
    for qid, text in tqdm(dataset.queries.items(), desc="queries", disable=None):
        parsed = parse_text_query(text)
        vector = tuple(get_embedder().encode_query(text))
        with connection.cursor() as cursor:
            docs = doc_table()
            found = keyword.find(cursor, parsed, keyword.Filters(), tuning.keyword, docs)
            cursor.execute(*FusedSQL(vector=vector, tuning=tuning, depth=DEPTH).walk())
            nearest = cursor.fetchall()
        lists[qid] = {
            "k": {
                ids[pk]: s for pk, s in zip(found.ids.tolist(), found.scores.tolist(), strict=True)
            },
            "s": {ids[pk]: 1 - float(distance) for pk, distance in nearest},
            "t": found.idf_sum,
        }
    return lists


def top(scores: dict, n: int) -> dict:
    return dict(sorted(scores.items(), key=lambda item: -item[1])[:n])


def ranks(scores: dict) -> dict:
    return {doc: i + 1 for i, doc in enumerate(top(scores, len(scores)))}


def candidates(q, *, depth=100, coverage=0.0, similarity=-1.0, min_semantic=10):
    keyword = top({d: s for d, s in q["k"].items() if s >= coverage * q["t"]}, depth)
    nearest = top(q["s"], depth)
    semantic = {
        d: s for i, (d, s) in enumerate(nearest.items()) if i < min_semantic or s >= similarity
    }
    return keyword, semantic


def rrf(q, *, k=60, wk=1.0, ws=1.0, **kw):
    keyword, semantic = candidates(q, **kw)
    kr, sr = ranks(keyword), ranks(semantic)
    return {
        d: (wk / (k + kr[d]) if d in kr else 0) + (ws / (k + sr[d]) if d in sr else 0)
        for d in kr.keys() | sr.keys()
    }


def convex(q, *, a=0.6, strength=0.0, **kw):
    """strength > 0: keyword scores are divided by the larger of the best keyword score and
    strength x the query's idf sum, so a best match that covers little of the query's weight no
    longer takes the whole keyword share (search.sql's "convex" with SEARCH_KEYWORD_STRENGTH)."""
    keyword, semantic = candidates(q, **kw)
    kmax = max(max(keyword.values(), default=1), strength * q["t"]) or 1
    smin, smax = min(semantic.values(), default=0), max(semantic.values(), default=1)
    return {
        d: a * keyword.get(d, 0) / kmax
        + (1 - a) * ((semantic[d] - smin) / (smax - smin or 1) if d in semantic else 0)
        for d in keyword.keys() | semantic.keys()
    }


EXPERIMENTS = {
    "keyword only (BM25)": lambda q: q["k"],
    "semantic only": lambda q: q["s"],
    "rrf k=60 (depth 100)": lambda q: rrf(q),
    "rrf k=30": lambda q: rrf(q, k=30),
    "rrf k=10": lambda q: rrf(q, k=10),
    "rrf k=10 keyword weight 1.25": lambda q: rrf(q, k=10, wk=1.25),
    "rrf k=60 keyword weight 1.25": lambda q: rrf(q, wk=1.25),
    "rrf k=60 depth 20": lambda q: rrf(q, depth=20),
    "rrf k=60 depth 200": lambda q: rrf(q, depth=200),
    "rrf k=60 keyword coverage 0.2": lambda q: rrf(q, coverage=0.2),
    "rrf k=60 similarity floor 0.3": lambda q: rrf(q, similarity=0.3),
    "convex a=0.5 (depth 100)": lambda q: convex(q, a=0.5),
    "convex a=0.6": lambda q: convex(q, a=0.6),
    "convex a=0.7": lambda q: convex(q, a=0.7),
    "convex a=0.6 depth 200": lambda q: convex(q, a=0.6, depth=200),
    "convex a=0.6 depth 200 coverage 0.1": lambda q: convex(q, depth=200, coverage=0.1),
    "convex a=0.6 depth 200 coverage 0.2 (the default)": lambda q: convex(
        q, depth=200, coverage=0.2
    ),
    "convex a=0.6 depth 200 coverage 0.2 floor 0.3": lambda q: convex(
        q, depth=200, coverage=0.2, similarity=0.3
    ),
    "convex a=0.6 depth 200 coverage 0.1 floor 0.3": lambda q: convex(
        q, depth=200, coverage=0.1, similarity=0.3
    ),
    **{
        f"convex a={a} depth 200 coverage 0.2 strength {r}": (
            lambda q, a=a, r=r: convex(q, a=a, depth=200, coverage=0.2, strength=r)
        )
        for a in (0.5, 0.6, 0.7)
        for r in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
    },
}


def default_fusion(q: dict) -> dict:
    """The fused scores as the app's settings make them (convex, 200 deep)."""
    return convex(
        q,
        a=settings.SEARCH_KEYWORD_WEIGHT,
        depth=200,
        coverage=settings.SEARCH_KEYWORD_MIN_COVERAGE,
        strength=settings.SEARCH_KEYWORD_STRENGTH,
    )


def strong_matches(q: dict, threshold: float, similarity: float | None) -> tuple[dict, set]:
    """(the default fusion's scores, its strong matches): a fused score of at least threshold,
    and, with `similarity`, above every paper found by meaning alone less similar than that
    (search.sql.STRONG: a weak paper by meaning ends the strong matches)."""
    fused = default_fusion(q)
    keyword, _ = candidates(q, depth=200, coverage=settings.SEARCH_KEYWORD_MIN_COVERAGE)
    weak = [
        score
        for doc, score in fused.items()
        if similarity is not None and doc not in keyword and q["s"].get(doc, 0) < similarity
    ]
    bar = max(weak, default=-1.0)
    return fused, {doc for doc, score in fused.items() if score >= threshold and score > bar}


def print_cutoff(lists: dict, qrels: dict) -> None:
    """Where the list ends (SEARCH_STRONG_SCORE on the default fusion): how many of the judged
    papers among the candidates the strong matches keep, and what share of candidates they are;
    by the fused score alone, and with papers found by meaning alone held to
    SEARCH_STRONG_SIMILARITY as well (the default)."""
    floor = settings.SEARCH_STRONG_SIMILARITY
    print(f"\n{'strong from fused score':24} {'meaning alone':>16} {'judged kept':>12} "
          f"{'candidates kept':>16}")  # fmt: skip
    for similarity in (None, 0.25, 0.3, floor):
        for threshold in (0.15, 0.2, 0.25, 0.3):
            kept_judged = judged = kept = count = 0
            for qid, q in lists.items():
                fused, strong = strong_matches(q, threshold, similarity)
                relevant = {d for d, grade in qrels.get(qid, {}).items() if grade > 0} & set(fused)
                kept_judged, judged = kept_judged + len(relevant & strong), judged + len(relevant)
                kept, count = kept + len(strong), count + len(fused)
            default = similarity == floor and threshold == settings.SEARCH_STRONG_SCORE
            label = f"similarity >= {similarity}" if similarity else "any"
            print(f"{threshold:<24} {label:>16} {kept_judged / max(judged, 1):12.3f} "
                  f"{kept / max(count, 1):16.3f}{' (the default)' if default else ''}")  # fmt: skip


def reciprocal_rank(scores: dict, judged: dict, k: int = 10) -> float:
    for rank, doc in enumerate(top(scores, k), 1):
        if judged.get(doc, 0) > 0:
            return 1 / rank
    return 0.0


def judged_lists(description: str):
    """(data set, split, each judged query's lists) for the --dataset and --split asked for."""
    parser = argparse.ArgumentParser(description=description)
    add_dataset_argument(parser)
    parser.add_argument("--split", default="train")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset, args.split)
    name = eval_database_name(
        settings.DATABASES["default"]["NAME"], dataset.catalogue, sliced=False
    )
    with using_database(name):
        return dataset, args.split, collect(dataset)


def main() -> None:
    dataset, split, lists = judged_lists(__doc__.splitlines()[0])
    evaluator = pytrec_eval.RelevanceEvaluator(dataset.qrels, {"ndcg_cut.10", "recall.100"})
    print(f"\n{dataset.name} {split}: {len(lists)} queries\n")
    print(f"{'experiment':58} {'nDCG@10':>8} {'MRR@10':>7} {'R@100':>7}")
    for label, fuse in EXPERIMENTS.items():
        run = {qid: top(fuse(q), 100) or {"-": 0.0} for qid, q in lists.items()}
        scores = evaluator.evaluate(run).values()
        ndcg = sum(s["ndcg_cut_10"] for s in scores) / len(dataset.qrels)
        recall = sum(s["recall_100"] for s in scores) / len(dataset.qrels)
        mrr = sum(reciprocal_rank(run[qid], dataset.qrels[qid]) for qid in run)
        print(f"{label:58} {ndcg:8.3f} {mrr / len(dataset.qrels):7.3f} {recall:7.3f}")
    print_cutoff(lists, dataset.qrels)
    print(f"\n{header()}")


if __name__ == "__main__":
    main()
