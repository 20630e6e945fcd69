"""Cleaning shared by the parsers: text as the sources give it, made fit to store and search."""

from __future__ import annotations

import re

# C0 and C1 control characters except tab, newline and carriage return (which clean_text turns
# into spaces anyway): a NUL cannot be stored by PostgreSQL, the rest only corrupt display.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# arXiv identifiers: 2301.01234 (since 2007, 4 digits until 2014) and math.AG/0601001 (before).
ARXIV_ID = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})$")
VERSION = re.compile(r"v\d+$")
# How sources write them: `arXiv:2301.01234`, or the abs/PDF link (the Atom API's <id>; people
# paste it without its scheme too).
ID_PREFIX = re.compile(
    r"^(?:(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/|arxiv:)", re.I
)


def clean_text(text: str) -> str:
    """One line of text: no control characters, no hard line breaks, no runs of spaces.

    arXiv titles and abstracts are wrapped at ~80 columns with a two-space indent; the API's are
    not, so without this the same paper reads as changed between the two sources.
    """
    return " ".join(CONTROL.sub("", text).split())


# TeX's escaped specials: arXiv abstracts write "60\%" and "R\&D", which read as such on a page.
TEX_ESCAPE = re.compile(r"(?<!\\)\\([%&#_$])")


def tex_escapes_undone(text: str) -> str:
    r"""The text with TeX's escaped special characters as plain characters (`60\%` -> `60%`).
    Only these five: they have one plain meaning. Math (`$\alpha$`) and macros stay as the
    authors wrote them, since turning them into text guesses."""
    return TEX_ESCAPE.sub(r"\1", text)


def arxiv_id(raw: str) -> str | None:
    """The arXiv id without its version (`2403.01234v2` -> `2403.01234`), or None if the text is
    not one. An `arXiv:` prefix or an abs/PDF link around it is fine."""
    text = ID_PREFIX.sub("", raw.strip()).removesuffix(".pdf")
    text = VERSION.sub("", text)
    return text if ARXIV_ID.match(text) else None


def strip_controls(text: str) -> str:
    """The text without control characters, its tabs and line breaks as they are."""
    return CONTROL.sub("", text)


def without_controls(text: str) -> str:
    """The text without control characters other than tab and newline (CR and CRLF become
    newlines): for texts that keep their lines, where clean_text makes one line."""
    return strip_controls(text.replace("\r\n", "\n").replace("\r", "\n"))
