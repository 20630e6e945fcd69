from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evaluation.judgments import as_dataset, write_beir


class Command(BaseCommand):
    help = (
        "Write the group's relevance judgments to DIR in the BEIR layout: queries.jsonl, "
        "qrels/test.tsv and corpus.jsonl (the judged papers)."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", type=Path, metavar="DIR")

    def handle(self, *args, **options):
        folder: Path = options["dir"]
        if folder.exists() and not folder.is_dir():
            raise CommandError(f"{folder}: not a folder")
        dataset = as_dataset()
        if not dataset.qrels:
            raise CommandError("No judgments yet: members judge results on the search page.")
        written = write_beir(dataset, folder)
        judged = sum(len(papers) for papers in dataset.qrels.values())
        self.stdout.write(
            f"{len(dataset.queries)} queries, {judged} judged results: "
            + ", ".join(str(p) for p in written)
        )
