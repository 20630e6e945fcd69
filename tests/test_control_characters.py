"""Control characters never reach a paper's title or abstract: \\x02 and \\x03 are the highlight
sentinels (search.sql) and XML refuses every C0 control but tab and newlines, so one in a title
would put stray <mark> tags in results and make every feed listing the paper a 500."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from papers.models import Paper
from search.templatetags.search_tags import marked


def hostile_paper() -> Paper:
    return Paper.objects.create(
        title="Quokka\x02 sentinels\x03 and\x00 a bell\x07",
        abstract="Quokka\tabstract\x0b with\x1f controls\x7f\x85.\r\nSecond line.",
        key="controls",
        source="test",
    )


def test_saving_a_paper_strips_control_characters(db):
    paper = hostile_paper()
    paper.refresh_from_db()
    assert paper.title == "Quokka sentinels and a bell"
    assert paper.abstract == "Quokka\tabstract with controls.\r\nSecond line."


@pytest.mark.parametrize("field", ["title", "abstract"])
@pytest.mark.parametrize("character", ["\x01", "\x02", "\x03", "\x08", "\x0b", "\x0c", "\x1f"])
def test_the_database_refuses_control_characters_from_any_writer(db, field, character):
    paper = Paper.objects.create(title="Quokka", abstract="An abstract.", key="k", source="test")
    with pytest.raises(IntegrityError), transaction.atomic():
        Paper.objects.filter(pk=paper.pk).update(**{field: f"Quokka{character}"})


def test_tabs_and_line_breaks_are_still_allowed(db):
    paper = Paper.objects.create(title="Quokka", abstract="An abstract.", key="k", source="test")
    Paper.objects.filter(pk=paper.pk).update(abstract="One\tline.\r\nTwo.")


def test_a_feed_listing_the_paper_is_valid(client, catalogue):
    hostile_paper()
    response = client.get("/feed.atom?q=quokka&mode=keyword")
    assert response.status_code == 200
    assert b"Quokka sentinels and a bell" in response.content


def test_the_page_marks_only_the_words_that_matched(client, catalogue):
    hostile_paper()
    html = client.get("/?q=bell&mode=keyword").content.decode()
    assert "Quokka sentinels and a <mark>bell</mark>" in html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("a \x02b\x03 c", "a <mark>b</mark> c"),
        ("a \x02b c", "a b c"),
        ("a b\x03 c", "a b c"),
        ("\x02a \x02b\x03\x03", "a <mark>b</mark>"),
        ("<\x02b\x03>", "&lt;<mark>b</mark>&gt;"),
    ],
)
def test_highlighting_never_leaves_a_mark_open_or_closes_one_never_opened(text, html):
    assert marked(text) == html
