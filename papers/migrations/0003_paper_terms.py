"""BM25 postings: papers_paperterm, kept by triggers on papers_paper, and a stored lexeme count.

The triggers rewrite a paper's rows from its generated search_vector after an insert, and after
an update that changes the title or the abstract; deleting a paper deletes its rows (Django
cascades; the foreign key would refuse otherwise). Existing papers are backfilled here.
"""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

# One row per lexeme: how many of its positions are in the title (weight A) and elsewhere.
TERM_ROWS = """
    SELECT u.lexeme, {paper_id}, count(*) FILTER (WHERE w = 'A'), count(*) FILTER (WHERE w <> 'A')
    FROM {source} unnest({vector}) u, unnest(u.weights) w
    GROUP BY {group}
"""

TRIGGERS = f"""
CREATE FUNCTION papers_paper_write_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM papers_paperterm WHERE paper_id = NEW.id;
    INSERT INTO papers_paperterm (lexeme, paper_id, title_tf, body_tf)
    {TERM_ROWS.format(paper_id="NEW.id", source="", vector="NEW.search_vector", group="u.lexeme")};
    RETURN NULL;
END
$$;
CREATE TRIGGER papers_paper_terms_insert AFTER INSERT ON papers_paper
    FOR EACH ROW EXECUTE FUNCTION papers_paper_write_terms();
CREATE TRIGGER papers_paper_terms_update AFTER UPDATE OF title, abstract ON papers_paper
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.abstract IS DISTINCT FROM NEW.abstract)
    EXECUTE FUNCTION papers_paper_write_terms();
"""

DROP_TRIGGERS = """
DROP TRIGGER papers_paper_terms_update ON papers_paper;
DROP TRIGGER papers_paper_terms_insert ON papers_paper;
DROP FUNCTION papers_paper_write_terms();
"""

BACKFILL = "INSERT INTO papers_paperterm (lexeme, paper_id, title_tf, body_tf)" + TERM_ROWS.format(
    paper_id="p.id", source="papers_paper p,", vector="p.search_vector", group="p.id, u.lexeme"
)


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0002_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="paper",
            name="search_length",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Func(
                    django.contrib.postgres.search.CombinedSearchVector(
                        django.contrib.postgres.search.SearchVector(
                            "title", config="english", weight="A"
                        ),
                        "||",
                        django.contrib.postgres.search.SearchVector(
                            "abstract", config="english", weight="B"
                        ),
                        django.contrib.postgres.search.SearchConfig("english"),
                    ),
                    function="length",
                    output_field=models.IntegerField(),
                ),
                output_field=models.IntegerField(),
            ),
        ),
        migrations.CreateModel(
            name="PaperTerm",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "lexeme",
                        "paper_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("lexeme", models.TextField()),
                ("title_tf", models.PositiveSmallIntegerField()),
                ("body_tf", models.PositiveSmallIntegerField()),
                (
                    "paper",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="terms",
                        to="papers.paper",
                    ),
                ),
            ],
        ),
        migrations.RunSQL(TRIGGERS, reverse_sql=DROP_TRIGGERS),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
