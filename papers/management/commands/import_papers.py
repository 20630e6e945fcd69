from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from papers.ingest import PaperRecord, ParseError, Rejected
from papers.ingest.formats import FORMATS, detect_format, open_input, parse
from papers.loader import BATCH_SIZE, ImportStopped, StrictImportError, upsert_papers

INTERRUPTED = 130  # the shell's exit status for a process stopped by Ctrl-C


class Command(BaseCommand):
    help = (
        "Import papers from files: Hugging Face daily papers (the listing's text or the API's "
        "JSON), the arXiv metadata snapshot (JSON lines) or arXiv API responses (Atom); gzip or "
        "not; the format is told from the content (docs/FORMATS.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="read every PATH in this format instead of telling it from the content",
        )
        parser.add_argument(
            "--year",
            type=int,
            default=date.today().year,
            help="hf-daily-text: the year of the listing's own date line (default: this year); "
            "dates without a year take it, or the year before if that is after the listing",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="stop at the first bad record and write nothing (one transaction)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="read and check everything, write nothing"
        )
        parser.add_argument(
            "--no-embeddings",
            action="store_true",
            help="do not queue embedding work (run `embed_papers` or the worker later)",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"records per transaction (default {BATCH_SIZE})",
        )

    def handle(self, *args, paths: list[Path], **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        formats = self._check_files(paths, options["format"], options["year"])
        sizes = {path: _size(path) for path in paths}
        files = _Files(formats, options["year"])
        stop = threading.Event()
        with (
            tqdm(
                total=sum(sizes.values()),
                unit="B",
                unit_scale=True,
                desc="importing",
                disable=None,
            ) as bar,
            _stop_on_ctrl_c(stop, self.stderr),
        ):

            def progress(_: int) -> None:
                bar.update(files.done_bytes(sizes) - bar.n)

            def report(rejected: Rejected) -> None:
                with tqdm.external_write_mode(file=self.stderr):  # above the bar, not through it
                    self.stderr.write(f"skipped {rejected}")

            try:
                summary = upsert_papers(
                    files.records(),
                    batch_size=options["batch_size"],
                    on_batch=progress,
                    on_skip=report,
                    queue_embeddings=not options["no_embeddings"],
                    strict=options["strict"],
                    dry_run=options["dry_run"],
                    should_stop=stop.is_set,
                )
            except StrictImportError as exc:
                raise CommandError(f"{exc} (--strict: nothing written)") from None
            except ImportStopped:
                raise CommandError(
                    "interrupted: nothing written (--strict)", returncode=INTERRUPTED
                ) from None
            except ParseError as exc:
                after = (
                    "nothing written (--strict)"
                    if options["strict"]
                    else (
                        "the records before it are imported; fix the file and run the same command "
                        "again (it resumes)"
                    )
                )
                raise CommandError(f"{exc}; {after}") from None
        self.stdout.write(str(summary))
        if summary.interrupted:
            raise CommandError(
                "interrupted between batches: what is reported above is imported; run the same "
                "command again to import the rest (nothing is duplicated)",
                returncode=INTERRUPTED,
            )

    def _check_files(self, paths: list[Path], forced: str | None, year: int) -> dict[Path, str]:
        """Every file's format, before anything is written: a file that cannot be read, or a
        listing whose layout is broken anywhere (a page: small), fails the whole command."""
        formats = {}
        for path in paths:
            try:
                with open_input(path) as opened:
                    formats[path] = forced or detect_format(opened)
                    if formats[path] == "hf-daily-text":
                        for _ in parse(opened, "hf-daily-text", year=year):
                            pass
            except ParseError as exc:
                raise CommandError(str(exc)) from None
        return formats


class _Files:
    """The records of every file in turn, and how far into them the reading is."""

    def __init__(self, formats: dict[Path, str], year: int):
        self.formats, self.year = formats, year
        self.finished: list[Path] = []
        self.current = None

    def records(self) -> Iterator[PaperRecord | Rejected]:
        for path, format in self.formats.items():
            with open_input(path) as opened:
                self.current = opened
                yield from parse(opened, format, year=self.year)
            self.current = None
            self.finished.append(path)

    def done_bytes(self, sizes: dict[Path, int]) -> int:
        done = sum(sizes[path] for path in self.finished)
        return done + (self.current.position() if self.current else 0)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _stop_on_ctrl_c:
    """Ctrl-C asks the import to stop after the batch it is writing; a second one stops at once."""

    def __init__(self, stop: threading.Event, stderr):
        self.stop, self.stderr, self.previous = stop, stderr, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _handle(self, signum, frame) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()
        self.stderr.write("stopping after this batch (Ctrl-C again to stop at once)")
