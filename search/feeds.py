"""An Atom feed of the newest papers matching a search, so a search can be followed."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed

from papers.models import Paper
from search import examples
from search.engine import search
from search.state import SearchState, Sort


class TextSummaryAtomFeed(Atom1Feed):
    """Atom with each summary as type="text": an abstract is plain text that may hold `<`, `&`
    or markup, and a reader must show it as written. Django's Atom1Feed marks it type="html",
    which has a reader render any markup an abstract holds."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


class SearchFeed(Feed):
    feed_type = TextSummaryAtomFeed

    def __call__(self, request: HttpRequest, *args, **kwargs):
        state = examples.checked(SearchState.from_query(request.GET))
        if state.errors:
            return JsonResponse({"errors": state.errors}, status=400)
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request: HttpRequest) -> SearchState:
        return SearchState.from_query(request.GET).with_changes(sort=Sort.NEWEST)

    def title(self, state: SearchState) -> str:
        return f"Papers matching “{state.q}”" if state.q else "Newest papers"

    def link(self, state: SearchState) -> str:
        return state.with_changes(sort=None).url

    def subtitle(self, state: SearchState) -> str:
        return "The newest papers for this search, from the paper search app."

    def items(self, state: SearchState) -> list[Paper]:
        return [hit.paper for hit in search(state, with_facets=False).hits]

    def item_title(self, paper: Paper) -> str:
        return paper.title

    def item_description(self, paper: Paper) -> str:
        return paper.abstract

    def item_link(self, paper: Paper) -> str:
        return paper.get_absolute_url()

    def item_pubdate(self, paper: Paper) -> datetime | None:
        if paper.published is None:
            return None
        return timezone.make_aware(datetime.combine(paper.published, time()))

    def item_updateddate(self, paper: Paper) -> datetime:
        return self.item_pubdate(paper) or timezone.now()
