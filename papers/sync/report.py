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
        summary.skipped[:0] = [str(error) for error in unusable]
        for reason in summary.skipped:
            self.warn(f"skipped {reason}")
        self.total.new += summary.new
        self.total.updated += summary.updated
        self.total.unchanged += summary.unchanged
        self.total.skipped.extend(summary.skipped)
        self.pages += 1
        self.say(f"{label}: {summary}")
