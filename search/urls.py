from django.urls import path

from search import api, exports, views
from search.feeds import SearchFeed

urlpatterns = [
    path("", views.search_page, name="search"),
    path("papers/<int:pk>/", views.paper_page, name="paper-short"),
    path("papers/<int:pk>/<str:slug>/", views.paper_page, name="paper"),
    path("papers/<int:pk>/cite.<str:extension>", exports.paper_citation, name="cite"),
    path("export.<str:extension>", exports.search_export, name="export"),
    path("api/", views.api_docs, name="api-docs"),
    path("api/search", api.search_api, name="api-search"),
    path("api/papers/<int:pk>", api.paper_api, name="api-paper"),
    path("feed.atom", SearchFeed(), name="feed"),
]
