"""Would a third signal lift the fusion? Word proximity and query coverage, cross-validated.

Issue 12 asks SciFact train hybrid nDCG@10 to reach 0.745; the default fusion of BM25 and cosine
similarity gives about 0.740 on the lists bench/fusion_experiments.py reads. This script adds
two signals that the keyword side could compute, to the default fused score of the first 50:

- proximity: the share of the query's adjacent word pairs (stems, stop words left out, each
  pair weighted by its words' idf) that stand within two words of each other in the paper;
- coverage: the share of the query's idf that the paper holds at all.

Each weight is chosen on half of the queries and scored on the other half (two folds, five
random splits), so that the gain printed is what an unseen query would get, not a fit.

    .venv/bin/python bench/fusion_features.py [--dataset DIR] [--split train]

Needs the evaluation database that `manage.py evaluate DIR` builds (and keeps) first.
"""

from __future__ import annotations

import math
import random
import re
import statistics
from collections import defaultdict

import fusion_experiments as fx
import Stemmer
from benchkit import header
from bm25s.stopwords import STOPWORDS_EN

WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
STOP = set(STOPWORDS_EN)
RERANKED = 50  # the fused list's first papers get the extra signal
WINDOW = 2  # a pair counts when its second word follows within this many words
GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)


class Texts:
    """Every paper's stems with their positions, and each stem's idf, for the signals."""

    def __init__(self, corpus: dict[str, tuple[str, str]]):
        self.stem = Stemmer.Stemmer("english").stemWord
        self.positions = {
            doc: self._positions(f"{title} . {text}") for doc, (title, text) in corpus.items()
        }
        df = defaultdict(int)
        for stems in self.positions.values():
            for stem in stems:
                df[stem] += 1
        n = len(corpus)
        self.idf = {s: math.log(1 + (n - k + 0.5) / (k + 0.5)) for s, k in df.items()}

    def _stems(self, text: str) -> list[tuple[int, str]]:
        words = WORD.findall(text.lower())
        return [(i, self.stem(w)) for i, w in enumerate(words) if w not in STOP]

    def _positions(self, text: str) -> dict[str, set[int]]:
        found = defaultdict(set)
        for i, stem in self._stems(text):
            found[stem].add(i)
        return found

    def signals(self, query: str, doc: str) -> tuple[float, float]:
        """(proximity, coverage) of doc for query, each from 0 to 1."""
        stems = [s for _, s in self._stems(query)]
        held = self.positions.get(doc, {})
        weight = self.idf.get
        total = sum(weight(s, 0) for s in set(stems)) or 1
        coverage = sum(weight(s, 0) for s in set(stems) if s in held) / total
        near = far = 0.0
        for a, b in zip(stems, stems[1:], strict=False):
            pair = weight(a, 0) + weight(b, 0)
            far += pair
            if any(p + k in held.get(b, ()) for p in held.get(a, ()) for k in range(1, WINDOW + 1)):
                near += pair
        return (near / far if far else 0.0), coverage


def features(lists: dict, dataset, texts: Texts) -> dict:
    """query id -> {paper: (default fused score, proximity, coverage)} over the fused list."""
    out = {}
    for qid, q in lists.items():
        fused = fx.default_fusion(q)
        first = fx.top(fused, RERANKED)
        out[qid] = {
            d: (score, *(texts.signals(dataset.queries[qid], d) if d in first else (0.0, 0.0)))
            for d, score in fused.items()
        }
    return out


def ndcg(evaluator, feats: dict, qids: list, w_prox: float, w_cov: float) -> float:
    run = {
        qid: fx.top({d: s + w_prox * p + w_cov * c for d, (s, p, c) in feats[qid].items()}, 100)
        for qid in qids
    }
    scores = evaluator.evaluate(run)
    return sum(scores[q]["ndcg_cut_10"] for q in qids) / len(qids)


def cross_validate(evaluator, feats: dict, grid: list[tuple[float, float]]) -> list[float]:
    """Gains on held-out halves: weights chosen on one half, scored on the other."""
    qids, gains, rng = list(feats), [], random.Random(0)
    for _ in range(5):
        rng.shuffle(qids)
        half = len(qids) // 2
        for train, test in ((qids[:half], qids[half:]), (qids[half:], qids[:half])):
            best = max(grid, key=lambda w: ndcg(evaluator, feats, train, *w))
            gains.append(ndcg(evaluator, feats, test, *best) - ndcg(evaluator, feats, test, 0, 0))
    return gains


def main() -> None:
    dataset, split, lists = fx.judged_lists(__doc__.splitlines()[0])
    feats = features(lists, dataset, Texts(dataset.corpus))
    evaluator = fx.pytrec_eval.RelevanceEvaluator(dataset.qrels, {"ndcg_cut.10"})
    qids = list(feats)
    print(f"\n{dataset.name} {split}: {len(qids)} queries, nDCG@10 of hybrid\n")
    print(f"default fusion: {ndcg(evaluator, feats, qids, 0, 0):.4f}")
    print(f"\n{'weight':>8} {'+ proximity':>12} {'+ coverage':>11}")
    for w in GRID[1:]:
        prox, cov = ndcg(evaluator, feats, qids, w, 0), ndcg(evaluator, feats, qids, 0, w)
        print(f"{w:8} {prox:12.4f} {cov:11.4f}")
    print("\nweights chosen on half the queries, gain on the other half (10 folds):")
    for label, grid in (
        ("proximity", [(w, 0.0) for w in GRID]),
        ("coverage", [(0.0, w) for w in GRID]),
        ("both", [(p, c) for p in GRID for c in GRID]),
    ):
        gains = cross_validate(evaluator, feats, grid)
        print(f"  {label:10} {statistics.mean(gains):+.4f} ± {statistics.stdev(gains):.4f}")
    print(f"\n{header()}")


if __name__ == "__main__":
    main()
