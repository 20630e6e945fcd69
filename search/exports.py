"""Downloads: a search's results, or one paper, as BibTeX, RIS, CSV or JSON Lines
(search.citations writes them; docs/API.md).

A search's export runs the search the page runs (search.engine.strong_ids): its strong
matches, the ones the count counts, in the page's order, every page of them up to
EXPORT_MAX_RESULTS. The address names the format by its extension: /export.bib?q=…,
/papers/12/cite.ris.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.utils.text import slugify

from papers.models import Paper
from search import examples
from search.api import paper_json
from search.citations import FORMATS, Entry, cite_keys
from search.engine import strong_ids
from search.state import SearchState


def search_export(request: HttpRequest, extension: str) -> HttpResponse:
    if extension not in FORMATS:
        return _unknown_format(extension)
    state = examples.checked(SearchState.from_query(request.GET))
    if state.errors:
        return JsonResponse({"errors": state.errors}, status=400)  # as the API and the feed
    ids = strong_ids(state, settings.EXPORT_MAX_RESULTS)
    found = Paper.objects.select_related("organization").in_bulk(ids)
    papers = [found[pk] for pk in ids if pk in found]  # one deleted since: left out
    name = "papers-" + slugify(state.q)[:60].strip("-") if state.q else "papers"
    return download(request, papers, extension, name.rstrip("-"))


def paper_citation(request: HttpRequest, pk: int, extension: str) -> HttpResponse:
    if extension not in FORMATS:
        return _unknown_format(extension)
    paper = Paper.objects.select_related("organization").filter(pk=pk).first()
    if paper is None:
        return HttpResponseNotFound(f"No paper with id {pk}.\n", content_type="text/plain")
    return download(request, [paper], extension, cite_keys([paper])[paper.pk])


def download(request: HttpRequest, papers: list[Paper], extension: str, name: str) -> HttpResponse:
    """The papers as an attachment named `name`.`extension` (ASCII: slugify drops the rest)."""
    fmt = FORMATS[extension]
    response = HttpResponse(fmt.write(entries(request, papers)), content_type=fmt.content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{extension}"'
    return response


def entries(request: HttpRequest, papers: list[Paper]) -> list[Entry]:
    keys = cite_keys(papers)
    return [
        Entry(
            paper=paper,
            key=keys[paper.pk],
            url=paper.abs_url or request.build_absolute_uri(paper.get_absolute_url()),
            json=paper_json(request, paper),
        )
        for paper in papers
    ]


def _unknown_format(extension: str) -> HttpResponse:
    choices = ", ".join(f".{ext} ({fmt.name})" for ext, fmt in FORMATS.items())
    return HttpResponseNotFound(
        f"No export format {extension[:20]!r}: choose {choices}.\n", content_type="text/plain"
    )
