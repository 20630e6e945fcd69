"""The admin pages for papers and organizations, on the demo catalogue."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from papers.indexing import embed_ids
from papers.models import Organization, Paper
from tests.catalogue import INFINITE, paper

CHANGELIST = "admin:papers_paper_changelist"


@pytest.fixture
def one_stale_one_failed(demo_catalogue):
    stale = Paper.objects.get(title__startswith="TPI-LLM")
    Paper.objects.filter(pk=stale.pk).update(abstract="Edited after it was embedded.")
    failed = Paper.objects.get(title__startswith="LIFL:")
    Paper.objects.filter(pk=failed.pk).update(
        embedding=None,
        embedding_attempts=settings.EMBEDDING_MAX_ATTEMPTS,
        embedding_error="RuntimeError: out of memory",
    )
    return stale, failed


def test_the_paper_list_renders(admin_client, demo_catalogue):
    response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 57
    assert b"TPI-LLM" in response.content
    assert b"indexed" in response.content


@pytest.mark.parametrize(
    ("state", "count", "title"),
    [("indexed", 55, b"UFO^3"), ("pending", 1, b"TPI-LLM"), ("failed", 1, b"LIFL:")],
)
def test_it_filters_by_embedding_state(admin_client, one_stale_one_failed, state, count, title):
    response = admin_client.get(reverse(CHANGELIST), {"embedding": state})
    assert response.status_code == 200
    assert response.context["cl"].result_count == count
    assert title in response.content


def test_it_filters_by_organization_date_and_source(admin_client, demo_catalogue):
    microsoft = Organization.objects.get(slug="microsoft")
    url = reverse(CHANGELIST)
    response = admin_client.get(url, {"organization__id__exact": microsoft.pk})
    assert response.context["cl"].result_count == 1
    response = admin_client.get(url, {"published__year": 2026})
    assert response.context["cl"].result_count == 4
    response = admin_client.get(url, {"source": "hf-daily", "q": "federated learning"})
    assert response.status_code == 200
    assert b"LIFL" in response.content


def test_the_paper_form_never_edits_the_vector(admin_client, demo_catalogue):
    paper = Paper.objects.get(title__startswith="UFO^3")
    response = admin_client.get(reverse("admin:papers_paper_change", args=[paper.pk]))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "embedding" not in form.fields
    assert "content_hash" not in form.fields and "search_vector" not in form.fields
    assert paper.content_hash.encode() in response.content  # shown, read-only


def change_form_data(paper: Paper, **changes) -> dict:
    """What the paper's change form posts, with some fields changed."""
    data = {
        "title": paper.title,
        "abstract": paper.abstract,
        "published": paper.published.isoformat() if paper.published else "",
        "upvotes": paper.upvotes,
        "authors_count": paper.authors_count or "",
        "organization": paper.organization_id or "",
        "source": paper.source,
        "source_id": paper.source_id,
        "key": paper.key,
    }
    return {**data, **changes}


def save_in_admin(admin_client, paper: Paper, **changes):
    url = reverse("admin:papers_paper_change", args=[paper.pk])
    return admin_client.post(url, change_form_data(paper, **changes))


def test_saving_an_edited_abstract_queues_it_for_embedding(
    admin_client, demo_catalogue, django_capture_on_commit_callbacks
):
    paper = Paper.objects.get(title__startswith="UFO^3")
    with django_capture_on_commit_callbacks(execute=True):
        response = save_in_admin(admin_client, paper, abstract="A new abstract.")
    assert response.status_code == 302
    paper.refresh_from_db()
    assert paper.abstract == "A new abstract."
    assert paper.embedding_state == "stale"
    (task,) = DBTaskResult.objects.all()
    assert task.args_kwargs["args"] == [[paper.pk]]


def test_the_admin_strips_control_characters_from_a_title_and_abstract(
    admin_client, demo_catalogue
):
    """\x02 and \x03 are the search's highlight sentinels; XML refuses every C0 control."""
    paper = Paper.objects.get(title__startswith="UFO^3")
    response = save_in_admin(
        admin_client, paper, title="UFO\x02 three\x03\x1b", abstract="Line one\x07\x0c.\nTwo."
    )
    assert response.status_code == 302
    paper.refresh_from_db()
    assert (paper.title, paper.abstract) == ("UFO three", "Line one.\nTwo.")


def test_editing_a_paper_whose_embedding_failed_gives_it_its_attempts_back(
    admin_client, one_stale_one_failed, django_capture_on_commit_callbacks
):
    _, failed = one_stale_one_failed
    with django_capture_on_commit_callbacks(execute=True):
        response = save_in_admin(admin_client, failed, abstract="Rewritten, worth another try.")
    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.embedding_attempts, failed.embedding_error) == (0, "")
    (task,) = DBTaskResult.objects.all()
    assert task.args_kwargs["args"] == [[failed.pk]]
    embed_ids(task.args_kwargs["args"][0])  # what the worker runs for that task
    failed.refresh_from_db()
    assert failed.embedding_state == "indexed"


def test_an_organization_slug_with_capitals_is_saved_lower_case_so_it_can_be_filtered_on(
    admin_client, catalogue
):
    response = admin_client.post(
        reverse("admin:papers_organization_add"), {"name": "Gamma Lab", "slug": "Gamma-Lab"}
    )
    assert response.status_code == 302
    gamma = Organization.objects.get(name="Gamma Lab")
    assert gamma.slug == "gamma-lab"
    Paper.objects.filter(pk=paper(INFINITE).pk).update(organization=gamma)
    results = client_titles(admin_client, "/api/search?org=Gamma-Lab")
    assert results == [paper(INFINITE).title]


def test_an_organization_slug_differing_only_in_case_is_refused(admin_client, catalogue):
    response = admin_client.post(
        reverse("admin:papers_organization_add"), {"name": "Acme again", "slug": "ACME"}
    )
    assert response.status_code == 200
    assert "Organization with this Slug already exists." in response.content.decode()


def client_titles(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return [result["title"] for result in response.json()["results"]]


def test_the_organization_list_counts_papers(admin_client, demo_catalogue):
    response = admin_client.get(reverse("admin:papers_organization_changelist"), {"q": "peking"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    (row,) = response.context["cl"].result_list
    assert (row.name, row.paper_count) == ("Peking University", 1)


def test_deleting_a_paper_asks_about_the_paper_not_its_index_rows(admin_client, demo_catalogue):
    infinite = paper(INFINITE)
    url = f"/admin/papers/paper/{infinite.pk}/delete/"
    page = admin_client.get(url).content.decode()
    assert "Paper term" not in page  # the postings are an index, not content
    assert infinite.title in page
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Paper.objects.filter(pk=infinite.pk).exists()
