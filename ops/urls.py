from django.urls import path

from ops.health import healthz

urlpatterns = [path("healthz", healthz, name="healthz")]
