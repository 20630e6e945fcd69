from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date


class ParseError(Exception):
    """Input that is not in the expected format; str() is one line naming file and line."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class PaperRecord:
    title: str
    abstract: str
    source: str
    line: int
    published: date | None = None
    upvotes: int = 0
    authors_count: int | None = None
    organization_slug: str | None = None
    organization_name: str | None = None
    source_id: str = ""
    # Filled by the arXiv and Hugging Face JSON formats; not yet stored by the loader.
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    doi: str = ""

    @property
    def key(self) -> str:
        if self.source_id:
            return f"arxiv:{self.source_id}"
        return f"title:{normalize_title(self.title)}"


def normalize_title(title: str) -> str:
    """Case, accents, punctuation and spacing do not make two titles different papers."""
    text = unicodedata.normalize("NFKD", title).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", " ", text).strip()
