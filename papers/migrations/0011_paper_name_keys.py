"""A paper's name, looked up through an index: search.names pins a paper whose name the query
holds ("P/D-Serve", "UFO^3") first, in every mode.

paper_name_keys(title) is what stands before the title's first ':' or ' -- ' (up to eight words),
and the words of that name, or the first word of a title without one, spelled like a system's
name (a digit, or a capital after a small letter: SN40L, xLLM, SambaNova), each lower-cased with
everything but letters and digits removed, so that "P/D-Serve", "PD-Serve" and "pd serve" are one
key. An expression index, not a column: it is right for every write path without a trigger.
"""

from django.db import migrations

NAME = r"substring(title FROM '^(.*?)(?::|\s--\s)')"
KEY = "lower(regexp_replace({}, '[^[:alnum:]]+', '', 'g'))"

FUNCTION = f"""
CREATE FUNCTION paper_name_keys(title text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT key) FILTER (WHERE length(key) >= 2), '{{}}')
    FROM (
        SELECT {KEY.format("name")} AS key
        FROM (SELECT btrim({NAME}) AS name) n
        WHERE array_length(regexp_split_to_array(name, '\\s+'), 1) <= 8
        UNION ALL
        SELECT {KEY.format("word")}
        FROM regexp_split_to_table(
            coalesce({NAME}, substring(title FROM '^\\S+')), '\\s+'
        ) AS word
        WHERE word ~ '[[:digit:]]|[[:lower:]][[:upper:]]'
    ) keys
$$;
CREATE INDEX paper_name_keys ON papers_paper USING gin (paper_name_keys(title));
"""
REVERSE = """
DROP INDEX IF EXISTS paper_name_keys;
DROP FUNCTION IF EXISTS paper_name_keys(text);
"""


class Migration(migrations.Migration):
    dependencies = [("papers", "0010_keyword_doc_categories")]

    operations = [migrations.RunSQL(FUNCTION, REVERSE)]
