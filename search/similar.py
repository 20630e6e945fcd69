from __future__ import annotations

from pgvector.django import CosineDistance

from papers.models import EmbeddingState, Paper, embedded_q

SIMILAR_COUNT = 10


def similar_papers(paper: Paper, *, count: int = SIMILAR_COUNT) -> list[Paper] | None:
    """The papers nearest in meaning; None while the paper itself has no current vector."""
    if paper.embedding_state != EmbeddingState.INDEXED:
        return None
    return list(
        Paper.objects.filter(embedded_q())
        .exclude(pk=paper.pk)
        .select_related("organization")
        .annotate(distance=CosineDistance("embedding", paper.embedding))
        .order_by("distance", "pk")
        .defer("embedding", "search_vector")[:count]
    )
