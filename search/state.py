"""The search state: every search is one of these, parsed from a URL and written back to one.

`SearchState.from_query(request.GET)` validates; `state.to_query()` writes the canonical query
string (fixed parameter order, defaults left out), so a permalink, a reload, the API and the feed
all run the same search. Invalid values are reported per field and fall back to their default,
so the rest of the page still works.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from urllib.parse import urlencode

from django.db.models import TextChoices
from django.http import QueryDict
from django.urls import reverse

Choice = TypeVar("Choice", bound=TextChoices)
MAX_QUERY_LENGTH = 500
MAX_ORGS = 20
MAX_PAGE = 500
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,100}$")
MAX_CATEGORIES = 20
CATEGORY = re.compile(r"^[A-Za-z-]{1,20}(\.[A-Za-z-]{1,20})?$")  # cs.LG, hep-th, q-bio.NC
# Papers marked as good (like=) or bad (unlike=) examples: ids, at most this many of each.
MAX_EXAMPLES = 20
PAPER_ID = re.compile(r"^[1-9][0-9]{0,17}$", re.ASCII)  # a positive bigint, no sign or spaces
# as_of: an ISO date-time; without an offset it is UTC. Written back as UTC with a Z.
AS_OF = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$", re.ASCII
)
# A link pinned a little ahead of this server's clock (another machine's "now") is accepted.
AS_OF_LEEWAY = timedelta(minutes=5)
DATE_FORMS = (
    (re.compile(r"^(\d{4})$", re.ASCII), "year"),
    (re.compile(r"^(\d{4})-(\d{2})$", re.ASCII), "month"),
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII), "day"),
)


class Mode(TextChoices):
    """How a query matches: the labels are the page's, named for what each mode does."""

    HYBRID = "hybrid", "Best match"
    KEYWORD = "keyword", "Contains your words"
    SEMANTIC = "semantic", "Similar in meaning"

    @property
    def description(self) -> str:
        """A newcomer's explanation of the mode, shown under its label."""
        return MODE_DESCRIPTIONS[self.value]


MODE_DESCRIPTIONS = {
    "hybrid": "Papers with your words first, then papers about the same idea in other words.",
    "keyword": "Your words or their forms (train, trained, training); quotes for an exact phrase.",
    "semantic": "Papers about the same idea, whatever words they use.",
}


class Sort(TextChoices):
    RELEVANCE = "relevance", "Relevance"
    NEWEST = "newest", "Newest"
    OLDEST = "oldest", "Oldest"
    UPVOTES = "upvotes", "Upvotes"


@dataclass(frozen=True)
class SearchState:
    q: str = ""
    mode: Mode = Mode.HYBRID
    orgs: tuple[str, ...] = ()
    cats: tuple[str, ...] = ()  # arXiv categories, as written (cs.LG)
    date_from: str = ""  # as the user wrote it: YYYY, YYYY-MM or YYYY-MM-DD
    date_to: str = ""
    likes: tuple[int, ...] = ()  # paper ids: more like these (search.examples)
    unlikes: tuple[int, ...] = ()  # paper ids: fewer like these
    as_of: str = ""  # canonical UTC date-time: only papers imported by then (search.examples)
    sort: Sort | None = None  # None: the default for whether there is a query
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict, compare=False)
    # What the user typed in a date field that was refused: the form shows it again beside its
    # error instead of clearing the field (the search itself runs without it).
    rejected: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_query(cls, params: QueryDict | dict) -> SearchState:
        errors: dict[str, str] = {}
        # Control characters: PostgreSQL text cannot hold NUL and XML (the feed) cannot hold
        # most of the others, so either would turn a typed query into a 500.
        q = " ".join(CONTROL_CHARACTERS.sub(" ", _one(params, "q")).split())
        if len(q) > MAX_QUERY_LENGTH:
            errors["q"] = f"Search text is limited to {MAX_QUERY_LENGTH} characters."
            q = q[:MAX_QUERY_LENGTH]
        state = cls(
            q=q,
            mode=_choice(params, "mode", Mode, errors) or Mode.HYBRID,
            orgs=_orgs(params, errors),
            cats=_categories(params, errors),
            date_from=_date(params, "from", errors),
            date_to=_date(params, "to", errors),
            likes=_ids(params, "like", errors),
            unlikes=_ids(params, "unlike", errors),
            as_of=_as_of(params, errors),
            sort=_choice(params, "sort", Sort, errors),
            page=_page(params, errors),
        )
        if state.date_from and state.date_to and state.start_date > state.end_date:
            errors["to"] = "The end date is before the start date."
            state = replace(state, date_to="")
        both = set(state.likes) & set(state.unlikes)
        if both:
            errors["unlike"] = f"Paper {min(both)} is liked and unliked: it stays liked."
            state = replace(state, unlikes=tuple(i for i in state.unlikes if i not in both))
        if state.sort == state.default_sort:
            state = replace(state, sort=None)
        rejected = {name: _one(params, name).strip() for name in ("from", "to") if name in errors}
        return replace(state, errors=errors, rejected=rejected)

    # --- derived values -------------------------------------------------------------------
    @property
    def default_sort(self) -> Sort:
        return Sort.RELEVANCE if self.ranks else Sort.NEWEST

    @property
    def effective_sort(self) -> Sort:
        if self.sort == Sort.RELEVANCE and not self.ranks:
            return Sort.NEWEST  # nothing to be relevant to
        return self.sort or self.default_sort

    @property
    def ranks(self) -> bool:
        """Whether there is something to rank by: typed text, or papers liked as examples."""
        return bool(self.q or self.likes)

    @property
    def marked(self) -> tuple[int, ...]:
        """The papers marked as examples, liked or not: shown above the list, not in it."""
        return self.likes + self.unlikes

    @property
    def as_of_time(self) -> datetime | None:
        return datetime.fromisoformat(self.as_of) if self.as_of else None

    @property
    def start_date(self) -> date | None:
        return _bounds(self.date_from)[0] if self.date_from else None

    @property
    def end_date(self) -> date | None:
        return _bounds(self.date_to)[1] if self.date_to else None

    @property
    def searches_by_meaning(self) -> bool:
        """Whether the query is matched by meaning too (its embedding), not only by its words."""
        return self.mode != Mode.KEYWORD

    @property
    def is_filtered(self) -> bool:
        return bool(self.orgs or self.cats or self.date_from or self.date_to)

    # --- writing back ---------------------------------------------------------------------
    def to_pairs(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        if self.q:
            pairs.append(("q", self.q))
        if self.mode != Mode.HYBRID:
            pairs.append(("mode", self.mode.value))
        pairs += [("org", slug) for slug in self.orgs]
        pairs += [("cat", category) for category in self.cats]
        if self.date_from:
            pairs.append(("from", self.date_from))
        if self.date_to:
            pairs.append(("to", self.date_to))
        pairs += [("like", str(pk)) for pk in self.likes]
        pairs += [("unlike", str(pk)) for pk in self.unlikes]
        if self.sort and self.sort != self.default_sort:
            pairs.append(("sort", self.sort.value))
        if self.as_of:
            pairs.append(("as_of", self.as_of))
        if self.page != 1:
            pairs.append(("page", str(self.page)))
        return pairs

    def to_query(self) -> str:
        # ":" needs no escaping in a query string: a pinned link reads as_of=2025-03-14T09:30:00Z.
        return urlencode(self.to_pairs(), safe=":")

    @property
    def url(self) -> str:
        """The permalink of this search on the search page."""
        return self._url("search")

    @property
    def api_url(self) -> str:
        """The same search from the JSON API."""
        return self._url("api-search")

    @property
    def feed_url(self) -> str:
        """The Atom feed that follows this search (its newest papers: any page is the first)."""
        return self.with_changes()._url("feed")

    def _url(self, view_name: str) -> str:
        query = self.to_query()
        path = reverse(view_name)
        return f"{path}?{query}" if query else path

    def to_dict(self) -> dict:
        """The canonical state as JSON-friendly values (the API echoes it)."""
        return {
            "q": self.q,
            "mode": self.mode.value,
            "org": list(self.orgs),
            "cat": list(self.cats),
            "from": self.date_from or None,
            "to": self.date_to or None,
            "like": list(self.likes),
            "unlike": list(self.unlikes),
            "as_of": self.as_of or None,
            "sort": self.effective_sort.value,
            "page": self.page,
        }

    def with_changes(self, **changes) -> SearchState:
        """A new state; any change other than the page goes back to page 1."""
        if "page" not in changes:
            changes["page"] = 1
        return replace(self, errors={}, rejected={}, **changes)

    def toggling_org(self, slug: str) -> SearchState:
        orgs = set(self.orgs) ^ {slug}
        return self.with_changes(orgs=tuple(sorted(orgs)))

    def toggling_category(self, category: str) -> SearchState:
        cats = set(self.cats) ^ {category}
        return self.with_changes(cats=tuple(sorted(cats)))

    def liking(self, pk: int) -> SearchState:
        """This search with the paper as a good example (and no longer a bad one)."""
        return self.with_changes(
            likes=tuple(sorted({*self.likes, pk})), unlikes=_without(self.unlikes, pk)
        )

    def unliking(self, pk: int) -> SearchState:
        return self.with_changes(
            likes=_without(self.likes, pk), unlikes=tuple(sorted({*self.unlikes, pk}))
        )

    def unmarking(self, pk: int) -> SearchState:
        return self.with_changes(likes=_without(self.likes, pk), unlikes=_without(self.unlikes, pk))

    def pinned(self, moment: datetime) -> SearchState:
        """The same search over the catalogue as it was at `moment` (a shareable link that keeps
        showing the same papers), on the same page."""
        return replace(self, errors={}, rejected={}, as_of=_canonical_time(moment))


def _without(ids: tuple[int, ...], pk: int) -> tuple[int, ...]:
    return tuple(i for i in ids if i != pk)


def _one(params, name: str) -> str:
    value = params.get(name, "")
    return value if isinstance(value, str) else ""


def _choice(params, name: str, choices: type[Choice], errors: dict) -> Choice | None:
    value = _one(params, name).strip().lower()
    if value and value not in choices.values:
        errors[name] = f"Choose one of: {', '.join(choices.values)}."
        return None
    return choices(value) if value else None


def _orgs(params, errors: dict) -> tuple[str, ...]:
    return _many(params, "org", SLUG, MAX_ORGS, errors, what="an organization id",
                 plural="organizations", fold=str.lower)  # fmt: skip


def _categories(params, errors: dict) -> tuple[str, ...]:
    return _many(params, "cat", CATEGORY, MAX_CATEGORIES, errors, what="an arXiv category",
                 plural="categories")  # fmt: skip


def _many(params, name, pattern, limit, errors, *, what, plural, fold=None) -> tuple[str, ...]:
    """A repeated parameter's distinct valid values, sorted; an error names the first bad one."""
    values = params.getlist(name) if hasattr(params, "getlist") else params.get(name, [])
    if isinstance(values, str):
        values = [values]
    given = {v.strip() for v in values if isinstance(v, str) and v.strip()}
    given = {fold(v) for v in given} if fold else given
    bad = sorted(v for v in given if not pattern.match(v))
    if bad:
        errors[name] = f"Not {what}: {bad[0][:40]!r}."
    good = sorted(v for v in given if pattern.match(v))
    if len(good) > limit:
        errors[name] = f"At most {limit} {plural} at once."
        good = good[:limit]
    return tuple(good)


def _ids(params, name: str, errors: dict) -> tuple[int, ...]:
    """Paper ids (whether such papers exist is checked by search.examples.checked)."""
    values = _many(params, name, PAPER_ID, MAX_EXAMPLES, errors, what="a paper id",
                   plural="papers")  # fmt: skip
    return tuple(sorted({int(v) for v in values})[:MAX_EXAMPLES])


def _as_of(params, errors: dict) -> str:
    value = _one(params, "as_of").strip()
    if not value:
        return ""
    try:
        if not AS_OF.match(value):
            raise ValueError(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        canonical = _canonical_time(moment)
    except (ValueError, OverflowError):
        errors["as_of"] = "Use a date and time like 2025-03-14T09:30:00Z."
        return ""
    if moment > datetime.now(UTC) + AS_OF_LEEWAY:
        errors["as_of"] = "That time is in the future: the catalogue cannot be shown as of then."
        return ""
    return canonical


def _canonical_time(moment: datetime) -> str:
    """UTC, to the second (to the microsecond only when given so), with a Z."""
    moment = moment.astimezone(UTC)
    fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
    return moment.replace(tzinfo=None, microsecond=0).isoformat() + fraction + "Z"


def _date(params, name: str, errors: dict) -> str:
    value = _one(params, name).strip()
    if not value:
        return ""
    try:
        _bounds(value)
    except ValueError:
        errors[name] = "Use a date like 2025, 2025-03 or 2025-03-14."
        return ""
    return value


def _bounds(value: str) -> tuple[date, date]:
    """First and last day a YYYY, YYYY-MM or YYYY-MM-DD value covers; ValueError if invalid."""
    for pattern, kind in DATE_FORMS:
        match = pattern.match(value)
        if not match:
            continue
        parts = [int(p) for p in match.groups()]
        if parts[0] < 1:
            break
        if kind == "year":
            return date(parts[0], 1, 1), date(parts[0], 12, 31)
        if kind == "month":
            last = calendar.monthrange(parts[0], parts[1])[1] if 1 <= parts[1] <= 12 else 0
            return date(parts[0], parts[1], 1), date(parts[0], parts[1], last)
        day = date(*parts)
        return day, day
    raise ValueError(value)


def _page(params, errors: dict) -> int:
    raw = _one(params, "page").strip()
    if not raw:
        return 1
    # "²".isdigit() is True; int() of over 4,300 digits raises ValueError, so count them first.
    digits = raw.lstrip("0")
    if (
        not (raw.isascii() and raw.isdigit())
        or len(digits) > len(str(MAX_PAGE))
        or not 1 <= int(digits or "0") <= MAX_PAGE
    ):
        errors["page"] = f"Page must be a whole number from 1 to {MAX_PAGE}."
        return 1
    return int(digits)
