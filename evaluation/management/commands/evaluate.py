from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings
from tqdm import tqdm

from config.database import create_database, drop_database, using_database
from evaluation.beir import DatasetError, load_dataset, select
from evaluation.catalogue import doc_ids_by_pk, eval_database_name, sync_catalogue
from evaluation.judgments import as_dataset
from evaluation.runs import run_mode
from evaluation.scoring import RECALL_DEPTH, ModeScores, score
from papers.indexing import embed_here, workable
from papers.models import Paper, embedded_q
from search.state import Mode

DEFAULT_MODES = "keyword,semantic,hybrid"
SHOWN_ERRORS = 3  # example messages printed per kind of problem; --json has them all


class Command(BaseCommand):
    help = (
        "Measure search relevance on a BEIR-layout data set (corpus.jsonl, queries.jsonl, "
        "qrels/<split>.tsv): load it into its own database '<db>_eval_<folder>', embed it, run "
        "every judged query through the search engine per mode, print nDCG, recall, MRR and "
        "latency. The evaluation database is kept for the next run (see docs/RELEVANCE.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "dir", type=Path, metavar="DIR", nargs="?", help="the data set folder (BEIR layout)"
        )
        parser.add_argument(
            "--judgments",
            action="store_true",
            help="also score every mode on the group's own judgments (members' verdicts on the "
            "search page), over the app's own catalogue",
        )
        parser.add_argument("--split", default="train", choices=["train", "dev", "test"])
        parser.add_argument(
            "--corpus",
            type=Path,
            metavar="FILE",
            help="the corpus.jsonl the queries judge, when it is not in DIR (default: "
            "DIR/corpus.jsonl, or the file DIR/corpus.txt names); the evaluation database is "
            "named after the corpus's folder, so sets judging one corpus share its vectors",
        )
        parser.add_argument(
            "--modes",
            default=DEFAULT_MODES,
            help=f"comma-separated search modes to evaluate (default: {DEFAULT_MODES})",
        )
        parser.add_argument("--k", type=int, default=10, help="cutoff for nDCG, Recall and MRR")
        parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure")
        parser.add_argument(
            "--sample",
            type=int,
            metavar="N",
            help="evaluate only the first N judged queries (in queries.jsonl order)",
        )
        parser.add_argument(
            "--corpus-size",
            type=int,
            metavar="M",
            help="corpus = the documents judged for the evaluated queries plus the first M "
            "others (default: the whole corpus); kept in its own '..._slice' database",
        )
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            dest="overrides",
            help="override a SEARCH_* setting for this run, e.g. --set SEARCH_RRF_K=30 "
            "(repeatable)",
        )
        parser.add_argument(
            "--rebuild", action="store_true", help="drop and recreate the evaluation database"
        )
        parser.add_argument(
            "--drop", action="store_true", help="drop the evaluation database after the run"
        )

    def handle(self, *args, **options):
        modes = _modes(options["modes"])
        k = options["k"]
        if k < 1:
            raise CommandError("--k must be at least 1")
        for name in ("sample", "corpus_size"):
            if options[name] is not None and options[name] < (1 if name == "sample" else 0):
                raise CommandError(f"--{name.replace('_', '-')} must be a positive number")
        overrides = _overrides(options["overrides"])
        commit = _commit()  # now: the tree may change while the queries run
        if options["dir"] is None and not options["judgments"]:
            raise CommandError("Name a data set folder (DIR), or pass --judgments, or both.")
        if options["dir"] is not None:
            self.evaluate_dataset(options, modes, k, overrides, commit)
        if options["judgments"]:
            report = self.evaluate_judgments(modes, k, overrides)
            report |= {"commit": commit, "command": _command_line(options)}
            self.print_report(report, k)

    def evaluate_dataset(self, options, modes, k, overrides, commit) -> None:
        try:
            full = load_dataset(options["dir"], options["split"], corpus=options["corpus"])
        except DatasetError as exc:
            raise CommandError(str(exc)) from None
        dataset = select(full, sample=options["sample"], corpus_size=options["corpus_size"])
        for warning in dataset.warnings:
            self.stderr.write(f"warning: {warning}")

        database = eval_database_name(
            settings.DATABASES["default"]["NAME"],
            dataset.catalogue,
            sliced=options["corpus_size"] is not None,
        )
        try:
            report = self.evaluate(dataset, database, modes, k, overrides, options["rebuild"])
            report["commit"] = commit
        finally:
            if options["drop"]:
                drop_database(database)
                self.stderr.write(f"dropped database {database}")
        report["command"] = _command_line(options)
        self.print_report(report, k)
        if options["json"]:
            options["json"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            self.stdout.write(f"figures written to {options['json']}")

    def evaluate_judgments(self, modes, k, overrides) -> dict:
        """Every mode on the group's judgments, over this catalogue as it is (no evaluation
        database: the judged papers are the app's own; the worker embeds them)."""
        dataset = as_dataset()
        dataset.queries = {
            qid: text for qid, text in dataset.queries.items() if any(dataset.qrels[qid].values())
        }
        if not dataset.queries:
            raise CommandError("No query has a result judged relevant yet: nothing to score.")
        runs, scores = {}, {}
        with override_settings(**overrides):
            search_settings = _search_settings()
            for mode in modes:
                runs[mode] = run_mode(
                    dataset, mode, depth=max(k, RECALL_DEPTH), doc_ids=_PaperIds()
                )
                scores[mode] = score(dataset, runs[mode], k=k)
        return {
            "dataset": "the group's judgments",
            "path": ".",
            "corpus": ".",
            "split": dataset.split,
            "database": settings.DATABASES["default"]["NAME"],
            **_outcome(dataset, k, search_settings, overrides, runs, scores),
        }

    def evaluate(self, dataset, database, modes, k, overrides, rebuild) -> dict:
        if rebuild:
            drop_database(database)
        created = create_database(database)
        self.stderr.write(f"{'created' if created else 'reusing'} database {database}")
        timings: dict[str, float] = {}
        with using_database(database):
            call_command("migrate", verbosity=0, interactive=False)
            with tqdm(desc="loading", unit="paper", disable=None, file=sys.stderr) as bar:
                sync = sync_catalogue(dataset, bar=bar)
            timings["load_s"] = sync.seconds
            self.stderr.write(
                f"catalogue: {sync.kept} papers unchanged, {sync.loaded} loaded, "
                f"{sync.removed} removed ({sync.seconds:.1f} s)"
            )
            timings["embed_s"] = self.embed() if set(modes) - {Mode.KEYWORD} else 0.0
            doc_ids = doc_ids_by_pk()
            depth = max(k, RECALL_DEPTH)
            runs, scores = {}, {}
            with override_settings(**overrides):
                search_settings = _search_settings()
                for mode in modes:
                    started = time.perf_counter()
                    with tqdm(
                        total=len(dataset.queries), desc=mode, unit="query", disable=None,
                        file=sys.stderr,
                    ) as bar:  # fmt: skip
                        runs[mode] = run_mode(
                            dataset, mode, depth=depth, doc_ids=doc_ids, progress=bar.update
                        )
                    timings[f"{mode}_s"] = time.perf_counter() - started
                    scores[mode] = score(dataset, runs[mode], k=k)
        return {
            "dataset": dataset.name,
            "path": str(dataset.path.resolve()),
            "corpus": str(dataset.corpus_path.resolve()),
            "split": dataset.split,
            "database": database,
            **_outcome(dataset, k, search_settings, overrides, runs, scores),
            "timings_s": {name: round(value, 2) for name, value in timings.items()},
            "per_query": {mode: s.per_query for mode, s in scores.items()},
        }

    def embed(self) -> float:
        started = time.perf_counter()
        ids = list(workable().values_list("pk", flat=True))
        if ids:
            with tqdm(
                total=len(ids), desc="embedding", unit="paper", disable=None, file=sys.stderr
            ) as bar:
                embed_here(ids, progress=bar.update)
        missing = Paper.objects.exclude(embedded_q()).count()
        if missing:
            raise CommandError(
                f"{missing} papers could not be embedded with {settings.EMBEDDING_MODEL}; "
                "semantic and hybrid figures would be wrong (see the log above; --rebuild "
                "starts afresh)"
            )
        seconds = time.perf_counter() - started
        if ids:
            self.stderr.write(f"embedded {len(ids)} papers ({seconds:.1f} s)")
        return seconds

    def print_report(self, report: dict, k: int) -> None:
        out = self.stdout.write
        out("")
        out(
            f"{report['dataset']} {report['split']}: {report['queries']} queries, "
            f"{report['documents']} documents · commit {report['commit']} · "
            f"{report['embedding_model']}"
        )
        if Path(report["corpus"]).parent != Path(report["path"]):
            out(f"corpus: {report['corpus']}")
        shown = " ".join(
            f"{name}={value}{'*' if name in report['overrides'] else ''}"
            for name, value in report["settings"].items()
        )
        out(f"settings: {shown}" + ("  (* = --set)" if report["overrides"] else ""))
        columns = [
            ("mode", 8, "mode", "s"),
            (f"nDCG@{k}", 9, f"ndcg@{k}", ".3f"),
            (f"Recall@{k}", 10, f"recall@{k}", ".3f"),
            (f"Recall@{RECALL_DEPTH}", 11, f"recall@{RECALL_DEPTH}", ".3f"),
            (f"MRR@{k}", 8, f"mrr@{k}", ".3f"),
            ("p50 ms", 8, "p50_ms", ".1f"),
            ("p95 ms", 8, "p95_ms", ".1f"),
            ("queries", 8, "queries", "d"),
            ("errors", 7, "errors", "d"),
        ]
        out("")
        out("  ".join(f"{title:<{w}}" if i == 0 else f"{title:>{w}}"
                      for i, (title, w, _, _) in enumerate(columns)))  # fmt: skip
        for mode, figures in report["modes"].items():
            row = {"mode": mode, **figures}
            out("  ".join(f"{row[key]:<{w}{fmt}}" if i == 0 else f"{row[key]:>{w}{fmt}}"
                          for i, (_, w, key, fmt) in enumerate(columns)))  # fmt: skip
        out("")
        out(f"command: {report['command']}")
        for kind, label in (("input_errors", "query text problems"), ("errors", "engine errors")):
            for mode, problems in report[kind].items():
                self.stderr.write(f"{mode}: {len(problems)} {label}")
                for qid, message in list(problems.items())[:SHOWN_ERRORS]:
                    self.stderr.write(f"  query {qid}: {message}")


def _modes(value: str) -> list[str]:
    modes = [m.strip().lower() for m in value.split(",") if m.strip()]
    unknown = [m for m in modes if m not in Mode.values]
    if unknown or not modes:
        raise CommandError(f"--modes: choose from {', '.join(Mode.values)} (got {value!r})")
    return list(dict.fromkeys(modes))


def _overrides(pairs: list[str]) -> dict[str, int | float]:
    """--set NAME=VALUE for SEARCH_* settings only, as numbers of the setting's own kind."""
    overrides: dict[str, int | float] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name.startswith("SEARCH_"):
            raise CommandError(f"--set {pair!r}: expected SEARCH_<NAME>=<number>")
        if not hasattr(settings, name):
            known = ", ".join(_search_settings())
            raise CommandError(f"--set {pair!r}: no setting {name} (there are: {known})")
        try:
            value = float(raw)
        except ValueError:
            raise CommandError(f"--set {pair!r}: {raw!r} is not a number") from None
        if isinstance(getattr(settings, name), int):
            if not value.is_integer():
                raise CommandError(f"--set {pair!r}: {name} takes a whole number")
            value = int(value)
        overrides[name] = value
    return overrides


def _search_settings() -> dict[str, int | float]:
    return {
        name: getattr(settings, name)
        for name in sorted(dir(settings))
        if name.startswith("SEARCH_") and isinstance(getattr(settings, name), int | float)
    }


def _outcome(dataset, k: int, search_settings: dict, overrides: dict, runs: dict, scores: dict):
    """What every evaluation reports, whichever set of judgments it ran."""
    return {
        "embedding_model": settings.EMBEDDING_MODEL,
        "k": k,
        "queries": len(dataset.queries),
        "documents": len(dataset.corpus),
        "settings": search_settings,
        "overrides": overrides,
        "modes": {mode: _figures(s, k) for mode, s in scores.items()},
        "input_errors": {mode: r.input_errors for mode, r in runs.items() if r.input_errors},
        "errors": {mode: r.errors for mode, r in runs.items() if r.errors},
    }


def _figures(scores: ModeScores, k: int) -> dict:
    return {
        f"ndcg@{k}": round(scores.ndcg, 4),
        f"recall@{k}": round(scores.recall_k, 4),
        f"recall@{RECALL_DEPTH}": round(scores.recall_100, 4),
        f"mrr@{k}": round(scores.mrr, 4),
        "p50_ms": round(scores.p50_ms, 1),
        "p95_ms": round(scores.p95_ms, 1),
        "queries": scores.queries,
        "errors": scores.errors,
    }


def _commit() -> str:
    """The short commit of the project, '-dirty' when tracked files have uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=settings.BASE_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


class _PaperIds(dict):
    """The judgments' corpus ids are this catalogue's paper ids, as text: any paper's."""

    def __missing__(self, pk: int) -> str:
        return str(pk)


def _command_line(options: dict) -> str:
    """The command that reproduces these figures (whether run from a shell or call_command)."""
    args = ["python", "manage.py", "evaluate"]
    args += [str(options["dir"]), "--split", options["split"]] if options["dir"] else []
    args += ["--judgments"] if options["judgments"] else []
    if options["corpus"] is not None:
        args += ["--corpus", str(options["corpus"])]
    args += ["--modes", options["modes"], "--k", str(options["k"])]
    for name in ("sample", "corpus_size"):
        if options[name] is not None:
            args += [f"--{name.replace('_', '-')}", str(options[name])]
    for pair in options["overrides"]:
        args += ["--set", pair]
    return shlex.join(args)
