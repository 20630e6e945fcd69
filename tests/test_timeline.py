"""The timeline beside the date filter: results per year (or month), each bar a link that narrows
the search to its period, counted as the result count counts, under every other filter."""

from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
import pytest

from papers.models import Paper
from search.engine import _month_counts, search
from search.keyword_docs import NO_DATE, day_number
from search.state import SearchState
from search.timeline import timeline


def drawn(state: SearchState):
    results = search(state)
    return results, timeline(state, results.month_counts, results.undated)


def per_period(papers, monthly: bool) -> dict[str, int]:
    form = "%Y-%m" if monthly else "%Y"
    return dict(Counter(p.published.strftime(form) for p in papers if p.published))


def test_the_bars_and_the_undated_add_up_to_the_count(catalogue):
    results, bars = drawn(SearchState())
    assert not bars.monthly  # the demo catalogue spans more than two years
    assert bars.total + bars.undated == results.total == Paper.objects.count()
    assert bars.undated == Paper.objects.filter(published=None).count() > 0
    counts = {b.period: b.count for b in bars.bars if b.count}
    assert counts == per_period(Paper.objects.all(), monthly=False)


def test_the_counts_obey_the_organization_filter(catalogue):
    results, bars = drawn(SearchState(orgs=("acme",)))
    acme = Paper.objects.filter(organization__slug="acme")
    assert bars.monthly  # acme's dated papers are all from 2024
    assert {b.period: b.count for b in bars.bars if b.count} == per_period(acme, monthly=True)
    assert bars.total + bars.undated == results.total == acme.count()


def test_a_search_by_meaning_counts_its_strong_matches(catalogue):
    results, bars = drawn(SearchState.from_query({"q": "serverless federated learning"}))
    assert results.loose  # loosely related papers are listed, and not counted
    assert bars.total + bars.undated == results.total


def test_a_bar_narrows_the_search_to_its_period(client, catalogue):
    state = SearchState.from_query({"q": "model", "mode": "keyword"})
    _, bars = drawn(state)
    for bar in (b for b in bars.bars if b.count):
        assert bar.url == state.with_changes(date_from=bar.period, date_to=bar.period).url
        query = bar.url.split("?", 1)[1]
        assert f"from={bar.period}&to={bar.period}" in query
        body = client.get(f"/api/search?{query}").json()
        assert body["total"] == bar.count
        assert all(r["published"].startswith(bar.period) for r in body["results"])


def test_a_short_span_is_drawn_per_month_with_every_month_in_place(catalogue):
    results, bars = drawn(SearchState.from_query({"from": "2025", "to": "2025"}))
    in_2025 = Paper.objects.filter(published__year=2025)
    assert bars.monthly
    counts = Counter(p.published.strftime("%Y-%m") for p in in_2025)
    assert {b.period: b.count for b in bars.bars if b.count} == counts
    periods = [b.period for b in bars.bars]
    assert (
        periods == sorted(periods)
        and len(periods) == int(max(periods)[5:]) - int(min(periods)[5:]) + 1
    )  # no month left out between the first and the last
    first = next(b for b in bars.bars if b.count)
    assert first.label == date(2025, int(first.period[5:]), 1).strftime("%b 2025")
    assert bars.total == results.total == in_2025.count()


@pytest.mark.parametrize("htmx", [False, True])
def test_the_page_draws_the_bars_with_a_text_alternative(client, catalogue, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    html = client.get("/?org=acme", headers=headers).content.decode()
    _, bars = drawn(SearchState(orgs=("acme",)))
    assert '<svg viewBox="0 0' in html and 'aria-hidden="true"' in html
    for bar in (b for b in bars.bars if b.count):
        text = f"{bar.label}: {bar.count} result{'s' if bar.count != 1 else ''}"
        assert f"<title>{text}</title>" in html  # the tooltip
        assert f"{text}</a></li>" in html  # the list for keyboards and screen readers
        assert html.count(f'href="{bar.url.replace("&", "&amp;")}"') == 2
    assert "1 undated result, in no bar." in html


def test_no_timeline_when_nothing_has_a_date(client, catalogue):
    html = client.get("/?q=qwzxjv&mode=keyword").content.decode()
    assert "<svg viewBox" not in html


def test_months_are_counted_from_day_numbers():
    days = [date(2024, 1, 31), date(2024, 1, 1), date(2024, 3, 5), date(1969, 12, 31)]
    numbers = np.array([day_number(d) for d in days] + [NO_DATE, NO_DATE], dtype=np.int32)
    assert _month_counts(numbers) == {"": 2, "1969-12": 1, "2024-01": 2, "2024-03": 1}
    assert _month_counts(np.array([NO_DATE], dtype=np.int32)) == {"": 1}
    assert _month_counts(np.array([], dtype=np.int32)) == {}
