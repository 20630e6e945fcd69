"""Helpers shared by the tests that search the demo catalogue."""

from __future__ import annotations

from papers.models import Paper

INFINITE = "Infinite-LLM"


def paper(prefix: str) -> Paper:
    return Paper.objects.get(title__startswith=prefix)
