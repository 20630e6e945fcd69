"""gunicorn's hooks for `make serve` (scripts/serve.py passes this file with --config).

A fresh worker loads the embedding model and this process's copy of the per-paper fields on its
first search: seconds, which the person behind that search would wait, and which every worker
replaced by --max-requests would cost again. `post_worker_init` runs before the worker takes
its first request, so it spends them here while the others serve.
"""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("config")


def post_worker_init(worker) -> None:
    from search.engine import search
    from search.state import Mode, SearchState

    started = time.perf_counter()
    try:
        search(SearchState(q="warm up", mode=Mode.HYBRID))
    except Exception:  # a database that is down: the first request will say so, with a 503
        logger.warning("worker %s: warm-up search failed", worker.pid, exc_info=True)
    logger.info("worker %s warmed in %.1f s", worker.pid, time.perf_counter() - started)
