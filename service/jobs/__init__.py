"""Jobs: the work RQ does outside a request, each taking ids and plain values, opening its own
units of work, and safe to run twice.

- ``sending``: the outbox handed to the gateway, and its sweep;
- ``fulfilment``: rewards delivered, and the redemption sweep;
- ``reminders``: the reminder and notice fan-out;
- ``checks``: the ledger sealed and verified, the daily summary, dispute windows closed;
- ``registry``: which function does each ``service.unit_of_work.Job``, on which queue;
- ``queue``: RQ as the unit of work's queue;
- ``schedule``: the recurring jobs for RQ's cron scheduler;
- ``worker``: the worker process (``flask --app wsgi worker``).
"""
