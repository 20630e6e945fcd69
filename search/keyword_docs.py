"""This process's copy of papers_keyworddoc, as numpy arrays indexed by paper id.

Keyword search scores every posting of the query's words; what it needs to know of each paper
(which segment holds its current postings, its BM25 length, its organization, date and upvotes)
comes from here instead of a join: at a million papers the arrays take about 25 MB and a lookup
of a million ids takes milliseconds. Each search first reads what changed: every row carries the
transaction that wrote it, and a refresh reads the rows written by transactions that had not
finished when the previous refresh began (its snapshot's xmin), so a slow transaction that
commits late is never missed. A refresh copies before it writes, so a search in another thread
keeps the arrays it started with; one inside a transaction (a test, a management command) uses
what it sees without keeping it, since that transaction may still roll back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cached_property

import numpy as np
from django.db import connections

from papers.models import KeywordDoc

DOC = KeywordDoc._meta.db_table
PENDING = -1  # alive, postings not yet in a segment
GONE = -2  # deleted, or no such paper
NO_DATE = np.iinfo(np.int32).min
EPOCH = date(1970, 1, 1)

# One row per paper as packed columns: a million rows arrive in one round trip, no tuples. The
# snapshot's xmin is read by the same statement: every transaction it could not see is >= it.
CHANGED_ROWS = f"""
SELECT pg_relation_filenode('{DOC}'), pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
       string_agg(int4send(paper_id::int4), ''),
       string_agg(int4send(CASE WHEN NOT alive THEN {GONE}
                                ELSE coalesce(segment_id, {PENDING}) END), ''),
       string_agg(int4send(length), ''),
       string_agg(int8send(coalesce(organization_id, -1)), ''),
       string_agg(int4send(coalesce(published - DATE '1970-01-01', {NO_DATE})), ''),
       string_agg(int8send(upvotes), ''),
       string_agg(translate(array_to_string(categories, ' '), E'\n\r', '  '), E'\n')
FROM {DOC} WHERE txid >= %s
"""
STATE = (
    f"SELECT pg_relation_filenode('{DOC}'), pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
)


@dataclass
class DocTable:
    segment: np.ndarray  # int32 by paper id: segment id, PENDING or GONE
    length: np.ndarray  # int32: distinct lexemes, BM25's document length
    org: np.ndarray  # int64: organization id, -1 for none
    published: np.ndarray  # int32: days since 1970-01-01, NO_DATE for none
    upvotes: np.ndarray  # int64
    categories: np.ndarray  # int16 (paper id, CATEGORY_SLOTS): category numbers, -1 padded
    alive: int = 0
    length_sum: int = 0
    low: int = 0  # rows of transactions from this id on may be new to this copy
    filenode: int = 0  # a TRUNCATE gives the table a new file: start again

    @classmethod
    def empty(cls, filenode: int = 0) -> DocTable:
        return cls(
            segment=np.full(0, GONE, dtype=np.int32),
            length=np.zeros(0, dtype=np.int32),
            org=np.full(0, -1, dtype=np.int64),
            published=np.full(0, NO_DATE, dtype=np.int32),
            upvotes=np.zeros(0, dtype=np.int64),
            categories=np.full((0, CATEGORY_SLOTS), -1, dtype=np.int16),
            filenode=filenode,
        )

    @property
    def size(self) -> int:
        return len(self.segment)

    @property
    def average_length(self) -> float:
        return max(self.length_sum / self.alive, 1.0) if self.alive else 1.0

    @cached_property
    def published_range(self) -> tuple[date, date] | None:
        """The first and last publication dates among living papers (0.6 ms at 1,000,000), once
        per table: a table is never changed once doc_table has handed it out (copy on write),
        and `replace` makes new ones without the cached value."""
        days = self.published[(self.segment != GONE) & (self.published != NO_DATE)]
        if not days.size:
            return None
        return EPOCH + timedelta(days=int(days.min())), EPOCH + timedelta(days=int(days.max()))

    @cached_property
    def memo(self) -> dict:
        """Values worked out from this table alone, kept with it (as published_range is): the
        facets of a browse of every paper, which the home page shows on every visit."""
        return {}

    def pending_ids(self) -> np.ndarray:
        return np.flatnonzero(self.segment == PENDING)

    def living_ids(self) -> np.ndarray:
        return np.flatnonzero(self.segment != GONE)

    def copy(self) -> DocTable:
        arrays = {f: getattr(self, f).copy() for f in (*ARRAYS, "categories")}
        return replace(self, **arrays)

    def apply(self, columns: tuple) -> None:
        """Write changed rows (the packed columns of CHANGED_ROWS) into the arrays."""
        if columns[0] is None:
            return
        ids = np.frombuffer(columns[0], dtype=">i4").astype(np.int64)
        self._grow(int(ids.max()) + 1)
        was_alive = self.segment[ids] != GONE
        self.alive -= int(was_alive.sum())
        self.length_sum -= int(self.length[ids][was_alive].sum())
        for name, column, dtype in zip(ARRAYS, columns[1:-1], WIRE_TYPES, strict=True):
            getattr(self, name)[ids] = np.frombuffer(column, dtype=dtype)
        self.categories[ids] = category_numbers(columns[-1].split("\n"))
        is_alive = self.segment[ids] != GONE
        self.alive += int(is_alive.sum())
        self.length_sum += int(self.length[ids][is_alive].sum())

    def _grow(self, size: int) -> None:
        if size <= self.size:
            return
        size = max(size, self.size * 2, 1024)
        for name, fill in zip((*ARRAYS, "categories"), (*FILLS, -1), strict=True):
            old = getattr(self, name)
            grown = np.full((size, *old.shape[1:]), fill, dtype=old.dtype)
            grown[: len(old)] = old
            setattr(self, name, grown)


ARRAYS = ("segment", "length", "org", "published", "upvotes")
WIRE_TYPES = (">i4", ">i4", ">i8", ">i4", ">i8")
FILLS = (GONE, 0, -1, NO_DATE, 0)

# A paper's first CATEGORY_SLOTS categories count for the filter (arXiv papers have 1 to 4,
# rarely more); each category gets a number for this process's life.
CATEGORY_SLOTS = 8
_category_numbers: dict[str, int] = {}
_category_names: list[str] = []

_tables: dict[tuple, DocTable] = {}
_lock = threading.Lock()


def doc_table(using: str = "default") -> DocTable:
    """The current table, read from the database `using` (a replica alias works too)."""
    connection = connections[using]
    key = _key(connection)
    with _lock:
        cached = _tables.get(key)
    with connection.cursor() as cursor:
        cursor.execute(CHANGED_ROWS, [cached.low if cached else 0])
        filenode, low, *changed = cursor.fetchone()
        if cached is not None and filenode != cached.filenode:  # TRUNCATE: read it all again
            cursor.execute(CHANGED_ROWS, [0])
            filenode, low, *changed = cursor.fetchone()
            cached = None
    table = cached or DocTable.empty(filenode)
    if changed[0] is not None:
        # Copy on write: a search running in another thread keeps the arrays it started with.
        table = table.copy()
        table.apply(changed)
    if connection.in_atomic_block:
        return table  # what this transaction sees may still roll back: keep none of it
    if table.low != low:  # a new table, else the one in hand keeps what it has cached
        table = replace(table, low=low)
    with _lock:
        current = _tables.get(key)
        if current is None or current.filenode != filenode or current.low <= low:
            _tables[key] = table
    return table


def category_number(category: str) -> int:
    """This process's number for a category (new ones get the next); stable for its life."""
    with _lock:
        if category not in _category_numbers:
            _category_numbers[category] = len(_category_names)
            _category_names.append(category)
        return _category_numbers[category]


def category_name(number: int) -> str:
    return _category_names[number]


def category_numbers(rows: list[str]) -> np.ndarray:
    """(len(rows), CATEGORY_SLOTS) numbers of each row's space-separated categories."""
    numbers = np.full((len(rows), CATEGORY_SLOTS), -1, dtype=np.int16)
    for i, row in enumerate(rows):
        for slot, category in enumerate(row.split()[:CATEGORY_SLOTS]):
            numbers[i, slot] = category_number(category)
    return numbers


def day_number(value: date | None) -> int:
    return NO_DATE if value is None else (value - EPOCH).days


def _key(connection) -> tuple:
    settings = connection.settings_dict
    return (settings["NAME"], settings.get("HOST"), settings.get("PORT"))
