"""Property-based tests of every import parser: random bytes and mutated valid files.

A parser may only yield records and rejections (file:line: why) or stop with a ParseError that
names the file; the import command turns that into a CommandError. Nothing else may escape, and
a rejected file never changes the papers already in the catalogue.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papers.ingest import PaperRecord, ParseError, Rejected
from papers.ingest.formats import FORMATS, read_file
from papers.models import Paper

FIXTURES = Path(__file__).parent / "fixtures"
VALID_FILES = {
    "hf-daily-text": FIXTURES / "daily_listing.txt",
    "hf-daily-json": FIXTURES / "hf_daily.json",
    "arxiv-jsonl": FIXTURES / "arxiv.jsonl",
    "arxiv-atom": FIXTURES / "arxiv_query.xml",
}
# Bytes that matter to the formats: JSON and XML syntax, line ends, escapes, invalid UTF-8.
SPECIAL = [b"{", b"}", b"[", b"]", b'"', b"\\", b"\n", b"\r", b"<", b">", b"&", b"\x00", b"\xff"]


@st.composite
def mutated(draw, original: bytes) -> bytes:
    """The file with a few bytes deleted, replaced or inserted, or cut short."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        insert = draw(st.sampled_from(SPECIAL) | st.binary(min_size=1, max_size=4))
        action = draw(st.sampled_from(["delete", "replace", "insert", "truncate"]))
        if action == "delete":
            del data[at : at + len(insert)]
        elif action == "replace":
            data[at : at + len(insert)] = insert
        elif action == "insert":
            data[at:at] = insert
        else:
            del data[at:]
    return bytes(data)


def files(format: str):
    original = VALID_FILES[format].read_bytes()
    return mutated(original) | st.binary(max_size=2000)


def _write(directory: str, data: bytes, compress: bool) -> Path:
    path = Path(directory) / ("input.gz" if compress else "input")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("format", FORMATS)
@given(data=st.data(), compress=st.booleans(), forced=st.booleans())
@settings(max_examples=150, deadline=None)
def test_a_parser_yields_records_and_rejections_or_a_parse_error(format, data, compress, forced):
    content = data.draw(files(format))
    with tempfile.TemporaryDirectory() as directory:
        path = _write(directory, content, compress)
        try:
            for item in read_file(path, format=format if forced else None):
                assert isinstance(item, PaperRecord | Rejected)
        except ParseError as exc:
            assert str(exc)  # says what is wrong, and where


def _snapshot() -> dict[int, tuple]:
    return {
        pk: rest
        for pk, *rest in Paper.objects.values_list(
            "pk", "title", "abstract", "authors", "published", "content_hash", "organization"
        )
    }


@pytest.mark.parametrize("format", FORMATS)
@given(data=st.data(), strict=st.booleans())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_importing_a_broken_file_never_changes_the_papers_already_there(
    catalogue, format, data, strict
):
    before = _snapshot()
    content = data.draw(files(format))
    options = ["--no-embeddings", "--year", "2024"] + (["--strict"] if strict else [])
    with tempfile.TemporaryDirectory() as directory:
        path = _write(directory, content, compress=False)
        try:
            call_command("import_papers", str(path), *options, stdout=_Null(), stderr=_Null())
            failed = False
        except CommandError as exc:
            assert str(exc)
            failed = True
    after = _snapshot()
    # The fixtures hold papers of their own, none of the demo listing's: every paper that was
    # there is there unchanged, whatever the file did.
    assert {pk: after.get(pk) for pk in before} == before
    if failed and strict:
        assert after == before  # --strict: a rejected file writes nothing
    Paper.objects.exclude(pk__in=before).delete()  # the next example starts from the catalogue


class _Null:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass
