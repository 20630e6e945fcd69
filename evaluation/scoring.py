"""Scoring a run with pytrec_eval (trec_eval's own code): nDCG, recall, MRR and latency."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from evaluation.beir import Dataset
from evaluation.runs import ModeRun

RECALL_DEPTH = 100  # Recall@100: how many results each query's ranking is read to


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
