"""Vectors stored in the row.

pgvector gives `vector` EXTERNAL storage: every vector lived in the TOAST table, and ranking
papers exactly by id (typed syntax's matches, a small organization) read four more pages per
paper for it (30,867 buffers for 5,000 papers at a million). MAIN keeps it in the row; rows
written before keep theirs in TOAST until they are written again (a re-embedding, or `VACUUM
FULL papers_paper`: docs/OPERATIONS.md).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0015_created_at_index"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE papers_paper ALTER COLUMN embedding SET STORAGE MAIN",
            "ALTER TABLE papers_paper ALTER COLUMN embedding SET STORAGE EXTERNAL",
        ),
    ]
