"""A gateway that sends nothing: for development, demos and tests, where no text may leave the machine.

Every message is written to the log in full (nothing is masked: there is no real recipient) and kept
in memory so a developer, a demo page or a test can see what Kolekt would have sent. It reports
"delivered" at once because there is no provider whose report could come later.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from datetime import UTC, datetime

from .base import OutgoingMessage, Sent

logger = logging.getLogger(__name__)

# Enough to follow a demo or a test run; bounded so a long-running dev server cannot grow without end.
KEEP_SENT = 1000


class ConsoleGateway:
    """Logs each message and keeps the last ``KEEP_SENT`` in ``sent`` (oldest first)."""

    name = "console"
    # Nobody receives the texts, so nobody answers STOP but Kolekt.
    confirms_opt_out = False

    def __init__(self) -> None:
        self.sent: deque[OutgoingMessage] = deque(maxlen=KEEP_SENT)
        self._taken: deque[tuple[str, str, str, datetime]] = deque(maxlen=KEEP_SENT)

    def send(self, message: OutgoingMessage) -> Sent:
        provider_id = "console-" + uuid.uuid4().hex
        self.sent.append(message)
        self._taken.append((message.to, message.body, provider_id, datetime.now(UTC)))
        logger.info("SMS to %s (%s, %s): %s", message.to, message.reference, provider_id, message.body)
        return Sent(provider_id=provider_id, status="delivered")

    def find_sent(self, to: str, body: str, since: datetime) -> list[Sent]:
        """What this process handed over (the console keeps nothing elsewhere)."""
        return [
            Sent(provider_id=provider_id, status="delivered")
            for taken_to, taken_body, provider_id, at in reversed(self._taken)
            if taken_to == to and taken_body == body and at >= since
        ]
