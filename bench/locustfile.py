"""What one researcher does, for bench/load.py: locust runs many of these against the server.

The plan (queries, paper ids, organizations, years of the catalogue under test) comes from the
JSON file named by LOAD_PLAN, which bench/load.py writes before starting locust. Each request is
named by its kind, so the report gives one line per kind beside the total. A request counts as
failed when the status is not the one a person would get (any 4xx or 5xx here: every URL the
plan makes is valid).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from locust import HttpUser, between, constant, task

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text(encoding="utf-8"))
# LOAD_PAUSES=0: no thinking time, to find the throughput the server saturates at.
PAUSES = os.environ.get("LOAD_PAUSES", "1") != "0"
HTMX = {"HX-Request": "true", "HX-Current-URL": "/"}


class Researcher(HttpUser):
    wait_time = between(1, 3) if PAUSES else constant(0)

    def _get(self, name: str, path: str, params: dict | None = None, headers=None) -> None:
        self.client.get(path, params=params, headers=headers, name=name)

    def _query(self) -> str:
        return random.choice(PLAN["queries"])

    @task(6)
    def types_a_query(self) -> None:
        """As-you-type: htmx asks for the results partial of the first words, then of the rest."""
        words = self._query().split()
        cut = max(1, len(words) // 2)
        self._get("type (htmx partial)", "/", {"q": " ".join(words[:cut])}, HTMX)
        self._get("type (htmx partial)", "/", {"q": " ".join(words)}, HTMX)

    @task(4)
    def opens_a_search_link(self) -> None:
        mode = random.choice(["hybrid", "hybrid", "keyword", "semantic"])
        self._get("search page", "/", {"q": self._query(), "mode": mode})

    @task(2)
    def filters(self) -> None:
        params = {"q": self._query()}
        if PLAN["orgs"] and random.random() < 0.5:
            params["org"] = random.choice(PLAN["orgs"])
        else:
            year = random.choice(PLAN["years"])
            params["from"], params["to"] = str(year), str(year)
        self._get("filtered search", "/", params, HTMX)

    @task(2)
    def pages_on(self) -> None:
        params = {"q": self._query(), "page": str(random.randint(2, 5))}
        self._get("next page", "/", params, HTMX)

    @task(1)
    def browses_the_newest(self) -> None:
        self._get("browse", "/", {"page": str(random.randint(1, 3))})

    @task(3)
    def opens_a_paper(self) -> None:
        self._get("paper page", f"/papers/{random.choice(PLAN['paper_ids'])}/")

    @task(2)
    def calls_the_api(self) -> None:
        if random.random() < 0.5:
            self._get("api search", "/api/search", {"q": self._query()})
        else:
            self._get("api paper", f"/api/papers/{random.choice(PLAN['paper_ids'])}")

    @task(1)
    def reads_the_feed(self) -> None:
        self._get("feed", "/feed.atom", {"q": self._query()})
