"""Read replicas on one machine: how soon a paper written on the primary is searchable on a
streaming replica, and what a search costs through the replica against the primary.

    .venv/bin/python bench/replicas.py [--writes 30] [--rounds 5]

Starts a hot standby of the embedded server (config/standby.py), builds the demo catalogue (57
papers, real embeddings) in its own database `papersearch_bench_replicas` on the primary, and
runs the app as configured by DATABASE_URL + DATABASE_REPLICA_URLS. Both servers share this
machine's cores, so the latency comparison says what the replica path costs, not what a second
machine would gain. Removes the standby and the database when done.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from benchkit import ROOT, header, setup_django

DATABASE = "papersearch_bench_replicas"
DEMO = ROOT / "papers" / "demo" / "daily_papers.txt"
QUERIES = [
    "serverless aggregation for federated learning",
    "KV cache offloading for long context inference",
    "speculative decoding",
    "power oversubscription in GPU clusters",
    "community detection in streaming graphs",
    "agent workflows scheduling",
    "mixture of experts serving",
    "retrieval augmented generation latency",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=30, help="papers written to time replay")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the queries per mode")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from config.database import embedded_data_dir, ensure_database, start_embedded
    from config.standby import create_standby

    server = start_embedded(embedded_data_dir())
    ensure_database(server.get_uri(), DATABASE)
    info = server.get_postmaster_info()
    folder = Path(tempfile.mkdtemp(prefix="papersearch-replica-"))
    standby = create_standby(embedded_data_dir(), folder)
    try:
        os.environ["DATABASE_URL"] = (
            f"postgres://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}/{DATABASE}"
        )
        os.environ["DATABASE_REPLICA_URLS"] = standby.url(DATABASE)
        setup_django()
        print(header())
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"load average at start: {load} (other work on this machine skews every figure)")
        run(args)
    finally:
        standby.remove()
        _drop_database()


def run(args: argparse.Namespace) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_demo_data", str(DEMO), stdout=open(os.devnull, "w"))  # noqa: SIM115
    from papers.indexing import embed_ids
    from papers.models import Paper

    embed_ids(list(Paper.objects.values_list("pk", flat=True)))
    papers = Paper.objects.count()
    _wait_for_replay()
    print(f"database {DATABASE}: {papers} papers on the primary, standby streaming from it\n")
    replay(args.writes)
    print()
    # As autovacuum would by now: without it the standby pays for the dead rows the embedding
    # updates left (it cannot use the primary's hint bits or skip index entries marked dead).
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    _wait_for_replay()
    latency(args.rounds)
    print()
    connect_cost()
    print()
    web_process()


def replay(writes: int) -> None:
    """Commit a paper with a word no other paper has, then wait for it on the replica: once for
    the WAL position (pure replay), once more for a keyword search to find it (what a user sees).
    """
    from config.replicas import replica_reads
    from search.engine import search
    from search.state import SearchState

    lsn_lags, search_lags, polls = [], [], []
    with replica_reads():  # one scope: the replica connection stays open between polls
        for i in range(writes):
            committed = _write_probe(f"{i}l")
            lsn_lags.append(_wait_for_replay(_primary_lsn()) - committed)
            word = _probe_word(f"{i}s")
            committed = _write_probe(f"{i}s")
            tries = 0
            while not search(SearchState(q=word, mode="keyword")).hits:
                tries += 1
            search_lags.append(time.perf_counter() - committed)
            polls.append(tries)
    print(f"replay after a commit on the primary ({writes} papers, one at a time)")
    print(f"{'measure':<44}{'p50 ms':>9}{'max ms':>9}")
    for name, values in (
        ("WAL position replayed on the replica", lsn_lags),
        ("paper found by a keyword search on it", search_lags),
    ):
        values = sorted(v * 1000 for v in values)
        print(f"{name:<44}{statistics.median(values):>9.2f}{values[-1]:>9.2f}")
    print(
        f"searches that came back empty first: p50 {statistics.median(polls):.0f}, max {max(polls)}"
    )


def _probe_word(tag: str) -> str:
    # Letters only, so the English stemmer keeps it one distinctive term.
    return "replayprobe" + "".join(chr(ord("a") + int(c)) if c.isdigit() else c for c in tag)


def _write_probe(tag: str) -> float:
    """Write one paper through the importer; when it returns the transaction has committed."""
    from papers.ingest import PaperRecord
    from papers.loader import upsert_papers

    word = _probe_word(tag)
    upsert_papers(
        [PaperRecord(title=f"Probe {word}", abstract=f"About {word}.", source="bench", line=1)]
    )
    return time.perf_counter()


def latency(rounds: int) -> None:
    """The same searches, interleaved, through the primary and through the replica."""
    from django.db import connections

    from config.replicas import replica_reads
    from search.engine import search
    from search.state import SearchState

    print(f"search() latency, {len(QUERIES)} queries x {rounds} rounds per mode, interleaved")
    print("(query embedding cached: the figures are the database round trips and Python)")
    print(f"{'mode':<10}{'server':<10}{'p50 ms':>9}{'p95 ms':>9}")
    with replica_reads():  # one scope: one replica connection, kept, as the primary's is
        for mode in ("keyword", "semantic", "hybrid"):
            states = [SearchState(q=q, mode=mode) for q in QUERIES]
            timings: dict[str, list[float]] = {"primary": [], "replica": []}
            for state in states:  # warm-up: embeddings, plans, buffers on both servers
                search(state)
                _on_primary(search, state)
            for _ in range(rounds):
                for state in states:
                    started = time.perf_counter()
                    _on_primary(search, state)
                    timings["primary"].append(time.perf_counter() - started)
                    started = time.perf_counter()
                    search(state)
                    timings["replica"].append(time.perf_counter() - started)
            for server, values in timings.items():
                values = sorted(v * 1000 for v in values)
                p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
                print(f"{mode:<10}{server:<10}{statistics.median(values):>9.2f}{p95:>9.2f}")
    assert connections["replica1"].connection is not None, "the replica path was not used"


def connect_cost(tries: int = 20) -> None:
    """What a new connection costs (CONN_MAX_AGE=0 opens one per request)."""
    from django.db import connections

    print(f"a new connection over the Unix socket, {tries} tries")
    for alias in ("default", "replica1"):
        values = []
        for _ in range(tries):
            connections[alias].close()
            started = time.perf_counter()
            connections[alias].ensure_connection()
            values.append((time.perf_counter() - started) * 1000)
        print(f"  {alias:<10} p50 {statistics.median(values):.2f} ms, max {max(values):.2f} ms")


def web_process() -> None:
    """What one web process spends outside the database: the query's embedding and memory."""
    from papers.embeddings import Embedder, get_embedder

    embedder = get_embedder()
    values = []
    for _ in range(3):
        for query in QUERIES:
            Embedder.encode_query.cache_clear()
            started = time.perf_counter()
            embedder.encode_query(query)
            values.append((time.perf_counter() - started) * 1000)
    threads = _torch_threads()
    print(f"embedding one query in this process ({len(values)} tries, torch threads {threads})")
    print(f"  p50 {statistics.median(values):.1f} ms, max {max(values):.1f} ms")
    # A fresh process, as a web worker is: Django, the model, one query embedded.
    probe = (
        "import django, resource; django.setup();"
        "from papers.embeddings import get_embedder; get_embedder().encode_query('kv cache');"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    peak = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    ).stdout.strip()
    print(f"peak memory of a process with Django and the model loaded: {peak} MiB")


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _on_primary(func, *args):
    """Run as a POST or the worker would: the primary answers."""
    from config.replicas import primary_reads

    with primary_reads():
        return func(*args)


def _primary_lsn() -> str:
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()")
        return cursor.fetchone()[0]


def _wait_for_replay(lsn: str | None = None) -> float:
    """Poll the replica until it has replayed `lsn` (default: the primary's position now)."""
    from django.db import connections

    lsn = lsn or _primary_lsn()
    with connections["replica1"].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            if cursor.fetchone()[0]:
                return time.perf_counter()


def _drop_database() -> None:
    from django.db import connections

    from config.database import drop_database

    for connection in connections.all():
        connection.close()
    os.environ.pop("DATABASE_URL", None)
    connections["default"].settings_dict["NAME"] = "postgres"
    drop_database(DATABASE)


if __name__ == "__main__":
    main()
