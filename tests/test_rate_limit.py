"""Per-client rate limits on the search page, the API and the feed, counted in PostgreSQL."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from ops.limits import Limit
from ops.ratelimit import client_address, take


@pytest.fixture
def three_a_minute(settings, db):
    settings.RATE_LIMIT = Limit.parse("3/minute", burst=None)
    return settings


def test_the_fourth_request_in_a_minute_is_refused_with_retry_after(client, three_a_minute):
    for _ in range(3):
        assert client.get("/?q=kv+cache").status_code == 200
    response = client.get("/?q=kv+cache")
    assert response.status_code == 429
    # One token a 20 s: the next one is at most 20 s away.
    assert 1 <= int(response["Retry-After"]) <= 20
    assert b"Too many requests" in response.content


def test_the_api_and_the_feed_share_the_limit_and_answer_in_their_own_form(client, three_a_minute):
    client.get("/api/search?q=a")
    client.get("/feed.atom?q=a")
    client.get("/?q=a")
    api = client.get("/api/search?q=a")
    assert api.status_code == 429
    assert api.json() == {"errors": {"request": api.json()["errors"]["request"]}}
    feed = client.get("/feed.atom?q=a")
    assert feed.status_code == 429
    assert feed["Content-Type"].startswith("text/plain")


def test_health_checks_static_files_and_other_clients_are_not_limited(client, three_a_minute):
    for _ in range(4):
        client.get("/?q=a")
    assert client.get("/healthz").status_code in (200, 503)  # never 429
    assert client.get("/static/css/app.css").status_code == 200
    assert client.get("/?q=a", REMOTE_ADDR="192.0.2.9").status_code == 200


def test_tokens_come_back_with_time(three_a_minute):
    limit = Limit(rate=20.0, burst=1)  # one token every 50 ms
    assert take("198.51.100.1", limit) is None
    wait = take("198.51.100.1", limit)
    assert wait is not None and 0 < wait <= 0.05
    time.sleep(wait + 0.01)
    assert take("198.51.100.1", limit) is None


def test_a_refused_request_costs_no_token(three_a_minute):
    limit = Limit(rate=10.0, burst=1)
    take("198.51.100.2", limit)
    for _ in range(5):
        assert take("198.51.100.2", limit) is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT tokens FROM ops_ratelimitbucket WHERE client = %s", ["198.51.100.2"])
        assert cursor.fetchone()[0] >= 0


def test_the_limit_is_off_in_development(settings):
    assert settings.RATE_LIMIT is None


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.7", "10.0.0.1"),  # no proxy: the header is the client's own word
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the left part was written by the client
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (2, "203.0.113.7", "10.0.0.1"),  # fewer entries than proxies: not believed
    ],
)
def test_the_client_address_believes_only_trusted_proxies(
    rf, settings, proxies, forwarded, expected
):
    settings.PROXY_COUNT = proxies
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.1")
    assert client_address(request) == expected


@pytest.mark.parametrize(
    ("text", "rate", "burst"),
    [("60/minute", 1.0, 60), ("5/second", 5.0, 5), ("3600/hour", 1.0, 3600)],
)
def test_rate_limit_settings_parse(text, rate, burst):
    assert Limit.parse(text, burst=None) == Limit(rate=rate, burst=burst)


@pytest.mark.parametrize("text", ["60", "0/minute", "ten/minute", "60/day"])
def test_bad_rate_limit_settings_are_refused(text):
    with pytest.raises(ValueError, match="RATE_LIMIT must look like"):
        Limit.parse(text, burst=None)
