"""`sync_papers arxiv`: harvest arXiv's OAI-PMH interface, one set (ARXIV_OAI_SETS) at a time.

A harvest asks `ListRecords` for the set's records changed since a date, then follows resumption
tokens to the last page. Each page is written in one transaction together with the token of the
next, so a stopped harvest goes on from the page it did not finish. When the last page is in,
the latest datestamp seen becomes the next harvest's `from`: inclusive, so that day is read
again (a record changed later that day is not missed; re-reading the rest changes nothing).
A token the server no longer honours (they expire) restarts the harvest from its `from`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from io import BytesIO

from django.conf import settings
from django.db import transaction

from papers.ingest import ParseError
from papers.ingest.arxiv_oai import OaiError, parse_list_records
from papers.loader import upsert_papers
from papers.models import SyncState
from papers.sync import SyncError
from papers.sync.http import Client
from papers.sync.report import Reporter

METADATA_PREFIX = "arXiv"


def state_key(set_spec: str) -> str:
    return f"arxiv:{set_spec}"


def sync(client: Client, *, since: date | None, sets: Sequence[str], report: Reporter) -> None:
    """Harvest each set from `since`, or from where its last harvest stopped."""
    states = []
    for set_spec in sets:
        key = state_key(set_spec)
        states.append(SyncState.objects.filter(source=key).first() or SyncState(source=key))
    never = [s.source for s in states if not (s.last_date or s.resumption_token)]
    if since is None and never:
        raise SyncError(
            f"{', '.join(never)} never harvested: give --since DATE for the first run "
            "(without a date OAI-PMH would send the whole set)"
        )
    for set_spec, state in zip(sets, states, strict=True):
        _harvest(client, set_spec, state, since, report)


def _harvest(
    client: Client, set_spec: str, state: SyncState, since: date | None, report: Reporter
) -> None:
    if since is not None:
        state.harvest_from, state.harvest_latest, state.resumption_token = since, None, ""
    elif not state.resumption_token:
        state.harvest_from, state.harvest_latest = state.last_date, None
    token, restarted, number = state.resumption_token, False, 0
    while True:
        number += 1
        label = f"arxiv {set_spec} page {number}"
        unusable: list[ParseError] = []
        try:
            body = client.get(settings.ARXIV_OAI_URL, _params(set_spec, state, token))
            page = parse_list_records(BytesIO(body), source_name=label, on_skip=unusable.append)
        except OaiError as exc:
            if exc.code == "badResumptionToken" and token and not restarted:
                report.warn(f"{label}: {exc}; harvesting again from {state.harvest_from}")
                token, restarted, state.harvest_latest = "", True, None
                continue
            raise _stopped(set_spec, state, exc) from None
        except (SyncError, ParseError) as exc:
            raise _stopped(set_spec, state, exc) from None
        with transaction.atomic():
            # In the page's transaction: the indexes wait for the run's end (sync_papers).
            summary = upsert_papers(page.records, index_organizations=False)
            _advance(state, page.latest_datestamp, page.resumption_token)
            state.save()
        report.written(label, summary, unusable)
        if not page.resumption_token:
            return
        token = page.resumption_token


def _params(set_spec: str, state: SyncState, token: str) -> dict[str, str]:
    if token:  # OAI-PMH: the token is the only argument besides the verb
        return {"verb": "ListRecords", "resumptionToken": token}
    return {
        "verb": "ListRecords",
        "metadataPrefix": METADATA_PREFIX,
        "set": set_spec,
        "from": state.harvest_from.isoformat(),
    }


def _advance(state: SyncState, latest: date | None, token: str) -> None:
    if latest and (state.harvest_latest is None or latest > state.harvest_latest):
        state.harvest_latest = latest
    state.resumption_token = token
    if not token:  # the harvest is complete
        state.last_date = max(d for d in (state.harvest_from, state.harvest_latest) if d)
        state.harvest_from = state.harvest_latest = None


def _stopped(set_spec: str, state: SyncState, exc: Exception) -> SyncError:
    if state.resumption_token:
        resume = "run the same command again to go on from the page that failed"
    else:
        resume = f"run the same command again to harvest from {state.harvest_from}"
    return SyncError(f"arxiv {set_spec} stopped: {exc}. Pages before it are imported; {resume}")
