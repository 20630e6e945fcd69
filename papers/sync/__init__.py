"""Keeping the catalogue current from remote sources (`manage.py sync_papers`), a module each.

Each source reads pages over HTTP (papers.sync.http), parses them with a parser from
papers.ingest, writes them through papers.loader, and records in a SyncState row, in the same
transaction as the page's papers, where the next run goes on.
"""

from __future__ import annotations


class SyncError(Exception):
    """The sync cannot go on (the server kept failing, or sent what we cannot read); what was
    imported before stays, and so does the state to resume from."""
