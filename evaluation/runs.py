"""Running every judged query of a data set through the search engine, as the page runs it."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from evaluation.beir import Dataset
from papers.embeddings import Embedder
from search.engine import ranked_ids
from search.state import Mode, SearchState


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
    if mode not in Mode.values:
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
