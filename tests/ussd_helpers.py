"""A basic phone dialling Kolekt's USSD code through Africa's Talking's callback, as its network
sends it: every answer so far joined by ``*`` in ``text``, with ``sessionId``, ``serviceCode``,
``phoneNumber`` and ``networkCode`` (form-encoded), the callback secret in the URL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from flask import Flask

from sms.gsm import is_gsm7
from sms.ussd import MAX_SCREEN

USSD_PATH = "/ussd/africastalking"
SERVICE_CODE = "*384*2580#"


@dataclass
class Dial:
    """One session: ``send(answer)`` types an answer and returns the screen (``CON``/``END``)."""

    app: Flask
    phone: str
    secret: str = "S"
    session_id: str = field(default_factory=lambda: f"ATUid_{uuid.uuid4().hex}")
    answers: list[str] = field(default_factory=list)
    screens: list[str] = field(default_factory=list)

    def post(self, text: str) -> str:
        response = self.app.test_client().post(
            f"{USSD_PATH}?secret={self.secret}",
            data={
                "sessionId": self.session_id,
                "serviceCode": SERVICE_CODE,
                "phoneNumber": self.phone,
                "networkCode": "62130",
                "text": text,
            },
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/plain"
        screen = response.get_data(as_text=True)
        assert screen.startswith(("CON ", "END ")), screen
        assert len(screen) <= MAX_SCREEN and is_gsm7(screen), screen
        self.screens.append(screen)
        return screen

    def open(self) -> str:
        """The code dialled: the first screen."""
        return self.post("")

    def send(self, *answers: str) -> str:
        """Each answer typed in turn; the last screen."""
        screen = ""
        for answer in answers:
            self.answers.append(answer)
            screen = self.post("*".join(self.answers))
        return screen

    def again(self) -> str:
        """The network sends the last request again."""
        return self.post("*".join(self.answers))


def body(screen: str) -> str:
    return screen[4:]


def ended(screen: str) -> bool:
    return screen.startswith("END ")
