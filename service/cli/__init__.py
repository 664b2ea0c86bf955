"""The ``flask --app wsgi ...`` commands, one module per subject; ``common`` holds what they share.

Each command is one unit of work: it does all it says or, refused, prints ``Error: <why>``, exits
non-zero and changes nothing.
"""

from __future__ import annotations

from flask import Flask

from service.cli.disputes import DISPUTES_GROUPS
from service.cli.holds import HOLDS_GROUPS
from service.cli.programme import PROGRAMME_GROUPS
from service.cli.rewards import REWARDS_GROUPS
from service.cli.sales import SALES_GROUPS
from service.cli.scales import SCALES_GROUPS
from service.cli.schedule import SCHEDULE_GROUPS
from service.cli.signals import SIGNALS_GROUPS  # also adds zones remind|change|changes
from service.cli.suggestions import SUGGESTIONS_GROUPS
from service.cli.system import SYSTEM_GROUPS
from service.cli.users import USERS_GROUPS
from service.cli.ussd import USSD_GROUPS
from service.cli.votes import VOTES_GROUPS


def register(app: Flask) -> None:
    for command in (
        *SYSTEM_GROUPS,
        *PROGRAMME_GROUPS,
        *REWARDS_GROUPS,
        *SUGGESTIONS_GROUPS,
        *VOTES_GROUPS,
        *SCALES_GROUPS,
        *SALES_GROUPS,
        *SIGNALS_GROUPS,
        *DISPUTES_GROUPS,
        *HOLDS_GROUPS,
        *SCHEDULE_GROUPS,
        *USERS_GROUPS,
        *USSD_GROUPS,
    ):
        app.cli.add_command(command)
