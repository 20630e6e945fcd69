"""Enable the extensions search needs, failing with a message that says how to get them."""

from django.core.exceptions import ImproperlyConfigured
from django.db import migrations

HOW_TO_FIX = {
    "vector": (
        "install pgvector on the server (https://github.com/pgvector/pgvector#installation, "
        "e.g. `apt install postgresql-18-pgvector`), or unset DATABASE_URL to use the "
        "embedded PostgreSQL that ships with it"
    ),
    "pg_trgm": "install the PostgreSQL contrib package on the server",
}


def enable_extensions(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name, fix in HOW_TO_FIX.items():
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", [name])
            if cursor.fetchone() is None:
                raise ImproperlyConfigured(
                    f"The PostgreSQL server has no '{name}' extension available: {fix}."
                )
            cursor.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [migrations.RunPython(enable_extensions, migrations.RunPython.noop)]
