r"""Titles and abstracts hold no C0 control characters (but tab and line breaks): \x02 and \x03
are the search's highlight sentinels, and XML (the feed) refuses them all. The importers always
stripped them; the admin did not, so strip any that got in before adding the checks."""

from django.db import migrations, models

CONTROLS = r"[\x01-\x08\x0b\x0c\x0e-\x1f]"

STRIP = f"""
UPDATE papers_paper
   SET title = regexp_replace(title, '{CONTROLS}', '', 'g'),
       abstract = regexp_replace(abstract, '{CONTROLS}', '', 'g')
 WHERE title ~ '{CONTROLS}' OR abstract ~ '{CONTROLS}'
"""


class Migration(migrations.Migration):
    dependencies = [("papers", "0013_vocabulary")]

    operations = [
        migrations.RunSQL(STRIP, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="paper",
            constraint=models.CheckConstraint(
                condition=~models.Q(title__regex=CONTROLS),
                name="paper_title_no_control_characters",
            ),
        ),
        migrations.AddConstraint(
            model_name="paper",
            constraint=models.CheckConstraint(
                condition=~models.Q(abstract__regex=CONTROLS),
                name="paper_abstract_no_control_characters",
            ),
        ),
    ]
