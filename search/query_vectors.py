"""The query's vector, made in a thread of its own while the search finds its keyword matches.

Embedding a query takes about 10 ms on this machine's CPU (ONNX Runtime, int8), and finding its
keyword matches about as long (postings, BM25 in numpy, a statement or two). One after the other
they added up on every search by meaning; side by side, the search waits for the longer. The
model runs outside the GIL, and the keyword side mostly waits on PostgreSQL or numpy.
"""

from __future__ import annotations

from concurrent.futures import Future

from ops.process_pool import ProcessPool

THREADS = 4  # queries embedded at once per process (a threaded server's concurrent searches)

_pool = ProcessPool(THREADS, "query-vector")


def start(text: str) -> Future:
    """The vector of `text`, on its way."""
    return _pool.submit(embed, text)


def ready(vector: tuple[float, ...]) -> Future:
    """A vector already in hand, in the same wrapping."""
    future: Future = Future()
    future.set_result(vector)
    return future


def embed(text: str) -> tuple[float, ...]:
    from papers.embeddings import get_embedder

    return tuple(get_embedder().encode_query(text))
