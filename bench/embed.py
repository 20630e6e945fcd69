"""Embedding throughput: the app's path against plain SentenceTransformer.encode, same texts.

    .venv/bin/python bench/embed.py [--dataset DIR] [--n 2000]

Texts are the first N documents of a BEIR corpus (--dataset DIR; without it SciFact's at
../shared/eval/scifact when it is there, otherwise the catalogue's papers); each is title +
abstract as papers.embeddings.paper_text builds it. Both models are loaded and warmed up before
the clock starts, so the figures are encoding only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from benchkit import DEFAULT_DATASET, add_dataset_argument, header, setup_django

WARMUP = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dataset_argument(parser, default=None)
    parser.add_argument("--n", type=int, default=2000, help="how many documents (default 2000)")
    args = parser.parse_args()

    setup_django()

    import torch
    from django.conf import settings
    from sentence_transformers import SentenceTransformer

    from papers.embeddings import get_embedder, paper_text, resolve_model_path

    corpus = (args.dataset or DEFAULT_DATASET) / "corpus.jsonl"
    if args.dataset and not corpus.is_file():
        sys.exit(f"{corpus}: not found; pass --dataset DIR, a data set in BEIR layout")
    texts, source = load_texts(corpus, args.n, paper_text)
    if not texts:
        sys.exit("no texts: the evaluation corpus is missing and the catalogue is empty")

    app = get_embedder()
    plain = SentenceTransformer(resolve_model_path(settings.EMBEDDING_MODEL))
    app.encode(texts[:WARMUP])
    plain.encode(texts[:WARMUP])

    rows = [
        (
            f"app: Embedder.encode (batch {settings.EMBEDDING_BATCH_SIZE}, normalized)",
            timed(lambda: app.encode(texts)),
        ),
        ("plain: SentenceTransformer(path).encode(texts)", timed(lambda: plain.encode(texts))),
    ]

    print(header())
    print(f"texts:   {len(texts)} from {source}, {sum(map(len, texts)) / len(texts):.0f} chars avg")
    print(
        f"model:   {settings.EMBEDDING_MODEL}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, {platform.machine()}"
    )
    print()
    print(f"{'path':<56} {'seconds':>8} {'docs/s':>8}")
    for name, seconds in rows:
        print(f"{name:<56} {seconds:>8.2f} {len(texts) / seconds:>8.1f}")
    (_, app_s), (_, plain_s) = rows
    print(f"\nratio app/plain (docs/s): {plain_s / app_s:.2f}")


def load_texts(corpus: Path, n: int, paper_text) -> tuple[list[str], str]:
    if corpus.is_file():
        texts = []
        with corpus.open(encoding="utf-8") as lines:
            for line in lines:
                doc = json.loads(line)
                texts.append(paper_text(doc.get("title", ""), doc["text"]))
                if len(texts) == n:
                    break
        return texts, str(corpus)
    from papers.models import Paper

    papers = Paper.objects.order_by("pk").values_list("title", "abstract")[:n]
    return [paper_text(title, abstract) for title, abstract in papers], "the catalogue"


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
