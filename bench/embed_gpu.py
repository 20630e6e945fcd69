"""Embedding rate on a GPU, where the app's stack is not installed: sentence-transformers alone.

    python3 bench/embed_gpu.py --model DIR --texts FILE [--n 20000] [--device cuda]

The worker on a GPU runs torch (papers.embeddings, EMBEDDING_BACKEND=auto): this measures that
path without Django or PostgreSQL, for a machine that has only torch and sentence-transformers.
FILE is a JSON list of texts (title, newline, abstract, as the app embeds them), repeated to --n.
"plain": encode(texts) with the library's defaults (batch 32, in the given order). "sorted":
what the worker does, longest first, in batches of --batch. Both in float32 and, as a GPU
deployment would run it, float16. Each is timed after a warm-up, best of --rounds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a sentence-transformers model folder")
    parser.add_argument("--texts", required=True, help="a JSON list of texts")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = json.loads(Path(args.texts).read_text())
    texts = (base * (args.n // len(base) + 1))[: args.n]
    longest_first = sorted(texts, key=len, reverse=True)
    print(f"{torch.cuda.get_device_name() if args.device == 'cuda' else args.device}, "
          f"{len(texts)} texts, torch {torch.__version__}")  # fmt: skip
    print(f"{'precision':<10}{'variant':<22}{'docs/s':>10}")
    for dtype in (torch.float32, torch.float16):
        model = SentenceTransformer(args.model, device=args.device).to(dtype)
        model.encode(texts[:256])  # warm-up: kernels, allocator
        print(f"{str(dtype)[6:]:<10}{'plain (batch 32)':<22}{rate(model, texts, 32, args):>10,.0f}")
        for batch in args.batch:
            label = f"longest first, {batch}"
            print(
                f"{str(dtype)[6:]:<10}{label:<22}{rate(model, longest_first, batch, args):>10,.0f}"
            )


def rate(model, texts: list[str], batch: int, args) -> float:
    best = 0.0
    for _ in range(args.rounds):
        if args.device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        model.encode(texts, batch_size=batch, convert_to_numpy=True, normalize_embeddings=True)
        if args.device == "cuda":
            torch.cuda.synchronize()
        best = max(best, len(texts) / (time.perf_counter() - started))
    return best


if __name__ == "__main__":
    main()
