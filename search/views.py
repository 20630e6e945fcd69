from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django_htmx.http import push_url

from papers.indexing import backlog
from papers.models import Paper
from search.engine import search
from search.similar import similar_papers
from search.state import Mode, SearchState, Sort


def search_page(request: HttpRequest) -> HttpResponse:
    state = SearchState.from_query(request.GET)
    canonical = state.url
    if not request.htmx and not state.errors and request.get_full_path() != canonical:
        return redirect(canonical)  # the address bar always shows the permalink
    results = search(state)
    context = {
        "state": state,
        "results": results,
        "canonical_url": canonical,
        "modes": Mode,
        "sorts": Sort,
        "presets": _date_presets(),
    }
    status = 400 if state.errors else 200
    # htmx fetches an evicted history entry with HX-Request too: it must get the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "search/_results.html", context, status=status)
        response = push_url(response, canonical)
    else:
        context["index_status"] = backlog(results.catalogue_size)
        response = render(request, "search/index.html", context, status=status)
    # One URL, two bodies: without this the browser's cache can show the bare fragment on "back".
    patch_vary_headers(response, ("HX-Request",))
    return response


def paper_page(request: HttpRequest, pk: int, slug: str | None = None) -> HttpResponse:
    paper = get_object_or_404(Paper.objects.select_related("organization"), pk=pk)
    if slug is not None and slug != paper.slug:
        return HttpResponsePermanentRedirect(paper.get_absolute_url())
    org = paper.organization
    context = {
        "paper": paper,
        "similar": similar_papers(paper),
        # Searches the page links to: the organization's papers, and papers like this one.
        "organization_papers": SearchState(orgs=(org.slug,)) if org else None,
        "like_this": SearchState.from_query({"q": paper.title, "mode": Mode.SEMANTIC}),
    }
    return render(request, "papers/detail.html", context)


def _date_presets() -> list[tuple[str, str]]:
    today = timezone.localdate()
    return [
        ("Last 7 days", (today - timedelta(days=7)).isoformat()),
        ("Last 30 days", (today - timedelta(days=30)).isoformat()),
        ("Last year", (today - timedelta(days=365)).isoformat()),
    ]
