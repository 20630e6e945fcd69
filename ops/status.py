"""The search page's status line (catalogue sources, embedding backlog) cached for a few seconds.

Each figure is a handful of index probes (papers.indexing.backlog, search.catalogue), cheap once
but paid on every page view; under load the same answer serves everyone for
STATUS_CACHE_SECONDS. The cache is Django's default: local memory, one per process, which is
enough for a figure that may be seconds old (no shared cache to run or invalidate).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from papers.indexing import Backlog, backlog

T = TypeVar("T")


def cached(key: str, compute: Callable[[], T]) -> T:
    seconds = settings.STATUS_CACHE_SECONDS
    if not seconds:
        return compute()
    return cache.get_or_set(f"status:{key}", compute, seconds)


def embedding_backlog(total: int = 0) -> Backlog:
    """The backlog of a catalogue of `total` papers (0 when only waiting/failed/rate matter)."""
    return cached(f"backlog:{total}", lambda: backlog(total))
