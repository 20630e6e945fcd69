"""A synthetic arXiv metadata snapshot (arxiv-jsonl) of any size, in the real format.

    .venv/bin/python bench/synthetic_arxiv.py OUT.jsonl[.gz] --lines 100000 [--corpus PATH]

Titles and abstracts are made of real sentences (SciFact's abstracts, ../shared/eval/scifact/
corpus.jsonl by default), hard-wrapped at 80 columns with the snapshot's indented first line;
authors come with `authors_parsed` and some LaTeX accents; ids are new-style and unique; every line
has versions, categories, and a DOI now and then, as the Kaggle snapshot does.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared/eval/scifact/corpus.jsonl"
SURNAMES = [
    *["Bal\\'azs", 'M\\"uller', "Fran\\c{c}ois", "Garc\\'ia"],  # LaTeX accents, as in the snapshot
    *["Smith", "Chen", "Nadolsky", "Wang", "Kowalski", "Okafor", "Tanaka", "Dubois", "Rossi"],
]
INITIALS = ["A.", "B. C.", "D.", "E. L.", "J.", "K.", "M.", "P. M.", "S.", "Y."]
CATEGORIES = ["cs.LG", "cs.CL", "cs.CV", "stat.ML", "q-bio.NC", "hep-ph", "math.OC", "cs.AI"]


def sentences(corpus: Path) -> list[str]:
    found = []
    with open(corpus, encoding="utf-8") as lines:
        for line in lines:
            text = json.loads(line).get("text") or ""
            found += [s.strip() + "." for s in text.split(". ") if len(s.split()) > 4]
    if not found:
        raise SystemExit(f"{corpus}: no sentences to build abstracts from")
    return found


def snapshot_lines(n: int, corpus: Path = DEFAULT_CORPUS, seed: int = 1) -> Iterator[str]:
    """n lines of the snapshot, one JSON object each (no newline)."""
    rng = random.Random(seed)
    pool = sentences(corpus)
    start = datetime(2015, 1, 1)
    for i in range(n):
        created = start + timedelta(minutes=7 * i)
        arxiv_id = f"{created:%y%m}.{i % 100000:05d}"
        title = " ".join(rng.choice(pool).split()[: rng.randint(6, 14)]).rstrip(".")
        abstract = " ".join(rng.choice(pool) for _ in range(rng.randint(4, 9)))
        authors = [
            [rng.choice(SURNAMES), rng.choice(INITIALS), ""] for _ in range(rng.randint(1, 8))
        ]
        record = {
            "id": arxiv_id,
            "submitter": f"{authors[0][1]} {authors[0][0]}",
            "authors": ", ".join(f"{first} {last}" for last, first, _ in authors),
            "title": "\n  ".join(textwrap.wrap(f"{title} {i}", 70)),
            "comments": f"{rng.randint(4, 40)} pages",
            "journal-ref": None,
            "doi": f"10.1000/synthetic.{i}" if i % 3 == 0 else None,
            "report-no": None,
            "categories": " ".join(rng.sample(CATEGORIES, rng.randint(1, 3))),
            "license": None,
            "abstract": "  " + "\n".join(textwrap.wrap(abstract, 80)) + "\n",
            "versions": [
                {"version": "v1", "created": created.strftime("%a, %-d %b %Y %H:%M:%S GMT")},
                {
                    "version": "v2",
                    "created": (created + timedelta(days=30)).strftime(
                        "%a, %-d %b %Y %H:%M:%S GMT"
                    ),
                },
            ],  # fmt: skip
            "update_date": (created + timedelta(days=30)).strftime("%Y-%m-%d"),
            "authors_parsed": authors,
        }
        yield json.dumps(record)


def write_snapshot(path: Path, n: int, corpus: Path = DEFAULT_CORPUS) -> Path:
    """Write n lines to path (gzip when it ends in .gz); returns path."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:
        for line in snapshot_lines(n, corpus):
            out.write(line + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="BEIR corpus.jsonl")
    args = parser.parse_args()
    write_snapshot(args.out, args.lines, args.corpus)
    print(f"{args.out}: {args.lines:,} lines, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
