"""Reads: the queries the dashboard's pages and the API show, which change nothing: households and
collectors with their statements and pickups (``people``), what the collector app downloads
(``fieldwork``), the overview's figures (``insights``), what a transfer was for (``causes``), and
the disputes' lists (``disputes``). They may use the use cases' own look-ups; no use case uses them.
"""
