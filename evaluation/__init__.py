"""Relevance evaluation on judged queries (BEIR layout), in a catalogue of its own.

`manage.py evaluate DIR` reads the data set (beir), loads its corpus into a database of its own
on the same server (catalogue; the database lifecycle is config.database's), embeds it with the
app's own path (papers.indexing), runs every judged query through search.engine as the web page
runs it (runs) and scores the rankings with pytrec_eval (scoring). docs/RELEVANCE.md has the how
and the figures.
"""
