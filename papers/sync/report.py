"""What a sync tells its operator: a line per page written, each skipped record, the totals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from papers.ingest import ParseError
from papers.loader import ImportSummary


@dataclass
class Reporter:
    say: Callable[[str], None]
    warn: Callable[[str], None]
    total: ImportSummary = field(default_factory=ImportSummary)
    pages: int = 0

    def written(self, label: str, summary: ImportSummary, unusable: list[ParseError]) -> None:
        """One page's papers are committed: `unusable` are the records its parser passed over."""
        for reason in [*unusable, *summary.rejected]:
            self.warn(f"skipped {reason}")
        summary.skipped += len(unusable)
        self.total.new += summary.new
        self.total.updated += summary.updated
        self.total.unchanged += summary.unchanged
        self.total.skipped += summary.skipped
        self.pages += 1
        self.say(f"{label}: {summary}")
