"""The keyword index's per-paper row carries the paper's arXiv categories too, so a category
filter and its counts are computed beside the organization's (search.keyword_docs)."""

import django.contrib.postgres.fields
from django.db import migrations, models

TXID = "pg_current_xact_id()::text::bigint"


def functions(with_categories: bool) -> str:
    column = ", categories" if with_categories else ""
    value = ", coalesce(categories, '{}')" if with_categories else ""
    on_conflict = ", categories = EXCLUDED.categories" if with_categories else ""
    on_update = ", categories = coalesce(NEW.categories, '{}')" if with_categories else ""
    return f"""
CREATE OR REPLACE FUNCTION papers_keyword_doc_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO papers_keyworddoc
        (paper_id, segment_id, length, organization_id, published, upvotes, alive, txid{column})
    SELECT id, NULL, length(search_vector), organization_id, published, coalesce(upvotes, 0),
           true, {TXID}{value}
    FROM new_papers
    ON CONFLICT (paper_id) DO UPDATE SET
        segment_id = NULL, length = EXCLUDED.length, organization_id = EXCLUDED.organization_id,
        published = EXCLUDED.published, upvotes = EXCLUDED.upvotes, alive = true,
        txid = EXCLUDED.txid{on_conflict};
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION papers_keyword_doc_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE papers_keyworddoc SET
        segment_id = CASE WHEN OLD.search_vector IS DISTINCT FROM NEW.search_vector
                          THEN NULL ELSE segment_id END,
        length = length(NEW.search_vector), organization_id = NEW.organization_id,
        published = NEW.published, upvotes = coalesce(NEW.upvotes, 0), alive = true,
        txid = {TXID}{on_update}
    WHERE paper_id = NEW.id;
    RETURN NULL;
END
$$;
DROP TRIGGER papers_keyword_doc_update ON papers_paper;
CREATE TRIGGER papers_keyword_doc_update AFTER UPDATE ON papers_paper FOR EACH ROW
    WHEN (OLD.search_vector IS DISTINCT FROM NEW.search_vector
          OR OLD.organization_id IS DISTINCT FROM NEW.organization_id
          OR OLD.published IS DISTINCT FROM NEW.published
          OR OLD.upvotes IS DISTINCT FROM NEW.upvotes
          {"OR OLD.categories IS DISTINCT FROM NEW.categories" if with_categories else ""})
    EXECUTE FUNCTION papers_keyword_doc_update();
"""


BACKFILL = f"""
UPDATE papers_keyworddoc d SET categories = p.categories, txid = {TXID}
FROM papers_paper p WHERE p.id = d.paper_id AND p.categories <> '{{}}'
"""


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0009_search_length_in_keyword_doc"),
    ]

    operations = [
        migrations.AddField(
            model_name="keyworddoc",
            name="categories",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.TextField(), default=list, size=None
            ),
            preserve_default=True,
        ),
        migrations.RunSQL(
            "ALTER TABLE papers_keyworddoc ALTER COLUMN categories SET DEFAULT '{}'",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(functions(True), reverse_sql=functions(False)),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
