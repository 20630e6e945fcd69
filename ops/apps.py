from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the app in production: limits, health, headers, the database role."""

    name = "ops"
    default_auto_field = "django.db.models.BigAutoField"
