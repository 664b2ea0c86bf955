"""Use cases: the rules of the programme, by subject, as plain functions.

A use case takes the unit of work (``service.unit_of_work.UnitOfWork``: the session, the outbox,
the settings, the moment, ``after_commit``) when it texts someone or asks for a job, or only the
session when it just changes or reads rows; it never commits. Ids and values go in, values come
out; no Flask, no request. SMS, USSD, the collector app, the dashboard and the CLI call the same
ones, so a rule (the UNDO window, the dispute window, a collector's own zone) holds everywhere.

A use case that will not do what was asked writes nothing and raises either ``Refused`` (for
people who text: the reply's template and its values, sent in their language, or rendered by the
API) or, for operators at the dashboard and the CLI, an error whose message says what to fix
(``CatalogueError`` and the like, each a ``ValueError``).
"""

from __future__ import annotations


class Refused(Exception):
    """What was asked cannot be done: ``template`` (in ``sms.templates``) and its ``values`` say
    why. Nothing was written."""

    def __init__(self, template: str, /, **values: object) -> None:
        super().__init__(template)
        self.template = template
        self.values = values


class CatalogueError(ValueError):
    """A value the programme's reference data (zones, materials, rates, rewards, collectors,
    shops) cannot take; the message says why. Nothing was written."""
