"""The group's own relevance judgments: members judge a result for its query (page and POST),
anonymous visitors cannot, and the judgments are exported as BEIR and scored by evaluate."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from evaluation.judgments import query_id
from evaluation.models import Judgment
from tests.catalogue import LIFL, paper

QUERY = "serverless federated learning"


@pytest.fixture
def member(db):
    return User.objects.create_user("ada", password="a long enough password")


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return client


def judge(client, pk: int, verdict: int, search: str = "q=serverless+federated+learning", **kw):
    return client.post("/judgments/", {"judgment": f"{pk}:{verdict}", "search": search}, **kw)


def test_a_member_s_judgment_is_stored_with_the_query_and_the_search(signed_in, member, catalogue):
    target = paper(LIFL)
    response = judge(signed_in, target.pk, 1, "q=serverless+federated+learning&mode=semantic")
    assert response.status_code == 303
    assert (
        response["Location"] == f"/?q=serverless+federated+learning&mode=semantic#hit-{target.pk}"
    )
    judgment = Judgment.objects.get()
    assert (judgment.user, judgment.query, judgment.paper, judgment.relevant) == (
        member,
        QUERY,
        target,
        True,
    )
    assert judgment.search == "q=serverless+federated+learning&mode=semantic"


def test_judging_again_changes_the_verdict_instead_of_adding_one(signed_in, catalogue):
    target = paper(LIFL)
    judge(signed_in, target.pk, 1)
    judge(signed_in, target.pk, 0)
    assert list(Judgment.objects.values_list("relevant", flat=True)) == [False]


def test_an_htmx_judgment_returns_the_controls_marked(signed_in, catalogue):
    target = paper(LIFL)
    response = judge(signed_in, target.pk, 0, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="judge-{target.pk}"' in html
    assert re.search(r'value="\d+:0" class="judged" aria-pressed="true"', html)


def test_an_anonymous_post_is_refused(client, catalogue):
    response = judge(client, paper(LIFL).pk, 1)
    assert response.status_code == 403
    assert not Judgment.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"judgment": "x:1", "search": "q=a"}, "a result and a verdict"),
        ({"judgment": "1:2", "search": "q=a"}, "a result and a verdict"),
        ({"judgment": "1:1", "search": ""}, "the query"),
        ({"judgment": "999999999:1", "search": "q=a"}, "No paper"),
    ],
)
def test_a_malformed_judgment_is_a_400(signed_in, catalogue, data, message):
    response = signed_in.post("/judgments/", data)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_only_members_see_judging_controls(client, member, catalogue):
    anonymous = client.get("/?q=serverless").content.decode()
    assert "Relevant to" not in anonymous and 'id="judge-form"' not in anonymous
    client.force_login(member)
    html = client.get("/?q=serverless").content.decode()
    assert 'id="judge-form"' in html and "Relevant to “serverless”?" in html


def test_the_page_shows_a_member_s_earlier_verdict(signed_in, catalogue):
    target = paper(LIFL)
    judge(signed_in, target.pk, 1, "q=serverless")
    html = signed_in.get("/?q=serverless").content.decode()
    assert f'value="{target.pk}:1" class="judged" aria-pressed="true"' in html


def test_the_sign_in_page_uses_the_app_s_layout(client, db):
    response = client.get("/accounts/login/?next=/%3Fq%3Dgpu")
    assert response.status_code == 200
    assert "Sign in" in response.content.decode()
    assert 'class="site"' in response.content.decode()


def test_export_judgments_writes_the_beir_layout(signed_in, member, catalogue, tmp_path):
    target = paper(LIFL)
    judge(signed_in, target.pk, 1)
    other = User.objects.create_user("bo", password="another long password")
    Judgment.objects.create(user=other, query=QUERY, paper=target, relevant=False)  # a tie
    out = io.StringIO()
    call_command("export_judgments", str(tmp_path / "out"), stdout=out)
    qid = query_id(QUERY)
    assert (tmp_path / "out" / "queries.jsonl").read_text() == json.dumps(
        {"_id": qid, "text": QUERY}
    ) + "\n"
    qrels = (tmp_path / "out" / "qrels" / "test.tsv").read_text().splitlines()
    assert qrels == ["query-id\tcorpus-id\tscore", f"{qid}\t{target.pk}\t1"]
    corpus = json.loads((tmp_path / "out" / "corpus.jsonl").read_text())
    assert corpus == {"_id": str(target.pk), "title": target.title, "text": target.abstract}


def test_export_without_judgments_says_so(db, tmp_path):
    with pytest.raises(CommandError, match="No judgments yet"):
        call_command("export_judgments", str(tmp_path))


def test_the_admin_exports_selected_judgments_as_a_zip(admin_client, member, catalogue):
    target = paper(LIFL)
    judgment = Judgment.objects.create(user=member, query=QUERY, paper=target, relevant=True)
    response = admin_client.post(
        "/admin/evaluation/judgment/",
        {"action": "export_beir", "_selected_action": [judgment.pk]},
    )
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == [
        "judgments/corpus.jsonl",
        "judgments/qrels/test.tsv",
        "judgments/queries.jsonl",
    ]
    assert f"\t{target.pk}\t1" in archive.read("judgments/qrels/test.tsv").decode()


def test_evaluate_scores_every_mode_on_the_judgments(signed_in, catalogue):
    target = paper(LIFL)
    judge(signed_in, target.pk, 1, "q=aggregating+model+updates+without+an+always-on+server")
    out, err = io.StringIO(), io.StringIO()
    call_command("evaluate", "--judgments", stdout=out, stderr=err)
    report = out.getvalue()
    assert "the group's judgments test: 1 queries, 1 documents" in report
    rows = {line.split()[0]: line.split() for line in report.splitlines() if line[:1].isalpha()}
    for mode in ("keyword", "semantic", "hybrid"):
        assert float(rows[mode][1]) > 0, report  # nDCG@10: the judged paper is found
    assert "--judgments" in report


def test_evaluate_without_a_relevant_judgment_says_so(signed_in, catalogue):
    judge(signed_in, paper(LIFL).pk, 0)
    with pytest.raises(CommandError, match="judged relevant"):
        call_command("evaluate", "--judgments", stdout=io.StringIO(), stderr=io.StringIO())
