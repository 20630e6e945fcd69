from __future__ import annotations

from django.contrib import admin
from django.http import HttpResponse

from evaluation.judgments import as_dataset, beir_zip
from evaluation.models import Judgment


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    list_display = ("query", "paper", "relevant", "user", "updated_at")
    list_filter = ("relevant", "user")
    search_fields = ("query", "paper__title")
    raw_id_fields = ("paper",)
    actions = ["export_beir"]

    @admin.action(description="Export the selected judgments as a BEIR data set (zip)")
    def export_beir(self, request, queryset):
        response = HttpResponse(beir_zip(as_dataset(queryset)), content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="judgments.zip"'
        return response
