"""What the timeline costs a search: counting N matches per month (search.engine._month_counts),
beside converting each match's day to its month, the obvious way it replaced.

    .venv/bin/python bench/timeline.py [--matches 1000000]

Synthetic day numbers spread over 1989-2026 with one in 50 undated, as an arXiv catalogue has
them; a browse of a million papers counts all of them. No database: the counting is numpy over
arrays the search already holds (a search by meaning counts its few hundred candidates in SQL).
"""

from __future__ import annotations

import argparse
import time

from benchkit import header, setup_django

REPEATS = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--matches", type=int, default=1_000_000)
    args = parser.parse_args()
    setup_django()

    import numpy as np

    from search.engine import _month_counts
    from search.keyword_docs import NO_DATE

    days = np.random.default_rng(0).integers(7000, 20600, args.matches).astype(np.int32)
    days[::50] = NO_DATE

    def each_day_to_its_month(days: np.ndarray) -> dict[str, int]:
        dated = days[days != NO_DATE]
        months, counts = np.unique(
            dated.astype("datetime64[D]").astype("datetime64[M]"), return_counts=True
        )
        return {str(m): int(c) for m, c in zip(months, counts, strict=True)}

    assert {k: v for k, v in _month_counts(days).items() if k} == each_day_to_its_month(days)
    print(header())
    print(f"{args.matches:,} matches, median of {REPEATS} runs")
    for name, count in (("per day, then per month (the app)", _month_counts),
                        ("each day to its month", each_day_to_its_month)):  # fmt: skip
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            count(days)
            times.append(time.perf_counter() - start)
        print(f"  {name:36} {1000 * sorted(times)[REPEATS // 2]:6.1f} ms")


if __name__ == "__main__":
    main()
