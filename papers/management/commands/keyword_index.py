from __future__ import annotations

from django.core.management.base import BaseCommand

from papers import keyword_index


class Command(BaseCommand):
    help = (
        "Report on the keyword index (segments, postings, pending papers); --flush writes "
        "pending papers into segments, --merge-all merges every segment into one, --rebuild writes "
        "every paper's postings anew."
    )

    def add_arguments(self, parser):
        parser.add_argument("--flush", action="store_true", help="write every pending paper")
        parser.add_argument(
            "--rebuild", action="store_true", help="write every paper's postings anew"
        )
        parser.add_argument("--merge-all", action="store_true", help="merge every segment into one")

    def handle(self, *args, flush: bool, rebuild: bool, merge_all: bool, **options):
        if rebuild:
            self.stdout.write(f"rebuilt the postings of {keyword_index.rebuild()} papers")
        if flush:
            self.stdout.write(f"wrote {keyword_index.flush_all()} pending papers")
        if merge_all:
            merged = keyword_index.merge_all()
            self.stdout.write("merged into one segment" if merged else "nothing to merge")
        s = keyword_index.status()
        self.stdout.write(
            f"{s.papers} papers, {s.pending} pending; {s.segments} segments, {s.postings} postings"
        )
