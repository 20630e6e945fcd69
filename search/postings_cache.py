"""The packed postings this process has read, kept for the next searches that use the same words.

A common word's postings are big: at a million papers "gene" and "expression" held about 2 MB,
and reading them from PostgreSQL (TOAST, then the wire) took 15 to 20 ms of every search that
typed them. A row of postings never changes once written: a segment is written whole, then only
deleted when merged into a new one with a new number (papers.keyword_index). So a row read once
stays true for as long as its segment exists, and a search asks the database only which
segments hold its words, then reads the rows it has not seen.

The cache is per process, bounded in bytes (KEYWORD_POSTINGS_CACHE_MB), least recently used out
first. Its keys carry the database's and the postings table's identity, so another database on
the same server, or the table emptied by TRUNCATE, never meets another's rows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from django.conf import settings

from papers.keyword_index import POSTINGS

# (lexeme, segment) pairs the search needs and has not seen, in one statement.
READ_ROWS = f"""
SELECT x.lexeme, x.segment_id, x.paper_ids, x.counts
FROM unnest(%(lexemes)s::text[], %(segments)s::int[]) AS wanted(lexeme, segment_id)
JOIN {POSTINGS} x USING (lexeme, segment_id)
"""

Row = tuple[np.ndarray, np.ndarray]  # paper ids (int64), packed counts (uint16)

_lock = threading.Lock()
_rows: OrderedDict[tuple, Row] = OrderedDict()
_size = 0


def rows(cursor, table: tuple, wanted: list[tuple[str, int]]) -> dict[tuple[str, int], Row]:
    """{(lexeme, segment): row} for every wanted pair, read from the database only when this
    process has not kept it. table: what names the postings table (database and file)."""
    found, missing = {}, []
    with _lock:
        for pair in wanted:
            row = _rows.get((table, *pair))
            if row is None:
                missing.append(pair)
            else:
                _rows.move_to_end((table, *pair))
                found[pair] = row
    if missing:
        lexemes, segments = zip(*missing, strict=True)
        cursor.execute(READ_ROWS, {"lexemes": list(lexemes), "segments": list(segments)})
        for lexeme, segment, raw_ids, raw_counts in cursor.fetchall():
            row = (
                np.frombuffer(raw_ids, dtype=">i4").astype(np.int64),
                np.frombuffer(raw_counts, dtype=">u2").astype(np.uint16),
            )
            found[(lexeme, segment)] = row
            _keep((table, lexeme, segment), row)
    return found


def clear() -> None:
    global _size
    with _lock:
        _rows.clear()
        _size = 0


def _keep(key: tuple, row: Row) -> None:
    global _size
    limit = settings.KEYWORD_POSTINGS_CACHE_MB * 2**20
    size = row[0].nbytes + row[1].nbytes
    if size > limit // 4:  # one huge row would push out everything else
        return
    with _lock:
        if key in _rows:
            return
        _rows[key] = row
        _size += size
        while _size > limit:
            _, (ids, counts) = _rows.popitem(last=False)
            _size -= ids.nbytes + counts.nbytes
