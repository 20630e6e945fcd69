"""The four import formats, read from small fixtures: fields, gzip, detection, bad records, and the
identities records are keyed by (no database)."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from papers.ingest import PaperRecord, ParseError, Rejected
from papers.ingest.checks import check_record
from papers.ingest.formats import detect_format, open_input, read_file
from papers.ingest.records import title_key
from papers.ingest.text import arxiv_id, without_controls

FIXTURES = Path(__file__).parent / "fixtures"
HF_JSON = FIXTURES / "hf_daily.json"
ARXIV_JSONL = FIXTURES / "arxiv.jsonl"
ARXIV_ATOM = FIXTURES / "arxiv_query.xml"
LISTING = FIXTURES / "daily_listing.txt"


def read(path: Path, **kwargs) -> list[PaperRecord | Rejected]:
    return list(read_file(path, year=2026, **kwargs))


def gzipped(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / f"{path.name}.gz"
    target.write_bytes(gzip.compress(path.read_bytes()))
    return target


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(tmp_path: Path, *lines: dict | str) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    return write(tmp_path, "snapshot.jsonl", text + "\n")


def arxiv_line(**fields) -> dict:
    line = {
        "id": "2101.00001",
        "title": "A title",
        "abstract": "An abstract.",
        "authors": "A. Author",
        "categories": "cs.LG",
        "versions": [{"version": "v1", "created": "Fri, 1 Jan 2021 10:00:00 GMT"}],
        "update_date": "2021-01-02",
    }
    return {**line, **fields}


# --- hf-daily-json ------------------------------------------------------------------------------
def test_it_reads_the_daily_papers_api_json():
    mixtral, serverless, top_level = read(HF_JSON)
    assert mixtral.source_id == "2401.04088"
    assert mixtral.key == "arxiv:2401.04088"
    assert mixtral.title == "Mixtral of Experts"
    assert mixtral.abstract.startswith("We introduce Mixtral 8x7B")
    assert "\n" not in mixtral.abstract
    assert mixtral.authors == ("Albert Q. Jiang", "Alexandre Sablayrolles")
    assert mixtral.published == date(2024, 1, 8)  # the paper's date, not the day it was listed
    assert mixtral.upvotes == 153
    assert (mixtral.organization_slug, mixtral.organization_name) == ("mistralai", "Mistral AI")
    assert (mixtral.path, mixtral.line) == (str(HF_JSON), 2)
    assert serverless.source_id == "2405.04434"  # the version suffix goes
    assert serverless.organization_slug is None
    assert serverless.line == 18  # where its "{" is


def test_it_takes_fields_the_paper_object_lacks_from_the_item():
    top_level = read(HF_JSON)[2]
    assert top_level.title == "Top-level Fields Only"
    assert top_level.published == date(2024, 2, 29)
    assert top_level.upvotes is None  # not given: the import keeps what is stored
    assert top_level.authors == ()


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"paper": {"id": "2401.1", "title": "T", "summary": "S"}},
         "id '2401.1' is not an arXiv id"),
        ({"paper": {"id": 2401.00001, "title": "T", "summary": "S"}}, "id is not text"),
        ({"paper": {"title": "T", "summary": "S", "publishedAt": "2024-02-30T00:00:00Z"}},
         "publishedAt is not a date"),
        ("just a string", "item has no `paper` object"),
    ],
)  # fmt: skip
def test_a_bad_daily_papers_item_is_skipped_with_its_line(tmp_path, item, reason):
    good = {"paper": {"id": "2401.00002", "title": "Good", "summary": "Fine."}}
    path = write(tmp_path, "day.json", "[\n" + json.dumps(item) + ",\n" + json.dumps(good) + "\n]")
    rejected, record = read(path)
    assert isinstance(rejected, Rejected)
    assert (rejected.path, rejected.line) == (str(path), 2)
    assert reason in rejected.reason
    assert record.title == "Good"


def test_broken_json_in_the_array_stops_the_file_at_its_line(tmp_path):
    path = write(
        tmp_path, "day.json", '[\n{"paper": {"title": "A", "summary": "B"}},\n{"paper": {\n]'
    )
    with pytest.raises(ParseError, match=rf"^{path}:4: bad JSON"):
        read(path)


def test_a_cut_off_array_says_so(tmp_path):
    path = write(tmp_path, "day.json", '[{"paper": {"title": "A", "summary": "B"}},')
    with pytest.raises(ParseError, match="ends too early"):
        read(path)


def test_an_array_larger_than_the_read_buffer_is_read_item_by_item(tmp_path):
    items = [{"paper": {"id": f"2401.{i:05d}", "title": f"T{i}", "summary": "x" * 500}}
             for i in range(1, 1500)]  # fmt: skip
    path = write(tmp_path, "big.json", json.dumps(items, indent=1))  # ~1 MB: several chunks
    records = read(path)
    assert [r.source_id for r in records] == [f"2401.{i:05d}" for i in range(1, 1500)]


# --- arxiv-jsonl --------------------------------------------------------------------------------
def test_it_reads_the_arxiv_snapshot():
    diphoton, strings, mixtral = read(ARXIV_JSONL)
    assert diphoton.source_id == "0704.0001"
    assert diphoton.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert diphoton.abstract.startswith("A fully differential calculation in perturbative")
    assert "\n" not in diphoton.abstract and "  " not in diphoton.abstract
    assert diphoton.authors == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan")
    assert diphoton.categories == ("hep-ph",)
    assert diphoton.doi == "10.1103/PhysRevD.76.013009"
    assert diphoton.published == date(2007, 4, 2)  # the first version's, not update_date
    assert diphoton.upvotes is None and diphoton.organization_slug is None
    assert strings.source_id == "hep-th/9901001"
    assert strings.title == "Strings at the edge"
    assert strings.authors == ("J. Müller", "F. François")
    assert strings.categories == ("hep-th", "gr-qc")
    assert mixtral.line == 3


def test_without_authors_parsed_it_splits_the_authors_string(tmp_path):
    path = jsonl(tmp_path, arxiv_line(authors='G. G\\"odel, A. Turing and J. von Neumann'))
    (record,) = read(path)
    assert record.authors == ("G. Gödel", "A. Turing", "J. von Neumann")


def test_without_versions_the_update_date_is_the_published_date(tmp_path):
    (record,) = read(jsonl(tmp_path, arxiv_line(versions=[])))
    assert record.published == date(2021, 1, 2)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"id": "2101.00001", "title": "T", "abstract', "bad JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        (arxiv_line(id="2101.1"), "not an arXiv id: '2101.1'"),
        (arxiv_line(id=2101.00001), "id is not a string"),
        (arxiv_line(id=None), "no id"),
        (arxiv_line(versions=[{"created": "Mon, 31 Feb 2021 10:00:00 GMT"}]), "impossible date"),
        (arxiv_line(versions=[], update_date="2021-13-01"), "impossible date"),
    ],
)
def test_a_bad_snapshot_line_is_skipped_with_its_line(tmp_path, line, reason):
    path = jsonl(tmp_path, arxiv_line(id="2101.00009"), line, arxiv_line(id="2101.00010"))
    first, rejected, last = read(path)
    assert isinstance(rejected, Rejected)
    assert (rejected.path, rejected.line) == (str(path), 2)
    assert reason in rejected.reason
    assert (first.source_id, last.source_id) == ("2101.00009", "2101.00010")


def test_a_line_that_is_not_utf8_is_skipped(tmp_path):
    path = tmp_path / "snapshot.jsonl"
    good = json.dumps(arxiv_line()).encode()
    path.write_bytes(good + b"\n" + b'{"id": "2101.00002", "title": "Caf\xe9"}\n' + good + b"\n")
    records = read(path)
    assert isinstance(records[1], Rejected) and records[1].reason == "not UTF-8 text"
    assert len(records) == 3


def test_a_line_too_long_to_hold_is_skipped_without_reading_it_into_memory(tmp_path, monkeypatch):
    monkeypatch.setattr("papers.ingest.inputs.MAX_LINE", 1000)
    path = jsonl(tmp_path, arxiv_line(abstract="x" * 5000), arxiv_line(id="2101.00002"))
    rejected, record = read(path)
    assert isinstance(rejected, Rejected) and "longer than" in rejected.reason
    assert record.source_id == "2101.00002" and record.line == 2


# --- arxiv-atom ---------------------------------------------------------------------------------
def test_it_reads_an_arxiv_api_response():
    serverless, knots = read(ARXIV_ATOM)
    assert serverless.source_id == "2405.04434"
    assert serverless.title == "Serverless Aggregation for Federated Learning"
    assert serverless.abstract == "Federated learning needs an aggregator; we make it serverless."
    assert serverless.authors == ("Swarnadeep Saha", "Mohit Bansal")
    assert serverless.categories == ("cs.LG", "cs.DC")  # primary first, no repeats
    assert serverless.doi == "10.1000/serverless.2024"
    assert serverless.published == date(2024, 5, 7)
    assert serverless.line == 8
    assert knots.source_id == "math.GT/0309136"
    assert knots.title == "Knots & their groups"
    assert knots.authors == ("Kurt Gödel",)


ATOM_HEAD = '<feed xmlns="http://www.w3.org/2005/Atom">'


def test_an_api_error_entry_is_skipped_with_its_message(tmp_path):
    path = write(
        tmp_path,
        "error.xml",
        f"{ATOM_HEAD}\n<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_1234</id>"
        "<title>Error</title><summary>incorrect id format for 1234</summary></entry></feed>",
    )
    (rejected,) = read(path)
    assert rejected.reason == "the arXiv API reported an error: incorrect id format for 1234"
    assert rejected.line == 2


def test_xml_that_is_not_well_formed_stops_the_file_at_its_line(tmp_path):
    path = write(tmp_path, "bad.xml", f"{ATOM_HEAD}\n<entry>\n<id>x</entry>\n</feed>")
    with pytest.raises(ParseError, match=rf"^{path}:3: not well-formed XML"):
        read(path)


def test_entities_are_refused_not_expanded(tmp_path):
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        f"{ATOM_HEAD}<entry><title>&b;</title></entry></feed>"
    )
    with pytest.raises(ParseError, match="refused XML"):
        read(write(tmp_path, "bomb.xml", bomb))


# --- any format: gzip, detection ----------------------------------------------------------------
@pytest.mark.parametrize("path", [HF_JSON, ARXIV_JSONL, ARXIV_ATOM, LISTING], ids=lambda p: p.name)
def test_a_gzipped_file_reads_as_the_plain_one(tmp_path, path):
    packed = gzipped(path, tmp_path)
    assert read(packed) == [replace(r, path=str(packed)) for r in read(path)]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (HF_JSON, "hf-daily-json"),
        (ARXIV_JSONL, "arxiv-jsonl"),
        (ARXIV_ATOM, "arxiv-atom"),
        (LISTING, "hf-daily-text"),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_the_format_is_told_from_the_content_gzipped_or_not(tmp_path, path, expected):
    for candidate in (path, gzipped(path, tmp_path)):
        with open_input(candidate) as opened:
            assert detect_format(opened) == expected


def test_a_pretty_printed_json_object_is_not_taken_for_json_lines(tmp_path):
    path = write(tmp_path, "one.json", json.dumps(arxiv_line(), indent=2))
    with open_input(path) as opened, pytest.raises(ParseError, match="--format"):
        detect_format(opened)


def test_a_truncated_gzip_file_reads_up_to_the_cut_then_says_so(tmp_path):
    lines = [json.dumps(arxiv_line(id=f"2101.{i:05d}")) for i in range(1, 3001)]
    data = gzip.compress("\n".join(lines).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    read_before_the_cut = []
    with pytest.raises(ParseError, match="cannot read the gzip stream: it ends too early"):
        for record in read_file(path):
            read_before_the_cut.append(record)
    assert len(read_before_the_cut) > 100


def test_the_format_can_be_forced(tmp_path):
    path = write(tmp_path, "listing.data", ARXIV_JSONL.read_text())
    assert len(read(path, format="arxiv-jsonl")) == 3


# --- what every record passes -------------------------------------------------------------------
def record(**fields) -> PaperRecord:
    return PaperRecord(**{"title": "T", "abstract": "A.", "source": "test", "line": 7, **fields})


def test_control_characters_other_than_tab_and_newline_are_removed():
    checked = check_record(
        record(
            title="Bell\x07 and\x1b[31m escape",
            abstract="Line one\r\nline\x00 two\ttabbed\x85",
            authors=("Ada\x0c Lovelace",),
            organization_slug="acme",
            organization_name="Acme\x7f Labs",
        )
    )
    assert checked.title == "Bell and[31m escape"
    assert checked.abstract == "Line one\nline two\ttabbed"
    assert checked.authors == ("Ada Lovelace",)
    assert checked.organization_name == "Acme Labs"
    assert without_controls("keep\ttab\nand newline") == "keep\ttab\nand newline"


def test_tex_escaped_specials_read_as_plain_characters():
    r"""arXiv abstracts escape TeX's specials (`60\%`); a reader wants 60%. Math and macros
    stay as written, and an escaped backslash does not escape what follows it."""
    checked = check_record(
        record(title=r"R\&D at 99\% recall", abstract=r"Gains of 60\%, 42\% and \$5; $\alpha$ \\%.")
    )
    assert checked.title == "R&D at 99% recall"
    assert checked.abstract == r"Gains of 60%, 42% and $5; $\alpha$ \\%."


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": "  "}, "no title"),
        ({"title": "\x00\x01"}, "no title"),
        ({"abstract": ""}, "has no abstract"),
        ({"source_id": "hep-th/99"}, "not an arXiv id"),
        ({"upvotes": 2**31}, "upvotes 2147483648 is out of range"),
        ({"upvotes": -1}, "out of range"),
        ({"upvotes": "12"}, "not a whole number"),
        ({"authors_count": 2**40}, "authors_count"),
        ({"organization_slug": "acme", "organization_name": "A" * 201}, "over 200 characters"),
        ({"organization_slug": "a" * 101, "organization_name": "A"}, "slug is over 100"),
    ],
)
def test_a_record_the_database_could_not_hold_is_rejected_with_its_reason(fields, reason):
    checked = check_record(record(path="f.jsonl", **fields))
    assert isinstance(checked, Rejected)
    assert (checked.path, checked.line) == ("f.jsonl", 7)
    assert reason in checked.reason


def test_authors_give_the_author_count_when_the_source_has_none():
    assert check_record(record(authors=("A", "B"))).authors_count == 2
    assert check_record(record(authors_count=5)).authors_count == 5


# --- identities ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2101.00001", "2101.00001"),
        ("2101.00001v12", "2101.00001"),
        ("0704.0001", "0704.0001"),
        ("arXiv:2101.00001", "2101.00001"),
        ("https://arxiv.org/abs/2101.00001v2", "2101.00001"),
        ("http://arxiv.org/pdf/2101.00001v1", "2101.00001"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("math.GT/0309136v2", "math.GT/0309136"),
    ],
)
def test_arxiv_ids_are_normalized(given, expected):
    assert arxiv_id(given) == expected


@pytest.mark.parametrize("wrong", ["", "1234", "2101.001", "2101.000001", "hep-th/99", "abc"])
def test_a_wrong_shaped_arxiv_id_is_refused(wrong):
    assert arxiv_id(wrong) is None


def test_title_keys_keep_the_symbols_that_tell_titles_apart():
    keys = {title_key(t) for t in ("C++ for X", "C# for X", "C for X", "C* for X", "C% for X")}
    assert len(keys) == 5
    assert title_key("C++ for X") == "c plus plus for x"
    assert title_key("∞-categories") != title_key("categories")


def test_title_keys_ignore_case_accents_punctuation_and_spacing():
    assert title_key("Café:  a Naïve   Study!") == title_key("cafe - a naive study")
    assert title_key("Q&A systems") == title_key("Q and A systems")


def test_a_title_of_punctuation_alone_gets_a_key_of_its_own():
    assert title_key("...") and title_key("!!!")
    assert title_key("...") != title_key("!!!")
    assert record(title="?!").key.startswith("title:#")


def test_an_empty_title_has_no_key():
    assert title_key("  ") == ""
    with pytest.raises(ValueError, match="needs a title"):
        _ = record(title=" ").key


def test_a_long_title_key_is_bounded_and_still_unique():
    a, b = "word " * 100 + "alpha", "word " * 100 + "beta"
    assert len(title_key(a)) < 250
    assert title_key(a) != title_key(b)
