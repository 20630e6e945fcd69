"""The embedding backends: int8 ONNX (the CPU default) against the unmodified torch model, the
settings that choose between them, and the worker writing int8 vectors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from papers.embeddings import (
    Embedder,
    get_embedder,
    paper_text,
    resolve_backend,
    resolve_device,
    resolve_model_path,
)
from papers.models import Paper
from papers.onnx_embeddings import UnsupportedModel, cached_model, check_supported
from tests.catalogue import ROOT

# Short queries, names and a long abstract-like text, so batching by length is exercised too.
TEXTS = [
    "kv cache",
    "P/D-Serve: serving disaggregated large language models at scale",
    "a way to train one model on many machines without sending them the data",
    "C++",
    "Mitochondrial DNA mutations accumulate with age in human tissues. " * 12,
    "papers that compress the attention cache of long-context transformers",
]


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return Embedder(
        settings.EMBEDDING_MODEL,
        dimensions=settings.EMBEDDING_DIMENSIONS,
        batch_size=4,
        backend="torch",
    )


@pytest.fixture
def fresh_embedder():
    get_embedder.cache_clear()
    yield
    get_embedder.cache_clear()


def int8_embedder(batch_size: int = 4) -> Embedder:
    return Embedder(
        settings.EMBEDDING_MODEL,
        dimensions=settings.EMBEDDING_DIMENSIONS,
        batch_size=batch_size,
        backend="onnx-int8",
        cache_dir=settings.EMBEDDING_CACHE_DIR,
    )


def test_int8_vectors_agree_with_the_torch_models_in_the_texts_order(torch_embedder):
    fast = int8_embedder().encode(TEXTS)
    exact = torch_embedder.encode(TEXTS)
    assert fast.shape == exact.shape == (len(TEXTS), settings.EMBEDDING_DIMENSIONS)
    assert np.linalg.norm(fast, axis=1) == pytest.approx(1.0, abs=1e-5)
    cosines = (fast * exact).sum(axis=1)
    assert cosines.min() >= 0.98, cosines
    # Each text is closest to its own torch vector: nothing was swapped by the length sort.
    assert list((fast @ exact.T).argmax(axis=1)) == list(range(len(TEXTS)))


def test_a_texts_vector_barely_depends_on_the_rest_of_its_batch():
    # Dynamic quantization scales activations per batch, so a batch's other texts move a
    # vector a little (cosine 0.992 here); torch's vectors do not move at all.
    embedder = int8_embedder(batch_size=32)
    alone = embedder.encode([TEXTS[1]])[0]
    in_batch = embedder.encode(TEXTS)[1]
    assert float(alone @ in_batch) >= 0.98


def test_the_int8_model_is_built_once_and_then_read_from_the_cache():
    model_path = resolve_model_path(settings.EMBEDDING_MODEL)
    first = cached_model(Path(model_path), settings.EMBEDDING_CACHE_DIR)
    built_at = first.stat().st_mtime_ns
    assert cached_model(Path(model_path), settings.EMBEDDING_CACHE_DIR) == first
    assert first.stat().st_mtime_ns == built_at
    assert not [p for p in first.parent.iterdir() if p.is_dir()]  # no temporary leftovers


def test_the_setting_chooses_the_backend(fresh_embedder):
    with override_settings(EMBEDDING_BACKEND="torch", EMBEDDING_DEVICE="cpu"):
        assert get_embedder().backend == "torch"
    get_embedder.cache_clear()
    with override_settings(EMBEDDING_BACKEND="auto", EMBEDDING_DEVICE="cpu"):
        assert get_embedder().backend == "onnx-int8"


def test_auto_uses_torch_on_a_gpu_and_the_int8_model_on_cpu():
    assert resolve_backend("auto", "cpu", settings.EMBEDDING_MODEL) == "onnx-int8"
    assert resolve_backend("auto", "cuda", settings.EMBEDDING_MODEL) == "torch"
    assert resolve_backend("torch", "cpu", settings.EMBEDDING_MODEL) == "torch"
    assert resolve_device("cuda:1") == "cuda:1"  # EMBEDDING_DEVICE wins over detection
    import torch

    assert resolve_device("") == ("cuda" if torch.cuda.is_available() else "cpu")


def write_model_folder(folder, pooling: dict) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))


def test_a_model_with_other_pooling_falls_back_to_torch_or_says_so(tmp_path):
    write_model_folder(tmp_path, {"pooling_mode_cls_token": True})
    with pytest.raises(UnsupportedModel, match="pooling"):
        check_supported(tmp_path)
    assert resolve_backend("auto", "cpu", str(tmp_path)) == "torch"
    with pytest.raises(ImproperlyConfigured, match="set EMBEDDING_BACKEND=torch"):
        Embedder(str(tmp_path), dimensions=384, batch_size=4, backend="onnx-int8")


def test_a_bad_backend_setting_stops_with_a_message():
    env = {"EMBEDDING_BACKEND": "gpu", "PATH": "/usr/bin:/bin"}
    check = [sys.executable, "manage.py", "check"]
    done = subprocess.run(check, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "EMBEDDING_BACKEND must be 'auto', 'torch' or 'onnx-int8'" in done.stderr


def test_the_worker_writes_int8_vectors_close_to_the_torch_models(
    demo_catalogue, fresh_embedder, torch_embedder
):
    assert get_embedder().backend == "onnx-int8"  # the CPU default, which embedded the catalogue
    papers = list(Paper.objects.order_by("pk")[:8])
    exact = torch_embedder.encode([paper_text(p.title, p.abstract) for p in papers])
    stored = np.array([p.embedding for p in papers])
    assert (stored * exact).sum(axis=1).min() >= 0.98
