from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from search.sql import HIGHLIGHT_START, HIGHLIGHT_STOP
from search.state import SearchState

register = template.Library()


@register.filter
def marked(text: str | None) -> SafeString:
    """Escape text from the database, then turn the highlight sentinels into <mark> tags."""
    html = escape(text or "")
    return mark_safe(html.replace(HIGHLIGHT_START, "<mark>").replace(HIGHLIGHT_STOP, "</mark>"))


@register.simple_tag
def search_url(state: SearchState, **changes) -> str:
    """The canonical URL of this search with some parameters changed (page resets to 1)."""
    return state.with_changes(**changes).url


@register.simple_tag
def org_toggle_url(state: SearchState, slug: str) -> str:
    return state.toggling_org(slug).url


@register.simple_tag
def category_toggle_url(state: SearchState, category: str) -> str:
    return state.toggling_category(category).url


@register.filter
def duration(seconds: float) -> str:
    """A rough time span for a status line: '40 s', '12 min', '3.5 h', '2 days'."""
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{round(seconds / 86400)} days"
