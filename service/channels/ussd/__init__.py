"""USSD, a channel beside SMS: Africa's Talking's USSD API at ``POST /ussd/africastalking``, menus
for households and collectors (``households``, ``collectors``) run by ``engine``, whose last
screens call the same use cases (through the same handlers) as the texts do.

``respond(runtime, request)`` answers one request; the endpoint, the simulator's USSD phone and
``flask ussd simulate`` all go through it.
"""

from __future__ import annotations

from service.channels.ussd import collectors, households
from service.channels.ussd.engine import Request, State, respond_with
from service.runtime import Runtime

MENUS = {"household": households.ROOT, "collector": collectors.ROOT}
SCREENS = {**households.SCREENS, **collectors.SCREENS}


def respond(runtime: Runtime, request: Request) -> str:
    """``CON <screen>`` or ``END <screen>``: the answer to one USSD request."""
    return respond_with(runtime, request, MENUS, SCREENS)


__all__ = ["MENUS", "SCREENS", "Request", "State", "respond"]
