"""`sync_papers hf-daily`: the Hugging Face daily-papers API, one day at a time.

Each day's list (all its pages) is written in one transaction together with the day as the last
one done, so a run that stops, however it stops, goes on from the first day not yet written.
Today is read but never marked done: papers are still being added to it, and their upvotes move
for days, so the next run reads it again (re-reading costs nothing: the loader leaves unchanged
papers as they are).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from papers.ingest import ParseError
from papers.ingest.hf_daily_json import records_from_items
from papers.loader import upsert_papers
from papers.models import SyncState
from papers.sync import SyncError
from papers.sync.http import Client
from papers.sync.report import Reporter

SOURCE = "hf-daily"
# Items per request (the API's default is 50); a day has seldom more than one page.
PAGE_SIZE = 100
# A bound on pages per day, in case the API ever ignores `p` and repeats its first page.
MAX_PAGES = 50


def sync(client: Client, *, since: date | None, until: date | None, report: Reporter) -> None:
    """Import every day from `since` (default: the day after the last one done) to `until`
    (default: today, UTC)."""
    state = SyncState.objects.filter(source=SOURCE).first() or SyncState(source=SOURCE)
    today = timezone.now().date()
    until = until or today
    if since is None and state.last_date is None:
        raise SyncError("hf-daily has never been synced: give --since DATE for the first run")
    day = since or state.last_date + timedelta(days=1)
    if state.last_date is None:
        state.last_date = day - timedelta(days=1)  # so that a run stopped at once resumes here
    if day > until:
        report.say(f"hf-daily: up to date (every day to {state.last_date} is imported)")
        return
    while day <= until:
        try:
            items = _fetch_day(client, day)
        except SyncError as exc:
            raise SyncError(
                f"hf-daily stopped at {day}: {exc}. Papers of the days before it are imported; "
                f"run the same command with --since {day} to go on from there"
            ) from None
        unusable: list[ParseError] = []
        records = list(
            records_from_items(items, source_name=f"hf-daily {day}", on_skip=unusable.append)
        )
        with transaction.atomic():
            # In the day's transaction: the indexes wait for the run's end (sync_papers).
            summary = upsert_papers(records, index_organizations=False)
            # Forward only: a backfill of old days (--since/--until) leaves later progress be.
            if day < today and day > state.last_date:
                state.last_date = day
            state.save()
        report.written(f"hf-daily {day}", summary, unusable)
        day += timedelta(days=1)


def _fetch_day(client: Client, day: date) -> list[Any]:
    url = settings.HF_DAILY_PAPERS_URL
    items: list[Any] = []
    seen: set[str] = set()
    for page in range(MAX_PAGES):
        params = {"date": day.isoformat(), "limit": str(PAGE_SIZE), "p": str(page)}
        body = client.get(url, params)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise SyncError(f"{url} for {day}: not JSON ({exc})") from None
        if not isinstance(data, list):
            raise SyncError(f"{url} for {day}: expected a JSON array, got {type(data).__name__}")
        fingerprints = {json.dumps(item, sort_keys=True) for item in data}
        if fingerprints <= seen:  # nothing new: the API answered the same page again
            break
        seen |= fingerprints
        items.extend(data)
        if len(data) < PAGE_SIZE:
            break
    return items
