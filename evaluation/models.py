"""The group's own relevance judgments: a signed-in member's verdict on a result for the query
it answered (docs/RELEVANCE.md, "The group's own judgments")."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from papers.models import Paper


class Judgment(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="judgments"
    )
    query = models.TextField(help_text="The query text the result answered, as typed.")
    search = models.TextField(blank=True, help_text="The whole search: its canonical query string.")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="judgments")
    relevant = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "query", "paper"], name="judgment_once_per_user_query_paper"
            )
        ]
        indexes = [models.Index(fields=["query"], name="judgment_query")]

    def __str__(self) -> str:
        verdict = "relevant" if self.relevant else "not relevant"
        return f"{self.paper_id} {verdict} to “{self.query[:60]}”"
