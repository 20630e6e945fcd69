from django.contrib import admin
from django.urls import include, path

from evaluation.views import judge

urlpatterns = [
    path("admin/", admin.site.urls),
    # Sign-in for members who judge results (accounts are made by staff in the admin).
    path("accounts/", include("django.contrib.auth.urls")),
    path("judgments/", judge, name="judge"),
    path("", include("ops.urls")),
    path("", include("search.urls")),
]

handler404 = "search.views.not_found"
