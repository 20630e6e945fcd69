"""The test catalogue, named once: the demo listing (the file `make run` imports), the papers the
tests refer to by the start of their title, and the organizations the `catalogue` fixture
(conftest.py) gives some of them. Django is imported inside the functions: conftest.py imports
this module before Django is set up."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "papers" / "demo" / "daily_papers.txt"
LISTING_YEAR = 2026  # its date line, "Mar 10", is from 2026

LIFL = "LIFL: A Lightweight"
INFINITE = "Infinite-LLM"
INSTINFER = "InstInfer"
TOKENRING = "TokenRing"
HORIZON = "Horizon-LM"  # undated
XLLM = "xLLM Technical Report"
THUNDER = "ThunderAgent"
POLCA = "POLCA: Power Oversubscription"
COMMUNITY = "Real-Time Community Detection"

# The listing names two organizations (Microsoft, Peking University; one paper each); these two
# give filters and facets more to work with. Changing a paper's organization keeps its vector.
ORGS = {
    "acme": ("Acme Research", [INFINITE, INSTINFER, TOKENRING, HORIZON]),
    "beta": ("Beta Institute", [XLLM, THUNDER, LIFL]),
}


def import_seed():
    from papers.ingest.daily_papers import parse_file
    from papers.loader import upsert_papers

    return upsert_papers(parse_file(SEED, year=LISTING_YEAR))


def add_organizations() -> None:
    from papers.models import Organization, Paper

    for slug, (name, prefixes) in ORGS.items():
        org = Organization.objects.create(slug=slug, name=name)
        for prefix in prefixes:
            assert Paper.objects.filter(title__startswith=prefix).update(organization=org) == 1


def paper(prefix: str):
    from papers.models import Paper

    return Paper.objects.get(title__startswith=prefix)
