"""`manage.py sync_papers` against a real local HTTP server replaying fixture responses."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import date, timedelta
from email.utils import format_datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from papers import organization_indexes
from papers.models import Organization, Paper, SyncState
from papers.sync import hf_daily
from papers.sync.http import Client, retry_after
from tests.catalogue import ROOT
from tests.replay_server import ReplayServer, Reply

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sync"
HF_DAYS = FIXTURES / "hf-daily"
ARXIV = FIXTURES / "arxiv"
USER_AGENT = "papersearch-tests/1.0 (tests@example.invalid)"


def hf_route(params: dict[str, str]) -> Reply:
    """The daily-papers API: a day's items, paged by `p` and `limit`; no file, no papers."""
    path = HF_DAYS / f"{params['date']}.json"
    items = json.loads(path.read_text()) if path.exists() else []
    page, limit = int(params.get("p", 0)), int(params.get("limit", 50))
    body = json.dumps(items[page * limit : (page + 1) * limit]).encode()
    return Reply(body=body, headers={"Content-Type": "application/json"})


def arxiv_route(params: dict[str, str]) -> Reply:
    """OAI-PMH: page 1 for a fresh ListRecords, page 2 for its token, an error for any other."""
    token = params.get("resumptionToken")
    name = "page1" if token is None else "page2" if token == "tok-1" else "bad-token"
    return Reply(body=(ARXIV / f"{name}.xml").read_bytes(), headers={"Content-Type": "text/xml"})


@pytest.fixture
def hf_server(settings):
    with ReplayServer(hf_route) as server:
        settings.HF_DAILY_PAPERS_URL = f"{server.url}/api/daily_papers"
        yield server


@pytest.fixture
def arxiv_server(settings):
    with ReplayServer(arxiv_route) as server:
        settings.ARXIV_OAI_URL = f"{server.url}/oai"
        yield server


@pytest.fixture(autouse=True)
def _fast_and_polite(settings):
    settings.SYNC_USER_AGENT = USER_AGENT
    settings.SYNC_REQUEST_DELAY = 0
    settings.SYNC_BACKOFF = 0
    settings.SYNC_MAX_RETRIES = 2
    settings.SYNC_TIMEOUT = 5
    settings.ARXIV_OAI_SETS = ["cs"]


def sync(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("sync_papers", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def state(source: str) -> SyncState:
    return SyncState.objects.get(source=source)


def keys() -> list[str]:
    return sorted(Paper.objects.values_list("key", flat=True))


# --- hf-daily ---------------------------------------------------------------------------------


def test_hf_daily_imports_every_day_from_since_to_until(db, hf_server):
    out, err = sync("hf-daily", "--since", "2026-03-09", "--until", "2026-03-11")

    assert [p["date"] for p in hf_server.params_of()] == ["2026-03-09", "2026-03-10", "2026-03-11"]
    assert {r.user_agent for r in hf_server.requests} == {USER_AGENT}
    assert keys() == [
        "arxiv:2603.07001",  # the API's 2603.07001v2, version dropped
        "arxiv:2603.08123",
        "arxiv:2603.09555",
        "arxiv:2603.09700",
        "arxiv:2603.10042",
    ]
    paper = Paper.objects.get(source_id="2603.08123")
    assert paper.title == "Sparse Attention for Long Documents"
    assert paper.abstract == (
        "We show that sparse attention keeps long-document accuracy while cutting memory by half."
    )
    assert (paper.published, paper.upvotes, paper.authors_count) == (date(2026, 3, 6), 42, 2)
    assert (paper.organization.slug, paper.organization.name) == ("acme-ai", "Acme AI Lab")
    assert paper.source == "hf-daily-json"
    assert "skipped hf-daily 2026-03-10:2: no abstract (summary) for 'A Paper Without" in err
    assert "hf-daily 2026-03-10: 2 new, 0 updated, 0 unchanged, 1 skipped" in out
    assert out.strip().endswith(
        "hf-daily: 3 days written, 5 new, 0 updated, 0 unchanged, 1 skipped"
    )
    assert state("hf-daily").last_date == date(2026, 3, 11)


def test_a_run_gives_an_organization_grown_big_its_vector_index_once(db, hf_server, monkeypatch):
    monkeypatch.setattr(organization_indexes, "MIN_PAPERS", 0)  # any paper makes one big
    with CaptureQueriesContext(connection) as captured:
        out, _ = sync("hf-daily", "--since", "2026-03-09", "--until", "2026-03-11")
    orgs = Organization.objects.filter(papers__isnull=False).distinct()
    assert orgs and all(organization_indexes.usable(connection.cursor(), o.pk) for o in orgs)
    assert f"organization vector indexes: {len(orgs)} created, 0 dropped" in out
    # Once each, at the end of the run, not in each day's transaction.
    assert sum("CREATE INDEX" in q["sql"] for q in captured) == len(orgs)


def test_a_second_run_goes_on_after_the_last_day_done_without_fetching_it_again(db, hf_server):
    sync("hf-daily", "--since", "2026-03-09", "--until", "2026-03-10")
    assert state("hf-daily").last_date == date(2026, 3, 10)
    hf_server.requests.clear()

    out, _ = sync("hf-daily", "--until", "2026-03-11")

    assert [p["date"] for p in hf_server.params_of()] == ["2026-03-11"]
    assert len(keys()) == 5 == Paper.objects.count()
    assert "1 day written, 1 new" in out
    assert state("hf-daily").last_date == date(2026, 3, 11)


def test_since_reads_days_again_without_moving_the_saved_state_back(db, hf_server):
    sync("hf-daily", "--since", "2026-03-09", "--until", "2026-03-11")
    hf_server.requests.clear()

    out, _ = sync("hf-daily", "--since", "2026-03-09", "--until", "2026-03-09")

    assert [p["date"] for p in hf_server.params_of()] == ["2026-03-09"]
    assert "hf-daily 2026-03-09: 0 new, 0 updated, 2 unchanged, 0 skipped" in out
    assert Paper.objects.count() == 5
    assert state("hf-daily").last_date == date(2026, 3, 11)


def test_today_is_read_but_not_counted_as_done(db, hf_server):
    today = timezone.now().date()
    sync("hf-daily", "--since", (today - timedelta(days=1)).isoformat())
    assert [p["date"] for p in hf_server.params_of()] == [
        (today - timedelta(days=1)).isoformat(),
        today.isoformat(),
    ]
    assert state("hf-daily").last_date == today - timedelta(days=1)
    hf_server.requests.clear()

    sync("hf-daily")

    assert [p["date"] for p in hf_server.params_of()] == [today.isoformat()]


def test_a_day_of_more_than_one_page_is_read_to_its_end(db, hf_server, monkeypatch):
    monkeypatch.setattr(hf_daily, "PAGE_SIZE", 2)

    sync("hf-daily", "--since", "2026-03-10", "--until", "2026-03-10")

    assert [(p["p"], p["limit"]) for p in hf_server.params_of()] == [("0", "2"), ("1", "2")]
    assert keys() == ["arxiv:2603.09555", "arxiv:2603.09700"]


def test_the_first_run_without_since_is_refused_with_a_clear_message(db, hf_server):
    with pytest.raises(CommandError, match="never been synced: give --since DATE"):
        sync("hf-daily")
    assert hf_server.requests == []


def test_a_connection_cut_mid_response_is_retried(db, hf_server, caplog):
    whole = hf_route({"date": "2026-03-09"}).body
    hf_server.script({"date": "2026-03-09"}, Reply(body=whole, cut_after=40))

    with caplog.at_level(logging.WARNING, logger="papers.sync"):
        sync("hf-daily", "--since", "2026-03-09", "--until", "2026-03-09")

    assert len(hf_server.params_of(date="2026-03-09")) == 2
    assert "connection cut after 40 bytes (try 1 of 3)" in caplog.text
    assert keys() == ["arxiv:2603.07001", "arxiv:2603.08123"]


def test_a_server_that_keeps_failing_stops_with_a_clear_error_and_keeps_the_state(
    manage_py_env, hf_server
):
    for _ in range(3):  # the first try and SYNC_MAX_RETRIES=2 more
        hf_server.script({"date": "2026-03-10"}, Reply(status=500, body=b"oops"))
    env = {
        **manage_py_env,
        "HF_DAILY_PAPERS_URL": f"{hf_server.url}/api/daily_papers",
        "SYNC_REQUEST_DELAY": "0",
        "SYNC_BACKOFF": "0",
        "SYNC_MAX_RETRIES": "2",
    }
    command = [sys.executable, "manage.py", "sync_papers", "hf-daily", "--since", "2026-03-09"]
    done = subprocess.run(
        [*command, "--until", "2026-03-11"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "hf-daily stopped at 2026-03-10: GET " in done.stderr
    assert "gave up after 3 tries; last: HTTP 500" in done.stderr
    assert "run the same command with --since 2026-03-10 to go on" in done.stderr
    assert "hf-daily: 1 day written, 2 new" in done.stderr
    assert keys() == ["arxiv:2603.07001", "arxiv:2603.08123"]
    assert state("hf-daily").last_date == date(2026, 3, 9)

    # The server is well again: a plain run goes on from the day that failed.
    hf_server.requests.clear()
    sync("hf-daily", "--until", "2026-03-11")
    assert [p["date"] for p in hf_server.params_of()] == ["2026-03-10", "2026-03-11"]
    assert len(keys()) == 5


def test_requests_are_spaced_by_the_request_delay(db, hf_server, settings):
    settings.SYNC_REQUEST_DELAY = 0.2

    sync("hf-daily", "--since", "2026-03-09", "--until", "2026-03-11")

    starts = [r.at for r in hf_server.requests]
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= 0.19


# --- arxiv ------------------------------------------------------------------------------------


def test_arxiv_harvests_every_page_by_following_the_resumption_token(db, arxiv_server):
    out, err = sync("arxiv", "--since", "2026-03-09")

    assert arxiv_server.params_of() == [
        {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs", "from": "2026-03-09"},
        {"verb": "ListRecords", "resumptionToken": "tok-1"},
    ]
    assert {r.user_agent for r in arxiv_server.requests} == {USER_AGENT}
    assert keys() == ["arxiv:2603.05001", "arxiv:2603.06002", "arxiv:cs/0112017"]
    paper = Paper.objects.get(source_id="2603.05001")
    assert paper.title == "Retrieval-Augmented Generation over Scientific Tables"
    assert paper.abstract.startswith("We retrieve table cells rather than passages, and generation")
    assert "grounded in them halves factual errors" in paper.abstract
    assert (paper.published, paper.authors_count, paper.source) == (
        date(2026, 3, 4),
        3,
        "arxiv-oai",
    )
    assert "skipped arxiv cs page 2:3: 2603.06004: no abstract" in err
    assert "arxiv: 2 pages written, 3 new, 0 updated, 0 unchanged, 1 skipped" in out
    saved = state("arxiv:cs")
    # The latest datestamp seen (the deleted record's counts: the set changed that day).
    assert (saved.last_date, saved.resumption_token) == (date(2026, 3, 11), "")
    assert (saved.harvest_from, saved.harvest_latest) == (None, None)


def test_the_next_harvest_starts_from_the_latest_datestamp_of_the_last(db, arxiv_server):
    sync("arxiv", "--since", "2026-03-09")
    arxiv_server.requests.clear()
    arxiv_server.script({"from": "2026-03-11"}, Reply(body=(ARXIV / "no-records.xml").read_bytes()))

    out, _ = sync("arxiv")

    assert arxiv_server.params_of() == [
        {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs", "from": "2026-03-11"}
    ]
    assert "arxiv cs page 1: 0 new" in out
    assert state("arxiv:cs").last_date == date(2026, 3, 11)


def test_a_503_with_retry_after_is_waited_out_then_retried(db, arxiv_server, caplog):
    arxiv_server.script(
        {"metadataPrefix": "arXiv"}, Reply(status=503, headers={"Retry-After": "1"})
    )

    with caplog.at_level(logging.WARNING, logger="papers.sync"):
        sync("arxiv", "--since", "2026-03-09")

    waited = arxiv_server.requests[1].at - arxiv_server.requests[0].at
    assert 1.0 <= waited < 2.0
    assert "HTTP 503 Service Unavailable (try 1 of 3); waiting 1 s (Retry-After: 1)" in caplog.text
    assert len(arxiv_server.requests) == 3
    assert len(keys()) == 3


def test_a_stopped_harvest_resumes_from_its_saved_resumption_token(db, arxiv_server):
    for _ in range(3):
        arxiv_server.script({"resumptionToken": "tok-1"}, Reply(status=502))

    with pytest.raises(CommandError) as stopped:
        sync("arxiv", "--since", "2026-03-09")

    assert "arxiv cs stopped: GET " in str(stopped.value)
    assert "gave up after 3 tries; last: HTTP 502" in str(stopped.value)
    assert "go on from the page that failed" in str(stopped.value)
    assert len(keys()) == 2  # page 1's papers are kept
    saved = state("arxiv:cs")
    assert (saved.resumption_token, saved.harvest_from) == ("tok-1", date(2026, 3, 9))
    assert (saved.last_date, saved.harvest_latest) == (None, date(2026, 3, 10))

    arxiv_server.requests.clear()
    sync("arxiv")

    assert arxiv_server.params_of() == [{"verb": "ListRecords", "resumptionToken": "tok-1"}]
    assert len(keys()) == 3 == Paper.objects.count()
    assert state("arxiv:cs").last_date == date(2026, 3, 11)


def test_an_expired_resumption_token_starts_the_harvest_again(db, arxiv_server):
    SyncState.objects.create(
        source="arxiv:cs", resumption_token="expired", harvest_from=date(2026, 3, 9)
    )

    _, err = sync("arxiv")

    assert [p.get("resumptionToken") for p in arxiv_server.params_of()] == [
        "expired",
        None,
        "tok-1",
    ]
    assert "badResumptionToken" in err and "harvesting again from 2026-03-09" in err
    assert len(keys()) == 3


def test_arxiv_harvests_each_configured_set_with_its_own_state(db, arxiv_server, settings):
    settings.ARXIV_OAI_SETS = ["cs", "math"]

    sync("arxiv", "--since", "2026-03-09")

    assert [p["set"] for p in arxiv_server.params_of(verb="ListRecords") if "set" in p] == [
        "cs",
        "math",
    ]
    assert sorted(SyncState.objects.values_list("source", flat=True)) == ["arxiv:cs", "arxiv:math"]


def test_an_oai_error_stops_the_harvest_with_its_message(db, arxiv_server):
    error = b"""<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<error code="noSetHierarchy">This repository does not support sets</error></OAI-PMH>"""
    arxiv_server.script({"set": "cs"}, Reply(body=error))

    with pytest.raises(CommandError, match="OAI-PMH error noSetHierarchy: This repository does"):
        sync("arxiv", "--since", "2026-03-09")
    assert keys() == []


def test_a_page_that_is_not_xml_stops_the_harvest_naming_the_page(db, arxiv_server):
    arxiv_server.script({"set": "cs"}, Reply(body=b"<html><body>Down for maintenance"))

    with pytest.raises(CommandError, match=r"arxiv cs page 1(:\d+)?: not well-formed XML"):
        sync("arxiv", "--since", "2026-03-09")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["arxiv"], "arxiv:cs never harvested: give --since DATE"),
        (["arxiv", "--until", "2026-03-10"], "--until is for hf-daily only"),
        (["hf-daily", "--since", "2026-02-30"], "not a date"),
        (["hf-daily", "--since", "2026-03-10", "--until", "2026-03-09"], "is after --until"),
        (["medline"], "invalid choice"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(db, arxiv_server, args, message):
    with pytest.raises(CommandError, match=message):
        sync(*args)
    assert arxiv_server.requests == []


# --- the HTTP client --------------------------------------------------------------------------


def test_a_retry_after_longer_than_sync_max_wait_is_cut_to_it(settings):
    with ReplayServer(lambda params: Reply(body=b"fine")) as server:
        server.script({}, Reply(status=429, headers={"Retry-After": "3600"}))
        client = Client(user_agent=USER_AGENT, max_wait=0.3, backoff=0)
        assert client.get(server.url, {"q": "1"}) == b"fine"
    assert 0.3 <= server.requests[1].at - server.requests[0].at < 1.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), (None, None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header, seconds):
    assert retry_after(header) == seconds


def test_retry_after_as_a_future_http_date_is_the_time_until_it():

    when = format_datetime(timezone.now() + timedelta(seconds=30), usegmt=True)
    assert 28 <= retry_after(when) <= 30


def test_a_second_run_for_the_same_source_is_refused_while_one_is_running(db, hf_server):
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext('sync_papers hf-daily'))")
            with pytest.raises(CommandError, match="another `sync_papers hf-daily` is running"):
                sync("hf-daily", "--since", "2026-03-09", "--until", "2026-03-09")
            assert hf_server.requests == []
            # Not left to close(): the server lets go of a closed session's locks a moment later.
            cursor.execute("SELECT pg_advisory_unlock(hashtext('sync_papers hf-daily'))")
    finally:
        other.close()
    sync("hf-daily", "--since", "2026-03-09", "--until", "2026-03-09")
    assert len(keys()) == 2


def test_a_client_error_is_not_retried(db, hf_server):
    hf_server.script({"date": "2026-03-09"}, Reply(status=404, body=b"no such thing"))

    with pytest.raises(CommandError, match=r"HTTP 404 Not Found\. Papers of the days before"):
        sync("hf-daily", "--since", "2026-03-09", "--until", "2026-03-10")

    assert len(hf_server.requests) == 1


def test_a_run_with_nothing_new_to_read_says_so_and_asks_nothing(db, hf_server):
    sync("hf-daily", "--since", "2026-03-09", "--until", "2026-03-11")
    hf_server.requests.clear()

    out, _ = sync("hf-daily", "--until", "2026-03-11")

    assert "hf-daily: up to date (every day to 2026-03-11 is imported)" in out
    assert hf_server.requests == []
