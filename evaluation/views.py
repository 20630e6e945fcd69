"""Judging a result: POST /judgments/ by a signed-in member (anonymous visitors get 403)."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_POST

from evaluation.judgments import record
from papers.models import Paper
from search.state import SearchState

# "<paper id>:1" relevant, "<paper id>:0" not: one button's value says both.
VERDICT = re.compile(r"^([1-9][0-9]{0,17}):([01])$", re.ASCII)


@require_POST
def judge(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse("Sign in to judge results.", status=403, content_type="text/plain")
    match = VERDICT.match(request.POST.get("judgment", ""))
    state = SearchState.from_query(QueryDict(request.POST.get("search", "")))
    if match is None or not state.q:
        problem = "a result and a verdict" if match is None else "the query the result answered"
        return HttpResponse(f"A judgment needs {problem}.", status=400, content_type="text/plain")
    paper = Paper.objects.filter(pk=int(match[1])).first()
    if paper is None:
        return HttpResponse(f"No paper with id {match[1]}.", status=400, content_type="text/plain")
    relevant = match[2] == "1"
    record(request.user, query=state.q, search=state.to_query(), paper=paper, relevant=relevant)
    if request.htmx:
        context = {"paper": paper, "judgment": relevant, "state": state}
        return render(request, "search/_judge.html", context)
    response = HttpResponseRedirect(f"{state.url}#hit-{paper.pk}")
    response.status_code = 303  # back to the results, by GET
    return response
