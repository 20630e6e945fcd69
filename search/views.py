from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString, mark_safe
from django.views.defaults import page_not_found
from django_htmx.http import push_url
from markdown_it import MarkdownIt

from evaluation.judgments import verdicts
from ops.status import cached, embedding_backlog
from papers.models import Paper
from search import examples
from search.catalogue import describe
from search.citations import cite_links, export_links, write_bibtex
from search.engine import search
from search.exports import entries
from search.similar import similar_papers
from search.spelling import did_you_mean
from search.state import Mode, SearchState, Sort
from search.timeline import timeline


def search_page(request: HttpRequest) -> HttpResponse:
    state = examples.checked(SearchState.from_query(request.GET))
    canonical = state.url
    if not request.htmx and not state.errors and request.get_full_path() != canonical:
        return redirect(canonical)  # the address bar always shows the permalink
    results = search(state)
    judged = verdicts(request.user, state.q, [hit.paper.pk for hit in results.hits])
    for hit in results.hits:
        hit.judgment = judged.get(hit.paper.pk)
    context = {
        "state": state,
        "results": results,
        "canonical_url": canonical,
        "modes": Mode,
        "sorts": Sort,
        "presets": _date_presets(results.published_range),
        "did_you_mean": did_you_mean(state),
        "timeline": timeline(state, results.month_counts, results.undated),
        "exports": export_links(state),
        "export_limit": settings.EXPORT_MAX_RESULTS,
        "pinned_url": request.build_absolute_uri(_pinned(state).url),
    }
    status = 400 if state.errors else 200
    # htmx fetches an evicted history entry with HX-Request too: it must get the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "search/_results.html", context, status=status)
        response = push_url(response, canonical)
    else:
        size, dates = results.catalogue_size, results.published_range
        context["index_status"] = embedding_backlog(size)
        # The key in plain characters (a repr of dates has spaces: memcached would refuse it).
        span = ":".join(d.isoformat() for d in dates) if dates else "undated"
        context["catalogue"] = cached(f"catalogue:{size}:{span}", lambda: describe(size, dates))
        response = render(request, "search/index.html", context, status=status)
    # One URL, two bodies: without this the browser's cache can show the bare fragment on "back".
    patch_vary_headers(response, ("HX-Request",))
    return response


def _pinned(state: SearchState) -> SearchState:
    """The link that keeps showing these results: pinned at the latest import (unless it is
    pinned already, or the catalogue is empty)."""
    latest = None if state.as_of else examples.latest_import()
    return state.pinned(latest) if latest else state


def paper_page(request: HttpRequest, pk: int, slug: str | None = None) -> HttpResponse:
    paper = get_object_or_404(Paper.objects.select_related("organization"), pk=pk)
    if slug is not None and slug != paper.slug:
        return HttpResponsePermanentRedirect(paper.get_absolute_url())
    org = paper.organization
    context = {
        "paper": paper,
        "similar": similar_papers(paper),
        "came_from": _search_it_came_from(request),
        # Searches the page links to: the organization's papers, and papers like this one.
        "organization_papers": SearchState(orgs=(org.slug,)) if org else None,
        "like_this": SearchState.from_query({"q": paper.title, "mode": Mode.SEMANTIC}),
        "cite_links": cite_links(paper),
        "bibtex": write_bibtex(entries(request, [paper])),
    }
    return render(request, "papers/detail.html", context)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A 404: JSON under /api/ (a client parses every answer the API gives), else the page."""
    if request.path.startswith(reverse("api-docs")) and request.path != reverse("api-docs"):
        message = f"No API address {request.path!r}: see {reverse('api-docs')}."
        return JsonResponse({"errors": {"path": message}}, status=404)
    return page_not_found(request, exception)


def api_docs(request: HttpRequest) -> HttpResponse:
    """docs/API.md as a page: the feed and JSON links beside each search point here."""
    return render(request, "search/api_docs.html", {"docs": _api_docs_html()})


def openapi_description(request: HttpRequest) -> HttpResponse:
    """docs/openapi.yaml, for clients and schemathesis."""
    return HttpResponse(_openapi_yaml(), content_type="application/yaml; charset=utf-8")


@cache
def _openapi_yaml() -> str:
    return (settings.BASE_DIR / "docs" / "openapi.yaml").read_text()


@cache
def _api_docs_html() -> SafeString:
    text = (settings.BASE_DIR / "docs" / "API.md").read_text()
    markdown = MarkdownIt("commonmark", {"html": False}).enable("table")  # raw HTML escaped
    return mark_safe(markdown.render(text))


def _search_it_came_from(request: HttpRequest) -> SearchState | None:
    """The search whose results linked to this page, for the link back to them: the Referer when
    it is a search page, else `from` (the search's query string, which the links to similar
    papers carry on, so the way back survives going from paper to paper).

    Rebuilt through SearchState, so the link is always a canonical search URL of this site.
    """
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc == request.get_host() and referer.path == reverse("search"):
        query = referer.query
    elif "from" in request.GET:
        query = request.GET["from"]
    else:
        return None
    state = SearchState.from_query(QueryDict(query))
    return None if state.errors else state


def _date_presets(published_range: tuple[date, date] | None) -> list[tuple[str, str]]:
    """Recent periods counted back from the catalogue's newest paper, not from today: a catalogue
    months behind would otherwise offer "last 7 days" with nothing in it. Each holds at least
    that newest paper; none is offered when no paper has a date."""
    if published_range is None:
        return []
    newest = published_range[1]
    return [
        ("Newest week", (newest - timedelta(days=6)).isoformat()),
        ("Newest month", (newest - timedelta(days=29)).isoformat()),
        ("Newest year", (newest - timedelta(days=364)).isoformat()),
    ]
