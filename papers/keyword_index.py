"""Writes the keyword index: pending papers into new segments, small segments into bigger ones.

The index is log-structured (docs/PERFORMANCE.md). `flush` packs the postings of papers whose
text is new or changed into a fresh segment, in one SQL statement over their tsvectors, in the
transaction that wrote them when the loader calls it. `maintain` merges segments of similar size
so a catalogue keeps a handful of segments however it grew; a merge also drops the postings of
papers edited or deleted since their segment was written. Readers never wait: they see the old
segments until a merge commits. Which segment holds a paper's current postings is in
papers_keyworddoc, kept by triggers (migration 0005).
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from papers.models import KeywordDoc, KeywordPostings, KeywordSegment, Word

DOC = KeywordDoc._meta.db_table
POSTINGS = KeywordPostings._meta.db_table
SEGMENT = KeywordSegment._meta.db_table
FLUSH_LIMIT = 20_000  # papers a segment takes at most from one flush
# Size tiers for merging: a tier holds segments within a factor FANOUT of each other, and
# FANOUT segments of one tier merge into one of the next. Each posting is rewritten about
# log_FANOUT(postings / TIER_BASE) times however the catalogue grew.
TIER_BASE = 50_000
FANOUT = 4
MERGE_LOCK = 0x6B77_6D72  # pg_advisory_xact_lock key: one merge at a time
PAPER_ID_LIMIT = 2**31  # ids are packed in 4 bytes
COPY_ROWS = 5_000  # merged rows written per COPY

# Counts of a lexeme's positions by weight, packed in 15 bits (see KeywordPostings).
PACKED_COUNTS = """int2send((
      (least(cardinality(array_positions(u.weights, 'A')), 7) << 12)
    | (least(cardinality(array_positions(u.weights, 'C')), 7) << 9)
    | least(cardinality(array_positions(u.weights, 'B'))
            + cardinality(array_positions(u.weights, 'D')), 511))::int2)"""

# Both aggregates see the rows of a group in the same order, so the lists stay aligned; they
# are not sorted by id (sorting each group tripled the cost), nothing needs them sorted.
WRITE_POSTINGS = f"""
INSERT INTO {POSTINGS} (lexeme, segment_id, paper_ids, counts)
SELECT u.lexeme, %(segment)s, string_agg(int4send(p.id::int4), ''), string_agg({PACKED_COUNTS}, '')
FROM papers_paper p, unnest(p.search_vector) u
WHERE p.id = ANY(%(ids)s)
GROUP BY u.lexeme
"""
TXID = "pg_current_xact_id()::text::bigint"
# Enough for WRITE_POSTINGS to group a FLUSH_LIMIT segment in memory: at the default 4 MB it
# spilled to disk from about 2,000 papers on.
FLUSH_WORK_MEM = "128MB"
# The papers' words as written, lower-cased, for "did you mean" (papers.models.Word). Letters
# only: a suggestion is a word, not a number or a formula.
WRITE_WORDS = f"""
INSERT INTO {Word._meta.db_table} (word)
SELECT DISTINCT w FROM papers_paper p,
  regexp_split_to_table(lower(p.title || ' ' || p.abstract), '[^a-z]+') w
WHERE p.id = ANY(%(ids)s) AND length(w) BETWEEN 3 AND 40
ON CONFLICT DO NOTHING
"""


def flush(paper_ids: Sequence[int] | None = None, *, limit: int = FLUSH_LIMIT) -> int:
    """Write pending papers (these, or any) into a new segment; returns how many it wrote.

    Pending rows are claimed FOR UPDATE SKIP LOCKED: two flushes never take one paper, and an
    edit in flight (its trigger holds the row) waits for the next flush.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        claim = f"SELECT paper_id FROM {DOC} WHERE segment_id IS NULL AND alive"
        if paper_ids is None:
            cursor.execute(f"{claim} ORDER BY paper_id LIMIT %s FOR UPDATE SKIP LOCKED", [limit])
        else:
            cursor.execute(f"{claim} AND paper_id = ANY(%s) FOR UPDATE SKIP LOCKED", [paper_ids])
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return 0
        if max(ids) >= PAPER_ID_LIMIT:
            raise OverflowError("paper ids past 2^31 do not fit the keyword index's 4-byte ids")
        cursor.execute(
            f"SELECT coalesce(sum(length), 0) FROM {DOC} WHERE paper_id = ANY(%s)", [ids]
        )
        segment = KeywordSegment.objects.create(papers=len(ids), postings=cursor.fetchone()[0])
        cursor.execute("SELECT set_config('work_mem', %s, true)", [FLUSH_WORK_MEM])
        cursor.execute(WRITE_POSTINGS, {"segment": segment.pk, "ids": ids})
        cursor.execute(WRITE_WORDS, {"ids": ids})
        cursor.execute(
            f"UPDATE {DOC} SET segment_id = %s, txid = {TXID} WHERE paper_id = ANY(%s)",
            [segment.pk, ids],
        )
    return len(ids)


class BackgroundFlush:
    """Flushes committed papers on a connection of its own while the caller writes more.

    The bulk loader's batches each commit pending papers; writing their postings in the batch's
    own transaction put both jobs on one server process, one core. Here a thread takes the ids
    of each committed batch (`add`), gathers them into segments of about `segment_papers`, and
    flushes them on its own connection, so PostgreSQL runs the next batch's insert and this
    flush side by side. Until flushed, papers are pending and still found by words (from their
    tsvectors). `close` flushes what is left and raises an error the thread met.
    """

    def __init__(self, segment_papers: int = FLUSH_LIMIT):
        self.segment_papers = segment_papers
        self._ids: queue.Queue = queue.Queue()  # lists of ids, then _FINISH or _ABANDON
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="keyword-flush", daemon=True)
        self._thread.start()

    def add(self, paper_ids: Iterable[int]) -> None:
        self._ids.put(list(paper_ids))

    def close(self) -> None:
        """Flush what was added and not yet flushed; raise the error the thread met, if any."""
        self._ids.put(_FINISH)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Stop after the flush in progress (the caller is failing or interrupted): papers not
        flushed stay pending, found by words all the same, flushed by the next flush_all."""
        self._ids.put(_ABANDON)
        self._thread.join()

    def _run(self) -> None:
        gathered: list[int] = []
        item = None
        try:
            while (item := self._ids.get()) is not _ABANDON:
                last = item is _FINISH
                gathered += [] if last else item
                if gathered and (last or len(gathered) >= self.segment_papers):
                    flush(gathered)
                    gathered = []
                if last:
                    return
        except BaseException as exc:  # noqa: BLE001 -- raised by close(), in the caller's thread
            self._error = exc
            while item is not _FINISH and item is not _ABANDON:  # so that close() can join
                item = self._ids.get()
        finally:
            connection.close()  # this thread's own connection


_FINISH, _ABANDON = object(), object()  # BackgroundFlush's two ways to end


def rebuild() -> int:
    """Write every paper's postings anew from its tsvector (after a restore, or a change to how
    postings are packed); returns how many papers. Searches read the tsvectors meanwhile."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {DOC} SET segment_id = NULL, txid = {TXID} WHERE alive")
        cursor.execute(f"DELETE FROM {POSTINGS}")
        cursor.execute(f"DELETE FROM {SEGMENT}")
    written = flush_all()
    merge_all()
    return written


def flush_all() -> int:
    """Flush every pending paper, FLUSH_LIMIT at a time, then merge; returns how many."""
    total = 0
    while written := flush():
        total += written
    maintain()
    return total


def maintain() -> int:
    """Merge every tier that has FANOUT segments; returns the number of merges."""
    merges = 0
    while group := _tier_to_merge():
        merge(group)
        merges += 1
    return merges


def merge_all() -> int | None:
    """Merge every segment into one (after a bulk import, or to reclaim edited papers'
    space); returns the new segment's id, or None when there were fewer than two."""
    ids = list(KeywordSegment.objects.order_by("pk").values_list("pk", flat=True))
    return merge(ids) if len(ids) > 1 else None


def merge(segment_ids: Sequence[int]) -> int:
    """Replace segments by one holding their current postings; returns its id."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MERGE_LOCK])
            cursor.execute(
                f"SELECT paper_id, segment_id FROM {DOC} WHERE segment_id = ANY(%s)",
                [list(segment_ids)],
            )
            owner = _owner_array(cursor.fetchall())
        papers = int((owner >= 0).sum())
        target = KeywordSegment.objects.create(papers=papers, postings=0)
        postings = _write_merged(segment_ids, owner, target.pk)
        KeywordSegment.objects.filter(pk=target.pk).update(postings=postings)
        with connection.cursor() as cursor:
            # A paper edited since the merge began is pending now, and stays so: its row no
            # longer names one of the old segments when this UPDATE gets to it.
            cursor.execute(
                f"UPDATE {DOC} SET segment_id = %s, txid = {TXID} WHERE segment_id = ANY(%s)",
                [target.pk, list(segment_ids)],
            )
            cursor.execute(f"DELETE FROM {POSTINGS} WHERE segment_id = ANY(%s)", [segment_ids])
            cursor.execute(f"DELETE FROM {SEGMENT} WHERE id = ANY(%s)", [list(segment_ids)])
    return target.pk


@dataclass
class IndexStatus:
    segments: int
    postings: int
    pending: int
    papers: int


def status() -> IndexStatus:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT (SELECT count(*) FROM {SEGMENT}),
                       (SELECT coalesce(sum(postings), 0) FROM {SEGMENT}),
                       (SELECT count(*) FROM {DOC} WHERE segment_id IS NULL AND alive),
                       (SELECT count(*) FROM {DOC} WHERE alive)"""
        )
        return IndexStatus(*cursor.fetchone())


# --- merging ------------------------------------------------------------------------------------
def _tier_to_merge() -> list[int]:
    tiers: dict[int, list[int]] = {}
    for pk, postings in KeywordSegment.objects.order_by("pk").values_list("pk", "postings"):
        tier = int(math.log(max(postings, TIER_BASE) / TIER_BASE, FANOUT))
        tiers.setdefault(tier, []).append(pk)
    for tier in sorted(tiers):
        if len(tiers[tier]) >= FANOUT:
            return tiers[tier]
    return []


def _owner_array(rows: list[tuple[int, int]]) -> np.ndarray:
    """owner[paper id] = the segment holding its current postings, -1 for any other paper."""
    if not rows:
        return np.full(1, -1, dtype=np.int64)
    ids, segments = np.array(rows, dtype=np.int64).T
    owner = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    owner[ids] = segments
    return owner


def _write_merged(segment_ids: Sequence[int], owner: np.ndarray, target: int) -> int:
    written, rows = 0, []
    for lexeme, ids, counts in _current_postings(segment_ids, owner):
        rows.append((lexeme, target, ids.astype(">i4").tobytes(), counts.astype(">i2").tobytes()))
        written += len(ids)
        if len(rows) >= COPY_ROWS:
            _copy_postings(rows)
            rows = []
    _copy_postings(rows)
    return written


def _copy_postings(rows: list[tuple]) -> None:
    # Between two fetches of the streaming read, the connection is free for one COPY.
    if not rows:
        return
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {POSTINGS} (lexeme, segment_id, paper_ids, counts) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _current_postings(
    segment_ids: Sequence[int], owner: np.ndarray
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Each lexeme's postings across the segments, without those of papers whose current
    postings are elsewhere (edited, deleted), sorted by paper id."""
    for lexeme, parts in _rows_by_lexeme(segment_ids):
        ids = np.concatenate([np.frombuffer(p, dtype=">i4") for _, p, _ in parts]).astype(np.int64)
        counts = np.concatenate([np.frombuffer(c, dtype=">i2") for _, _, c in parts])
        segments = np.concatenate([np.full(len(p) // 4, s, dtype=np.int64) for s, p, _ in parts])
        known = ids < len(owner)
        keep = np.zeros(len(ids), dtype=bool)
        keep[known] = owner[ids[known]] == segments[known]
        if keep.any():
            order = np.argsort(ids[keep], kind="stable")
            yield lexeme, ids[keep][order], counts[keep][order]


def _rows_by_lexeme(segment_ids: Sequence[int]) -> Iterator[tuple[str, list]]:
    """(lexeme, [(segment, paper_ids, counts), …]) in lexeme order, streamed from the server."""
    with connection.connection.cursor(name="keyword_merge") as cursor:
        cursor.itersize = 2000
        cursor.execute(
            f"SELECT lexeme, segment_id, paper_ids, counts FROM {POSTINGS}"
            " WHERE segment_id = ANY(%s) ORDER BY lexeme",
            [list(segment_ids)],
        )
        lexeme, parts = None, []
        for row_lexeme, segment, ids, counts in cursor:
            if row_lexeme != lexeme and parts:
                yield lexeme, parts
                parts = []
            lexeme = row_lexeme
            parts.append((segment, bytes(ids), bytes(counts)))
        if parts:
            yield lexeme, parts
