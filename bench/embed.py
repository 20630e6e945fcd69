"""Embedding throughput: the worker's path against plain SentenceTransformer.encode, same texts.

    .venv/bin/python bench/embed.py [--texts 2000] [--corpus FILE] [--device cpu|cuda] [--rounds 3]

Texts are title + abstract (papers.embeddings.paper_text) of the first N documents of a BEIR
corpus.jsonl (default ../shared/eval/scifact/corpus.jsonl); without it, the demo listing in the
repository, repeated to N. "plain" is the unmodified model as sentence-transformers loads it, on
--device, encode(texts) with its defaults. "app" is what the worker does: get_embedder() (the
backend EMBEDDING_BACKEND and the device choose: int8 ONNX on CPU, torch on a GPU), texts taken a
task (EMBEDDING_TASK_SIZE) at a time, longest first, encoded EMBEDDING_BATCH_SIZE at a time.

Both are loaded and warmed up before the clock starts, and run in turns, --rounds times each; the
table has the median of each. Wall-clock docs/s is what a worker gets; docs per CPU-second is the
steadier figure on a machine shared with other work. The cosines compare the app's vectors with
plain's (normalized).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from benchkit import DEFAULT_DATASET, ROOT, header, setup_django

WARMUP = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=2000, help="how many texts (default 2000)")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_DATASET / "corpus.jsonl",
        help="a BEIR corpus.jsonl (default: SciFact's; the demo listing when it is missing)",
    )
    parser.add_argument("--device", default="", help="cpu, cuda, ... (default: a GPU if any)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each (default 3)")
    args = parser.parse_args()
    if args.device:
        os.environ["EMBEDDING_DEVICE"] = args.device  # before settings are read
    setup_django()

    import numpy as np
    import torch
    from django.conf import settings
    from sentence_transformers import SentenceTransformer

    from papers.embeddings import get_embedder, resolve_device, resolve_model_path

    texts, source = load_texts(args.corpus, args.texts)
    device = resolve_device(settings.EMBEDDING_DEVICE)
    app = get_embedder()
    plain = SentenceTransformer(resolve_model_path(settings.EMBEDDING_MODEL), device=device)
    app.encode(texts[:WARMUP])
    plain.encode(texts[:WARMUP])

    runs = {"plain": [], "app": []}
    for _ in range(args.rounds):
        runs["plain"].append(timed(lambda: plain.encode(texts)))
        runs["app"].append(timed(lambda: worker_path(app, texts, settings)))
    exact = plain.encode(texts, normalize_embeddings=True)
    cosines = (worker_path(app, texts, settings) * exact).sum(axis=1)

    print(header())
    print(f"texts:   {len(texts)} from {source}, {sum(map(len, texts)) / len(texts):.0f} chars avg")
    print(
        f"model:   {settings.EMBEDDING_MODEL} on {device}; app backend {app.backend}, batch "
        f"{settings.EMBEDDING_BATCH_SIZE}, task {settings.EMBEDDING_TASK_SIZE}; torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads; {os.cpu_count()} CPUs, "
        f"{platform.machine()}"
    )
    print()
    print(f"{'path':<62} {'docs/s':>8} {'docs/CPU-s':>11}")
    for name, label in (
        ("plain", "plain: SentenceTransformer(path).encode(texts)"),
        ("app", f"app: the worker's path ({app.backend})"),
    ):
        wall, cpu = medians(runs[name])
        print(f"{label:<62} {len(texts) / wall:>8.1f} {len(texts) / cpu:>11.1f}")
    (plain_wall, plain_cpu), (app_wall, app_cpu) = medians(runs["plain"]), medians(runs["app"])
    print(
        f"\nratio app/plain: {plain_wall / app_wall:.2f} (docs/s), {plain_cpu / app_cpu:.2f} (CPU)"
    )
    print(
        f"cosine app vs plain: min {cosines.min():.4f}, mean {cosines.mean():.4f}, "
        f"5th percentile {np.percentile(cosines, 5):.4f}"
    )


def worker_path(embedder, texts: list[str], settings):
    """papers.indexing.embed_ids without the database: a task's texts longest first, in
    batches; the vectors come back in the texts' order."""
    import numpy as np

    from papers.chunks import chunks

    vectors = np.empty((len(texts), settings.EMBEDDING_DIMENSIONS), dtype=np.float32)
    for task in chunks(list(range(len(texts))), settings.EMBEDDING_TASK_SIZE):
        ordered = sorted(task, key=lambda i: -len(texts[i]))
        for batch in chunks(ordered, settings.EMBEDDING_BATCH_SIZE):
            batch = list(batch)
            vectors[batch] = embedder.encode([texts[i] for i in batch])
    return vectors


def load_texts(corpus: Path, n: int) -> tuple[list[str], str]:
    from papers.embeddings import paper_text

    if corpus.is_file():
        texts = []
        with corpus.open(encoding="utf-8") as lines:
            for line in lines:
                doc = json.loads(line)
                texts.append(paper_text(doc.get("title", ""), doc["text"]))
                if len(texts) == n:
                    break
        return texts, str(corpus)
    from papers.ingest.daily_papers import parse_file

    demo = ROOT / "papers" / "demo" / "daily_papers.txt"
    papers = [paper_text(r.title, r.abstract) for r in parse_file(demo, year=2026)]
    if not papers:
        sys.exit(f"no texts: {corpus} is missing and so is {demo}")
    repeated = (papers * (n // len(papers) + 1))[:n]
    return repeated, f"{demo.relative_to(ROOT)} ({len(papers)} papers repeated; {corpus} missing)"


def timed(work) -> tuple[float, float]:
    """(wall-clock, CPU) seconds of work(); CPU counts every thread of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


if __name__ == "__main__":
    main()
