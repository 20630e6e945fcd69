"""The JSON API against its OpenAPI description (docs/openapi.yaml), with schemathesis.

Schemathesis generates requests from the description, valid and invalid, sends them to the app
in this process (WSGI, on the test database with the demo catalogue) and checks every response:
no server error, a status and a body the description allows, the content type it names.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

DATE = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$", re.ASCII)
DESCRIPTION = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"

schema = schemathesis.openapi.from_path(DESCRIPTION)


@pytest.fixture
def wsgi_app(catalogue):
    """The project's WSGI application, on this test's connection: Django closes "old"
    connections when a request starts and ends, which would close the test's transaction (its
    own test client unhooks the same signal handler)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield get_wsgi_application()
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_to_its_description(case, wsgi_app):
    # What a pattern cannot say: which days a month has, that `to` is not before `from`, that
    # a liked paper exists (and is not unliked too), that `as_of` is not in the future. Such a
    # request may be answered 400 although it matches the description.
    query = case.query or {}
    depends = any(query.get(name) for name in ("like", "unlike", "as_of"))
    excluded = [] if _within_the_calendar(query) and not depends else [positive_data_acceptance]
    # The app is more lenient than the patterns it documents, on purpose: it trims spaces,
    # ignores empty and repeated values and reads `mode=Keyword`. Such requests are still sent
    # (no server error, a documented answer), but their acceptance is not a failure.
    excluded.append(negative_data_rejection)
    case.operation.schema.app = wsgi_app
    case.call_and_validate(app=wsgi_app, excluded_checks=excluded)


def _within_the_calendar(query: dict) -> bool:
    """Whether `from` and `to` name real days (or months, or years), in order. Values outside
    the pattern count as in it: a request holding one is not schema-valid anyway."""
    bounds = []
    for name, end in (("from", False), ("to", True)):
        value = query.get(name)
        if not isinstance(value, str) or not DATE.match(value):
            continue
        parts = [int(p) for p in value.split("-")] + [None, None]
        year, month, day = parts[:3]
        try:
            first = date(year, month or 1, day or 1)
            last = date(year, month or 12, day or (31 if not month else _last_day(year, month)))
        except (ValueError, TypeError):
            return False
        bounds.append(last if end else first)
    return len(bounds) < 2 or bounds[0] <= bounds[1]


def _last_day(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - date(year, month, 1)).days


def test_the_app_serves_the_description_it_is_tested_against(client):
    response = client.get("/api/openapi.yaml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert response.content.decode() == DESCRIPTION.read_text()
    assert schemathesis.openapi.from_path(DESCRIPTION).validate() is None
