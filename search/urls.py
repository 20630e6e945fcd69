from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from search import api, exports, views
from search.feeds import SearchFeed


def read_only(view):
    """GET and HEAD only; any other method is a 405 that says so. Exempt from the CSRF check,
    which would otherwise answer a POST with 403 before the view could: nothing here writes."""
    return csrf_exempt(require_safe(view))


urlpatterns = [
    path("", read_only(views.search_page), name="search"),
    path("papers/<int:pk>/", read_only(views.paper_page), name="paper-short"),
    path("papers/<int:pk>/<str:slug>/", read_only(views.paper_page), name="paper"),
    path("papers/<int:pk>/cite.<str:extension>", read_only(exports.paper_citation), name="cite"),
    path("export.<str:extension>", read_only(exports.search_export), name="export"),
    path("api/", read_only(views.api_docs), name="api-docs"),
    path("api/openapi.yaml", read_only(views.openapi_description), name="api-openapi"),
    path("api/search", read_only(api.search_api), name="api-search"),
    path("api/papers/<int:pk>", read_only(api.paper_api), name="api-paper"),
    path("feed.atom", read_only(SearchFeed()), name="feed"),
]
