from __future__ import annotations

from django.core.management.base import BaseCommand

from papers import organization_indexes


class Command(BaseCommand):
    help = (
        "Give every organization with more than "
        f"{organization_indexes.MIN_PAPERS:,} papers a vector index of its own, and drop those "
        "no longer needed (an import does this at its end; docs/PERFORMANCE.md)."
    )

    def handle(self, *args, **options):
        done = organization_indexes.sync()
        self.stdout.write(str(done))
