"""What the benchmark scripts share: Django set up on the app's own settings, the data set they
read (a --dataset argument), and a report header that says how, on what code and on what machine
the figures were made."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The SciFact data set in BEIR layout, where the development machine keeps it beside the checkout
# (it is not part of the repository); any BEIR folder can be passed instead.
DEFAULT_DATASET = ROOT.parent / "shared" / "eval" / "scifact"


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def header() -> str:
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    describe = ["git", "-C", str(ROOT), "describe", "--always", "--dirty"]
    commit = subprocess.run(describe, capture_output=True, text=True).stdout.strip()
    machine = f"{platform.machine()} · {os.cpu_count()} CPUs"
    return f"command: {command}\ncommit {commit} · {machine}"


def add_dataset_argument(parser: ArgumentParser, *, default: Path | None = DEFAULT_DATASET) -> None:
    parser.add_argument(
        "--dataset",
        type=Path,
        default=default,
        metavar="DIR",
        help="a data set in BEIR layout: corpus.jsonl, queries.jsonl, qrels/<split>.tsv "
        f"(default: {DEFAULT_DATASET})",
    )


def load_dataset(path: Path, split: str = "train"):
    """The data set at path, or exit with a message that says what to pass instead."""
    from evaluation.beir import DatasetError, load_dataset

    try:
        return load_dataset(path, split)
    except DatasetError as exc:
        sys.exit(f"{exc}\npass --dataset DIR: a data set in BEIR layout, such as SciFact's")
