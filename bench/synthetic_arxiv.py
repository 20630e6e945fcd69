"""A synthetic arXiv metadata snapshot: N papers of real scientific prose, deterministic by seed.

    from synthetic_arxiv import load_corpus, write_snapshot
    write_snapshot("bench/out/arxiv.jsonl", 100_000, "../shared/eval/scifact/corpus.jsonl", seed=1)

The file has the layout of arXiv's own metadata snapshot (Kaggle's
`arxiv-metadata-oai-snapshot.json`, "arxiv-jsonl"): one JSON object a line with `id`
("2101.00001"), `submitter`, `authors`, `title`, `comments`, `journal-ref`, `doi`, `report-no`,
`categories`, `license`, `abstract`, `versions` ([{"version": "v1", "created": "Mon, 2 Apr 2007
19:18:42 GMT"}, ...]), `update_date` and `authors_parsed`. Two fields are not arXiv's:

- `organization`: {"name": slug, "fullname": display name} or null. arXiv has no organization;
  the app's other source (Hugging Face Daily Papers) does, and search filters by it. About 40% of
  papers have one, skewed as in life: a few organizations with thousands of papers, a long tail
  with a handful (Zipf over ORGANIZATIONS names; `organization(rank)` gives one by rank).
- `corpus_doc`: the `_id` of the corpus document the paper mostly comes from (title start and
  first sentences), so that a benchmark can give it a vector near that document's.

Titles and abstracts are recombined sentences of a BEIR corpus (SciFact's 5,183 abstracts by
default): real word frequencies and real phrases, so full-text and BM25 costs are those of real
text, but no two papers are the same. Dates spread over 2015-01 .. 2026-10, growing over time
as arXiv does (three times as many papers a day at the end as at the start).

Deterministic: the same (n, corpus, seed) always writes the same bytes, and the first n lines of
a bigger snapshot are the snapshot of n (papers are drawn in blocks of BLOCK, each from its own
seeded generator), so sizes can share one file.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

GENERATOR_VERSION = 1  # bump when the output for a given seed changes
BLOCK = 10_000  # papers per seeded generator: the prefix property holds across sizes
FIRST_DAY, LAST_DAY = date(2015, 1, 1), date(2026, 10, 31)
ORGANIZATION_SHARE = 0.4
ORGANIZATION_COUNT = 2_000
ZIPF_EXPONENT = 1.1  # the biggest holds ~18% of the papers with an organization; rank 199, 0.13%
BIG_ORGANIZATION_RANK, SMALL_ORGANIZATION_RANK = 0, 199

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")

PLACES = (
    "Northfield", "Ashford", "Bellmont", "Carrow", "Dunmore", "Eastgate", "Fairhaven", "Glenrock",
    "Harwick", "Ivybridge", "Jarrow", "Kingsley", "Lakemont", "Marlow", "Newbury", "Oakdale",
    "Pinecrest", "Queensbury", "Redfield", "Stonebridge", "Thornbury", "Upton", "Valemont",
    "Westbrook", "Yarrow", "Zennor", "Alderney", "Brightwater", "Castleford", "Deepdale",
    "Elmhurst", "Foxborough", "Greystone", "Highcliff", "Ironwood", "Juniper", "Kestrel",
    "Larkspur", "Millbrook", "Northwood", "Orchard", "Pembrook", "Quarry", "Riverside",
    "Silverlake", "Tidewater", "Underhill", "Violet", "Willowdale", "Yewtree",
)  # fmt: skip
KINDS = (
    "University", "Institute of Technology", "Medical Center", "Research Institute",
    "School of Medicine", "Cancer Center", "Genomics Lab", "Children's Hospital",
    "Institute for Neuroscience", "AI Lab", "Biotech", "College", "Health Sciences Center",
    "Institute of Immunology", "Polytechnic", "Bioinformatics Group", "Clinical Trials Unit",
    "Veterinary School", "Public Health Institute", "Pharma Research",
    "Institute of Cell Biology", "Eye Institute", "Heart Institute", "Brain Research Centre",
    "Microbiology Lab", "Stem Cell Institute", "Nutrition Research Unit", "Sleep Center",
    "Vaccine Institute", "Structural Biology Lab", "Epidemiology Unit", "Imaging Centre",
    "Institute of Physiology", "Transplant Center", "Cardiology Research Group",
    "Metabolism Lab", "Institute of Pathology", "Statistics Department", "Dental School",
    "Systems Biology Lab",
)  # fmt: skip
FIRST_NAMES = (
    "Ana", "Ben", "Chen", "Dana", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kofi",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tara", "Uma",
    "Viktor", "Wei", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ito",
    "Jensen", "Kowalski", "Li", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Usman", "Varga", "Wang", "Xu", "Yilmaz", "Zhang",
)  # fmt: skip
CATEGORIES = (
    "q-bio.BM", "q-bio.CB", "q-bio.GN", "q-bio.MN", "q-bio.NC", "q-bio.PE", "q-bio.QM",
    "q-bio.TO", "physics.bio-ph", "physics.med-ph", "stat.AP", "stat.ME", "cs.LG", "cs.CE",
)  # fmt: skip
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class CorpusError(Exception):
    """The corpus file is missing or unreadable; str() says which file and why."""


@dataclass(frozen=True)
class CorpusDoc:
    doc_id: str
    title: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Organization:
    name: str  # a slug, as Hugging Face writes an organization's `name`
    fullname: str


def load_corpus(path: str | Path) -> list[CorpusDoc]:
    """The documents of a BEIR corpus.jsonl ({"_id", "title", "text"} a line), split into
    sentences; documents without a title or a sentence are left out."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"{path}: no such file (expected a BEIR corpus.jsonl)")
    docs = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                doc_id, title, text = str(row["_id"]), row.get("title") or "", row.get("text") or ""
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
                raise CorpusError(f"{path}:{number}: expected {{'_id', 'title', 'text'}}") from None
            sentences = tuple(s.strip() for s in SENTENCE_END.split(text.strip()) if s.strip())
            if title.strip() and sentences:
                docs.append(CorpusDoc(doc_id, " ".join(title.split()), sentences))
    if len(docs) < 3:
        raise CorpusError(f"{path}: fewer than 3 documents with a title and a text")
    return docs


def organizations() -> list[Organization]:
    """Every organization, biggest first (rank 0 is the biggest)."""
    orgs = []
    for rank in range(ORGANIZATION_COUNT):
        place = PLACES[rank % len(PLACES)]
        kind = KINDS[(rank // len(PLACES)) % len(KINDS)]
        fullname = f"{place} {kind}"
        orgs.append(Organization(re.sub(r"[^a-z0-9]+", "-", fullname.lower()).strip("-"), fullname))
    return orgs


def organization(rank: int) -> Organization:
    return organizations()[rank]


def big_organization() -> Organization:
    return organization(BIG_ORGANIZATION_RANK)


def small_organization() -> Organization:
    return organization(SMALL_ORGANIZATION_RANK)


def write_snapshot(
    path: str | Path, n: int, corpus: str | Path | Sequence[CorpusDoc], seed: int = 0
) -> Path:
    """Write n papers to path (arxiv-jsonl, UTF-8); returns the path."""
    if n < 0:
        raise ValueError("n must be zero or more")
    docs = corpus if isinstance(corpus, Sequence) and not isinstance(corpus, str) else None
    docs = list(docs) if docs is not None else load_corpus(corpus)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        for paper in generate(n, docs, seed):
            out.write(json.dumps(paper, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
    partial.replace(path)  # a file at path is always complete
    return path


def generate(n: int, docs: Sequence[CorpusDoc], seed: int = 0) -> Iterator[dict]:
    """The papers of write_snapshot, as dicts, in file order."""
    orgs = organizations()
    org_weights = list(accumulate(1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(orgs))))
    per_month: dict[tuple[int, int], int] = {}
    span = (LAST_DAY - FIRST_DAY).days
    for block_start in range(0, n, BLOCK):
        rng = random.Random(f"synthetic-arxiv:{GENERATOR_VERSION}:{seed}:{block_start // BLOCK}")
        for _ in range(min(BLOCK, n - block_start)):
            # Density grows linearly to 3x over the span: t = F^-1(u) for F(t) = (t + t^2) / 2.
            t = (-1 + (1 + 8 * rng.random()) ** 0.5) / 2
            day = FIRST_DAY + timedelta(days=round(t * span))
            created = datetime.combine(day, datetime.min.time())
            created += timedelta(seconds=rng.randrange(86_400))
            month = (created.year, created.month)
            per_month[month] = per_month.get(month, 0) + 1
            arxiv_id = f"{created.year % 100:02d}{created.month:02d}.{per_month[month]:05d}"
            org = None
            if rng.random() < ORGANIZATION_SHARE:
                org = rng.choices(orgs, cum_weights=org_weights)[0]
            yield _paper(rng, docs, arxiv_id, created, org)


def _paper(
    rng: random.Random,
    docs: Sequence[CorpusDoc],
    arxiv_id: str,
    created: datetime,
    org: Organization | None,
) -> dict:
    primary, *others = rng.sample(docs, rng.choice((2, 2, 3)))
    # The title: the start of the primary document's title, the end of another's.
    head, tail = primary.title.rstrip(".").split(), others[0].title.rstrip(".").split()
    cut_head = max(1, round(len(head) * rng.uniform(0.4, 0.7)))
    cut_tail = min(len(tail) - 1, round(len(tail) * rng.uniform(0.4, 0.7)))
    title = " ".join(head[:cut_head] + tail[cut_tail:])
    # The abstract: a run of the primary's sentences (usually its opening), then a few of each
    # other document's: about SciFact's own length (8.7 sentences, 200 words on average).
    sentences = list(_run(rng, primary.sentences, rng.randint(4, 7), opening=rng.random() < 0.6))
    for other in others:
        sentences += _run(rng, other.sentences, rng.randint(1, 3), opening=False)
    authors = [
        (rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES))
        for _ in range(min(40, 1 + int(rng.expovariate(1 / 4))))
    ]
    versions = [created]
    while rng.random() < 0.3 and len(versions) < 5:
        later = timedelta(days=rng.randint(1, 200), seconds=rng.randrange(86_400))
        versions.append(versions[-1] + later)
    return {
        "id": arxiv_id,
        "submitter": f"{authors[0][1]} {authors[0][0]}",
        "authors": _author_list(authors),
        "title": title,
        "comments": f"{rng.randint(4, 40)} pages, {rng.randint(1, 12)} figures"
        if rng.random() < 0.5
        else None,
        "journal-ref": None,
        "doi": f"10.{rng.randint(1000, 9999)}/{arxiv_id}" if rng.random() < 0.6 else None,
        "report-no": None,
        "categories": " ".join(rng.sample(CATEGORIES, rng.choice((1, 1, 2, 3)))),
        "license": None,
        "abstract": " ".join(sentences),
        "versions": [
            {"version": f"v{number}", "created": _rfc2822(moment)}
            for number, moment in enumerate(versions, 1)
        ],
        "update_date": versions[-1].date().isoformat(),
        "authors_parsed": [[last, first, ""] for last, first in authors],
        "organization": {"name": org.name, "fullname": org.fullname} if org else None,
        "corpus_doc": primary.doc_id,
    }


def _run(
    rng: random.Random, sentences: Sequence[str], length: int, *, opening: bool
) -> Sequence[str]:
    length = min(length, len(sentences))
    start = 0 if opening else rng.randint(0, len(sentences) - length)
    return sentences[start : start + length]


def _author_list(authors: list[tuple[str, str]]) -> str:
    names = [f"{first[0]}. {last}" for last, first in authors]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _rfc2822(moment: datetime) -> str:
    """As arXiv writes a version's date: 'Mon, 2 Apr 2007 19:18:42 GMT'."""
    return (
        f"{WEEKDAYS[moment.weekday()]}, {moment.day} {MONTHS[moment.month - 1]} {moment.year} "
        f"{moment:%H:%M:%S} GMT"
    )
