"""Kolekt's SMS language: parsing what people type, reply templates, segment counting and gateways.

Pure functions and adapters only: nothing here imports Flask, the database or the ledger.
"""
