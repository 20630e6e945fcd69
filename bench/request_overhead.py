"""What the production middleware adds to a request: one rate-limit token (an upsert on the
UNLOGGED bucket table) and the search's statement timeout (a SET and a RESET), timed on the
embedded server over its Unix socket.

    .venv/bin/python bench/request_overhead.py [--n 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from ops.limits import Limit  # noqa: E402
from ops.ratelimit import take  # noqa: E402
from ops.statement_timeout import statement_timeout  # noqa: E402


def timed(label: str, n: int, step) -> None:
    step()  # connect, warm the plan
    samples = []
    for i in range(n):
        start = time.perf_counter()
        step(i)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p50, p95 = statistics.median(samples), samples[int(0.95 * len(samples))]
    print(f"{label:<40} p50 {p50:.3f} ms  p95 {p95:.3f} ms  (n={n})")


def empty_search(i: int = 0) -> None:
    with statement_timeout(connection):
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    n = parser.parse_args().n
    limit = Limit(rate=1000.0, burst=1000)
    print(f"$ .venv/bin/python bench/request_overhead.py --n {n}")
    timed("rate limit, one client", n, lambda i=0: take("bench-one", limit))
    timed("rate limit, a new client each time", n, lambda i=0: take(f"bench-{i}", limit))
    timed("statement timeout (SET + RESET)", n, empty_search)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ops_ratelimitbucket WHERE client LIKE 'bench-%'")


if __name__ == "__main__":
    main()
