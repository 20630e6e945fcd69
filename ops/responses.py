"""The answers a client gets when it must come back later (503, 429), in the form it asked for:
JSON for the API, plain text for the feed, a page for everything else."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse


def unavailable_response(
    request: HttpRequest, *, status: int, retry_after: int, message: str
) -> HttpResponse:
    path = request.path
    if path.startswith(reverse("api-docs")):
        response = JsonResponse({"errors": {"request": message}}, status=status)
    elif path == reverse("feed"):
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    else:
        # Rendered without the request: no context processor may touch a database that is down.
        body = render_to_string("ops/unavailable.html", {"message": message, "status": status})
        response = HttpResponse(body, status=status)
    response["Retry-After"] = str(max(retry_after, 1))
    response["Cache-Control"] = "no-store"
    return response
