from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import ExpressionWrapper, F, Func, Q, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils.text import slugify
from pgvector.django import HnswIndex, VectorField

from papers.ingest.text import strip_controls


def content_md5() -> Md5:
    """md5 of the text the Embedder encodes (papers.embeddings.paper_text): title, newline,
    abstract. Computed by the database, so an edit from anywhere marks the vector stale."""
    return Md5(Concat("title", Value("\n"), "abstract", output_field=models.TextField()))


def search_document() -> SearchVector:
    """What full-text search indexes, in English: the title (weight A), the abstract (B), and the
    authors' and organization's names (C: a surname or "microsoft" finds papers, below any paper
    that has the word in its title or abstract)."""
    return (
        SearchVector("title", weight="A", config="english")
        + SearchVector("abstract", weight="B", config="english")
        + SearchVector("byline", weight="C", config="english")
    )


ARXIV_ABS = "https://arxiv.org/abs/"
ARXIV_PDF = "https://arxiv.org/pdf/"
# The HNSW graph of every vector index (and of papers.organization_indexes).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
# The C0 controls but tab, newline and carriage return, as a PostgreSQL regular expression.
C0_CONTROLS = r"[\x01-\x08\x0b\x0c\x0e-\x1f]"


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Before the unique check, so "ACME" is refused beside "acme" rather than saved.
        self.slug = self.slug.lower()

    def save(self, *args, **kwargs) -> None:
        # The search folds ?org= to lower case (search.state): a slug with capitals could never
        # be filtered on. The importers slugify; the admin takes what is typed.
        self.slug = self.slug.lower()
        super().save(*args, **kwargs)


class Md5(Func):
    function = "md5"
    output_field = models.CharField()


def embedded_q() -> Q:
    """Papers whose vector was made by the configured model from their current text.

    Anything else (no vector, another model's, or one of text since edited) is not yet
    searchable by meaning: search never mixes vectors of two models.
    """
    return Q(
        embedding__isnull=False,
        embedding_model=settings.EMBEDDING_MODEL,
        embedding_current=True,
    )


def pending_q() -> Q:
    """Papers that need a vector and still have attempts left: the worker's to-do list."""
    return ~embedded_q() & Q(embedding_attempts__lt=settings.EMBEDDING_MAX_ATTEMPTS)


def failed_q() -> Q:
    """Papers that need a vector but used up EMBEDDING_MAX_ATTEMPTS tries."""
    return ~embedded_q() & Q(embedding_attempts__gte=settings.EMBEDDING_MAX_ATTEMPTS)


class EmbeddingState(models.TextChoices):
    INDEXED = "indexed", "indexed"
    STALE = "stale", "stale (text changed since)"
    PENDING = "pending", "pending"
    FAILED = "failed", "failed"


class Paper(models.Model):
    title = models.TextField()
    abstract = models.TextField()
    published = models.DateField(null=True, blank=True)
    upvotes = models.PositiveIntegerField(default=0)
    authors_count = models.PositiveIntegerField(null=True, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="papers"
    )
    source = models.CharField(max_length=50, help_text="The format it was imported from.")
    source_id = models.CharField(
        max_length=100, blank=True, help_text="The arXiv id, when the format gives one."
    )
    key = models.TextField(
        unique=True, help_text="Stable identity for re-import: arXiv id or normalized title."
    )
    # The normalized title (papers.ingest.records.title_key), also for papers keyed by arXiv id:
    # a listing that names a paper only by title finds the arXiv paper through it.
    title_key = models.TextField(blank=True, editable=False)
    authors = ArrayField(
        models.TextField(), default=list, blank=True, help_text="Names, in the paper's order."
    )
    categories = ArrayField(
        models.TextField(), default=list, blank=True, help_text="arXiv categories, primary first."
    )
    doi = models.TextField(blank=True)
    # The authors' names and the organization's, as one text for search_vector (weight C): a
    # generated column cannot read the organization table. Written by the loader with them.
    byline = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    search_vector = models.GeneratedField(
        expression=search_document(), output_field=SearchVectorField(), db_persist=True
    )
    # The hash of the exact text the Embedder encodes (papers.embeddings.paper_text); computed by
    # the database so that an edit from anywhere (admin, import, SQL) marks the vector stale.
    content_hash = models.GeneratedField(
        expression=content_md5(), output_field=models.CharField(max_length=32), db_persist=True
    )

    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_model = models.CharField(max_length=200, blank=True)
    embedding_hash = models.CharField(max_length=32, blank=True)
    # Whether the vector was made from the current text (embedding_hash = content_hash), as a
    # column of its own: PostgreSQL has statistics for a column, none for "column = column",
    # which it guesses true for 0.5% of rows, and that guess kept searches by meaning off the
    # HNSW index: an exact scan of every vector instead, 77 against 14 ms on 100,000 vectors
    # (bench/hnsw_plan.py).
    embedding_current = models.GeneratedField(
        expression=ExpressionWrapper(
            Q(embedding_hash=content_md5()), output_field=models.BooleanField()
        ),
        output_field=models.BooleanField(),
        db_persist=True,
    )
    embedded_at = models.DateTimeField(null=True, blank=True)
    embedding_attempts = models.PositiveSmallIntegerField(default=0)
    embedding_error = models.TextField(blank=True)

    class Meta:
        ordering = [F("published").desc(nulls_last=True), "-id"]
        indexes = [
            GinIndex(OpClass("title", name="gin_trgm_ops"), name="paper_title_trgm"),
            HnswIndex(
                name="paper_embedding_hnsw",
                fields=["embedding"],
                m=HNSW_M,
                ef_construction=HNSW_EF_CONSTRUCTION,
                opclasses=["vector_cosine_ops"],
            ),
            models.Index(fields=["published"], name="paper_published"),
            # A pinned link (as_of) reads the papers imported after it, and its latest import.
            models.Index(fields=["created_at"], name="paper_created_at"),
            # For the search page's category filter (categories @> ARRAY[...]).
            GinIndex(fields=["categories"], name="paper_categories_gin"),
            models.Index(
                fields=["title_key"], name="paper_arxiv_title_key", condition=~Q(source_id="")
            ),
            # Counting the papers not yet searchable by meaning reads this, not the table.
            models.Index(
                fields=["id"],
                name="paper_not_embedded",
                condition=Q(embedding__isnull=True) | Q(embedding_current=False),
            ),
            models.Index(fields=["embedding_model"], name="paper_embedding_model"),
            # The footer's failed count and embedding rate read these, not the table.
            models.Index(
                fields=["embedding_attempts"],
                name="paper_embedding_attempts",
                condition=Q(embedding_attempts__gt=0),
            ),
            models.Index(fields=["embedded_at"], name="paper_embedded_at"),
            # The search page names the sources by a skip scan of this (search.catalogue).
            models.Index(fields=["source"], name="paper_source"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(key=""), name="paper_key_not_empty"),
            # \x02 and \x03 are the highlight sentinels (search.sql) and XML refuses C0
            # controls: one in a title made stray <mark> tags and broke every feed listing it.
            # save() strips them; this stops writers that bypass it (update(), raw SQL).
            models.CheckConstraint(
                condition=~Q(title__regex=C0_CONTROLS), name="paper_title_no_control_characters"
            ),
            models.CheckConstraint(
                condition=~Q(abstract__regex=C0_CONTROLS),
                name="paper_abstract_no_control_characters",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        # Before the constraints are checked: a form (the admin) gets the text stripped, not an
        # error about characters its user cannot see.
        self._strip_controls()

    def save(self, *args, **kwargs) -> None:
        self._strip_controls()
        super().save(*args, **kwargs)

    def _strip_controls(self) -> None:
        deferred = self.get_deferred_fields()  # not loaded, so not written: no query for them
        for name in {"title", "abstract"} - deferred:
            setattr(self, name, strip_controls(getattr(self, name)))

    @property
    def slug(self) -> str:
        return slugify(self.title)[:80].strip("-") or "paper"

    def get_absolute_url(self) -> str:
        return reverse("paper", kwargs={"pk": self.pk, "slug": self.slug})

    @property
    def arxiv_id(self) -> str:
        return self.source_id

    @property
    def abs_url(self) -> str | None:
        return f"{ARXIV_ABS}{self.source_id}" if self.source_id else None

    @property
    def pdf_url(self) -> str | None:
        return f"{ARXIV_PDF}{self.source_id}" if self.source_id else None

    @property
    def embedding_state(self) -> EmbeddingState:
        if (
            self.embedding is not None
            and self.embedding_model == settings.EMBEDDING_MODEL
            and self.embedding_current
        ):
            return EmbeddingState.INDEXED
        if self.embedding_attempts >= settings.EMBEDDING_MAX_ATTEMPTS:
            return EmbeddingState.FAILED
        return EmbeddingState.STALE if self.embedding is not None else EmbeddingState.PENDING


class KeywordSegment(models.Model):
    """A batch of papers whose keyword postings were written together (papers.keyword_index).

    Segments are written in one piece and only ever replaced whole, by a merge: the LSM shape
    that lets an import append postings without rewriting a common word's list for every paper.
    """

    papers = models.PositiveIntegerField()
    postings = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"segment {self.pk}: {self.papers} papers"


class KeywordPostings(models.Model):
    """Every paper of one segment that has one lexeme: BM25's postings, packed.

    `paper_ids` holds 4-byte big-endian paper ids; `counts` a 2-byte big-endian word per
    posting: occurrences in the title (weight A, bits 12-14), in authors and organization
    (weight C, bits 9-11) and in the abstract (weight B, bits 0-8; a tsvector keeps at most 256
    positions a lexeme). Packed, a posting costs 6 bytes instead of a 40-byte row: at 100,000
    papers the old one-row-a-posting table was 1.25 GB, bigger than the papers themselves.
    """

    pk = models.CompositePrimaryKey("lexeme", "segment")
    lexeme = models.TextField()
    segment = models.ForeignKey(KeywordSegment, on_delete=models.CASCADE, related_name="+")
    paper_ids = models.BinaryField()
    counts = models.BinaryField()

    def __str__(self) -> str:
        return f"{self.lexeme} in segment {self.segment_id}"


class Word(models.Model):
    """A word of the catalogue's titles and abstracts, lower-cased as written (not stemmed): the
    vocabulary "did you mean" suggests from (search.spelling), by trigram similarity. Written
    by keyword_index.flush with the postings; never pruned, so a word may outlive its papers."""

    word = models.TextField(primary_key=True)

    class Meta:
        indexes = [GinIndex(OpClass("word", name="gin_trgm_ops"), name="word_trgm")]

    def __str__(self) -> str:
        return self.word


class KeywordDoc(models.Model):
    """What keyword search needs to know of each paper without reading it: which segment holds
    its current postings (NULL while pending), its BM25 length, and the fields the filters and
    sorts use. Kept by triggers on papers_paper (migration 0005), so every write path agrees;
    `txid` lets each web process refresh its in-memory copy with only what changed
    (search.keyword_docs). A deleted paper stays as a row with alive = false.
    """

    paper_id = models.BigIntegerField(primary_key=True)
    segment_id = models.IntegerField(null=True)
    length = models.IntegerField()
    organization_id = models.BigIntegerField(null=True)
    published = models.DateField(null=True)
    upvotes = models.BigIntegerField(default=0)
    categories = ArrayField(models.TextField(), default=list)
    alive = models.BooleanField(default=True)
    txid = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["txid"], name="keyword_doc_txid"),
            models.Index(
                fields=["paper_id"],
                name="keyword_doc_pending",
                condition=Q(segment_id__isnull=True, alive=True),
            ),
        ]

    def __str__(self) -> str:
        return f"keyword entry of paper {self.paper_id}"


class SyncState(models.Model):
    """Where `manage.py sync_papers` stopped for one source, so that the next run goes on from
    there. Saved in the same transaction as the papers it covers."""

    source = models.CharField(
        max_length=100, unique=True, help_text="`hf-daily`, or `arxiv:<set>` per OAI-PMH set."
    )
    last_date = models.DateField(
        null=True,
        blank=True,
        help_text="hf-daily: the last whole day imported. arxiv: the latest record datestamp of "
        "the last finished harvest, where the next one starts (`from` is inclusive).",
    )
    resumption_token = models.TextField(
        blank=True, help_text="arxiv: the next page of a harvest that stopped half-way."
    )
    harvest_from = models.DateField(
        null=True, blank=True, help_text="arxiv: the `from` of the harvest in progress."
    )
    harvest_latest = models.DateField(
        null=True,
        blank=True,
        help_text="arxiv: the latest datestamp the harvest in progress has seen so far.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sync state"

    def __str__(self) -> str:
        return f"{self.source}: {self.last_date or 'never synced'}"
