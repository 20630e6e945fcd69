"""A pool of threads of this process's own.

Threads do not survive a fork, and gunicorn forks its workers from a master that may have
searched already (config/gunicorn_hooks.py warms it up): a pool made before the fork would take
work in the child and never run it. Each process makes its own on first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class ProcessPool:
    def __init__(self, threads: int, name: str):
        self._threads, self._name = threads, name
        self._lock = threading.Lock()
        self._pool: tuple[int, ThreadPoolExecutor] | None = None

    def submit(self, fn: Callable, /, *args) -> Future:
        return self._executor().submit(fn, *args)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pool[0] != os.getpid():
                executor = ThreadPoolExecutor(self._threads, thread_name_prefix=self._name)
                self._pool = (os.getpid(), executor)
            return self._pool[1]
