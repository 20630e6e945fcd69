from __future__ import annotations

import re

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from search.sql import HIGHLIGHT_START, HIGHLIGHT_STOP
from search.state import SearchState

register = template.Library()


SENTINELS = re.compile(f"[{HIGHLIGHT_START}{HIGHLIGHT_STOP}]")
HIGHLIGHTED = re.compile(
    f"{HIGHLIGHT_START}([^{HIGHLIGHT_START}{HIGHLIGHT_STOP}]*){HIGHLIGHT_STOP}"
)


@register.filter
def marked(text: str | None) -> SafeString:
    """Escape text from the database, then turn each pair of highlight sentinels into a <mark>
    tag; a sentinel without its pair (never from the search, the database refuses them in a
    paper) is dropped rather than left to open or close a tag."""
    html = HIGHLIGHTED.sub(r"<mark>\1</mark>", escape(text or ""))
    return mark_safe(SENTINELS.sub("", html))


@register.filter
def snippet(hit) -> SafeString:
    """The marked fragments of the abstract, with "…" wherever they cut it short."""
    text = " ".join((hit.snippet_marked or "").split())
    plain = SENTINELS.sub("", text)
    abstract = " ".join(hit.paper.abstract.split())
    opening = "" if abstract.startswith(plain[:40]) else "… "
    ending = "" if abstract.endswith(plain[-40:]) else " …"
    return mark_safe(opening + marked(text) + ending)


@register.simple_tag
def why_matched(hit) -> str:
    """Why a result is listed, in plain words, with the ranks as a tooltip for the curious."""
    reasons = ["what you typed names it"] if hit.named else []
    if hit.keyword_rank and hit.similar_title:
        reasons.append("its title looks like what you typed")
    elif hit.keyword_rank:
        words = _marked_words(hit)
        reasons.append(f"contains {_quoted(words)}" if words else "contains your words")
    if hit.semantic_rank:
        reasons.append("close in meaning")
        shared = [] if hit.keyword_rank or hit.named else _marked_words(hit)
        if shared:  # it holds some of the typed words, too few or too common to count
            reasons.append(f"shares only {_quoted(shared)} with your words, too common to count")
    ranks = [f"#{hit.keyword_rank} by words" if hit.keyword_rank else "",
             f"#{hit.semantic_rank} by meaning" if hit.semantic_rank else ""]  # fmt: skip
    detail = "Ranked " + " and ".join(r for r in ranks if r) if any(ranks) else ""
    return format_html('<span title="{}">{}</span>', detail, " · ".join(reasons))


def _quoted(words: list[str]) -> str:
    return ", ".join(f"‘{word}’" for word in words[:3])


def _marked_words(hit) -> list[str]:
    """The distinct highlighted words of a hit's title and snippet, in order, any case once."""
    found = HIGHLIGHTED.findall(f"{hit.title_marked or ''} {hit.snippet_marked or ''}")
    distinct: dict[str, str] = {}
    for word in found:
        distinct.setdefault(word.lower(), word)
    return list(distinct.values())


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


@register.filter
def closeness(cosine_distance: float) -> str:
    """How similar a paper is, as a percentage (cosine similarity), for the similar-papers list."""
    return f"{round((1 - cosine_distance) * 100)}% similar"


@register.simple_tag
def example_url(state: SearchState, pk: int, change: str) -> str:
    """This search with a paper liked, unliked or no longer marked ("like", "unlike", "unmark")."""
    changed = {"like": state.liking, "unlike": state.unliking, "unmark": state.unmarking}[change]
    return changed(pk).url


@register.filter
def examples_by_kind(liked: list, unliked: list) -> list[tuple[str, list]]:
    """The marked papers under their headings, each heading only when it has papers."""
    kinds = [("More like these:", liked), ("Fewer like these:", unliked)]
    return [(label, papers) for label, papers in kinds if papers]
