"""The timeline beside the date filter: how many results each year (or month) holds, as bars
drawn on the server (templates/search/_timeline.html), each a link narrowing the search to its
period.

The counts are the engine's (Results.month_counts): the strong matches, the ones the result
count counts, under every filter, the date filter included, so the bars add up to the count
(less the undated papers, which the text alternative names). Results that span at most
MONTHLY_SPAN months are drawn per month, longer spans per year: a few weeks of papers as one
bar per year would say nothing.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

from search.state import SearchState

MONTHLY_SPAN = 24  # months from the first result's to the last's, both counted
BAR_WIDTH, GAP, HEIGHT = 10, 2, 40  # SVG user units; the SVG scales to the panel's width


@dataclass(frozen=True)
class Bar:
    period: str  # "2025" or "2025-03": what from= and to= are set to
    label: str  # "2025" or "Mar 2025"
    count: int
    url: str  # this search within the period, page 1
    x: int
    y: int
    height: int


@dataclass(frozen=True)
class Timeline:
    bars: list[Bar]
    monthly: bool
    undated: int

    @property
    def width(self) -> int:
        return len(self.bars) * (BAR_WIDTH + GAP) - GAP

    @property
    def height(self) -> int:
        return HEIGHT

    @property
    def bar_width(self) -> int:
        return BAR_WIDTH

    @property
    def total(self) -> int:
        return sum(bar.count for bar in self.bars)

    @property
    def first(self) -> Bar:
        return self.bars[0]

    @property
    def last(self) -> Bar:
        return self.bars[-1]


def timeline(state: SearchState, month_counts: dict[str, int], undated: int) -> Timeline | None:
    """The bars of a search's results per period, every period from the first to the last (an
    empty one draws no bar but keeps its place); None when no result has a date."""
    if not month_counts:
        return None
    months = sorted(month_counts)
    monthly = _month_index(months[-1]) - _month_index(months[0]) < MONTHLY_SPAN
    counts: dict[str, int] = {}
    for month, count in month_counts.items():
        period = month if monthly else month[:4]
        counts[period] = counts.get(period, 0) + count
    periods = _every_period(min(counts), max(counts), monthly)
    tallest = max(counts.values())
    bars = []
    for i, period in enumerate(periods):
        count = counts.get(period, 0)
        height = max(2, round(HEIGHT * count / tallest)) if count else 0  # 1 of 10,000 shows
        bars.append(
            Bar(
                period=period,
                label=_label(period),
                count=count,
                url=state.with_changes(date_from=period, date_to=period).url,
                x=i * (BAR_WIDTH + GAP),
                y=HEIGHT - height,
                height=height,
            )
        )
    return Timeline(bars=bars, monthly=monthly, undated=undated)


def _month_index(month: str) -> int:
    year, number = month.split("-")
    return int(year) * 12 + int(number) - 1


def _every_period(first: str, last: str, monthly: bool) -> list[str]:
    if not monthly:
        return [str(year) for year in range(int(first), int(last) + 1)]
    indexes = range(_month_index(first), _month_index(last) + 1)
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in indexes]


def _label(period: str) -> str:
    if len(period) == 4:
        return period
    year, month = period.split("-")
    return f"{calendar.month_abbr[int(month)]} {year}"
