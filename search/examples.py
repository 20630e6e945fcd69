"""More like these, and the catalogue as it was: the parts of a search that name papers or a time.

Papers marked as good examples (`like=`) or bad ones (`unlike=`) steer the search by meaning:
the query vector becomes a Rocchio combination, alpha x the typed text's embedding + beta x the
mean of the liked papers' vectors - gamma x the mean of the unliked ones', normalized, and the
rest of the search (keyword candidates, fusion, filters, facets) runs as before with it. The
marked papers are shown above the list, not in it. docs/RELEVANCE.md has the figures.

A pinned `as_of` keeps only the papers imported by then (Paper.created_at): `later_ids` lists
the others for the numpy side (search.keyword.Filters.later); the SQL side filters on the column.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db.models import BooleanField, Case, Value, When

from papers.models import Paper, embedded_q
from search.state import SearchState


@dataclass(frozen=True)
class Example:
    pk: int
    title: str
    liked: bool
    embedded: bool  # searchable by meaning; if not, it cannot steer the search yet


@dataclass(frozen=True)
class Examples:
    papers: tuple[Example, ...] = ()
    liked: np.ndarray | None = None  # (n, dimensions) vectors of the embedded liked papers
    unliked: np.ndarray | None = None

    @property
    def liked_papers(self) -> list[Example]:
        return [e for e in self.papers if e.liked]

    @property
    def unliked_papers(self) -> list[Example]:
        return [e for e in self.papers if not e.liked]

    @property
    def waiting(self) -> list[Example]:
        """Marked papers without a current vector: they do not steer the search yet."""
        return [e for e in self.papers if not e.embedded]


def checked(state: SearchState) -> SearchState:
    """The state with the marked ids that name no paper dropped and reported per field."""
    if not state.marked:
        return state
    known = set(Paper.objects.filter(pk__in=state.marked).values_list("pk", flat=True))
    errors = dict(state.errors)
    for name, ids in (("like", state.likes), ("unlike", state.unlikes)):
        unknown = [pk for pk in ids if pk not in known]
        if unknown:
            errors[name] = f"No paper with id {unknown[0]}."
    if len(errors) == len(state.errors):
        return state
    return replace(
        state,
        likes=tuple(pk for pk in state.likes if pk in known),
        unlikes=tuple(pk for pk in state.unlikes if pk in known),
        errors=errors,
    )


def load(state: SearchState, using: str) -> Examples:
    """The marked papers, in the state's order, with the vectors of those that have one."""
    if not state.marked:
        return Examples()
    ready = Case(
        When(embedded_q(), then=Value(True)), default=Value(False), output_field=BooleanField()
    )
    rows = {
        pk: (title, is_ready, vector)
        for pk, title, is_ready, vector in Paper.objects.using(using)
        .filter(pk__in=state.marked)
        .annotate(ready=ready)
        .values_list("pk", "title", "ready", "embedding")
    }
    liked = set(state.likes)
    papers = tuple(
        Example(pk, rows[pk][0], pk in liked, rows[pk][1]) for pk in state.marked if pk in rows
    )
    return Examples(
        papers=papers,
        liked=_vectors(rows, [e.pk for e in papers if e.liked and e.embedded]),
        unliked=_vectors(rows, [e.pk for e in papers if not e.liked and e.embedded]),
    )


def rocchio(query_vector: tuple[float, ...] | None, examples: Examples) -> tuple[float, ...] | None:
    """The vector the search by meaning ranks by: the typed text's moved towards the liked
    papers and away from the unliked. Without text or an embedded liked paper there is nothing
    to move towards (ranking by distance from the unliked alone lists noise): None."""
    if examples.liked is None and query_vector is None:
        return None
    total = np.zeros(settings.EMBEDDING_DIMENSIONS)
    if query_vector is not None:
        total += settings.SEARCH_ROCCHIO_ALPHA * np.asarray(query_vector)
    if examples.liked is not None:
        total += settings.SEARCH_ROCCHIO_BETA * examples.liked.mean(axis=0)
    if examples.unliked is not None:
        total -= settings.SEARCH_ROCCHIO_GAMMA * examples.unliked.mean(axis=0)
    norm = np.linalg.norm(total)
    if norm == 0:
        return query_vector
    return tuple((total / norm).tolist())


def latest_import() -> datetime | None:
    """When the newest paper was imported: what a link pinned now is pinned at (read from the
    created_at index)."""
    return Paper.objects.order_by("-created_at").values_list("created_at", flat=True).first()


def later_ids(as_of: datetime | None, cursor) -> np.ndarray | None:
    """The papers imported after a pinned as_of, sorted (through the created_at index): few for
    a recent pin; an old pin of a big catalogue reads many, once per search."""
    if as_of is None:
        return None
    cursor.execute(
        "SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM papers_paper WHERE created_at > %s",
        [as_of],
    )
    return np.array(cursor.fetchone()[0], dtype=np.int64)


def _vectors(rows: dict, ids: list[int]) -> np.ndarray | None:
    if not ids:
        return None
    return np.array([np.asarray(rows[pk][2], dtype=float) for pk in ids])
