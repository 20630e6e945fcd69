"""A vector index of its own for each big organization.

A search by meaning filtered by one organization walks the HNSW graph of every paper and skips
those of other organizations: for the biggest of a million papers (7% of them) it visited about
2,900 papers and 12,900 pages to keep 200, 18 ms of the statement (bench/scale.py), and more for
a rarer one. A partial HNSW index over that organization's papers alone finds the same 200 in
4 ms. Organizations with at most MIN_PAPERS papers need none: the search ranks all of their
papers exactly (search.engine.EXACT_LIMIT).

The index's condition is `(organization_id + 0) = <id>`, the very text the search writes for the
filter (search.sql.FusedSQL._scope). PostgreSQL uses a partial index only when the query's
conditions imply its own; and `+ 0` keeps the btree on organization_id from serving the filter
instead, which reads every paper of the organization and sorts them all (280 ms).

`sync()` creates the indexes that are missing and drops those no longer wanted (an organization
that shrank, an interrupted build). An import runs it at its end; `manage.py
organization_indexes` runs it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from papers.models import HNSW_EF_CONSTRUCTION, HNSW_M

PREFIX = "paper_embedding_hnsw_org_"
MIN_PAPERS = 5_000  # search.engine.EXACT_LIMIT: fewer are ranked exactly, without an index
# The graph of the biggest organization of a million papers (68,000) is about 130 MB; with the
# server's default 64 MB the build spills and slows several times over.
BUILD_MEMORY = "512MB"
LOCK = "papers.organization_indexes"  # an advisory lock's name


@dataclass
class Sync:
    created: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    busy: bool = False  # another process was doing it: nothing done here

    @property
    def changed(self) -> bool:
        """Whether any index was built or dropped: what is worth reporting."""
        return bool(self.created or self.dropped)

    def __str__(self) -> str:
        if self.busy:
            return "organization vector indexes: another process is updating them"
        return (
            f"organization vector indexes: {len(self.created)} created, {len(self.dropped)} dropped"
        )


def condition(org_id: int, column: str = "organization_id") -> str:
    """The filter, in the one form that both the index and the search write."""
    return f"({column} + 0) = {int(org_id)}"


def index_name(org_id: int) -> str:
    return f"{PREFIX}{int(org_id)}"


def usable(cursor, org_id: int) -> bool:
    """Whether the organization's index exists and is complete (a concurrent build that is
    under way, or failed, leaves one that PostgreSQL does not use)."""
    cursor.execute(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [index_name(org_id)]
    )
    row = cursor.fetchone()
    return bool(row and row[0])


def sync(min_papers: int | None = None) -> Sync:
    """Make the set of organization indexes match the organizations with over min_papers
    papers (MIN_PAPERS unless given). Outside a transaction the indexes are built and dropped
    CONCURRENTLY, so that searches and writes go on meanwhile. One process at a time: another
    that finds the work under way leaves it to the first (Sync.busy)."""
    in_transaction = connection.in_atomic_block
    with connection.cursor() as cursor:
        take = "pg_try_advisory_xact_lock" if in_transaction else "pg_try_advisory_lock"
        cursor.execute(f"SELECT {take}(hashtext(%s))", [LOCK])
        if not cursor.fetchone()[0]:
            return Sync(busy=True)
        try:
            wanted = _big_organizations(cursor, MIN_PAPERS if min_papers is None else min_papers)
            return _build_and_drop(cursor, wanted, "" if in_transaction else "CONCURRENTLY")
        finally:
            if not in_transaction:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [LOCK])


def _build_and_drop(cursor, wanted: set[int], concurrently: str) -> Sync:
    done = Sync()
    present = _present(cursor)
    for org_id, valid in sorted(present.items()):
        if org_id not in wanted or not valid:  # shrunk, gone, or a build that was interrupted
            cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {index_name(org_id)}")
            done.dropped.append(org_id)
    missing = sorted(o for o in wanted if not present.get(o))
    if not missing:
        return done
    cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [BUILD_MEMORY])
    if not concurrently:
        # In a transaction, CREATE INDEX refuses to run while deferred foreign-key checks wait
        # for the commit: run them now (a violation would fail the commit anyway).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for org_id in missing:
        cursor.execute(
            f"CREATE INDEX {concurrently} IF NOT EXISTS {index_name(org_id)} ON papers_paper"
            " USING hnsw (embedding vector_cosine_ops)"
            f" WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
            f" WHERE {condition(org_id)}"
        )
        done.created.append(org_id)
    cursor.execute("RESET maintenance_work_mem")
    if not concurrently:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return done


def _big_organizations(cursor, min_papers: int) -> set[int]:
    cursor.execute(
        "SELECT organization_id FROM papers_paper WHERE organization_id IS NOT NULL"
        " GROUP BY organization_id HAVING count(*) > %s",
        [min_papers],
    )
    return {row[0] for row in cursor.fetchall()}


def _present(cursor) -> dict[int, bool]:
    """{organization id: whether its index is valid} of the organization indexes there are."""
    cursor.execute(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = 'papers_paper'::regclass AND c.relname LIKE %s",
        [PREFIX + "%"],
    )
    return {int(name.removeprefix(PREFIX)): valid for name, valid in cursor.fetchall()}
