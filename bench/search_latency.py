"""Search latency: the page's own search (ranked page + facets), per mode, on a real catalogue.

    .venv/bin/python bench/search_latency.py [--dataset DIR] [--n 200] [--database NAME]

Queries are the first N judged training claims of a BEIR data set (--dataset, by default SciFact
at ../shared/eval/scifact), typed as a user would. The catalogue is the evaluation database that
`manage.py evaluate DIR` builds and keeps (SciFact: 5,183 abstracts), or any database named with
--database. Each query runs `search.engine.search(state)` exactly as the search page does; the
embedder's query cache is cleared first, so semantic and hybrid figures include embedding the
query. One untimed query per mode warms the caches first, as a running server has.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from benchkit import add_dataset_argument, header, load_dataset, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dataset_argument(parser)
    parser.add_argument("--n", type=int, default=200, help="how many queries (default 200)")
    parser.add_argument("--modes", default="keyword,semantic,hybrid")
    parser.add_argument(
        "--database",
        help="catalogue to search (default: the kept SciFact evaluation database)",
    )
    args = parser.parse_args()

    setup_django()

    from django.conf import settings

    from config.database import database_exists, using_database
    from evaluation.catalogue import eval_database_name
    from papers.embeddings import Embedder
    from search.engine import search
    from search.state import SearchState

    dataset = load_dataset(args.dataset)
    queries = list(dataset.queries.values())[: args.n]
    base = settings.DATABASES["default"]["NAME"]
    database = args.database or eval_database_name(base, dataset.catalogue, sliced=False)
    if not database_exists(database):
        sys.exit(f"no database {database}: run `manage.py evaluate {args.dataset}` once first")

    print(header())
    print(f"database {database} · {len(queries)} queries · search() = ranked page + facets\n")
    print(f"{'mode':<10}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'max ms':>9}")
    with using_database(database):
        for mode in args.modes.split(","):
            states = [SearchState.from_query({"q": text, "mode": mode}) for text in queries]
            search(states[0])  # warm-up
            times = []
            for state in states:
                Embedder.encode_query.cache_clear()
                started = time.perf_counter()
                search(state)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(
                f"{mode:<10}{statistics.median(times):>9.1f}{p95:>9.1f}"
                f"{statistics.fmean(times):>9.1f}{times[-1]:>9.1f}"
            )


if __name__ == "__main__":
    main()
