from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from papers import keyword_index
from papers.models import (
    EmbeddingState,
    Organization,
    Paper,
    embedded_q,
    failed_q,
    pending_q,
)
from papers.tasks import enqueue_embedding


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "paper_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return super().get_queryset(request).annotate(paper_count=Count("papers"))

    @admin.display(description="papers", ordering="paper_count")
    def paper_count(self, organization: Organization) -> int:
        return organization.paper_count


class EmbeddingStateFilter(admin.SimpleListFilter):
    """The same three states as `embed_papers --status` (papers.indexing.embedding_status)."""

    title = "embedding"
    parameter_name = "embedding"

    def lookups(self, request, model_admin):
        return [
            (EmbeddingState.INDEXED, EmbeddingState.INDEXED.label),
            (EmbeddingState.PENDING, "pending (missing or stale)"),
            (EmbeddingState.FAILED, EmbeddingState.FAILED.label),
        ]

    def queryset(self, request, queryset):
        states = {
            EmbeddingState.INDEXED: embedded_q,
            EmbeddingState.PENDING: pending_q,
            EmbeddingState.FAILED: failed_q,
        }
        state = states.get(self.value())
        return queryset.filter(state()) if state else queryset


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ["title", "published", "organization", "upvotes", "embedding_state"]
    list_filter = [EmbeddingStateFilter, "organization", "published", "source"]
    list_select_related = ["organization"]
    search_fields = ["title", "abstract"]
    date_hierarchy = "published"
    autocomplete_fields = ["organization"]
    # The vector is hundreds of floats: never a form field. The generated columns are read-only.
    exclude = ["embedding"]
    readonly_fields = [
        "embedding_state",
        "embedding_model",
        "embedding_hash",
        "content_hash",
        "embedded_at",
        "embedding_attempts",
        "embedding_error",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["title", "abstract", "published", "upvotes", "authors_count"]}),
        ("Source", {"fields": ["organization", "source", "source_id", "key"]}),
        ("Embedding", {"fields": readonly_fields[:7]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]
    actions = ["queue_embedding"]

    @admin.display(description="embedding")
    def embedding_state(self, paper: Paper) -> str:
        return paper.embedding_state.label

    def save_model(self, request, obj: Paper, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # New words are found at once anyway (read from the tsvector until flushed); flushing
        # keeps that list short.
        transaction.on_commit(lambda: keyword_index.flush([obj.pk]))
        # An edited title or abstract makes the vector stale: have the worker redo it, with its
        # attempts back (a paper that used them up would never be embedded again).
        stale = Paper.objects.filter(pk=obj.pk).exclude(embedded_q())
        if stale.update(embedding_attempts=0, embedding_error=""):
            transaction.on_commit(lambda: enqueue_embedding([obj.pk]))

    @admin.action(description="Queue selected papers for embedding (forgives failures)")
    def queue_embedding(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        stale = queryset.exclude(embedded_q())
        ids = list(stale.values_list("pk", flat=True))
        stale.update(embedding_attempts=0, embedding_error="")
        transaction.on_commit(lambda: enqueue_embedding(ids))
        self.message_user(
            request, f"Queued {len(ids)} papers; the others are already indexed.", messages.SUCCESS
        )
