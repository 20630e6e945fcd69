"""What the sources say about a paper: authors, categories, DOI; names searchable at weight C.

- authors (text[] in order), categories (text[], GIN-indexed for a category filter), doi.
- byline: the authors' and organization's names as one text, the third part of search_vector
  (weight C) and so of search_length. Both generated columns get the new expression in place
  (ALTER COLUMN ... SET EXPRESSION, PostgreSQL 17+): dropping them would take the keyword index's
  triggers with them (their WHEN reads search_vector). PostgreSQL rewrites every row.
- title_key: the collision-safe normalized title (papers.ingest.records.title_key). Papers keyed
  by title are re-keyed with it ("C++ for X" and "C# for X" were one key); a paper whose new key
  is taken keeps its old one, or gets its id appended.
- Existing papers get their organization's name as byline: an UPDATE, so the keyword index's
  trigger marks those papers pending and the next flush writes their new postings.
"""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models


SEARCH_DOCUMENT = django.contrib.postgres.search.CombinedSearchVector(
    django.contrib.postgres.search.CombinedSearchVector(
        django.contrib.postgres.search.SearchVector("title", config="english", weight="A"),
        "||",
        django.contrib.postgres.search.SearchVector("abstract", config="english", weight="B"),
        django.contrib.postgres.search.SearchConfig("english"),
    ),
    "||",
    django.contrib.postgres.search.SearchVector("byline", config="english", weight="C"),
    django.contrib.postgres.search.SearchConfig("english"),
)

DOCUMENT_SQL = (
    "(setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, COALESCE(abstract, '')), 'B'))"
    " || setweight(to_tsvector('english'::regconfig, COALESCE(byline, '')), 'C')"
)
OLD_DOCUMENT_SQL = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, COALESCE(abstract, '')), 'B')"
)
SET_EXPRESSIONS = """
ALTER TABLE papers_paper
    ALTER COLUMN search_vector SET EXPRESSION AS ({document}),
    ALTER COLUMN search_length SET EXPRESSION AS (length({document}))
"""
BYLINES = """
UPDATE papers_paper p SET byline = o.name
FROM papers_organization o WHERE o.id = p.organization_id AND p.byline = ''
"""


def rekey_by_title(apps, schema_editor):
    from papers.ingest.records import title_key

    Paper = apps.get_model("papers", "Paper")
    papers = Paper.objects.filter(models.Q(key__startswith="title:") | ~models.Q(source_id=""))
    changed = []
    for paper in papers.only("id", "title", "key", "source_id").iterator(chunk_size=2000):
        paper.title_key = title_key(paper.title)
        paper.old_key = paper.key
        if paper.key.startswith("title:") and paper.title_key:
            paper.key = f"title:{paper.title_key}"
        changed.append(paper)
    # Two steps, so that no key is ever held twice: park the moving ones, then place each.
    moving = [p for p in changed if p.key != p.old_key]
    for paper in moving:
        paper.new_key, paper.key = paper.key, f"rekey:{paper.pk}"
    Paper.objects.bulk_update(changed, ["title_key", "key"], batch_size=2000)
    for paper in moving:
        for candidate in (paper.new_key, paper.old_key, f"{paper.new_key} #{paper.pk}"):
            if not Paper.objects.filter(key=candidate).exists():
                Paper.objects.filter(pk=paper.pk).update(key=candidate)
                break


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0007_backlog_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="paper",
            name="authors",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.TextField(),
                blank=True,
                default=list,
                help_text="Names, in the paper's order.",
                size=None,
            ),
        ),
        migrations.AddField(
            model_name="paper",
            name="byline",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="paper",
            name="categories",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.TextField(),
                blank=True,
                default=list,
                help_text="arXiv categories, primary first.",
                size=None,
            ),
        ),
        migrations.AddField(
            model_name="paper",
            name="doi",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="paper",
            name="title_key",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    SET_EXPRESSIONS.format(document=DOCUMENT_SQL),
                    reverse_sql=SET_EXPRESSIONS.format(document=OLD_DOCUMENT_SQL),
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="paper",
                    name="search_vector",
                    field=models.GeneratedField(
                        db_persist=True,
                        expression=SEARCH_DOCUMENT,
                        output_field=django.contrib.postgres.search.SearchVectorField(),
                    ),
                ),
                migrations.AlterField(
                    model_name="paper",
                    name="search_length",
                    field=models.GeneratedField(
                        db_persist=True,
                        expression=models.Func(
                            SEARCH_DOCUMENT, function="length", output_field=models.IntegerField()
                        ),
                        output_field=models.IntegerField(),
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="paper",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["categories"], name="paper_categories_gin"
            ),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(
                condition=models.Q(("source_id", ""), _negated=True),
                fields=["title_key"],
                name="paper_arxiv_title_key",
            ),
        ),
        migrations.RunPython(rekey_by_title, reverse_code=migrations.RunPython.noop),
        migrations.RunSQL(BYLINES, reverse_sql=migrations.RunSQL.noop),
    ]
