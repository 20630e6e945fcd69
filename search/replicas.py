"""Where a search reads from: a healthy read replica inside a read scope, else the primary.

The search engine takes its cursor from `search_connection()` and wraps each public search
function in `on_replica`, so a replica that dies under a search is marked down and the search
runs again on the next replica or the primary (config/replicas.py has the rules).
"""

from __future__ import annotations

from config.replicas import read_connection, with_replica_fallback

search_connection = read_connection
on_replica = with_replica_fallback

__all__ = ["on_replica", "search_connection"]
