"""`make serve`'s gunicorn workers warm up before their first request (config/gunicorn_hooks.py)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from config.gunicorn_hooks import post_worker_init
from papers.embeddings import get_embedder


def test_a_new_worker_runs_a_search_before_it_takes_requests(demo_catalogue, caplog):
    get_embedder().encode_query.cache_clear()
    with caplog.at_level(logging.INFO, logger="config"):
        post_worker_init(SimpleNamespace(pid=4242))
    assert get_embedder().encode_query.cache_info().currsize == 1  # the model has run
    assert "worker 4242 warmed in" in caplog.text
    assert "failed" not in caplog.text
