"""More like these on SciFact: does liking the first relevant result improve the rest of the list?

For every judged query with a relevant paper in the top 10 (hybrid, or semantic) and at least one
other relevant paper, the first relevant result is liked (`like=`), and nDCG@10 of the rest of the
list is compared with and without the like: the liked paper is left out of the run and of the
judgments both times (the page shows it above the list, not in it). Each Rocchio setting tried
(beta, the liked papers' weight; alpha, the typed text's, stays 1) is one line.

    .venv/bin/python bench/more_like_these.py [--dataset DIR] [--split train]

Needs the evaluation database that `manage.py evaluate DIR` builds (and keeps) first; it only
reads it.
"""

from __future__ import annotations

import argparse
import statistics

from benchkit import add_dataset_argument, header, load_dataset, setup_django

setup_django()

import pytrec_eval  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test import override_settings  # noqa: E402
from tqdm import tqdm  # noqa: E402

from config.database import using_database  # noqa: E402
from evaluation.catalogue import doc_ids_by_pk, eval_database_name  # noqa: E402
from search.engine import ranked_ids  # noqa: E402
from search.state import SearchState  # noqa: E402

K = 10
BETAS = (0.5, 1.0, 1.5)


def eligible(dataset, mode: str, pks: dict[str, int], ids: dict[int, str]) -> dict:
    """query id -> (text, liked paper id, its corpus id, the rest of the baseline list)"""
    chosen = {}
    for qid, text in tqdm(dataset.queries.items(), desc=f"{mode} baseline", disable=None):
        relevant = {d for d, grade in dataset.qrels.get(qid, {}).items() if grade > 0}
        ranking = [ids[pk] for pk in ranked_ids(_state(text, mode), K + 1)]
        first = next((doc for doc in ranking[:K] if doc in relevant), None)
        if first is None or len(relevant) < 2:
            continue
        rest = [doc for doc in ranking if doc != first][:K]
        chosen[qid] = (text, pks[first], first, rest)
    return chosen


def ndcg(qrels: dict, run: dict[str, list[str]]) -> dict[str, float]:
    as_run = {q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in run.items()}
    scored = pytrec_eval.RelevanceEvaluator(qrels, {f"ndcg_cut.{K}"}).evaluate(as_run)
    return {q: scored.get(q, {}).get(f"ndcg_cut_{K}", 0.0) for q in run}


def liked_runs(chosen: dict, mode: str, ids: dict[int, str], beta: float) -> dict:
    runs = {}
    with override_settings(SEARCH_ROCCHIO_BETA=beta):
        for qid, (text, pk, _, _) in tqdm(chosen.items(), desc=f"{mode} beta {beta}", disable=None):
            state = _state(text, mode).with_changes(likes=(pk,))
            runs[qid] = [ids[p] for p in ranked_ids(state, K)]
    return runs


def _state(text: str, mode: str) -> SearchState:
    return SearchState.from_query({"q": text, "mode": mode})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_argument(parser)
    parser.add_argument("--split", default="train")
    parser.add_argument("--modes", default="hybrid,semantic")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset, args.split)
    name = eval_database_name(
        settings.DATABASES["default"]["NAME"], dataset.catalogue, sliced=False
    )
    lines = [header(), f"{dataset.name} {args.split}: {len(dataset.queries)} queries", ""]
    lines.append(f"{'mode':9} {'beta':>5} {'queries':>7} {'before':>7} {'after':>7} {'ratio':>6}"
                 f" {'better':>6} {'worse':>6}")  # fmt: skip
    with using_database(name):
        ids = doc_ids_by_pk()
        pks = {doc: pk for pk, doc in ids.items()}
        for mode in args.modes.split(","):
            chosen = eligible(dataset, mode, pks, ids)
            qrels = {
                qid: {d: g for d, g in dataset.qrels[qid].items() if d != liked}
                for qid, (_, _, liked, _) in chosen.items()
            }
            before = ndcg(qrels, {qid: rest for qid, (*_, rest) in chosen.items()})
            for beta in BETAS:
                after = ndcg(qrels, liked_runs(chosen, mode, ids, beta))
                b, a = statistics.fmean(before.values()), statistics.fmean(after.values())
                better = sum(after[q] > before[q] for q in chosen)
                worse = sum(after[q] < before[q] for q in chosen)
                lines.append(f"{mode:9} {beta:5.2f} {len(chosen):7} {b:7.4f} {a:7.4f}"
                             f" {a / b:6.3f} {better:6} {worse:6}")  # fmt: skip
                print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
