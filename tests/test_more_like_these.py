"""More like these: like= and unlike= steer the search by meaning (Rocchio), through the engine,
the page, the API and the feed; bad ids are refused per field."""

from __future__ import annotations

import numpy as np
import pytest
from django.http import QueryDict
from pgvector.django import CosineDistance

from papers.models import Paper, embedded_q
from search import examples
from search.engine import search
from search.state import MAX_EXAMPLES, SearchState
from tests.catalogue import LIFL, paper


def state_of(query: str) -> SearchState:
    return examples.checked(SearchState.from_query(QueryDict(query)))


def ids(results) -> list[int]:
    return [hit.paper.pk for hit in results.hits]


def nearest_to(target: Paper) -> list[int]:
    """An independent oracle: every other embedded paper by cosine distance, through the ORM."""
    return list(
        Paper.objects.filter(embedded_q())
        .exclude(pk=target.pk)
        .annotate(d=CosineDistance("embedding", target.embedding))
        .order_by("d", "pk")
        .values_list("pk", flat=True)
    )


def test_liking_a_paper_without_text_ranks_by_closeness_to_it(catalogue):
    liked = paper(LIFL)
    results = search(state_of(f"like={liked.pk}"))
    assert ids(results)[:5] == nearest_to(liked)[:5]
    assert liked.pk not in ids(results)
    assert [e.pk for e in results.examples.liked_papers] == [liked.pk]


def test_liking_a_result_changes_the_order_of_a_typed_search(catalogue):
    before = ids(search(state_of("q=serving+large+language+models")))
    liked = Paper.objects.get(pk=before[5])
    after = ids(search(state_of(f"q=serving+large+language+models&like={liked.pk}")))
    assert liked.pk not in after
    assert after != [pk for pk in before if pk != liked.pk]
    # The papers closest to the liked one rise.
    close = nearest_to(liked)[0]
    if close in before and close in after:
        assert after.index(close) <= before.index(close)


def test_unliking_a_paper_pushes_its_neighbours_down(catalogue):
    liked = paper(LIFL)
    base = ids(search(state_of(f"like={liked.pk}")))
    unliked = Paper.objects.get(pk=base[0])
    moved = ids(search(state_of(f"like={liked.pk}&unlike={unliked.pk}")))
    assert unliked.pk not in moved
    neighbour = nearest_to(unliked)[0]
    if neighbour != liked.pk:
        assert moved.index(neighbour) >= base.index(neighbour) - 1


def test_the_vector_is_the_normalized_rocchio_combination(catalogue, settings):
    liked = paper(LIFL)
    marked = examples.load(SearchState(likes=(liked.pk,)), "default")
    vector = np.array(examples.rocchio(None, marked))
    assert np.isclose(np.linalg.norm(vector), 1.0)
    expected = np.asarray(liked.embedding) / np.linalg.norm(liked.embedding)
    assert np.allclose(vector, expected, atol=1e-6)


def test_filters_still_apply_to_a_liked_search(catalogue):
    liked = paper(LIFL)
    results = search(state_of(f"like={liked.pk}&org=acme"))
    assert results.hits
    assert {hit.paper.organization.slug for hit in results.hits} == {"acme"}


def test_a_liked_paper_without_a_vector_is_named_and_the_text_still_searches(catalogue):
    liked = paper(LIFL)
    Paper.objects.filter(pk=liked.pk).update(embedding=None)
    results = search(state_of(f"q=serverless&like={liked.pk}"))
    assert [e.pk for e in results.examples.waiting] == [liked.pk]
    assert results.hits and liked.pk not in ids(results)


@pytest.mark.parametrize(
    ("query", "field"),
    [("like=0", "like"), ("like=abc", "like"), ("unlike=-3", "unlike"), ("like=999999999", "like")],
)
def test_a_bad_or_unknown_paper_id_is_a_400_naming_its_field(client, catalogue, query, field):
    for url in (f"/?{query}", f"/api/search?{query}", f"/feed.atom?{query}"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert field in response.content.decode()


def test_too_many_liked_papers_are_refused_with_a_message(client, catalogue):
    query = "&".join(f"like={pk}" for pk in range(1, MAX_EXAMPLES + 3))
    state = SearchState.from_query(QueryDict(query))
    assert "At most" in state.errors["like"]
    assert len(state.likes) == MAX_EXAMPLES


def test_the_page_shows_the_marked_papers_with_a_way_to_remove_each(client, catalogue):
    liked, unliked = paper(LIFL), Paper.objects.exclude(title__startswith=LIFL).first()
    response = client.get(f"/?like={liked.pk}&unlike={unliked.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "More like these:" in html and "Fewer like these:" in html
    assert SearchState(unlikes=(unliked.pk,)).url.replace("&", "&amp;") in html  # remove liked
    assert f'id="hit-{liked.pk}"' not in html


def test_each_result_links_to_liking_it_without_javascript(client, catalogue):
    response = client.get("/?q=serverless")
    first = response.context["results"].hits[0].paper.pk
    assert f'href="/?q=serverless&amp;like={first}"' in response.content.decode()
    follow = client.get(f"/?q=serverless&like={first}")
    assert follow.status_code == 200
    assert first not in [hit.paper.pk for hit in follow.context["results"].hits]


def test_the_api_and_the_feed_carry_the_likes(client, catalogue):
    liked = paper(LIFL)
    body = client.get(f"/api/search?like={liked.pk}").json()
    assert body["query"]["like"] == [liked.pk]
    assert body["examples"] == [
        {"id": liked.pk, "title": liked.title, "liked": True, "embedded": True}
    ]
    assert liked.pk not in [r["id"] for r in body["results"]]
    feed = client.get(f"/feed.atom?like={liked.pk}")
    assert feed.status_code == 200
    assert f"/papers/{liked.pk}/" not in feed.content.decode()


def test_liked_and_unliked_at_once_keeps_the_like(catalogue):
    state = SearchState.from_query(QueryDict("like=5&unlike=5&unlike=7"))
    assert state.likes == (5,) and state.unlikes == (7,)
    assert "unlike" in state.errors
