"""JSON API: the same searches as the page (docs/API.md)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from papers.models import Paper
from search import examples
from search.citations import cite_links, export_links
from search.engine import Hit, Results, search
from search.similar import similar_papers
from search.spelling import did_you_mean
from search.state import SearchState


def search_api(request: HttpRequest) -> JsonResponse:
    state = examples.checked(SearchState.from_query(request.GET))
    if state.errors:
        return JsonResponse({"errors": state.errors}, status=400)
    results = search(state)
    return JsonResponse(
        {
            "query": state.to_dict(),
            # Strong matches; a search by meaning also lists loosely related papers after them
            # (by relevance), counted apart (docs/API.md).
            "total": results.total,
            "loosely_related": results.loose,
            # True when a typed phrase was checked only as far as this page: then the total is
            # the checked matches plus the expected share of the rest.
            "total_approximate": results.total_approximate,
            "page": state.page,
            "pages": results.pages,
            "not_indexed": results.not_indexed,
            # The papers marked like= / unlike=: not in the results; "embedded": false while
            # one cannot steer the search yet (it has no vector).
            "examples": [
                {"id": e.pk, "title": e.title, "liked": e.liked, "embedded": e.embedded}
                for e in results.examples.papers
            ],
            "fallback": _fallback(results),
            # The same search with its unknown words corrected, when some word is in no paper.
            "did_you_mean": _suggestion(request, state),
            "results": [_hit_json(request, hit) for hit in _with_sources(results.hits)],
            "facets": {
                "scope": "all matches" if results.exhaustive else "top candidates",
                "organizations": [
                    {"slug": f.slug, "name": f.name, "count": f.count} for f in results.facets
                ],
                "categories": [{"name": f.name, "count": f.count} for f in results.category_facets],
            },
            # Every result of this search (not only this page) as a file, by format.
            "exports": _links(request, export_links(state)),
        }
    )


def paper_api(request: HttpRequest, pk: int) -> JsonResponse:
    paper = Paper.objects.select_related("organization").filter(pk=pk).first()
    if paper is None:
        return JsonResponse({"errors": {"id": f"No paper with id {pk}."}}, status=404)
    similar = similar_papers(paper)
    body = paper_json(request, paper)
    body["similar"] = None if similar is None else [paper_json(request, p) for p in similar]
    body["cite"] = _links(request, cite_links(paper))
    return JsonResponse(body)


def _links(request: HttpRequest, links: list) -> dict[str, str]:
    return {link.extension: request.build_absolute_uri(link.url) for link in links}


def paper_json(request: HttpRequest, paper: Paper) -> dict:
    org = paper.organization
    return {
        "id": paper.pk,
        "title": paper.title,
        "abstract": paper.abstract,
        "published": paper.published.isoformat() if paper.published else None,
        "organization": {"slug": org.slug, "name": org.name} if org else None,
        "authors": list(paper.authors),
        "authors_count": paper.authors_count,
        "categories": list(paper.categories),
        "arxiv_id": paper.arxiv_id or None,
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
        "doi": paper.doi or None,
        "upvotes": paper.upvotes,
        "url": request.build_absolute_uri(paper.get_absolute_url()),
    }


def _with_sources(hits: list[Hit]) -> list[Hit]:
    """Give the hits' papers their authors, categories and DOI, which the search query does not
    select: one query by primary key for the page's 20 papers."""
    papers = {hit.paper.pk: hit.paper for hit in hits}
    found = Paper.objects.filter(pk__in=list(papers)).values_list(
        "pk", "authors", "categories", "doi"
    )
    for pk, authors, categories, doi in found:
        papers[pk].authors, papers[pk].categories, papers[pk].doi = authors, categories, doi
    return hits


def _hit_json(request: HttpRequest, hit: Hit) -> dict:
    return paper_json(request, hit.paper) | {
        "score": hit.score,
        "keyword_rank": hit.keyword_rank,
        "semantic_rank": hit.semantic_rank,
        "strong": hit.strong,
        "named": hit.named,
    }


def _suggestion(request: HttpRequest, state: SearchState) -> dict | None:
    corrected = did_you_mean(state)
    if corrected is None:
        return None
    return {"q": corrected.q, "url": request.build_absolute_uri(corrected.url)}


def _fallback(results: Results) -> str | None:
    """Why these results are not exact matches, as the page's notice says it."""
    if results.meaning_fallback:
        return "meaning"  # nothing matched the typed syntax: the closest in meaning
    if results.similar_titles:
        return "similar_titles"  # no word matched: titles that look like the query (a typo)
    return None
