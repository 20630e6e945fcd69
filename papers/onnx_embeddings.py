"""The embedding model through ONNX Runtime with int8 weights: about 3x the texts a second of
torch on CPU (bench/embed.py, docs/PERFORMANCE.md), vectors within cosine 0.99 of torch's.

The ONNX file is made on this machine from the packaged weights the first time it is needed
(torch.onnx.export, ONNX Runtime's BERT fusions, dynamic int8 quantization per channel: about
10 s, nothing downloaded) and cached under EMBEDDING_CACHE_DIR, named by a fingerprint of the
model folder's files (names and sizes), the recipe and the library versions, so another model or
an upgrade makes a new file.
The same inputs give the same file. Only models that are a Transformer, mean pooling and
optionally Normalize (all-MiniLM-L6-v2's layout) are supported: anything else uses torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np

RECIPE = "1"  # bump when export_int8 changes: files of another recipe are not reused
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
SUPPORTED_MODULES = {"Transformer", "Pooling", "Normalize"}
# The quantized model is checked against torch on these when it is built; per-tensor int8 gave
# cosine 0.88 on SciFact abstracts, per-channel 0.99, so 0.98 catches a broken recipe.
CHECK_TEXTS = (
    "Hybrid search over research papers",
    "Mitochondrial DNA mutations accumulate with age in human tissues and impair respiration.",
)
MIN_CHECK_COSINE = 0.98


class UnsupportedModel(Exception):
    """The model's layout is not Transformer + mean pooling (+ Normalize)."""


def check_supported(model_path: Path) -> None:
    """Raise UnsupportedModel unless model_path is a sentence-transformers folder this module
    reproduces exactly: a Transformer, mean pooling, optionally Normalize."""
    modules_file = model_path / "modules.json"
    if not modules_file.is_file():
        raise UnsupportedModel(f"{model_path} has no modules.json")
    modules = json.loads(modules_file.read_text())
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if not set(kinds) <= SUPPORTED_MODULES or kinds[:2] != ["Transformer", "Pooling"]:
        raise UnsupportedModel(f"{model_path}: modules {kinds}")
    pooling = json.loads((model_path / modules[1]["path"] / "config.json").read_text())
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    if modes != {"pooling_mode_mean_tokens"}:
        raise UnsupportedModel(f"{model_path}: pooling {sorted(modes)}, only mean is supported")


def cached_model(model_path: Path, cache_dir: Path) -> Path:
    """The int8 ONNX file of model_path, built into cache_dir if it is not there yet."""
    versions = " ".join(version(name) for name in ("torch", "transformers", "onnxruntime"))
    digest = hashlib.sha256(f"{RECIPE} {versions}".encode())
    for file in sorted(model_path.glob("*.*")):  # weights, config and tokenizer files
        digest.update(f"{file.name} {file.stat().st_size}".encode())
    target = cache_dir / f"{model_path.name}-{digest.hexdigest()[:16]}-int8.onnx"
    if not target.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        export_int8(model_path, target)
    return target


def export_int8(model_path: Path, target: Path) -> None:
    """Export, fuse and quantize into target; written under a temporary name and renamed, so two
    workers starting at once never read a half-written file."""
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32, fused, int8 = (Path(tmp) / name for name in ("fp32.onnx", "fused.onnx", "int8.onnx"))
        reference = _export(model_path, fp32)
        _fuse(model_path, fp32, fused)
        _quantize(fused, int8)
        encoder = OnnxEncoder(model_path, int8, threads=0)
        cosine = (encoder.encode(list(CHECK_TEXTS), 2) * reference).sum(axis=1).min()
        if cosine < MIN_CHECK_COSINE:
            raise UnsupportedModel(f"int8 model is off by cosine {cosine:.3f} from torch's")
        os.replace(int8, target)


def _export(model_path: Path, out: Path) -> np.ndarray:
    """The transformer and its mean pooling as one ONNX graph; returns torch's unit vectors of
    CHECK_TEXTS to check the result against."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    # Eager attention exports as plain MatMul/Softmax, which the fusions below and int8 handle
    # (measured 38 against 33 texts per CPU-second with the default SDPA attention).
    model = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()
    pooled = _mean_pooled(model)
    batch = AutoTokenizer.from_pretrained(model_path)(
        list(CHECK_TEXTS), padding=True, return_tensors="pt"
    )
    names = [name for name in INPUTS if name in batch]
    args = tuple(batch[name] for name in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in names} | {"embedding": {0: "batch"}}
    with torch.no_grad():  # before exporting: the export leaves the module changed
        vectors = pooled(*args).numpy()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            pooled,
            args,
            str(out),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,  # the dynamo exporter needs onnxscript, which is not installed
        )
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _mean_pooled(model):
    """model with sentence-transformers' mean pooling on top, as one torch module."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    return MeanPooled()


def _fuse(model_path: Path, fp32: Path, out: Path) -> None:
    """ONNX Runtime's BERT fusions (SkipLayerNormalization, BiasGelu): fewer, larger kernels."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((model_path / "config.json").read_text())
    fused = optimize_model(
        str(fp32),
        model_type="bert",
        num_heads=config["num_attention_heads"],
        hidden_size=config["hidden_size"],
        opt_level=1,
        use_gpu=False,
    )
    fused.save_model_to_file(str(out))


def _quantize(fused: Path, out: Path) -> None:
    """Weights to int8 per output channel; activations quantized on the fly per batch."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fused),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=True,
        # The fused operators have no type for shape inference to find: they are all float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


class OnnxEncoder:
    """Tokenize, run the int8 graph, normalize: what SentenceTransformer.encode does, faster."""

    def __init__(self, model_path: Path, onnx_file: Path, *, threads: int):
        import onnxruntime
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.max_length = _max_seq_length(model_path, self.tokenizer.model_max_length)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: ONNX Runtime's default, every core
        # Threads sleep between batches instead of spinning: the worker shares its machine with
        # the database and the web server.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.dimension = self.session.get_outputs()[0].shape[-1]

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit vectors of texts, in their order. Texts are batched longest first, so each batch
        pads to a length close to its own texts' (SentenceTransformer.encode does the same)."""
        order = np.argsort([-len(text) for text in texts], kind="stable")
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = order[start : start + batch_size]
            vectors[batch] = self._run([texts[i].strip() for i in batch])
        return vectors

    def _run(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
        )
        feed = {name: tokens[name].astype(np.int64) for name in self.inputs}
        pooled = self.session.run(None, feed)[0]
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _max_seq_length(model_path: Path, fallback: int) -> int:
    """sentence-transformers truncates at max_seq_length (256 for MiniLM), not the tokenizer's."""
    config = model_path / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length") or fallback)
    return fallback
