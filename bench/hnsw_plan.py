"""Does a search by meaning use the HNSW index? The planner's choice under the app's filters.

    .venv/bin/python bench/hnsw_plan.py [--n 30000]

Builds N random 384-dimension vectors in a throw-away database (dropped at the end) with the
app's HNSW settings (m 16, ef_construction 64; ef_search 400, relaxed iterative scan) and runs
the nearest-200 query under three filters, side by side: none; the freshness test written as a
comparison of two columns (embedding_hash = content_hash, as the app had it); and the same test
as a stored boolean (embedding_current, as the app has it). PostgreSQL has no statistics for a
column-to-column comparison and guesses 0.5% of rows, which makes it scan every vector.
"""

from __future__ import annotations

import argparse
import time

from benchkit import header, setup_django

FILTERS = {
    "no filter": "TRUE",
    "embedding_hash = content_hash": "embedding IS NOT NULL AND embedding_model = 'm'"
    " AND embedding_hash = content_hash",
    "embedding_current": "embedding IS NOT NULL AND embedding_model = 'm' AND embedding_current",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=30000, help="vectors (default 30000)")
    args = parser.parse_args()
    setup_django()

    from django.conf import settings
    from django.db import connection

    from config.database import create_database, drop_database, using_database

    database = settings.DATABASES["default"]["NAME"] + "_bench_hnsw"
    drop_database(database)
    create_database(database)
    try:
        with using_database(database), connection.cursor() as cursor:
            build(cursor, args.n)
            cursor.execute("SELECT embedding FROM vectors WHERE id = 7")
            vector = cursor.fetchone()[0]
            print(f"{header()}\n\n{args.n:,} vectors · nearest 200 · best of 5\n")
            print(f"{'filter':<32}{'plan':<28}{'ms':>8}")
            for name, where in FILTERS.items():
                plan, ms = explain(cursor, where, vector)
                print(f"{name:<32}{plan:<28}{ms:>8.1f}")
    finally:
        drop_database(database)


def build(cursor, n: int) -> None:
    cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
    cursor.execute(
        """CREATE TABLE vectors (
            id serial PRIMARY KEY, embedding vector(384), embedding_model text,
            embedding_hash text, content_hash text,
            embedding_current boolean GENERATED ALWAYS AS (embedding_hash = content_hash) STORED)"""
    )
    cursor.execute(
        """INSERT INTO vectors (embedding, embedding_model, embedding_hash, content_hash)
        SELECT (SELECT array_agg(random() - 0.5) FROM generate_series(1, 384) WHERE g > 0)::vector,
               'm', md5(g::text), md5(g::text)
        FROM generate_series(1, %s) g""",
        [n],
    )
    cursor.execute(
        "CREATE INDEX ON vectors USING hnsw (embedding vector_cosine_ops)"
        " WITH (m = 16, ef_construction = 64)"
    )
    cursor.execute("ANALYZE vectors")
    cursor.execute("SET hnsw.ef_search = 400")
    cursor.execute("SET hnsw.iterative_scan = relaxed_order")


def explain(cursor, where: str, vector) -> tuple[str, float]:
    query = f"SELECT id FROM vectors WHERE {where} ORDER BY embedding <=> %s LIMIT 200"
    cursor.execute("EXPLAIN " + query, [vector])
    plan = next(line for (line,) in cursor.fetchall() if "Scan" in line)
    plan = "HNSW index scan" if "Index Scan" in plan else "sequential scan, sort"
    times = []
    for _ in range(5):
        started = time.perf_counter()
        cursor.execute(query, [vector])
        cursor.fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return plan, min(times)


if __name__ == "__main__":
    main()
