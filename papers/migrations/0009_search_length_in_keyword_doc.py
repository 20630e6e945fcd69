"""BM25's document length is taken from the tsvector by the keyword index's triggers, instead of
a second generated column that computed the whole tsvector again on every insert: half of an
import's insert cost (4,000 rows: 2.00 s with it, 0.98 s without, bench/import_speed.py)."""

from django.db import migrations

TXID = "pg_current_xact_id()::text::bigint"


def functions(length: str, new_length: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION papers_keyword_doc_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO papers_keyworddoc
        (paper_id, segment_id, length, organization_id, published, upvotes, alive, txid)
    SELECT id, NULL, {length}, organization_id, published, coalesce(upvotes, 0), true, {TXID}
    FROM new_papers
    ON CONFLICT (paper_id) DO UPDATE SET
        segment_id = NULL, length = EXCLUDED.length, organization_id = EXCLUDED.organization_id,
        published = EXCLUDED.published, upvotes = EXCLUDED.upvotes, alive = true,
        txid = EXCLUDED.txid;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION papers_keyword_doc_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE papers_keyworddoc SET
        segment_id = CASE WHEN OLD.search_vector IS DISTINCT FROM NEW.search_vector
                          THEN NULL ELSE segment_id END,
        length = {new_length}, organization_id = NEW.organization_id,
        published = NEW.published, upvotes = coalesce(NEW.upvotes, 0), alive = true,
        txid = {TXID}
    WHERE paper_id = NEW.id;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0008_paper_sources"),
    ]

    operations = [
        migrations.RunSQL(
            functions("length(search_vector)", "length(NEW.search_vector)"),
            reverse_sql=functions("search_length", "NEW.search_length"),
        ),
        migrations.RemoveField(
            model_name="paper",
            name="search_length",
        ),
    ]
