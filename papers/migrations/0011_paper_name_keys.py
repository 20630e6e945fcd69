"""A paper's name, looked up through an index: search.names pins a paper whose name the query
holds ("P/D-Serve", "UFO^3") first, in every mode.

paper_name_keys(title): the title's name is what stands before its first ':' or ' -- ' (up to
eight words), or the first word of a title without one when that is spelled like a name (a small
letter then a capital: xLLM). Keys are lower-cased with everything but letters and digits
removed, so that "P/D-Serve", "PD-Serve" and "pd serve" are one key. An expression index, not a
column: it is right for every write path without a trigger.
"""

from django.db import migrations

NAME = r"substring(title FROM '^(.*?)(?::|\s--\s)')"
# Spelled like a name, not a phrase: a digit, a capital inside a word (LIFL, P/D-Serve, xLLM), or
# a / ^ + & between letters. "Cell death" or "Universal Checkpointing" are found when the query
# is exactly that (the WHOLE key); "P/D-Serve" also when the query holds it among other words.
NAME_LIKE = r"[[:digit:]]|[^[:space:]][[:upper:]]|[[:alnum:]][/^+&][[:alnum:]]"
WHOLE = "="  # the key of a whole query, and of a name that only a whole query finds
MIN_KEY = 2
KEY = "lower(regexp_replace({}, '[^[:alnum:]]+', '', 'g'))"

FUNCTION = f"""
CREATE FUNCTION paper_name_keys(title text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT key) FILTER (WHERE length(key) >= {MIN_KEY}), '{{}}')
    FROM (
        SELECT '{WHOLE}' || {KEY.format("name")} AS key
        FROM (SELECT btrim({NAME}) AS name) n
        WHERE array_length(regexp_split_to_array(name, '\\s+'), 1) <= 8
        UNION ALL
        SELECT {KEY.format("name")}
        FROM (SELECT btrim({NAME}) AS name) n
        WHERE array_length(regexp_split_to_array(name, '\\s+'), 1) <= 8 AND name ~ '{NAME_LIKE}'
        UNION ALL
        -- a title without a name that starts with one: "xLLM Technical Report"
        SELECT {KEY.format("word")}
        FROM (SELECT substring(title FROM '^\\S+') AS word) w
        WHERE {NAME} IS NULL AND word ~ '[[:lower:]][[:upper:]]'
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
