"""The query's vector is made in a thread beside the keyword side (search.query_vectors): the
same vector as made in line, and still made in a process forked after the pool was used (as
gunicorn forks its workers from a master that warmed up by searching)."""

from __future__ import annotations

import multiprocessing

import numpy as np

from search import query_vectors


def test_the_vector_is_the_one_made_in_line():
    made = query_vectors.start("kv cache offloading").result(timeout=60)
    assert np.allclose(made, query_vectors.embed("kv cache offloading"))
    assert query_vectors.ready(made).result() == made


def _in_child(queue):
    queue.put(len(query_vectors.start("paged attention").result(timeout=60)))


def test_a_forked_process_gets_a_pool_of_its_own():
    query_vectors.start("warm the pool").result(timeout=60)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue,))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == len(query_vectors.embed("paged attention"))
